"""Token analyses kept in the content cache: a re-run analyses only new texts, identically."""

from criteria_nlp.describe.analyser import (
    Analyser,
    analysis_namespace,
    decode_tokens,
    encode_tokens,
)

FRENCH = ["Les loyers sont trop chers pour les familles.", "Trouver un travail près de chez soi."]
DUTCH = ["Betaalbare woningen voor jonge gezinnen.", "Werk vinden in de buurt."]


def test_a_new_analyser_reads_the_stored_analyses(tmp_path):
    first = Analyser(cache_dir=tmp_path, use_cache=True)
    fr, nl = first.analyse(FRENCH, "fr"), first.analyse(DUTCH, "nl")
    assert first.stats == {"analysed": 4, "cache_hits": 0}
    first.close()
    second = Analyser(cache_dir=tmp_path, use_cache=True)
    assert second.analyse(FRENCH, "fr") == fr and second.analyse(DUTCH, "nl") == nl
    assert second.stats == {"analysed": 0, "cache_hits": 4}
    assert second.content_lemmas(FRENCH[:1], "fr")[0] == ["loyer", "trop", "cher", "famille"]
    # The same text in another language is another analysis.
    second.analyse(FRENCH[:1], "nl")
    assert second.stats["analysed"] == 1


def test_tokens_round_trip_and_namespaces_name_their_versions():
    tokens = Analyser().analyse(FRENCH[:1], "fr")[0]
    assert decode_tokens(encode_tokens(tokens)) == tokens
    assert any(t.is_stop for t in tokens) and any(not t.is_word for t in tokens)
    assert analysis_namespace("fr") != analysis_namespace("nl")
    assert "spacy-" in analysis_namespace("fr") and "simplemma-" in analysis_namespace("fr")


def test_no_cache_writes_nothing(tmp_path):
    Analyser(cache_dir=tmp_path, use_cache=False).analyse(DUTCH, "nl")
    assert not (tmp_path / "analyses").exists()

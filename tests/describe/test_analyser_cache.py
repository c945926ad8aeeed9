"""Analyses kept in the content cache: a re-run analyses only new texts, identically."""

from criteria_nlp.describe.analyser import (
    Analyser,
    analysis_namespace,
    decode_words,
    encode_words,
    pack_words,
)

FRENCH = ["Les loyers sont trop chers pour les familles.", "Trouver un travail près de chez soi."]
DUTCH = ["Betaalbare woningen voor jonge gezinnen.", "Werk vinden in de buurt."]


def test_a_new_analyser_reads_the_stored_analyses(tmp_path):
    first = Analyser(cache_dir=tmp_path, use_cache=True)
    fr, nl = first.content_words(FRENCH, "fr"), first.content_words(DUTCH, "nl")
    assert first.stats == {"analysed": 4, "cache_hits": 0}
    first.close()
    second = Analyser(cache_dir=tmp_path, use_cache=True)
    assert second.content_words(FRENCH, "fr") == fr and second.content_words(DUTCH, "nl") == nl
    assert second.stats == {"analysed": 0, "cache_hits": 4}
    assert second.content_lemmas(FRENCH[:1], "fr")[0] == ["loyer", "trop", "cher", "famille"]
    # The same text in another language is another analysis.
    second.content_words(FRENCH[:1], "nl")
    assert second.stats["analysed"] == 1


def test_tokens_round_trip_and_namespaces_name_their_versions():
    tokens = Analyser().analyse(FRENCH[:1], "fr")[0]
    assert any(t.is_stop for t in tokens) and any(not t.is_word for t in tokens)
    packed = pack_words(tokens)  # what is kept: the content words, lemma and word as written
    assert packed[:4] == ("loyer", "loyers", "trop", "trop")
    assert decode_words(encode_words(packed)) == packed
    assert analysis_namespace("fr") != analysis_namespace("nl")
    assert "spacy-" in analysis_namespace("fr") and "simplemma-" in analysis_namespace("fr")


def test_no_cache_writes_nothing(tmp_path):
    Analyser(cache_dir=tmp_path, use_cache=False).content_words(DUTCH, "nl")
    assert not (tmp_path / "analyses").exists()


def test_words_as_simplemma_splits_them_with_elisions_and_compounds():
    from criteria_nlp.describe.analyser import content_words

    # Elided articles and conjunctions go; a word keeps its own apostrophe.
    assert content_words(["L'école d'aujourd'hui, lorsqu'il pleut"], "fr") == [
        [("école", "école"), ("aujourd'hui", "aujourd'hui"), ("pleuvoir", "pleut")]]
    # An unknown word after an elision is lemmatised without it.
    assert content_words(["la burocrazia per l'invalidita"], "it") == [[("burocrazia", "burocrazia"), ("invalidita", "invalidita")]]
    # A suffix after an apostrophe is not an elision.
    assert content_words(["fijne collega's"], "nl")[0][-1] == ("collega", "collega's")
    # A hyphenated function word is a stop word; a hyphenated content word is not.
    assert [w for w, _ in content_words(["дискриминация из-за языка"], "ru")[0]] == ["дискриминация", "язык"]
    assert [w for _, w in content_words(["parler po-russki, по-русски"], "ru")[0]][-1] == "по-русски"


def test_spacy_itself_is_not_imported_for_the_analysis():
    import subprocess
    import sys

    code = ("import sys; from criteria_nlp.describe.analyser import Analyser; "
            "Analyser().analyse(['les loyers sont trop chers'], 'fr'); print('spacy' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip() == "False"

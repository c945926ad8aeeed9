"""Language identification reads a bounded prefix and keeps each text's result in the cache."""

import numpy as np

from criteria_nlp.prepare.language import LanguageIdentifier, detection_prefix

TEXTS = ["avoir un logement décent", "een betaalbare woning", "trouver un travail près de chez soi", "werk vinden"]


def test_a_rerun_detects_nothing_again_and_gets_the_same_probabilities(tmp_path):
    first = LanguageIdentifier(("fr", "nl", "en"), cache_dir=tmp_path, use_cache=True)
    cold = first.probabilities(TEXTS + TEXTS[:1])
    assert first.stats == {"texts": 5, "unique": 4, "cache_hits": 0, "detected": 4}
    assert cold.argmax(axis=1).tolist() == [0, 1, 0, 1, 0]
    second = LanguageIdentifier(("fr", "nl", "en"), cache_dir=tmp_path, use_cache=True)
    warm = second.probabilities(["  avoir un   logement décent "] + TEXTS[1:] + ["un texte nouveau en français"])
    assert second.stats["cache_hits"] == 4 and second.stats["detected"] == 1  # whitespace is normalised
    np.testing.assert_array_equal(warm[:4], cold[:4])
    # Another language list is another cache: its columns differ.
    third = LanguageIdentifier(("fr", "nl"), cache_dir=tmp_path, use_cache=True)
    assert third.probabilities(TEXTS).shape == (4, 2) and third.stats["detected"] == 4


def test_without_the_cache_nothing_is_written(tmp_path):
    LanguageIdentifier(("fr", "nl"), cache_dir=tmp_path, use_cache=False).probabilities(TEXTS)
    assert not (tmp_path / "analyses").exists() or not any((tmp_path / "analyses").iterdir())


def test_long_answers_are_read_from_their_first_sentences():
    long = "Il faudrait plus de logements sociaux dans le quartier. " * 40
    prefix = detection_prefix(long, 400)
    assert 200 <= len(prefix) <= 400 and len(detection_prefix(long)) <= 240 and long.startswith(prefix) and not prefix.endswith(" ")
    assert detection_prefix("  court   texte ") == "court texte"
    identifier = LanguageIdentifier(("fr", "nl", "en"))
    assert identifier.probabilities([long]).argmax() == 0

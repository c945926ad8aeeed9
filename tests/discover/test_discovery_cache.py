"""Discovery kept code by code in the content cache: the same groups on a re-run, and a
review that moves answers re-clusters only the codes involved."""

import numpy as np

from criteria_nlp.discover import discoverer
from criteria_nlp.discover.discoverer import discover_within_codes
from criteria_nlp.io.content_cache import ContentCache


def _data():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(6, 16)) * 4
    X = np.vstack([centres[i % 6] + rng.normal(size=16) for i in range(120)])
    codes = ["A" if i % 6 < 3 else "B" for i in range(120)]
    texts = [f"answer {i}" for i in range(120)]
    return X, codes, texts, ["fr"] * 120, [f"id{i}" for i in range(120)]


def test_a_rerun_reads_the_groups_and_a_moved_answer_reclusters_its_codes_only(tmp_path, monkeypatch):
    X, codes, texts, languages, keys = _data()
    store = ContentCache(tmp_path, "discovery")
    first = discover_within_codes(X, codes, languages=languages, texts=texts, keys=keys, store=store)
    fits = []
    original = discoverer.Discoverer._fit  # what discover_within_codes calls for each code
    monkeypatch.setattr(discoverer.Discoverer, "_fit", lambda self, *a, **k: fits.append(1) or original(self, *a, **k))
    again = discover_within_codes(X, codes, languages=languages, texts=texts, keys=keys, store=store)
    assert fits == [] and np.array_equal(first[0], again[0]) and first[1].equals(again[1])
    plain = discover_within_codes(X, codes, languages=languages, texts=texts, keys=keys)
    assert np.array_equal(first[0], plain[0]) and first[1].equals(plain[1])
    assert len(fits) == 2  # without the cache, both codes are clustered
    fits.clear()
    moved = list(codes)
    moved[0] = ""  # an analyst un-codes one answer: codes A and "" change, B does not
    discover_within_codes(X, moved, languages=languages, texts=texts, keys=keys, store=store)
    assert len(fits) == 1  # A re-clustered; B from the cache; "" has one answer (no clustering)

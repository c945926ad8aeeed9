"""Shared vector maths."""

import numpy as np
import pandas as pd

from criteria_nlp.vectors import centre_by_language, near_duplicate_groups


def test_centring_some_rows_gives_those_rows_of_centring_all():
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(40, 8)).astype(np.float32)
    languages = pd.Series(["fr"] * 20 + ["nl"] * 17 + ["el"] * 3, index=range(100, 140))  # el: too few, global mean
    rows = np.array([39, 0, 5, 21, 38])
    whole = centre_by_language(vectors, languages)
    np.testing.assert_array_equal(centre_by_language(vectors, languages, rows=rows), whole[rows])
    np.testing.assert_array_equal(centre_by_language(vectors, None, rows=rows), vectors[rows].astype(np.float64))


def test_near_duplicate_groups_join_repeats_and_translations_but_not_neighbours():
    rng = np.random.default_rng(1)
    meanings = rng.normal(size=(12, 32))
    accent = {"fr": 3.0 * rng.normal(size=32), "nl": 3.0 * rng.normal(size=32)}  # what each language adds to every vector
    rows, languages, meaning_of = [], [], []
    for m, meaning in enumerate(meanings):
        for language in ("fr", "nl"):  # the same answer in two languages, and a repeat of one
            for _ in range(2 if (language == "fr" and m < 4) else 1):
                rows.append(meaning + accent[language] + 0.15 * rng.normal(size=32))
                languages.append(language)
                meaning_of.append(m)
    X, meaning_of = np.array(rows), np.array(meaning_of)
    groups = near_duplicate_groups(X, languages)
    assert len(set(groups)) == len(meanings)
    assert all(len(set(groups[meaning_of == m])) == 1 for m in range(len(meanings)))
    # Without removing the language means, the accent dominates: the languages would join.
    raw = X / np.linalg.norm(X, axis=1, keepdims=True)
    assert (raw[meaning_of == 0][0] @ raw[meaning_of == 5][0]) > 0.7
    # A few rows estimate the language means from a larger reference of the same corpus.
    few = np.array([0, 1, 2, 16])  # meaning 0 (fr, fr, nl) and another meaning
    with_reference = near_duplicate_groups(X[few], [languages[i] for i in few], reference=(X, languages))
    assert with_reference[0] == with_reference[1] == with_reference[2] != with_reference[3]
    assert list(near_duplicate_groups(X[:1])) == [0]


def test_thousands_of_repeats_are_one_group_without_a_pair_matrix():
    rng = np.random.default_rng(2)
    X = np.vstack([np.tile(rng.normal(size=(1, 64)), (20_000, 1)), rng.normal(size=(50, 64))])
    groups = near_duplicate_groups(X)
    assert len(set(groups[:20_000])) == 1 and len(set(groups)) == 51

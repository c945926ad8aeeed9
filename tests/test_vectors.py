"""Shared vector maths."""

import numpy as np
import pandas as pd

from criteria_nlp.vectors import centre_by_language


def test_centring_some_rows_gives_those_rows_of_centring_all():
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(40, 8)).astype(np.float32)
    languages = pd.Series(["fr"] * 20 + ["nl"] * 17 + ["el"] * 3, index=range(100, 140))  # el: too few, global mean
    rows = np.array([39, 0, 5, 21, 38])
    whole = centre_by_language(vectors, languages)
    np.testing.assert_array_equal(centre_by_language(vectors, languages, rows=rows), whole[rows])
    np.testing.assert_array_equal(centre_by_language(vectors, None, rows=rows), vectors[rows].astype(np.float64))

"""Shared vector maths, the only copies: unit rows, one vector per distinct answer, and the
removal of each language's mean vector (so that translations meet)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def unit_rows(matrix: np.ndarray, copy: bool = True) -> np.ndarray:
    """Rows scaled to length 1 (zero rows stay zero); `copy=False` scales a float array in place
    (100,000 answer vectors in float64 are 300 MB: copies add up)."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    if copy:
        return matrix / norms
    matrix /= norms
    return matrix


def centre_by_language(vectors: np.ndarray, languages: Sequence[str] | None, min_count: int = 5,
                       rows: np.ndarray | None = None) -> np.ndarray:
    """Subtract each language's mean over the rows given (languages with fewer than
    `min_count` rows use the global mean), then scale rows to length 1. `rows`: return only
    these rows (the means are still those of all rows)."""
    if rows is not None:
        vectors_out = np.asarray(vectors)[rows]
        languages_out = None if languages is None else np.asarray(languages, dtype=object)[rows]
    else:
        vectors_out, languages_out = vectors, languages
    if languages is None or len(vectors) == 0:
        return np.asarray(vectors_out, dtype=np.float64)
    return LanguageCentring(min_count).fit(vectors, languages).transform(vectors_out, languages_out)


def item_sums(X: np.ndarray, item_of_row: np.ndarray, n_items: int) -> np.ndarray:
    """Per item, the sum of its rows' vectors (float64, without a full float64 copy of X)."""
    sums = np.zeros((n_items, np.shape(X)[1]))
    item_of_row = np.asarray(item_of_row)
    # Items of one row take it as it is (0 + x is x); only repeated items need np.add.at, which
    # is slow (seconds on 100,000 rows). Rows add in the same order: the same sums.
    single = np.bincount(item_of_row, minlength=n_items)[item_of_row] == 1
    sums[item_of_row[single]] = X[single]
    if not single.all():
        np.add.at(sums, item_of_row[~single], X[~single])
    return sums


def item_means(X: np.ndarray, item_of_row: np.ndarray, n_items: int) -> np.ndarray:
    """Per item (e.g. a distinct answer text), the mean of its rows' vectors."""
    return item_sums(X, item_of_row, n_items) / np.maximum(np.bincount(item_of_row, minlength=n_items), 1)[:, None]


def unique_items(texts: Sequence[str] | None, n: int, keys: Sequence[str] | None = None) -> tuple[list[str], np.ndarray]:
    """Canonical unique items: (sorted unique duplicate keys, row -> item index).

    Without texts every row is its own item, ordered by its key."""
    from criteria_nlp.prepare.text import duplicate_key

    if texts is not None:
        item_keys = [duplicate_key(t) for t in texts]
    else:
        item_keys = [str(k) for k in keys] if keys is not None else [f"{i:09d}" for i in range(n)]
    unique = sorted(set(item_keys))
    position = {k: i for i, k in enumerate(unique)}
    return unique, np.array([position[k] for k in item_keys], dtype=int)


def item_values(values: Sequence[str], item_of_row: np.ndarray, n_items: int) -> list[str]:
    """The most frequent value per item (ties: the smallest), e.g. the language of a text."""
    frame = pd.DataFrame({"item": item_of_row, "value": [str(v) for v in values]})
    counts = frame.value_counts().reset_index(name="n").sort_values(["item", "n", "value"], ascending=[True, False, True])
    first = counts.drop_duplicates("item").set_index("item")["value"]
    return [first.get(i, "") for i in range(n_items)]


class LanguageCentring:
    """Remembers each language's mean answer vector and removes it; unknown or rare languages
    lose the mean of all answers. With `texts`, means are over distinct texts in canonical
    order (row order and duplicates do not matter); without, over rows."""

    def __init__(self, min_count: int = 5):
        self.min_count = min_count

    def fit(self, X: np.ndarray, languages: Sequence[str] | None = None, texts: Sequence[str] | None = None) -> "LanguageCentring":
        if texts is None:  # every row its own item, in row order
            V = np.asarray(X, dtype=np.float64)
            item_languages = np.asarray([str(v) for v in languages]) if languages is not None else None
        else:
            keys, item_of_row = unique_items(texts, len(X))
            V = item_means(X, item_of_row, len(keys))
            item_languages = np.asarray(item_values(languages, item_of_row, len(keys))) if languages is not None else None
        self.global_mean_ = V.mean(axis=0) if len(V) else np.zeros(np.shape(X)[1])
        self.means_ = {}
        if item_languages is not None and len(V):
            for language in sorted(set(item_languages)):
                rows = item_languages == language
                if rows.sum() >= self.min_count:
                    self.means_[language] = V[rows].mean(axis=0)
        return self

    def transform(self, X: np.ndarray, languages: Sequence[str] | None = None) -> np.ndarray:
        out = np.array(X, dtype=np.float64)  # the only full-size copy: centred and scaled in place
        languages = np.asarray([str(lang) for lang in languages]) if languages is not None else np.full(len(out), "")
        for language in np.unique(languages):
            rows = languages == language
            out[rows] -= self.means_.get(str(language), self.global_mean_)
        return unit_rows(out, copy=False)


NEAR_DUPLICATE_COSINE = 0.6  # e5 cosine, language means removed; measured in near_duplicate_groups' doc


def near_duplicate_groups(X: np.ndarray, languages: Sequence[str] | None = None, threshold: float = NEAR_DUPLICATE_COSINE,
                          reference: tuple[np.ndarray, Sequence[str] | None] | None = None) -> np.ndarray:
    """Group id per row (0..G-1): rows linked, directly or through others, by a cosine of at
    least `threshold` once each language's mean vector is removed. Repeated post-its,
    near-paraphrases and translations of one answer fall in one group: cross-validation that
    lets one of them train and another test scores memory, not generalisation.

    Measured with e5 on the evaluation corpora (`evaluation/bench_quality.py`'s loaders): at
    0.6, 97 % of the SIB-200 sentences share a group (every group within one topic, none
    spanning more than 4 source sentences); 5 % of the German cycling contributions and 31 %
    of the demo's criteria are grouped (87 % and 86 % of those groups within one code); the
    largest group of the French consultation answers is 21 non-answers ("Non", "Je n'ai pas
    d'idée"). At 0.7, translations of one sentence fell into 2-3 groups and still leaked.
    `reference`: (vectors, languages) of more answers of the same corpus, used only for the
    language means (a few coded answers estimate them poorly)."""
    from scipy.sparse.csgraph import connected_components
    from sklearn.neighbors import NearestNeighbors

    X = np.asarray(X, dtype=np.float64)
    n = len(X)
    if n < 2:
        return np.zeros(n, dtype=int)
    # Identical vectors (repeated texts) count once, in the language means too: 20,000 copies
    # of one post-it must not become the mean that every other answer is measured from.
    X, first, row_of = np.unique(X, axis=0, return_index=True, return_inverse=True)
    languages = None if languages is None else [str(languages[i]) for i in first]
    if reference is not None:
        R, first_r = np.unique(np.asarray(reference[0], dtype=np.float64), axis=0, return_index=True)
        both = None if languages is None or reference[1] is None else [*languages, *(str(reference[1][i]) for i in first_r)]
        centring = LanguageCentring().fit(np.vstack([X, R]), both)
    else:
        centring = LanguageCentring().fit(X, languages)
    Z = centring.transform(X, languages)
    # Each row links to at most 10 of its closest rows above the threshold (Z's rows have
    # length 1, so a cosine of t is a distance of sqrt(2 - 2t)): O(n) memory, and on every
    # evaluation corpus the same groups as linking every pair above it.
    links = min(10, len(Z) - 1)
    if links == 0:
        return np.zeros(n, dtype=int)
    graph = NearestNeighbors(n_neighbors=links).fit(Z).kneighbors_graph(mode="distance")
    graph.data = graph.data <= np.sqrt(max(0.0, 2.0 - 2.0 * threshold)) + 1e-12
    graph.eliminate_zeros()
    return connected_components(graph, directed=False)[1][np.ravel(row_of)]

"""The neighbour graph behind discovery: nearest neighbours by a blend of standardised
embedding and word (TF-IDF) similarity, components connected, modularity, and the
neighbour vote that keeps translations and near-paraphrases together."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def lexical_matrix(texts: Sequence[str]):
    """L2-normalised TF-IDF rows of the texts (None when no word occurs twice)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    try:
        return TfidfVectorizer(sublinear_tf=True, min_df=2, lowercase=True).fit_transform([str(t) for t in texts])
    except ValueError:  # empty vocabulary
        return None


def _standardiser(sims_sample: np.ndarray) -> tuple[float, float]:
    values = sims_sample[np.isfinite(sims_sample)]
    return float(values.mean()), float(values.std() or 1.0)


def _top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Columns of the k highest scores of each row, best first, ties by position.

    A partial sort (linear per row) instead of sorting whole rows: on 30,000 answers the full
    sort made the graph cost minutes."""
    if k <= 0:
        return np.zeros((len(scores), 0), dtype=int)
    if k >= scores.shape[1]:
        return np.argsort(-scores, axis=1, kind="stable")[:, :k]
    part = np.argpartition(scores, scores.shape[1] - k, axis=1)[:, -k:]
    values = np.take_along_axis(scores, part, axis=1)
    out = np.take_along_axis(part, np.lexsort((part, -values), axis=1), axis=1)
    # Where the k-th score is tied with columns left out, pick the ties by position, exactly as
    # a stable full sort would (rare with real similarities).
    kth = values.min(axis=1, keepdims=True)
    for i in np.flatnonzero((scores >= kth).sum(axis=1) > k):
        row = scores[i]
        out[i] = np.argsort(-row, kind="stable")[:k]
    return out


def neighbour_graph(Z: np.ndarray, n_neighbours: int, lexical=None, lexical_weight: float = 0.0,
                    languages: Sequence[str] | None = None, block: int = 1024):
    """Symmetric kNN graph (scipy CSR, 0/1 weights) and the 5 nearest e5 neighbours of each row.

    Similarity = standardised e5 cosine + `lexical_weight` x standardised TF-IDF cosine, the
    latter only between answers in the same language and centred on the typical same-language
    pair: shared function words must not make answers of one language neighbours.
    Computed in row blocks (memory O(block * n)); ties are broken by position, so the result
    depends only on the canonical row order."""
    from scipy import sparse

    n = len(Z)
    k = int(min(n_neighbours, n - 1))
    sample = np.arange(min(n, 1000))
    off_diagonal = ~np.eye(len(sample), dtype=bool)
    e_mean, e_std = _standardiser((Z[sample] @ Z[sample].T)[off_diagonal])
    languages = np.asarray([str(x) for x in languages]) if languages is not None else np.full(n, "")
    use_lexical = lexical is not None and lexical_weight > 0
    if use_lexical:
        same = (languages[sample][:, None] == languages[sample][None, :]) & off_diagonal
        l_mean, l_std = _standardiser((lexical[sample] @ lexical[sample].T).toarray()[same])
        use_lexical = l_std > 1e-6  # no variation in word overlap: nothing to learn from it
    rows, cols, closest = [], [], np.zeros((n, min(5, n - 1)), dtype=int)
    # Rows per block: each block holds a few (block x n) float arrays at once; about 64 MB
    # each keeps a 100,000-answer run under its memory target.
    block = int(np.clip(8_000_000 // max(n, 1), 64, block))
    for start in range(0, n, block):
        stop = min(n, start + block)
        e5 = Z[start:stop] @ Z.T
        local = np.arange(stop - start)
        e5[local, start + local] = -np.inf
        closest[start:stop] = _top_k(e5, closest.shape[1])
        sims = (e5 - e_mean) / e_std
        if use_lexical:
            same_language = languages[start:stop][:, None] == languages[None, :]
            lex = ((lexical[start:stop] @ lexical.T).toarray() - l_mean) / l_std
            sims = sims + lexical_weight * np.where(same_language, lex, 0.0)
            sims[local, start + local] = -np.inf
        nearest = _top_k(sims, k)
        rows.append(np.repeat(np.arange(start, stop), k))
        cols.append(nearest.ravel())
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    graph = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    return connect_components(graph.maximum(graph.T).tocsr(), Z), closest


def connect_components(graph, Z: np.ndarray):
    """Join the graph's connected components, each to its most similar answer outside it, until
    one component remains: spectral embedding is unreliable on a disconnected graph, and a
    single bridge edge barely changes which partition is best."""
    from scipy.sparse.csgraph import connected_components

    graph = graph.tolil()
    while True:
        count, component = connected_components(graph, directed=False)
        if count <= 1:
            return graph.tocsr()
        for c in range(count):
            inside = np.flatnonzero(component == c)
            outside = np.flatnonzero(component != c)
            sims = Z[inside] @ Z[outside].T
            i, j = np.unravel_index(int(np.argmax(sims)), sims.shape)
            graph[inside[i], outside[j]] = graph[outside[j], inside[i]] = 1.0


def modularity(graph, labels: np.ndarray) -> float:
    """Newman's modularity of a partition of an undirected weighted graph (labels >= 0)."""
    from scipy import sparse

    n = graph.shape[0]
    membership = sparse.csr_matrix((np.ones(n), (np.arange(n), labels)), shape=(n, int(labels.max()) + 1))
    degrees = np.asarray(graph.sum(axis=1)).ravel()
    total = degrees.sum()
    inside = (membership.T @ graph @ membership).diagonal().sum() / total
    return float(inside - (((membership.T @ degrees) / total) ** 2).sum())


def neighbour_vote(labels: np.ndarray, closest: np.ndarray, rounds: int = 2) -> np.ndarray:
    """Each item takes the majority label of itself and its nearest neighbours; a tie keeps
    its own label."""
    labels = labels.copy()
    for _ in range(rounds):
        votes = np.column_stack([labels, labels[closest]])
        new = labels.copy()
        for i, row in enumerate(votes):
            counts = np.bincount(row)
            if counts.max() > counts[row[0]]:
                new[i] = int(counts.argmax())
        labels = new
    return labels

"""The neighbour graph behind discovery: nearest neighbours by a blend of standardised
embedding and word (TF-IDF) similarity, components connected, modularity, and the
neighbour vote that keeps translations and near-paraphrases together."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from criteria_nlp.embed.device import usable_cpus

PARALLEL_GRAPH_FROM = 10_000  # distinct answers from which the graph is built on every core


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


TOP_K_CHUNK = 128  # columns per chunk whose maximum bounds the k-th score (see _top_k)


def _top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Columns of the k highest scores of each row, best first, ties by position: exactly the
    first k of a stable sort of each row, without sorting (or partitioning) whole rows.

    The k-th largest of the rows' chunk maxima is a score that at least k entries reach, so
    every one of the top k is at or above it: only the few entries there are sorted. On
    40,000-wide rows this is several times faster than numpy's argpartition, which made half
    of discovery's time on 100,000 answers."""
    n_rows, width = scores.shape
    if k <= 0:
        return np.zeros((n_rows, 0), dtype=int)
    if k >= width:
        return np.argsort(-scores, axis=1, kind="stable")[:, :k]
    whole = width // TOP_K_CHUNK * TOP_K_CHUNK
    if whole // TOP_K_CHUNK < k:  # too narrow to gain from chunks
        return np.argsort(-scores, axis=1, kind="stable")[:, :k]
    maxima = scores[:, :whole].reshape(n_rows, whole // TOP_K_CHUNK, TOP_K_CHUNK).max(axis=2)
    if whole < width:
        maxima = np.column_stack([maxima, scores[:, whole:].max(axis=1)])
    bound = np.partition(maxima, maxima.shape[1] - k, axis=1)[:, maxima.shape[1] - k]
    rows, cols = np.nonzero(scores >= bound[:, None])
    order = np.lexsort((cols, -scores[rows, cols], rows))
    rows, cols = rows[order], cols[order]
    # Each row's candidates are contiguous and best first: keep the first k of each.
    first = np.searchsorted(rows, np.arange(n_rows))
    return cols[first[:, None] + np.arange(k)]


def neighbour_graphs(Z: np.ndarray, n_neighbours: int, lexical, lexical_weights: Sequence[float],
                     languages: Sequence[str] | None = None, block: int = 1024):
    """One symmetric kNN graph (scipy CSR, 0/1 weights) per lexical weight, and the 5 nearest
    e5 neighbours of each row.

    Similarity = standardised e5 cosine + lexical weight x standardised TF-IDF cosine, the
    latter only between answers in the same language and centred on the typical same-language
    pair: shared function words must not make answers of one language neighbours. All weights
    come from one pass over the similarities (the products, the costly part, are shared).
    Computed in row blocks (memory O(block * n)); ties are broken by position, so the result
    depends only on the canonical row order."""
    from scipy import sparse

    n = len(Z)
    k = int(min(n_neighbours, n - 1))
    sample = np.arange(min(n, 1000))
    off_diagonal = ~np.eye(len(sample), dtype=bool)
    e_mean, e_std = _standardiser((Z[sample] @ Z[sample].T)[off_diagonal])
    languages = np.asarray([str(x) for x in languages]) if languages is not None else np.full(n, "")
    weights = [float(w) for w in lexical_weights]
    use_lexical = lexical is not None and max(weights) > 0
    if use_lexical:
        same = (languages[sample][:, None] == languages[sample][None, :]) & off_diagonal
        l_mean, l_std = _standardiser((lexical[sample] @ lexical[sample].T).toarray()[same])
        use_lexical = l_std > 1e-6  # no variation in word overlap: nothing to learn from it
    n_closest = min(5, n - 1)
    # Rows per block: each block holds a few (block x n) float arrays at once; about 64 MB
    # each keeps a 100,000-answer run under its memory target.
    block = int(np.clip(8_000_000 // max(n, 1), 64, block))

    def block_neighbours(start: int) -> tuple[np.ndarray, list[np.ndarray]]:
        stop = min(n, start + block)
        local = np.arange(stop - start)
        sims = Z[start:stop] @ Z.T
        sims[local, start + local] = -np.inf
        closest = _top_k(sims, n_closest)
        # In place from here (the arithmetic of the plain expressions, so the same values):
        # these blocks are the largest arrays of a 100,000-answer run.
        sims -= e_mean
        sims /= e_std
        if not use_lexical:
            return closest, [_top_k(sims, k)] * len(weights)
        lex = (lexical[start:stop] @ lexical.T).toarray()
        lex -= l_mean
        lex /= l_std
        lex[languages[start:stop][:, None] != languages[None, :]] = 0.0
        nearest = []
        for j, weight in enumerate(weights):
            if weight <= 0:
                nearest.append(_top_k(sims, k))
                continue
            # The last weight reuses the word block in place: one graph costs no extra array.
            blended = lex if j == len(weights) - 1 else lex.copy()
            blended *= weight
            blended += sims
            blended[local, start + local] = -np.inf
            nearest.append(_top_k(blended, k))
            del blended
        return closest, nearest

    starts = range(0, n, block)
    # Blocks are independent and numpy releases the GIL in each step: threads use every core
    # on large sets (discovery's own BLAS calls run single-threaded). Small sets stay on one
    # thread: the run lays out its map on the other core meanwhile.
    workers = min(usable_cpus(), len(starts)) if n >= PARALLEL_GRAPH_FROM else 1
    if workers > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="criteria-nlp-graph") as pool:
            results = list(pool.map(block_neighbours, starts))
    else:
        results = [block_neighbours(start) for start in starts]
    closest = np.concatenate([c for c, _ in results]) if results else np.zeros((0, n_closest), dtype=int)
    rows = np.concatenate([np.repeat(np.arange(start, min(n, start + block)), k) for start in starts]) if n else np.zeros(0, dtype=int)
    graphs = []
    for w in range(len(weights)):
        cols = np.concatenate([nearest[w].ravel() for _, nearest in results]) if results else np.zeros(0, dtype=int)
        graph = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
        graphs.append(connect_components(graph.maximum(graph.T).tocsr(), Z))
    return graphs, closest


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

"""2-D map of the answers for the report: seeded, deterministic, no extra dependency.

Vectors are language-centred first (as for discovery), so that the map groups meaning
rather than language. t-SNE (scikit-learn, PCA initialisation, fixed seed) keeps
neighbourhoods, which is what a reader looks for ("which answers sit together");
above `max_tsne` answers it becomes slow on a laptop and PCA is used instead.
t-SNE runs on the first 50 principal components (the usual preprocessing) with one
OpenMP thread: scikit-learn's Barnes-Hut gradient otherwise spins every core and, on a
busy 2-core machine, took 56 s instead of 0.4 s for 120 answers; one thread also keeps
the layout identical from run to run.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from criteria_nlp.vectors import centre_by_language

MIN_TSNE = 5  # distinct points below which t-SNE is not run (it divides by their spread)


def project_2d(vectors: np.ndarray, languages: Sequence[str] | None = None, *, method: str = "auto",
               seed: int = 0, max_tsne: int = 5000) -> tuple[np.ndarray, str]:
    """(n, 2) coordinates scaled to [0, 1] and a one-line description of the method.

    Degenerate inputs degrade gracefully: identical answers share one point (t-SNE's tree
    crashes the process on duplicate points, so it only ever sees distinct ones), fewer than
    MIN_TSNE distinct points are laid out by PCA or on a line."""
    from sklearn.decomposition import PCA

    if method not in ("auto", "tsne", "pca"):
        raise ValueError(f"method must be 'auto', 'tsne' or 'pca', not {method!r}")
    vectors = np.nan_to_num(np.asarray(vectors, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    n = len(vectors)
    if n == 0:
        return np.zeros((0, 2)), "no answers"
    if n < 3:
        return _unit_scale(np.column_stack([np.arange(n, dtype=float), np.zeros(n)])), "fewer than 3 answers: a line"
    centred = np.nan_to_num(centre_by_language(vectors, languages))
    # Distinct points only (at a resolution far below any meaningful distance).
    scale = float(np.abs(centred).max()) or 1.0
    keys = np.round(centred / scale, 6)
    _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    inverse = np.asarray(inverse).reshape(-1)
    distinct = centred[first]
    m = len(distinct)
    if m == 1:
        return np.full((n, 2), 0.5), f"all {n} answers have the same embedding: one point"
    if m < MIN_TSNE:
        with _single_thread():
            coords = PCA(n_components=min(2, m), svd_solver="full").fit_transform(distinct)
        if coords.shape[1] < 2:
            coords = np.column_stack([coords, np.zeros(len(coords))])
        return _unit_scale(coords)[inverse], f"{m} distinct answers: first principal components of language-centred embeddings"
    if method == "auto":
        method = "tsne" if m <= max_tsne else "pca"
    if method == "tsne":
        from sklearn.manifold import TSNE

        perplexity = float(min(30.0, max(2.0, (m - 1) / 3.0)))
        with _single_thread():
            reduced = PCA(n_components=min(50, m, distinct.shape[1]), svd_solver="full").fit_transform(distinct)
            coords = TSNE(n_components=2, perplexity=perplexity, init="pca", max_iter=500,
                          random_state=seed, n_jobs=1).fit_transform(reduced)
        description = f"t-SNE (perplexity {perplexity:g}, PCA init, seed {seed}) of language-centred embeddings"
        if m < n:
            description += f" ({m} distinct answers of {n})"
    else:
        with _single_thread():
            coords = PCA(n_components=2, svd_solver="full").fit_transform(distinct)
        description = "first two principal components of language-centred embeddings"
    return _unit_scale(np.nan_to_num(coords))[inverse], description


def _single_thread():
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1)


def _unit_scale(coords: np.ndarray) -> np.ndarray:
    coords = np.asarray(coords, dtype=float)
    low, high = coords.min(axis=0), coords.max(axis=0)
    span = np.where(high - low > 0, high - low, 1.0)
    return np.round((coords - low) / span, 6)

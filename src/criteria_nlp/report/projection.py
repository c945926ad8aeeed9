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


def project_2d(vectors: np.ndarray, languages: Sequence[str] | None = None, *, method: str = "auto",
               seed: int = 0, max_tsne: int = 5000) -> tuple[np.ndarray, str]:
    """(n, 2) coordinates scaled to [0, 1] and a one-line description of the method."""
    from sklearn.decomposition import PCA

    vectors = np.asarray(vectors, dtype=np.float64)
    n = len(vectors)
    if n == 0:
        return np.zeros((0, 2)), "no answers"
    if n < 3:
        return _unit_scale(np.column_stack([np.arange(n, dtype=float), np.zeros(n)])), "fewer than 3 answers: a line"
    centred = centre_by_language(vectors, languages)
    if method == "auto":
        method = "tsne" if n <= max_tsne else "pca"
    if method == "tsne":
        from sklearn.manifold import TSNE

        perplexity = float(min(30.0, max(2.0, (n - 1) / 3.0)))
        with _single_thread():
            reduced = PCA(n_components=min(50, n, centred.shape[1]), svd_solver="full").fit_transform(centred)
            coords = TSNE(n_components=2, perplexity=perplexity, init="pca", max_iter=500,
                          random_state=seed, n_jobs=1).fit_transform(reduced)
        description = f"t-SNE (perplexity {perplexity:g}, PCA init, seed {seed}) of language-centred embeddings"
    elif method == "pca":
        with _single_thread():
            coords = PCA(n_components=2, svd_solver="full").fit_transform(centred)
        description = "first two principal components of language-centred embeddings"
    else:
        raise ValueError(f"method must be 'auto', 'tsne' or 'pca', not {method!r}")
    return _unit_scale(coords), description


def _single_thread():
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1)


def _unit_scale(coords: np.ndarray) -> np.ndarray:
    coords = np.asarray(coords, dtype=float)
    low, high = coords.min(axis=0), coords.max(axis=0)
    span = np.where(high - low > 0, high - low, 1.0)
    return np.round((coords - low) / span, 6)

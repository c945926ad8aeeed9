"""2-D map of the answers for the report: seeded, deterministic, no extra dependency.

Vectors are language-centred first (as for discovery), so that the map groups meaning
rather than language. t-SNE (scikit-learn, PCA initialisation, fixed seed) keeps
neighbourhoods, which is what a reader looks for ("which answers sit together");
t-SNE's cost grows with the number of answers (it was the report's largest cost), so above
`tsne_sample` distinct answers it lays out a seeded sample and places every other answer at
the distance-weighted mean of its nearest sampled neighbours (in the same PCA space).
method="auto" is that sampled t-SNE at any size; "pca" gives the first two components.
t-SNE runs on the first 50 principal components (the usual preprocessing) with one
OpenMP thread: scikit-learn's Barnes-Hut gradient otherwise spins every core and, on a
busy 2-core machine, took 56 s instead of 0.4 s for 120 answers; one thread also keeps
the layout identical from run to run.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from criteria_nlp.vectors import centre_by_language

LAYOUT_VERSION = 2  # bump when the layout changes: cached maps are then laid out again
MIN_TSNE = 5  # distinct points below which t-SNE is not run (it divides by their spread)
TSNE_SAMPLE = 1000  # distinct answers t-SNE lays out itself; the others are placed by their neighbours
NEIGHBOURS = 5  # sampled neighbours that place an answer outside the sample


def project_2d(vectors: np.ndarray, languages: Sequence[str] | None = None, *, method: str = "auto",
               seed: int = 0, tsne_sample: int = TSNE_SAMPLE) -> tuple[np.ndarray, str]:
    """(n, 2) coordinates scaled to [0, 1] and a one-line description of the method.

    Degenerate inputs degrade gracefully: identical answers share one point (t-SNE's tree
    crashes the process on duplicate points, so it only ever sees distinct ones), fewer than
    MIN_TSNE distinct points are laid out by PCA or on a line."""
    from sklearn.decomposition import PCA

    if method not in ("auto", "tsne", "pca"):
        raise ValueError(f"method must be 'auto', 'tsne' or 'pca', not {method!r}")
    vectors = np.asarray(vectors)
    if not np.isfinite(vectors).all():
        vectors = np.nan_to_num(vectors.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    n = len(vectors)
    if n == 0:
        return np.zeros((0, 2)), "no answers"
    if n < 3:
        return _unit_scale(np.column_stack([np.arange(n, dtype=float), np.zeros(n)])), "fewer than 3 answers: a line"
    # Distinct points only (at a resolution far below any meaningful distance). At 100,000
    # answers each float64 copy of the vectors is 300 MB and the map is laid out at the run's
    # peak memory: the keys are made in place of the centred vectors, and the centred vectors
    # made again for the distinct rows once np.unique (which sorts a copy) is done.
    keys = np.nan_to_num(centre_by_language(vectors, languages), copy=False)
    scale = float(np.abs(keys).max()) or 1.0
    keys /= scale
    np.round(keys, 6, out=keys)
    _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    del keys
    inverse = np.asarray(inverse).reshape(-1)
    distinct = np.nan_to_num(centre_by_language(vectors, languages, rows=first), copy=False)
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
        method = "tsne"
    if method == "tsne":
        coords, description = _sampled_tsne(distinct, seed, tsne_sample)
        if m < n:
            description += f" ({m} distinct answers of {n})"
    else:
        with _single_thread():
            coords = PCA(n_components=2, svd_solver="full").fit_transform(distinct)
        description = "first two principal components of language-centred embeddings"
    return _unit_scale(np.nan_to_num(coords))[inverse], description


def _sampled_tsne(points: np.ndarray, seed: int, sample_size: int) -> tuple[np.ndarray, str]:
    """t-SNE of all points, or of a seeded sample with the others placed by their neighbours."""
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    m = len(points)
    sample = np.arange(m) if m <= sample_size else np.sort(np.random.default_rng(seed).choice(m, sample_size, replace=False))
    k = len(sample)
    perplexity = float(min(30.0, max(2.0, (k - 1) / 3.0)))
    with _single_thread():
        pca = PCA(n_components=min(50, k, points.shape[1]), svd_solver="full").fit(points[sample])
        reduced = pca.transform(points)
        laid = TSNE(n_components=2, perplexity=perplexity, init="pca", max_iter=500,
                    random_state=seed, n_jobs=1).fit_transform(reduced[sample])
    description = f"t-SNE (perplexity {perplexity:g}, PCA init, seed {seed}) of language-centred embeddings"
    if k == m:
        return laid, description
    coords = np.empty((m, 2))
    coords[sample] = laid
    rest = np.setdiff1d(np.arange(m), sample)
    coords[rest] = _place_by_neighbours(reduced[rest], reduced[sample], laid)
    return coords, description + f" of a sample of {k:,}; the other answers placed among their {NEIGHBOURS} nearest sampled ones"


def _place_by_neighbours(points: np.ndarray, anchors: np.ndarray, anchor_coords: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """Each point at the inverse-distance-weighted mean of its nearest anchors' coordinates."""
    k = min(NEIGHBOURS, len(anchors))
    anchor_norms = (anchors**2).sum(axis=1)
    out = np.empty((len(points), 2))
    for start in range(0, len(points), chunk):
        block = points[start : start + chunk]
        distances = np.maximum((block**2).sum(axis=1)[:, None] + anchor_norms[None, :] - 2 * block @ anchors.T, 0.0)
        nearest = np.argpartition(distances, k - 1, axis=1)[:, :k]
        d = np.sqrt(np.take_along_axis(distances, nearest, axis=1))
        weights = 1.0 / (d + 1e-9)
        weights /= weights.sum(axis=1, keepdims=True)
        out[start : start + chunk] = np.einsum("ij,ijk->ik", weights, anchor_coords[nearest])
    return out


def _single_thread():
    """One thread for t-SNE's OpenMP gradient and the PCA's BLAS. Off the main thread (the
    map laid out in the background) only OpenMP is limited: its setting belongs to the calling
    thread, while BLAS's is process-wide and restoring it could race with the main thread's
    own limits (discovery's), leaving the whole process on one BLAS thread."""
    import threading

    from threadpoolctl import threadpool_limits

    main = threading.current_thread() is threading.main_thread()
    return threadpool_limits(limits=1, user_api=None if main else "openmp")


def _unit_scale(coords: np.ndarray) -> np.ndarray:
    coords = np.asarray(coords, dtype=float)
    low, high = coords.min(axis=0), coords.max(axis=0)
    span = np.where(high - low > 0, high - low, 1.0)
    return np.round((coords - low) / span, 6)

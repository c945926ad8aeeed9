"""Discovery: seeded, deterministic clustering of answer vectors into criteria groups.

Multilingual vectors carry a language signal as well as meaning; each language's mean
vector is removed first (Libovický et al. 2020) so clusters group meaning, not language.
Every answer gets a cluster (no outlier bin): k-means partitions, and the number of
clusters is chosen by silhouette when not given.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def centre_by_language(vectors: np.ndarray, languages: Sequence[str] | None, min_count: int = 5) -> np.ndarray:
    """Subtract each language's mean vector (languages with few answers use the global mean)."""
    vectors = np.asarray(vectors, dtype=np.float64)
    if languages is None or len(vectors) == 0:
        return vectors
    languages = np.asarray([str(lang) for lang in languages])
    out = vectors - vectors.mean(axis=0)
    for language in np.unique(languages):
        rows = languages == language
        if rows.sum() >= min_count:
            out[rows] = vectors[rows] - vectors[rows].mean(axis=0)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norms == 0, 1.0, norms)


def canonical_labels(labels: np.ndarray, keys: Sequence[str]) -> np.ndarray:
    """Renumber clusters by size (desc), ties by smallest member key: ids do not depend on row order."""
    labels = np.asarray(labels)
    keys = np.asarray([str(k) for k in keys])
    stats = []
    for label in np.unique(labels[labels >= 0]):
        members = labels == label
        stats.append((-int(members.sum()), min(keys[members]), label))
    mapping = {old: new for new, (_, _, old) in enumerate(sorted(stats))}
    return np.array([mapping.get(label, -1) for label in labels])


class KMeansDiscoverer:
    """k-means on language-centred unit vectors; K by silhouette when n_clusters is None.

    Learned: `labels_`, `cluster_centers_`, `n_clusters_`, `k_scores_` (K -> silhouette).
    """

    def __init__(self, n_clusters: int | None = None, k_range: tuple[int, int] = (4, 40), seed: int = 0, n_init: int = 4):
        self.n_clusters = n_clusters
        self.k_range = k_range
        self.seed = seed
        self.n_init = n_init

    def fit(self, X: np.ndarray, languages: Sequence[str] | None = None, keys: Sequence[str] | None = None) -> "KMeansDiscoverer":
        from sklearn.cluster import KMeans
        from sklearn.metrics import silhouette_score

        Z = centre_by_language(X, languages)
        n = len(Z)
        keys = list(keys) if keys is not None else [f"{i:09d}" for i in range(n)]
        if n < 3:
            self.labels_ = np.zeros(n, dtype=int)
            self.n_clusters_ = 1 if n else 0
            self.cluster_centers_ = Z.mean(axis=0, keepdims=True) if n else np.zeros((0, Z.shape[1] if Z.ndim == 2 else 0))
            self.k_scores_ = {}
            self.k_choice_ = "fewer than 3 answers: one cluster"
            return self
        if self.n_clusters:
            candidates = [min(self.n_clusters, n)]
        else:
            low, high = self.k_range
            high = max(2, min(high, int(np.sqrt(n) * 1.5), n - 1))
            low = min(max(2, low), high)
            candidates = sorted(set(np.unique(np.geomspace(low, high, num=8).round().astype(int))))
        rng = np.random.RandomState(self.seed)
        sample = rng.choice(n, size=min(n, 3000), replace=False)
        best = None
        self.k_scores_ = {}
        for k in candidates:
            model = KMeans(n_clusters=int(k), n_init=self.n_init, random_state=self.seed).fit(Z)
            score = silhouette_score(Z[sample], model.labels_[sample]) if 1 < k < n and len(set(model.labels_[sample])) > 1 else -1.0
            self.k_scores_[int(k)] = round(float(score), 4)
            if best is None or score > best[0]:
                best = (score, model)
        model = best[1]
        self.n_clusters_ = int(model.n_clusters)
        self.k_choice_ = (
            f"K={self.n_clusters_} given" if self.n_clusters
            else f"K={self.n_clusters_} chosen by the highest silhouette among {sorted(self.k_scores_)}"
        )
        labels = canonical_labels(model.labels_, keys)
        # Centres follow the canonical numbering.
        centres = np.zeros_like(model.cluster_centers_)
        for old in range(self.n_clusters_):
            members = np.flatnonzero(model.labels_ == old)
            if len(members):
                centres[labels[members[0]]] = model.cluster_centers_[old]
        self.labels_ = labels
        self.cluster_centers_ = centres
        return self


def cluster_summary(answers: pd.DataFrame, labels: np.ndarray, vectors: np.ndarray, centres: np.ndarray) -> pd.DataFrame:
    """One row per cluster: size, languages, top codes, the most central answer as label."""
    rows = []
    for cluster in sorted(set(labels[labels >= 0])):
        members = np.flatnonzero(labels == cluster)
        sims = vectors[members] @ centres[cluster] if len(centres) else np.zeros(len(members))
        central = answers.iloc[members[np.argsort(-sims)[:3]]]["text"].tolist()
        langs = answers.iloc[members]["language"].value_counts()
        row = {
            "cluster": int(cluster),
            "cluster_label": central[0] if central else "",
            "size": len(members),
            "languages": "; ".join(f"{k}:{v}" for k, v in langs.items()),
            "examples": " | ".join(central),
        }
        if "code" in answers.columns:
            codes = answers.iloc[members]["code"].replace("", np.nan).dropna().value_counts()
            row["top_codes"] = "; ".join(f"{k}:{v}" for k, v in codes.head(3).items())
        rows.append(row)
    return pd.DataFrame(rows)

"""The fitted criteria groups as a nearest-centre index: new answers join the group of their
code whose centre they are as close to as the group's own members, or no group."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from criteria_nlp.config import UNASSIGNED
from criteria_nlp.vectors import LanguageCentring, unit_rows

MEMBER_PERCENTILE = 10  # a new answer must be as close to the centre as this share of the members


class GroupIndex:
    """fit(vectors, languages, texts, codes, clusters) learns `centring_` (each language's mean
    answer vector, removed so that translations meet), `clusters_`, `codes_` (each group's
    code: its members' most frequent one), `centres_` and `thresholds_` (the similarity of the
    group's 10th-percentile member to its centre, as the analysts' validated groups use);
    predict(vectors, languages, codes) never refits: (cluster or -1, similarity) per answer."""

    def __init__(self, percentile: float = MEMBER_PERCENTILE):
        self.percentile = percentile

    def fit(self, vectors: np.ndarray, languages: Sequence[str], texts: Sequence[str], codes: Sequence[str],
            clusters: Sequence[int]) -> GroupIndex:
        self.centring_ = LanguageCentring().fit(np.asarray(vectors, dtype=np.float64), list(languages), list(texts))
        Z = self.centring_.transform(vectors, languages)
        codes, clusters = np.asarray([str(c) for c in codes], dtype=object), np.asarray(clusters, dtype=int)
        ids = sorted(int(c) for c in set(clusters.tolist()) if c != UNASSIGNED)
        centres, thresholds, group_codes = [], [], []
        for cluster in ids:
            members = clusters == cluster
            centre = unit_rows(Z[members].mean(axis=0, keepdims=True))[0]
            sims = Z[members] @ centre
            centres.append(centre)
            thresholds.append(float(np.percentile(sims, self.percentile)) if len(sims) >= 3 else float(sims.min()))
            values, counts = np.unique(codes[members].astype(str), return_counts=True)
            group_codes.append(str(values[np.argmax(counts)]))
        self.clusters_ = np.asarray(ids, dtype=np.int64)
        self.codes_ = np.asarray(group_codes, dtype=object)
        self.centres_ = np.asarray(centres, dtype=np.float64).reshape(len(ids), Z.shape[1])
        self.thresholds_ = np.asarray(thresholds, dtype=np.float64)
        return self

    def predict(self, vectors: np.ndarray, languages: Sequence[str], codes: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        n = len(vectors)
        cluster, similarity = np.full(n, UNASSIGNED, dtype=np.int64), np.full(n, np.nan)
        if n == 0 or not len(self.clusters_):
            return cluster, similarity
        sims = self.centring_.transform(vectors, languages) @ self.centres_.T
        same_code = np.asarray([str(c) for c in codes], dtype=object)[:, None] == self.codes_[None, :]
        sims = np.where(same_code, sims, -np.inf)
        best = sims.argmax(axis=1)
        top = sims[np.arange(n), best]
        has = np.isfinite(top)
        similarity[has] = top[has]
        fits = has & (top >= self.thresholds_[best])
        cluster[fits] = self.clusters_[best[fits]]
        return cluster, similarity

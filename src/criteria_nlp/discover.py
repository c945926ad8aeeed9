"""Discovery: seeded, deterministic clustering of answers into criteria groups.

How `Discoverer` works, and why:

1. **Duplicates once.** Answers that are the same text (case and edge punctuation aside) are
   clustered once and share their cluster: hundreds of identical post-its must not pull
   centres towards them. Non-answers are left out before this (see `text.answer_status`).
2. **Row order never matters.** Unique texts are processed in a canonical sorted order and
   cluster ids are renumbered canonically (by size, then smallest member key), so shuffling
   the input changes no membership and no id.
3. **Meaning, not language.** Multilingual vectors carry a language signal; each language's
   mean vector is removed (Libovický et al. 2020). Languages with too few answers to
   estimate a mean use the mean of all answers.
4. **Neighbourhood smoothing.** Each vector is averaged with its nearest neighbours before
   clustering. Translations and paraphrases are each other's neighbours, so they end up
   near-identical and fall into the same cluster, and isolated noise is damped.
5. **K chosen by the data.** Without `n_clusters`, k-means runs for a range of K and the K
   with the best silhouette (cosine) on the smoothed vectors wins; the scores are kept in
   `k_scores_` and the choice is explained in `k_choice_`.
6. **Few, explicit outliers.** Answers unusually far from their cluster centre (robust
   z-score below -3 of the similarity) are unassigned (-1), but never more than
   `max_unassigned` of the answers (10 % by default; 0 assigns everyone).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

UNASSIGNED = -1


def _normalise(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1.0, norms)


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
    return _normalise(out)


def smooth_by_neighbours(Z: np.ndarray, n_neighbours: int, block: int = 2048) -> np.ndarray:
    """Average each unit vector with its `n_neighbours` most similar vectors (cosine), renormalised.

    Ties are broken by position, so the result depends only on the (canonical) row order.
    """
    n = len(Z)
    k = min(n_neighbours, n - 1)
    if k <= 0:
        return Z
    out = np.empty_like(Z)
    for start in range(0, n, block):
        sims = Z[start:start + block] @ Z.T
        rows = np.arange(sims.shape[0])
        sims[rows, start + rows] = np.inf  # oneself first
        # stable argsort of -sims: equal similarities keep index order
        nearest = np.argsort(-sims, axis=1, kind="stable")[:, : k + 1]
        out[start:start + block] = Z[nearest].mean(axis=1)
    return _normalise(out)


def canonical_labels(labels: np.ndarray, keys: Sequence[str]) -> np.ndarray:
    """Renumber clusters by size (desc), ties by smallest member key: ids do not depend on row order."""
    labels = np.asarray(labels)
    keys = np.asarray([str(k) for k in keys])
    stats = []
    for label in np.unique(labels[labels >= 0]):
        members = labels == label
        stats.append((-int(members.sum()), min(keys[members]), label))
    mapping = {old: new for new, (_, _, old) in enumerate(sorted(stats))}
    return np.array([mapping.get(label, UNASSIGNED) for label in labels], dtype=int)


def unique_items(texts: Sequence[str] | None, n: int, keys: Sequence[str] | None = None) -> tuple[list[str], np.ndarray]:
    """Canonical unique items: (sorted unique duplicate keys, row -> item index).

    Without texts every row is its own item, ordered by its key."""
    from .text import duplicate_key

    if texts is not None:
        item_keys = [duplicate_key(t) for t in texts]
    else:
        item_keys = [str(k) for k in keys] if keys is not None else [f"{i:09d}" for i in range(n)]
    unique = sorted(set(item_keys))
    position = {k: i for i, k in enumerate(unique)}
    return unique, np.array([position[k] for k in item_keys], dtype=int)


def _item_values(values: Sequence[str], item_of_row: np.ndarray, n_items: int) -> list[str]:
    """The most frequent value per item (ties: the smallest), e.g. the language of a text."""
    frame = pd.DataFrame({"item": item_of_row, "value": [str(v) for v in values]})
    counts = frame.value_counts().reset_index(name="n").sort_values(["item", "n", "value"], ascending=[True, False, True])
    first = counts.drop_duplicates("item").set_index("item")["value"]
    return [first.get(i, "") for i in range(n_items)]


class Discoverer:
    """Deterministic k-means discovery on language-neutral, neighbour-smoothed vectors.

    Parameters: n_clusters (None = chosen by silhouette within k_range), k_range,
    max_unassigned (share, 0..1), n_neighbours (smoothing; 0 = off), centre_languages,
    seed, n_init.

    Learned: labels_ (per input row; -1 = unassigned), n_clusters_, k_choice_, k_scores_
    (K -> silhouette), cluster_centers_ (in the smoothed space, canonical ids),
    unassigned_share_, representation_ (smoothed unit vector of each input row).
    """

    def __init__(self, n_clusters: int | None = None, k_range: tuple[int, int] = (2, 40), max_unassigned: float = 0.10,
                 n_neighbours: int = 10, centre_languages: bool = True, seed: int = 0, n_init: int = 4,
                 outlier_z: float = 3.0):
        self.n_clusters = n_clusters
        self.k_range = k_range
        self.max_unassigned = max_unassigned
        self.n_neighbours = n_neighbours
        self.centre_languages = centre_languages
        self.seed = seed
        self.n_init = n_init
        self.outlier_z = outlier_z

    # ------------------------------------------------------------------ helpers
    def _candidates(self, n: int) -> list[int]:
        if self.n_clusters:
            return [int(min(self.n_clusters, n))]
        low, high = self.k_range
        high = int(max(2, min(high, np.sqrt(n) * 1.5, n - 1)))
        low = int(min(max(2, low), high))
        return list(range(low, high + 1))

    def _kmeans(self, Z: np.ndarray, k: int):
        from sklearn.cluster import KMeans

        return KMeans(n_clusters=k, n_init=self.n_init, random_state=self.seed).fit(Z)

    def _silhouette(self, Z: np.ndarray, labels: np.ndarray) -> float:
        from sklearn.metrics import silhouette_score

        if len(set(labels)) < 2:
            return -1.0
        sample = min(len(Z), 3000)
        return float(silhouette_score(Z, labels, metric="cosine", sample_size=sample if sample < len(Z) else None,
                                      random_state=self.seed))

    # ---------------------------------------------------------------------- fit
    def fit(self, X: np.ndarray, languages: Sequence[str] | None = None, keys: Sequence[str] | None = None,
            texts: Sequence[str] | None = None) -> "Discoverer":
        X = np.asarray(X, dtype=np.float64)
        n = len(X)
        item_keys, item_of_row = unique_items(texts, n, keys)
        m = len(item_keys)
        # One vector per unique item (the mean of its rows), in canonical order.
        V = np.zeros((m, X.shape[1] if X.ndim == 2 else 0))
        np.add.at(V, item_of_row, X)
        V = _normalise(V / np.maximum(np.bincount(item_of_row, minlength=m), 1)[:, None])
        item_languages = _item_values(languages, item_of_row, m) if languages is not None else None
        Z = centre_by_language(V, item_languages) if self.centre_languages and item_languages is not None else _normalise(V - V.mean(axis=0)) if m > 1 else V
        self.n_items_ = m
        if m < 3:
            self.n_clusters_ = 1 if m else 0
            self.k_scores_ = {}
            self.k_choice_ = "fewer than 3 distinct answers: one cluster"
            item_labels = np.zeros(m, dtype=int)
            self.cluster_centers_ = _normalise(Z.mean(axis=0, keepdims=True)) if m else np.zeros((0, Z.shape[1]))
            S = Z
        else:
            S = smooth_by_neighbours(Z, self.n_neighbours) if self.n_neighbours else Z
            candidates = self._candidates(m)
            self.k_scores_, best = {}, None
            for k in candidates:
                model = self._kmeans(S, k)
                score = self._silhouette(S, model.labels_) if len(candidates) > 1 else float("nan")
                self.k_scores_[int(k)] = round(score, 4)
                if best is None or score > best[0] + 1e-9:
                    best = (score, model)
            model = best[1]
            item_labels = canonical_labels(model.labels_, item_keys)
            self.n_clusters_ = int(len(set(item_labels)))
            if self.n_clusters:
                self.k_choice_ = f"K={self.n_clusters_} given"
            else:
                self.k_choice_ = (f"K={self.n_clusters_} chosen by the highest silhouette (cosine, on language-centred, "
                                  f"neighbour-smoothed vectors) for K in {candidates[0]}..{candidates[-1]}")
            self.cluster_centers_ = np.vstack([_normalise(S[item_labels == c].mean(axis=0, keepdims=True)) for c in range(self.n_clusters_)])
            item_labels = self._mark_outliers(S, item_labels)
        self.item_labels_ = item_labels
        self.labels_ = item_labels[item_of_row]
        self.representation_ = S[item_of_row]
        self.unassigned_share_ = float((self.labels_ == UNASSIGNED).mean()) if n else 0.0
        return self

    def _mark_outliers(self, S: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """Unassign items far from their centre (robust z < -outlier_z), within the cap."""
        if self.max_unassigned <= 0 or len(labels) < 10:
            return labels
        sims = np.einsum("ij,ij->i", S, self.cluster_centers_[labels])
        median = np.median(sims)
        mad = np.median(np.abs(sims - median)) * 1.4826 or 1e-9
        z = (sims - median) / mad
        candidates = np.flatnonzero(z < -self.outlier_z)
        cap = int(np.floor(self.max_unassigned * len(labels)))
        chosen = candidates[np.lexsort((candidates, z[candidates]))][:cap]
        out = labels.copy()
        out[chosen] = UNASSIGNED
        return out


# Backwards-compatible name used before discovery handled duplicates and smoothing.
KMeansDiscoverer = Discoverer


def discover_within_codes(X: np.ndarray, codes: Sequence[str], *, languages: Sequence[str] | None = None,
                          texts: Sequence[str] | None = None, keys: Sequence[str] | None = None,
                          max_unassigned: float = 0.10, seed: int = 0, min_group: int = 6,
                          max_groups_per_code: int = 12, n_clusters: int | None = None) -> tuple[np.ndarray, pd.DataFrame]:
    """Criteria groups inside each code and among the uncoded answers ("").

    Returns (global cluster id per row, one row per group: cluster, code, k_choice). Global
    ids are numbered code by code (codes sorted, uncoded last), then by the canonical local
    id, so they do not depend on row order. A code with fewer than 2 * min_group distinct
    answers forms one group. `n_clusters` (when given) is the number of groups among the
    uncoded answers.
    """
    X = np.asarray(X, dtype=np.float64)
    codes = np.asarray(["" if c is None else str(c) for c in codes], dtype=object)
    n = len(X)
    keys = np.asarray([str(k) for k in keys]) if keys is not None else np.asarray([f"{i:09d}" for i in range(n)])
    labels = np.full(n, UNASSIGNED, dtype=int)
    rows_out, next_id = [], 0
    order = sorted(set(codes), key=lambda c: (c == "", c))
    for code in order:
        rows = np.flatnonzero(codes == code)
        sub_texts = [texts[i] for i in rows] if texts is not None else None
        sub_langs = [languages[i] for i in rows] if languages is not None else None
        distinct = len(unique_items(sub_texts, len(rows), keys[rows])[0])
        wanted = n_clusters if (code == "" and n_clusters) else None
        if distinct < 2 * min_group and not wanted:
            local = np.zeros(len(rows), dtype=int)
            choice = f"{distinct} distinct answers: one group"
        else:
            high = max(2, min(max_groups_per_code, distinct // min_group)) if code else 40
            model = Discoverer(n_clusters=wanted, k_range=(2, high), max_unassigned=max_unassigned, seed=seed).fit(
                X[rows], languages=sub_langs, keys=keys[rows], texts=sub_texts)
            local, choice = model.labels_, model.k_choice_
        for group in range(int(local.max()) + 1 if len(local) else 0):
            labels[rows[local == group]] = next_id + group
            rows_out.append({"cluster": next_id + group, "code": code, "k_choice": choice})
        next_id += int(local.max()) + 1 if len(local) and local.max() >= 0 else 0
    return labels, pd.DataFrame(rows_out, columns=["cluster", "code", "k_choice"])


def cluster_summary(answers: pd.DataFrame, labels: np.ndarray, vectors: np.ndarray, centres: np.ndarray | None = None) -> pd.DataFrame:
    """One row per cluster: size, languages, top codes, the most central answers (label first).

    `vectors` are the unit vectors clustering used; centres are recomputed from members when
    not given, so the function also serves groups made code by code."""
    labels = np.asarray(labels)
    rows = []
    for cluster in sorted(set(labels[labels >= 0])):
        members = np.flatnonzero(labels == cluster)
        centre = centres[cluster] if centres is not None and len(centres) > cluster else _normalise(vectors[members].mean(axis=0, keepdims=True))[0]
        sims = vectors[members] @ centre
        order = members[np.lexsort((answers.iloc[members]["id"].astype(str).to_numpy(), -sims))]
        central = list(dict.fromkeys(answers.iloc[order]["text"].tolist()))[:3]
        langs = answers.iloc[members]["language"].value_counts()
        row = {
            "cluster": int(cluster),
            "cluster_label": central[0] if central else "",
            "size": len(members),
            "languages": "; ".join(f"{k}:{v}" for k, v in sorted(langs.items(), key=lambda kv: (-kv[1], kv[0]))),
            "examples": " | ".join(central),
        }
        if "code" in answers.columns:
            codes = answers.iloc[members]["code"].replace("", np.nan).dropna().value_counts()
            row["top_codes"] = "; ".join(f"{k}:{v}" for k, v in sorted(codes.items(), key=lambda kv: (-kv[1], kv[0]))[:3])
        rows.append(row)
    return pd.DataFrame(rows)

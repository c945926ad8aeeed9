"""Discovery: seeded, deterministic clustering of answers into criteria groups.

How `Discoverer` works, and why:

1. **Duplicates once.** Answers that are the same text (case and edge punctuation aside) are
   clustered once and share their cluster: hundreds of identical post-its must not pull
   the clustering towards them. Non-answers are left out before this (`text.answer_status`).
2. **Row order never matters.** Unique texts are processed in a canonical sorted order and
   cluster ids are renumbered canonically (by size, then smallest member key), so shuffling
   the input changes no membership and no id.
3. **Meaning, not language.** Multilingual vectors carry a language signal; each language's
   mean vector is removed (Libovický et al. 2020). Languages with too few answers to
   estimate a mean use the mean of all answers.
4. **A neighbour graph of meaning and words.** Each answer is linked to its nearest
   neighbours by a similarity that adds, to the (standardised) e5 cosine, the TF-IDF cosine
   of its words weighted by the chance that two answers share a language (words only
   compare within a language; on a one-language corpus they matter most).
   How much words count depends on the answers: crowd tags such as "Taxer les riches" follow
   words, topic codes of long contributions follow meaning. So up to `WEIGHT_SEARCH_UP_TO`
   distinct answers, the graph is built with words counting x0.5, x1 and x2, each graph is
   clustered (step 5), and the partition kept is the one most modular on both views at once:
   the highest geometric mean of its modularity on the meaning-only graph and on the
   words-first graph (`weight_scores_`). Larger sets use x1, the single best on the
   benchmark corpora, and so does a run's discovery beyond `WITHIN_CODES_SEARCH_UP_TO`
   answers in all (time).
5. **Spectral clustering, K by modularity.** The graph's spectral embedding (seeded) is cut
   by k-means for a range of K; without `n_clusters` the K whose partition has the highest
   modularity on the graph wins (scores kept in `k_scores_`, reason in `k_choice_`).
6. **Neighbours agree.** Each answer then takes the majority cluster of itself and its five
   nearest e5 neighbours (twice): translations and near-paraphrases, which are each other's
   nearest neighbours, end up in the same cluster.
7. **Few, explicit outliers.** Answers unusually far from their cluster (robust z-score
   below -3 of the similarity to the cluster centre) are unassigned (-1), but never more
   than `max_unassigned` of the answers (10 % by default; 0 assigns everyone)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

import numpy as np
import pandas as pd

from criteria_nlp.config import DEFAULT_MAX_UNASSIGNED, UNASSIGNED
from criteria_nlp.discover.graph import (
    lexical_matrix,
    modularity,
    neighbour_graphs,
    neighbour_vote,
)
from criteria_nlp.vectors import (
    centre_by_language,
    item_means,
    item_values,
    unique_items,
    unit_rows,
)


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


def graph_degree(m: int, cap: int = 20) -> int:
    """Neighbours per answer in the graph of `m` distinct answers: about sqrt(m) / 2, between
    6 and `cap` (20). Measured on real answers (evaluation/results/quality.md), a sparser
    graph finds more of the gold codes in small sets (120-600 answers: AMI +0.01 to +0.07
    over the former m / 8) and changes nothing from about 1,600 answers on."""
    return int(np.clip(round(np.sqrt(m) / 2), 6, cap))


# Distinct answers from which LOBPCG is faster than ARPACK (sklearn's default) on the graph: on
# 3,000 consultation answers 1.8 s against 3.5 s, on 2,000 even, on 1,500 0.7 s against 0.5 s;
# the same clusters (k-means ARI 1.0, largest angle of the first ten vectors 0.002 degrees).
LOBPCG_FROM = 2000
WORD_WEIGHTS = (0.5, 1.0, 2.0)  # how much words count, tried on each set (times the same-language chance)
WEIGHT_SEARCH_UP_TO = 5000  # distinct answers; beyond, x1 only: the search about doubles discovery's time
# Answers in all up to which a run's discovery (inside codes and among uncoded answers) tries
# the three word weights; larger runs use x1. The search took the discover stage of a
# 3,000-answer run from 2.8 s to 6.7 s, which would break its time target (run / embed <= 1.15).
WITHIN_CODES_SEARCH_UP_TO = 2_000
WORDS_FIRST = 1000.0  # word weight of the "words" view: word overlap decides, meaning breaks ties


class Discoverer:
    """Deterministic spectral discovery on a language-neutral neighbour graph (see module doc).

    Parameters: n_clusters (None = chosen by modularity within k_range), k_range,
    max_unassigned (share, 0..1), n_neighbours (the largest graph degree, see `graph_degree`), lexical (add word overlap),
    centre_languages, vote (neighbour agreement rounds), seed, n_init (k-means starts per K),
    word_weights (the word weights to try; None: `WORD_WEIGHTS` up to `WEIGHT_SEARCH_UP_TO`
    distinct answers, x1 beyond).

    Learned: labels_ (per input row; -1 = unassigned), n_clusters_, k_choice_, k_scores_
    (K -> modularity), cluster_centers_ (unit vectors in the language-centred space,
    canonical ids), unassigned_share_, representation_ (language-centred unit vector of
    each input row), n_items_ (distinct answers clustered), word_weight_ (the factor words
    counted with: 0 without words, None without a graph), weight_scores_ (factor -> geometric mean of the
    modularities on meaning and on words; empty when only one factor was tried).
    """

    def __init__(self, n_clusters: int | None = None, k_range: tuple[int, int] = (2, 40), max_unassigned: float = DEFAULT_MAX_UNASSIGNED,
                 n_neighbours: int = 20, lexical: bool = True, centre_languages: bool = True, vote: int = 2,
                 seed: int = 0, n_init: int = 4, outlier_z: float = 3.0, word_weights: tuple[float, ...] | None = None):
        self.n_clusters = n_clusters
        self.k_range = k_range
        self.max_unassigned = max_unassigned
        self.n_neighbours = n_neighbours
        self.lexical = lexical
        self.centre_languages = centre_languages
        self.vote = vote
        self.seed = seed
        self.n_init = n_init
        self.word_weights = word_weights
        self.outlier_z = outlier_z

    def _candidates(self, m: int) -> list[int]:
        if self.n_clusters:
            return [int(max(1, min(self.n_clusters, m - 1)))]  # never more groups than distinct answers allow
        low, high = self.k_range
        high = int(max(2, min(high, m // 3)))
        low = int(min(max(2, low), high))
        grid = sorted(set(np.unique(np.geomspace(low, high, num=16).round().astype(int)).tolist()))
        return grid

    def fit(self, X: np.ndarray, languages: Sequence[str] | None = None, keys: Sequence[str] | None = None,
            texts: Sequence[str] | None = None) -> "Discoverer":
        from threadpoolctl import threadpool_limits

        # Small dense problems: one BLAS thread is as fast and never oversubscribes cores.
        with threadpool_limits(limits=1, user_api="blas"):
            return self._fit(X, languages, keys, texts)

    def _fit(self, X, languages, keys, texts) -> "Discoverer":
        X = np.asarray(X, dtype=np.float64)
        n = len(X)
        item_keys, item_of_row = unique_items(texts, n, keys)
        m = len(item_keys)
        dim = X.shape[1] if X.ndim == 2 else 0
        # One vector per distinct answer (the mean of its rows), in canonical order.
        V = unit_rows(item_means(X, item_of_row, m)) if m else np.zeros((0, dim))
        item_languages = item_values(languages, item_of_row, m) if languages is not None else ["" for _ in range(m)]
        if self.centre_languages and m > 1:
            Z = centre_by_language(V, item_languages)
        else:
            Z = V
        self.n_items_ = m
        self.k_scores_, self.weight_scores_, self.word_weight_ = {}, {}, None
        if m < 6:
            self.n_clusters_ = 1 if m else 0
            self.k_choice_ = f"{m} distinct answers: one cluster"
            item_labels = np.zeros(m, dtype=int)
        else:
            item_labels = self._cluster(Z, item_keys, item_languages, texts, item_of_row)
        self.cluster_centers_ = (np.vstack([unit_rows(Z[item_labels == c].mean(axis=0, keepdims=True)) for c in range(self.n_clusters_)])
                                 if self.n_clusters_ else np.zeros((0, dim)))
        item_labels = self._mark_outliers(Z, item_labels)
        self.item_labels_ = item_labels
        self.labels_ = item_labels[item_of_row] if n else np.zeros(0, dtype=int)
        self.representation_ = Z[item_of_row] if n else np.zeros((0, dim))
        self.unassigned_share_ = float((self.labels_ == UNASSIGNED).mean()) if n else 0.0
        return self

    def _cluster(self, Z, item_keys, item_languages, texts, item_of_row) -> np.ndarray:
        m = len(Z)
        lexical, same_language = None, 0.0
        if self.lexical and texts is not None:
            # Text of each item: its first row in input order would depend on row order, so
            # use the canonical key (the case-folded text itself).
            lexical = lexical_matrix(item_keys)
            shares = pd.Series(item_languages).value_counts(normalize=True)
            same_language = float((shares ** 2).sum())
        # About 20 neighbours on large corpora, fewer on small groups (a graph where everyone
        # neighbours everyone has no structure left).
        degree = graph_degree(m, self.n_neighbours)
        candidates = self._candidates(m)
        if lexical is None:
            factors = (0.0,)
        elif self.word_weights is not None:
            factors = tuple(self.word_weights)
        else:
            factors = WORD_WEIGHTS if m <= WEIGHT_SEARCH_UP_TO else (1.0,)
        # The views that judge the weights (meaning alone, words first) come from the same pass.
        views = [0.0, WORDS_FIRST] if len(factors) > 1 else []
        graphs, closest = neighbour_graphs(Z, degree, lexical, [f * same_language for f in factors] + views, item_languages)
        partitions = [(factor, *self._best_partition(graph, candidates, closest)) for factor, graph in zip(factors, graphs)]
        if len(partitions) > 1:
            meaning, words = graphs[len(factors):]
            for factor, _, labels, _ in partitions:
                both = max(modularity(meaning, labels), 0.0) * max(modularity(words, labels), 0.0)
                self.weight_scores_[factor] = round(float(np.sqrt(both)), 4)
        chosen = max(range(len(partitions)), key=lambda j: self.weight_scores_.get(partitions[j][0], 0.0))
        self.word_weight_, self.k_scores_, labels, before_vote = partitions[chosen]
        labels = canonical_labels(labels, item_keys)
        self.n_clusters_ = int(labels.max()) + 1
        if self.n_clusters:
            self.k_choice_ = f"K={self.n_clusters_} given" + (f" ({self.n_clusters} asked, {m} distinct answers)" if self.n_clusters > m - 1 else "")
        else:
            self.k_choice_ = (f"K={before_vote} chosen by the highest modularity of the neighbour graph among K in "
                              f"{candidates}" + (f"; {self.n_clusters_} after neighbour agreement" if self.n_clusters_ != before_vote else ""))
        if self.weight_scores_:
            self.k_choice_ += (f"; words x{self.word_weight_:g} (most modular on both meaning and words among "
                               + ", ".join(f"x{f:g}: {v:.3f}" for f, v in self.weight_scores_.items()) + ")")
        return labels

    def _best_partition(self, graph, candidates: list[int], closest: np.ndarray):
        """(K -> modularity, labels after the neighbour vote, groups before it) of one graph."""
        from sklearn.cluster import KMeans
        from sklearn.manifold import spectral_embedding

        m = graph.shape[0]
        # drop_first asks the eigensolver for one vector more, which must stay below m.
        n_components = int(max(1, min(max(candidates) + 1, m - 2)))
        # ARPACK's shift-invert factorises the graph Laplacian: minutes and gigabytes beyond a
        # few thousand answers (194 s and +2.2 GB on 30,000). LOBPCG needs only products with
        # the graph and finds the same subspace (largest angle 0.05 degrees on 5,000 answers).
        solver = "lobpcg" if m > LOBPCG_FROM else None
        embedding = spectral_embedding(graph, n_components=n_components, random_state=self.seed, drop_first=True, eigen_solver=solver)
        scores, best = {}, None
        for k in candidates:
            labels = KMeans(n_clusters=k, n_init=self.n_init, random_state=self.seed).fit_predict(embedding[:, :max(1, min(k, n_components))])
            score = modularity(graph, labels)
            scores[int(k)] = round(score, 4)
            if best is None or score > best[0] + 1e-9:
                best = (score, labels)
        labels = best[1]
        if self.vote and closest.shape[1]:
            labels = neighbour_vote(labels, closest, self.vote)
        return scores, labels, len(set(best[1]))

    def _mark_outliers(self, Z: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """Unassign items far from their centre (robust z < -outlier_z), within the cap."""
        if self.max_unassigned <= 0 or len(labels) < 10:
            return labels
        sims = np.einsum("ij,ij->i", Z, self.cluster_centers_[labels])
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
                          max_unassigned: float = DEFAULT_MAX_UNASSIGNED, seed: int = 0, min_group: int = 6,
                          max_groups_per_code: int = 12, n_clusters: int | None = None,
                          store=None) -> tuple[np.ndarray, pd.DataFrame]:
    """Criteria groups inside each code and among the uncoded answers ("").

    Returns (global cluster id per row, one row per group: cluster, code, k_choice). Global
    ids are numbered code by code (codes sorted, uncoded last), then by the canonical local
    id, so they do not depend on row order. A code with fewer than 2 * min_group distinct
    answers forms one group. `n_clusters` (when given) is the number of groups among the
    uncoded answers. Beyond `WITHIN_CODES_SEARCH_UP_TO` answers in all, every code uses the
    word weight x1 instead of trying three.
    """
    X = np.asarray(X, dtype=np.float64)
    codes = np.asarray(["" if c is None else str(c) for c in codes], dtype=object)
    n = len(X)
    keys = np.asarray([str(k) for k in keys]) if keys is not None else np.asarray([f"{i:09d}" for i in range(n)])
    order = sorted(set(codes), key=lambda c: (c == "", c))
    weights = None if n <= WITHIN_CODES_SEARCH_UP_TO else (1.0,)
    found: dict[str, tuple[np.ndarray, str]] = {}  # code -> (local labels, how K was chosen)
    jobs = []
    for code in order:
        rows = np.flatnonzero(codes == code)
        sub_texts = [texts[i] for i in rows] if texts is not None else None
        sub_langs = [languages[i] for i in rows] if languages is not None else None
        distinct = len(unique_items(sub_texts, len(rows), keys[rows])[0])
        wanted = n_clusters if (code == "" and n_clusters) else None
        if distinct < 2 * min_group and not wanted:
            found[code] = (np.zeros(len(rows), dtype=int), f"{distinct} distinct answers: one group")
            continue
        high = max(2, min(max_groups_per_code, distinct // min_group)) if code else 40
        key = _groups_key(X[rows], keys[rows], sub_texts, sub_langs, (code, wanted, high, max_unassigned, seed, weights)) if store is not None else None
        kept = store.get_many([key]).get(key) if store is not None else None
        if kept is not None:
            kept = json.loads(kept)
            found[code] = (np.asarray(kept["labels"], dtype=int), kept["choice"])
        else:
            model = Discoverer(n_clusters=wanted, k_range=(2, high), max_unassigned=max_unassigned, seed=seed, word_weights=weights)
            jobs.append((code, model, rows, sub_langs, sub_texts, key))
    for code, model, key in _fit_codes(X, keys, jobs):
        found[code] = (model.labels_, model.k_choice_)
        if store is not None:
            store.put_many([(key, json.dumps({"labels": [int(v) for v in model.labels_], "choice": model.k_choice_}).encode("utf-8"))])

    labels = np.full(n, UNASSIGNED, dtype=int)
    rows_out, next_id = [], 0
    for code in order:
        rows = np.flatnonzero(codes == code)
        local, choice = found[code]
        for group in range(int(local.max()) + 1 if len(local) else 0):
            labels[rows[local == group]] = next_id + group
            rows_out.append({"cluster": next_id + group, "code": code, "k_choice": choice})
        next_id += int(local.max()) + 1 if len(local) and local.max() >= 0 else 0
    return labels, pd.DataFrame(rows_out, columns=["cluster", "code", "k_choice"])


def _fit_codes(X: np.ndarray, keys: np.ndarray, jobs: list):
    """Fit each code's Discoverer; (code, fitted model, cache key) for each job, in job order.

    Codes are independent: on several cores they are fitted in threads, largest first (numpy,
    scipy and scikit-learn release the GIL in their heavy steps), under one BLAS limit set
    here. Setting it per fit from several threads would race: each restores what it saw."""
    from threadpoolctl import threadpool_limits

    from criteria_nlp.embed.device import usable_cpus

    def fit(job):
        code, model, rows, sub_langs, sub_texts, key = job
        return code, model._fit(X[rows], sub_langs, keys[rows], sub_texts), key

    workers = min(usable_cpus(), len(jobs))
    with threadpool_limits(limits=1, user_api="blas"):
        if workers <= 1:
            return [fit(job) for job in jobs]
        from concurrent.futures import ThreadPoolExecutor

        largest_first = sorted(range(len(jobs)), key=lambda j: -len(jobs[j][2]))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="criteria-nlp-discover") as pool:
            futures = {j: pool.submit(fit, jobs[j]) for j in largest_first}
            return [futures[j].result() for j in range(len(jobs))]


DISCOVERY_FORMAT = 2  # bump when Discoverer's results change: kept groups are then found again


def _groups_key(X: np.ndarray, keys, texts, languages, settings: tuple) -> str:
    digest = hashlib.sha256(np.ascontiguousarray(X, dtype=np.float32).tobytes())
    for column in (keys, texts, languages):
        digest.update(b"\x01" + "\x00".join("" if v is None else str(v) for v in (column if column is not None else [])).encode("utf-8"))
    digest.update(repr((DISCOVERY_FORMAT, *settings)).encode("utf-8"))
    return digest.hexdigest()


def cluster_summary(answers: pd.DataFrame, labels: np.ndarray, vectors: np.ndarray, centres: np.ndarray | None = None) -> pd.DataFrame:
    """One row per cluster: size, languages, top codes, the most central answers (label first).

    `vectors` are the unit vectors clustering used; centres are recomputed from members when
    not given, so the function also serves groups made code by code."""
    labels = np.asarray(labels)
    rows = []
    for cluster in sorted(set(labels[labels >= 0])):
        members = np.flatnonzero(labels == cluster)
        centre = centres[cluster] if centres is not None and len(centres) > cluster else unit_rows(vectors[members].mean(axis=0, keepdims=True))[0]
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

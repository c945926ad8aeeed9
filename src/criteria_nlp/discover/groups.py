"""The discover stage of a run: criteria groups inside each code and among uncoded answers."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from criteria_nlp.config import DEFAULT_MAX_UNASSIGNED
from criteria_nlp.discover.discoverer import cluster_summary, discover_within_codes
from criteria_nlp.i18n import gettext_noop as N_
from criteria_nlp.vectors import centre_by_language

DISCOVERY_CACHE_ENTRIES = 20_000  # groups of one code each; a corpus has up to a few hundred codes


@dataclass
class DiscoveryInfo:
    """What the manifest reports about discovery (the attributes a single Discoverer has)."""

    n_clusters_: int
    k_choice_: str
    k_scores_: dict


def discover_groups(rows: pd.DataFrame, vectors: np.ndarray, *, max_unassigned: float = DEFAULT_MAX_UNASSIGNED,
                    seed: int = 0, n_clusters: int | None = None, cache_dir=None,
                    use_cache: bool = False) -> tuple[np.ndarray, pd.DataFrame, DiscoveryInfo]:
    """(cluster label per row of `rows`, the clusters' summary table, what the manifest says).
    `rows` are coded answers (columns code, language, text, id), `vectors` aligned to them.
    `use_cache`: each code's groups are kept in the content cache of `cache_dir`."""
    store = None
    if use_cache:
        from criteria_nlp.io.content_cache import ContentCache
        from criteria_nlp.io.paths import analyses_dir

        store = ContentCache(analyses_dir(cache_dir), "discovery", max_entries=DISCOVERY_CACHE_ENTRIES)
    try:
        labels, groups = discover_within_codes(
            vectors, rows["code"].tolist(), languages=rows["language"].tolist(), texts=rows["text"].tolist(),
            keys=rows["id"].tolist(), max_unassigned=max_unassigned, seed=seed, n_clusters=n_clusters, store=store,
        )
    finally:
        if store is not None:
            store.close()
    clusters = cluster_summary(rows.reset_index(drop=True), labels, centre_by_language(vectors, rows["language"].tolist()))
    if len(clusters):
        clusters.insert(2, "code", clusters["cluster"].map(dict(zip(groups["cluster"], groups["code"]))).fillna(""))
    choices = {code or "(uncoded)": choice for code, choice in groups.drop_duplicates("code")[["code", "k_choice"]].itertuples(index=False)}
    info = DiscoveryInfo(int(len(groups)), N_("criteria groups found inside each code and among uncoded answers"), choices)
    return labels, clusters, info

"""The describe stage of a run: clusters.csv (keyphrases, representatives per language),
indicators.csv (drafts chosen from the indicator library), codes.csv (the same description
for every code used), and each answer's valence and indicator."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from criteria_nlp.describe.analyser import Analyser
from criteria_nlp.describe.drafting import draft_indicators
from criteria_nlp.describe.keyphrases import describe, descriptions_table
from criteria_nlp.describe.library import IndicatorLibrary


@dataclass
class Described:
    clusters: pd.DataFrame
    indicators: pd.DataFrame
    codes: pd.DataFrame | None
    answers: pd.DataFrame  # one row per described row: valence, indicator_id
    info: dict             # what the manifest says about the drafts


def describe_groups(rows: pd.DataFrame, vectors: np.ndarray, embedder, *, codebook=None, names: dict | None = None,
                    analyser: Analyser | None = None, library: IndicatorLibrary | None = None,
                    analyst_language: str | None = None, all_languages: bool = False, seed: int = 0) -> Described:
    """Describe the groups of `rows` (column `cluster`; `vectors` aligned) and draft their
    indicators; `names` are the analysts' names of groups (cluster -> name). With a codebook,
    the codes used are described too."""
    analyser = analyser if analyser is not None else Analyser()
    rows = rows.reset_index(drop=True)
    descriptions = describe(rows, vectors, by="cluster", analyser=analyser)
    indicators, per_row, info = draft_indicators(rows, vectors, descriptions, embedder, library=library,
                                                 analyst_language=analyst_language, all_languages=all_languages,
                                                 names=names, seed=seed)
    language = info["analyst_language"]
    labels = {c: n for c, lang, n in zip(indicators["cluster"], indicators["language"], indicators["name"]) if lang == language and n}
    clusters = descriptions_table(descriptions, rows, by="cluster", labels=labels)
    chosen = indicators.drop_duplicates("cluster").set_index("cluster")
    clusters.insert(3, "indicator_id", clusters["cluster"].map(chosen["indicator_id"]).fillna(""))
    clusters.insert(4, "draft_status", clusters["cluster"].map(chosen["status"]).fillna(""))
    codes = None
    if codebook is not None:
        code_labels = {c.code: c.label() for c in codebook}
        codes = descriptions_table(describe(rows, vectors, by="code", analyser=analyser), rows, by="code", labels=code_labels)
    return Described(clusters, indicators, codes, per_row, info)

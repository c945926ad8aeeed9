"""The describe stage of a run: clusters.csv (keyphrases, representatives per language),
indicators.csv (drafts) and codes.csv (the same description for every code used)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from criteria_nlp.describe.analyser import Analyser
from criteria_nlp.describe.indicators import draft_indicators
from criteria_nlp.describe.keyphrases import describe, descriptions_table


def describe_groups(rows: pd.DataFrame, vectors: np.ndarray, codebook, *, names: dict | None = None,
                    analyser: Analyser | None = None) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(clusters, indicators, codes) for coded `rows` (`vectors` aligned); `names` are the
    analysts' names of groups (cluster -> name)."""
    analyser = analyser if analyser is not None else Analyser()
    rows = rows.reset_index(drop=True)
    descriptions = describe(rows, vectors, by="cluster", analyser=analyser)
    indicators = draft_indicators(rows, descriptions, codebook, names=names)
    main = {d.key: d.main_language for d in descriptions}
    labels = {c: n for c, lang, n in zip(indicators["cluster"], indicators["language"], indicators["name"]) if main.get(c) == lang}
    code_labels = {c.code: c.label() for c in codebook}
    codes = descriptions_table(describe(rows, vectors, by="code", analyser=analyser), rows, by="code", labels=code_labels)
    return descriptions_table(descriptions, rows, by="cluster", labels=labels), indicators, codes

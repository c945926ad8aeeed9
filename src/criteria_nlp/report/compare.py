"""Cross-city comparison: which codes and criteria groups matter where.

Codes and criteria groups are language-independent, so a French and a Latvian city are
compared on the same rows. For one dimension (city, group, question or language) and one
level (code or criteria group) we build the contingency table items × values and report,
per cell: the count, the share of the value's answers with a Wilson 95% interval, the
adjusted standardised residual (Haberman 1973), an exact two-sided p-value and a
multiple-testing-adjusted p-value.

Why these choices:
- Wilson intervals keep their coverage for small counts and shares near 0, which is the
  usual case here (a code is 0-10 % of a city's 150 answers); the Wald interval does not.
- The adjusted residual (observed - expected) / its standard error is ~N(0, 1) under
  independence and says *how* over- or under-represented a cell is. Its normal p-value
  is far too small when expected counts are below ~5 (3 answers where 0.5 are expected
  gives z = 3.9, normal p = 9e-5; the exact p-value is 0.008), so the p-value of each cell
  comes from the exact hypergeometric test of the cell against the rest of the table
  (Fisher's exact test on the collapsed 2×2 table), doubled smaller tail.
- All cells of one table are tested at once (48 codes × 8 cities = 384 tests on the demo), so the
  p-values are adjusted. Default: Benjamini-Hochberg false discovery rate at 5 %. The
  "distinctive criteria" list is a screening list an analyst then reads: FDR bounds the
  expected share of wrong entries in that list, while Holm (family-wise, any single
  false flag) would keep only the most extreme cells once hundreds are tested. Holm is
  available (`correction="holm"`) for confirmatory claims. Holm holds under any
  dependence between cells; BH is proven for independent or positively dependent tests,
  and the cells of one table are tied by its margins, so its 5 % is approximate (the
  exact discrete p-values are conservative, which works in its favour).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from criteria_nlp.config import DEFAULT_ALPHA, DEFAULT_CORRECTION
from criteria_nlp.prepare.questions import question_kind

DIMENSIONS = ("city", "group", "question", "language")


LEVELS = ("code", "cluster", "indicator")


CORRECTIONS = ("fdr_bh", "holm")


NO_CODE_ITEM = "(unassigned)"


COMPARE_COLUMNS = [
    "by", "value", "level", "item", "label", "code", "count", "total", "share", "ci_low", "ci_high",
    "item_total", "expected", "residual", "p_value", "p_adjusted", "distinctive", "present_in", "n_values",
    "shared", "n_wellbeing", "n_illbeing", "n_action", "wellbeing_share", "wellbeing_ci_low", "wellbeing_ci_high",
]


# Question 3 (action) is checked first (its wording often mentions well-being), then
# question 2 (ill-being), built from the well-being word in several languages
# (onwelzijn, неблагополучие, nelabklājība).
def available_dimensions(answers: pd.DataFrame) -> list[str]:
    """The comparison dimensions present with at least two distinct values."""
    rows = _answer_rows(answers)
    return [d for d in DIMENSIONS if d in rows.columns and rows[d].astype(str).replace("", np.nan).nunique() >= 2]


def wilson_interval(count: Sequence[int], total: Sequence[int], confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for count/total, element-wise (NaN where total is 0). The
    closed form, vectorised: the same numbers as scipy's
    binomtest(k, n).proportion_ci(method="wilson"), thousands of times faster on a table."""
    from scipy.stats import norm

    k = np.asarray(count, dtype=float).ravel()
    n = np.asarray(total, dtype=float).ravel()
    z = norm.ppf(0.5 + confidence / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        centre = (k + z * z / 2) / (n + z * z)
        half = z * np.sqrt(k * (n - k) / n + z * z / 4) / (n + z * z)
        low = np.where(n > 0, np.clip(centre - half, 0.0, 1.0), np.nan)
        high = np.where(n > 0, np.clip(centre + half, 0.0, 1.0), np.nan)
    return low, high


def expected_counts(table: np.ndarray) -> np.ndarray:
    table = np.asarray(table, dtype=float)
    total = table.sum()
    if total == 0:
        return np.zeros_like(table)
    return np.outer(table.sum(axis=1), table.sum(axis=0)) / total


def adjusted_residuals(table: np.ndarray) -> np.ndarray:
    """Haberman's adjusted standardised residuals of a two-way table (NaN where undefined,
    e.g. a table with a single column)."""
    table = np.asarray(table, dtype=float)
    total = table.sum()
    expected = expected_counts(table)
    row_share = table.sum(axis=1, keepdims=True) / total if total else np.zeros((table.shape[0], 1))
    col_share = table.sum(axis=0, keepdims=True) / total if total else np.zeros((1, table.shape[1]))
    variance = expected * (1 - row_share) * (1 - col_share)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(variance > 0, (table - expected) / np.sqrt(variance), np.nan)


def cell_p_values(table: np.ndarray) -> np.ndarray:
    """Exact two-sided p-value of each cell against the rest of the table: Fisher's exact
    test on the 2×2 table (this item / other items) × (this value / other values), as the
    doubled smaller hypergeometric tail, capped at 1."""
    from scipy.stats import hypergeom

    table = np.asarray(table, dtype=int)
    total = int(table.sum())
    rows = np.broadcast_to(table.sum(axis=1, keepdims=True), table.shape)
    cols = np.broadcast_to(table.sum(axis=0, keepdims=True), table.shape)
    upper = hypergeom.sf(table - 1, total, rows, cols)
    lower = hypergeom.cdf(table, total, rows, cols)
    return np.minimum(1.0, 2 * np.minimum(upper, lower))


def adjust_p_values(p_values: np.ndarray, correction: str = DEFAULT_CORRECTION) -> np.ndarray:
    """Benjamini-Hochberg ('fdr_bh') or Holm ('holm') adjustment; NaN stays NaN."""
    from scipy.stats import false_discovery_control

    if correction not in CORRECTIONS:
        raise ValueError(f"correction must be one of {CORRECTIONS}, not {correction!r}")
    p_values = np.asarray(p_values, dtype=float)
    out = np.full(p_values.shape, np.nan)
    valid = ~np.isnan(p_values)
    p = p_values[valid]
    if not len(p):
        return out
    if correction == "fdr_bh":
        out[valid] = false_discovery_control(p, method="bh")
    else:
        order = np.argsort(p, kind="stable")
        scaled = (len(p) - np.arange(len(p))) * p[order]
        adjusted = np.empty(len(p))
        adjusted[order] = np.minimum(1.0, np.maximum.accumulate(scaled))
        out[valid] = adjusted
    return out


def compare(
    answers: pd.DataFrame,
    by: str = "city",
    level: str = "code",
    *,
    alpha: float = DEFAULT_ALPHA,
    correction: str = DEFAULT_CORRECTION,
    labels: dict[str, str] | None = None,
    cluster_labels: dict | None = None,
    indicator_labels: dict | None = None,
) -> pd.DataFrame:
    """One row per (value of `by`, item of `level`) with counts, shares and tests.

    `answers` is an answers table (answers.csv): answers with status other than 'answer'
    are left out, as are rows with no value for `by`. At the code level, answers left
    uncoded form the item '(unassigned)' so that shares add up to 1 per value.
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, not {level!r}")
    rows = _answer_rows(answers)
    if by not in rows.columns:
        return pd.DataFrame(columns=COMPARE_COLUMNS)
    rows = rows.assign(_value=rows[by].astype(str), _item=_items(rows, level))
    rows = rows[(rows["_value"] != "") & (rows["_item"] != "")]
    if rows.empty:
        return pd.DataFrame(columns=COMPARE_COLUMNS)
    table = pd.crosstab(rows["_item"], rows["_value"])
    table = table.loc[_item_order(table.index, level)]
    counts = table.to_numpy()
    n_values = counts.shape[1]
    expected = expected_counts(counts)
    testable = n_values >= 2 and counts.shape[0] >= 2
    residual = adjusted_residuals(counts) if testable else np.full(counts.shape, np.nan)
    p_value = cell_p_values(counts) if testable else np.full(counts.shape, np.nan)
    p_adjusted = adjust_p_values(p_value.ravel(), correction).reshape(counts.shape)
    distinctive = np.where(p_adjusted <= alpha, np.where(counts > expected, "over", "under"), "")
    present_in = (counts > 0).sum(axis=1)
    shared = (present_in == n_values) & (distinctive == "").all(axis=1) & testable

    totals = counts.sum(axis=0)
    low, high = wilson_interval(counts.ravel(), np.broadcast_to(totals, counts.shape).ravel())
    item_codes = _item_codes(rows, level)
    item_labels = _item_labels(rows, level, labels, cluster_labels, item_codes, indicator_labels)
    polarity = _polarity_counts(rows, ["_item", "_value"])

    frame = pd.DataFrame({
        "by": by,
        "value": np.tile(table.columns.to_numpy(), counts.shape[0]),
        "level": level,
        "item": np.repeat(table.index.to_numpy(), n_values),
        "count": counts.ravel(),
        "total": np.tile(totals, counts.shape[0]),
        "ci_low": low,
        "ci_high": high,
        "item_total": np.repeat(counts.sum(axis=1), n_values),
        "expected": expected.ravel(),
        "residual": residual.ravel(),
        "p_value": p_value.ravel(),
        "p_adjusted": p_adjusted.ravel(),
        "distinctive": distinctive.ravel(),
        "present_in": np.repeat(present_in, n_values),
        "n_values": n_values,
        "shared": np.repeat(shared, n_values),
    })
    frame["share"] = frame["count"] / frame["total"].where(frame["total"] > 0)
    frame["label"] = frame["item"].map(item_labels).fillna("")
    frame["code"] = frame["item"].map(item_codes).fillna("")
    frame = _with_polarity(frame, polarity, ["item", "value"])
    return _tidy(frame)


def overall(answers: pd.DataFrame, level: str = "code", *, labels=None, cluster_labels=None, indicator_labels=None) -> pd.DataFrame:
    """One row per item over all answers (by = value = 'all'): count, share with Wilson
    interval and the well-being / ill-being balance; no test."""
    rows = _answer_rows(answers)
    rows = rows.assign(_item=_items(rows, level))
    rows = rows[rows["_item"] != ""]
    if rows.empty:
        return pd.DataFrame(columns=COMPARE_COLUMNS)
    counts = rows["_item"].value_counts()
    counts = counts.loc[_item_order(counts.index, level)]
    low, high = wilson_interval(counts.to_numpy(), np.full(len(counts), len(rows)))
    item_codes = _item_codes(rows, level)
    frame = pd.DataFrame({
        "by": "all", "value": "all", "level": level, "item": counts.index.to_numpy(),
        "count": counts.to_numpy(), "total": len(rows), "ci_low": low, "ci_high": high,
        "item_total": counts.to_numpy(),
    })
    frame["share"] = frame["count"] / frame["total"]
    frame["label"] = frame["item"].map(_item_labels(rows, level, labels, cluster_labels, item_codes, indicator_labels)).fillna("")
    frame["code"] = frame["item"].map(item_codes).fillna("")
    frame = _with_polarity(frame, _polarity_counts(rows, ["_item"]), ["item"])
    return _tidy(frame)


def compare_all(
    answers: pd.DataFrame,
    by: Iterable[str] | None = None,
    levels: Iterable[str] = LEVELS,
    *,
    alpha: float = DEFAULT_ALPHA,
    correction: str = DEFAULT_CORRECTION,
    labels: dict[str, str] | None = None,
    cluster_labels: dict | None = None,
    indicator_labels: dict | None = None,
) -> pd.DataFrame:
    """compare.csv: the overall rows, then every (dimension, level) table stacked.
    `by` defaults to every dimension present with two or more values. Each table is
    adjusted for multiple testing on its own."""
    dimensions = list(by) if by is not None else available_dimensions(answers)
    frames = []
    for level in levels:
        if level in ("cluster", "indicator") and (f"{level}_id" if level == "indicator" else level) not in answers.columns:
            continue
        named = dict(labels=labels, cluster_labels=cluster_labels, indicator_labels=indicator_labels)
        frames.append(overall(answers, level, **named))
        for dimension in dimensions:
            frames.append(compare(answers, dimension, level, alpha=alpha, correction=correction, **named))
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=COMPARE_COLUMNS)
    return pd.concat(frames, ignore_index=True)[COMPARE_COLUMNS]


def distinctive_items(comparison: pd.DataFrame, by: str = "city", level: str = "code", value: str | None = None,
                      direction: str = "over", top: int | None = None) -> pd.DataFrame:
    """Cells flagged distinctive (over- or under-represented), strongest first."""
    rows = comparison[(comparison["by"] == by) & (comparison["level"] == level) & (comparison["distinctive"] == direction)]
    if value is not None:
        rows = rows[rows["value"] == value]
    rows = rows.assign(_strength=rows["residual"].abs()).sort_values(["p_adjusted", "_strength"], ascending=[True, False])
    rows = rows.drop(columns="_strength")
    return rows.head(top) if top else rows


def shared_items(comparison: pd.DataFrame, by: str = "city", level: str = "code") -> pd.DataFrame:
    """Items present in every value of `by` and distinctive in none: one row per item."""
    rows = comparison[(comparison["by"] == by) & (comparison["level"] == level) & comparison["shared"].astype(bool)]
    rows = rows.groupby(["item", "label", "code"], as_index=False, sort=False).agg(
        item_total=("item_total", "first"), present_in=("present_in", "first"),
        min_share=("share", "min"), max_share=("share", "max"),
    )
    return rows.sort_values("item_total", ascending=False, kind="stable").reset_index(drop=True)


def pivot_shares(comparison: pd.DataFrame, by: str = "city", level: str = "code", values: str = "share") -> pd.DataFrame:
    """Items × values table of one column of a comparison (for heatmaps and their tables)."""
    rows = comparison[(comparison["by"] == by) & (comparison["level"] == level)]
    if rows.empty:
        return pd.DataFrame()
    order = list(dict.fromkeys(rows["item"]))
    columns = list(dict.fromkeys(rows["value"]))
    return rows.pivot(index="item", columns="value", values=values).reindex(index=order, columns=columns)


def _answer_rows(answers: pd.DataFrame) -> pd.DataFrame:
    rows = answers
    if "status" in rows.columns:
        rows = rows[rows["status"].astype(str) == "answer"]
    return rows


def _items(rows: pd.DataFrame, level: str) -> pd.Series:
    if level == "indicator":  # answers of unmatched or unassigned groups have none
        return rows["indicator_id"].fillna("").astype(str) if "indicator_id" in rows.columns else pd.Series("", index=rows.index)
    if level == "code":
        codes = rows["code"].fillna("").astype(str) if "code" in rows.columns else pd.Series("", index=rows.index)
        return codes.replace("", NO_CODE_ITEM)
    clusters = pd.to_numeric(rows["cluster"], errors="coerce")
    return clusters.map(lambda c: "" if pd.isna(c) or c < 0 else str(int(c)))


def _item_order(items, level: str) -> list[str]:
    items = list(items)
    if level == "cluster":
        return sorted(items, key=lambda c: int(c))
    return sorted(items, key=lambda c: (c == NO_CODE_ITEM, c))


def _item_codes(rows: pd.DataFrame, level: str) -> dict:
    if level == "code":
        return {item: ("" if item == NO_CODE_ITEM else item) for item in rows["_item"].unique()}
    codes = rows["code"].fillna("").astype(str) if "code" in rows.columns else pd.Series("", index=rows.index)
    # The criteria group's code: the most frequent code among its answers ('' = uncoded).
    return {item: group.mode().sort_values().iloc[0] for item, group in codes.groupby(rows["_item"])}


def _item_labels(rows, level, labels, cluster_labels, item_codes, indicator_labels=None) -> dict:
    if level == "indicator":
        return {item: str((indicator_labels or {}).get(item, "")) for item in item_codes}
    if level == "cluster":
        cluster_labels = {str(k): str(v) for k, v in (cluster_labels or {}).items()}
        return {item: cluster_labels.get(item, "") for item in item_codes}
    found = {}
    if "code_label" in rows.columns:
        named = rows[rows["code_label"].fillna("").astype(str) != ""]
        found = {item: group.mode().sort_values().iloc[0] for item, group in named["code_label"].astype(str).groupby(named["_item"])}
    if labels:
        found.update({k: v for k, v in labels.items() if v})
    found[NO_CODE_ITEM] = "no code (left for review)"
    return found


def _polarity_counts(rows: pd.DataFrame, keys: list[str]) -> pd.DataFrame | None:
    if "question" not in rows.columns:
        return None
    kinds = rows["question"].map(question_kind)
    if not (kinds != "").any():
        return None
    table = pd.crosstab([rows[k] for k in keys], kinds)
    for kind in ("wellbeing", "illbeing", "action"):
        if kind not in table.columns:
            table[kind] = 0
    table = table[["wellbeing", "illbeing", "action"]].add_prefix("n_")
    table.index.names = [k.lstrip("_") for k in keys]
    return table.reset_index()


def _with_polarity(frame: pd.DataFrame, polarity: pd.DataFrame | None, keys: list[str]) -> pd.DataFrame:
    if polarity is None:
        for column in ("n_wellbeing", "n_illbeing", "n_action", "wellbeing_share", "wellbeing_ci_low", "wellbeing_ci_high"):
            frame[column] = np.nan
        return frame
    polarity = polarity.rename(columns={"value": "value", "item": "item"})
    frame = frame.merge(polarity, on=keys, how="left")
    for column in ("n_wellbeing", "n_illbeing", "n_action"):
        frame[column] = frame[column].fillna(0).astype(int)
    balance_total = frame["n_wellbeing"] + frame["n_illbeing"]
    frame["wellbeing_share"] = frame["n_wellbeing"] / balance_total.where(balance_total > 0)
    frame["wellbeing_ci_low"], frame["wellbeing_ci_high"] = wilson_interval(frame["n_wellbeing"], balance_total)
    return frame


def _tidy(frame: pd.DataFrame) -> pd.DataFrame:
    for column in ("share", "ci_low", "ci_high", "expected", "residual", "wellbeing_share", "wellbeing_ci_low", "wellbeing_ci_high"):
        if column in frame.columns:
            frame[column] = pd.to_numeric(frame[column], errors="coerce").round(4)
    for column in ("p_value", "p_adjusted"):
        if column in frame.columns:
            frame[column] = pd.to_numeric(frame[column], errors="coerce").map(lambda p: float(f"{p:.4g}") if pd.notna(p) else np.nan)
    for column in COMPARE_COLUMNS:
        if column not in frame.columns:
            frame[column] = np.nan if column not in ("distinctive",) else ""
    return frame[COMPARE_COLUMNS].reset_index(drop=True)

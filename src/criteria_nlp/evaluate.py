"""Scoring against manual coding: codes (agreement), clusterings (partition similarity),
confidence (semi-automatic coding) and cross-lingual consistency.

Every function takes plain sequences (gold first, then prediction) and returns plain
dicts / DataFrames, so the same code serves the `evaluate` command, the benchmark and tests.
Empty predictions ("" or None) mean the assigner abstained; cluster -1 means unassigned.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

import numpy as np
import pandas as pd

from criteria_nlp.config import UNASSIGNED


def _as_str(values: Sequence) -> np.ndarray:
    return np.array(["" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v).strip() for v in values], dtype=object)


# ------------------------------------------------------------------------------ codes
def krippendorff_alpha_nominal(a: Sequence, b: Sequence) -> float:
    """Krippendorff's α for two coders, nominal data, no missing values.

    Built from the coincidence matrix (each unit contributes both ordered pairs), as in
    Krippendorff (2011) "Computing Krippendorff's alpha-reliability".
    """
    a, b = _as_str(a), _as_str(b)
    n_units = len(a)
    if n_units == 0:
        return float("nan")
    values = np.array(sorted(set(a) | set(b)), dtype=object)
    index = {v: i for i, v in enumerate(values)}
    coincidence = np.zeros((len(values), len(values)))
    for x, y in zip(a, b):
        coincidence[index[x], index[y]] += 1
        coincidence[index[y], index[x]] += 1
    n = coincidence.sum()
    marginals = coincidence.sum(axis=1)
    observed = n - np.trace(coincidence)
    expected = (n * n - (marginals ** 2).sum()) / (n - 1)
    if expected == 0:
        return 1.0 if observed == 0 else 0.0
    return float(1.0 - observed / expected)


def code_metrics(gold: Sequence, pred: Sequence, languages: Sequence | None = None) -> dict:
    """Agreement of predicted codes with manual codes.

    Rows without a gold code are ignored. An empty prediction (abstention) counts as wrong in
    accuracy, F1, κ and α (the machine did not give the code); `coverage` is the share of
    scored rows that got a code and `accuracy_covered` the accuracy on those rows.
    Keys: accuracy, macro_f1, cohen_kappa, krippendorff_alpha, n, coverage, accuracy_covered,
    confusion (DataFrame gold x pred), per_language (DataFrame), per_code (DataFrame).
    """
    from sklearn.metrics import (
        cohen_kappa_score,
        f1_score,
        precision_recall_fscore_support,
    )

    gold, pred = _as_str(gold), _as_str(pred)
    if len(gold) != len(pred):
        raise ValueError(f"gold has {len(gold)} rows but pred has {len(pred)}")
    languages = _as_str(languages) if languages is not None else None
    scored = gold != ""
    gold, pred = gold[scored], pred[scored]
    languages = languages[scored] if languages is not None else None
    n = len(gold)
    if n == 0:
        raise ValueError("no row has a gold code to score against")
    covered = pred != ""
    codes = sorted(set(gold))
    filled = np.where(covered, pred, "(none)").astype(object)
    correct = filled == gold
    macro_f1 = f1_score(gold, filled, labels=codes, average="macro", zero_division=0)
    precision, recall, f1, support = precision_recall_fscore_support(gold, filled, labels=codes, zero_division=0)
    per_code = pd.DataFrame({"code": codes, "support": support, "precision": precision, "recall": recall, "f1": f1})
    pred_labels = codes + sorted(set(filled) - set(codes))
    confusion = pd.crosstab(pd.Categorical(gold, categories=codes), pd.Categorical(filled, categories=pred_labels), dropna=False)
    confusion.index.name, confusion.columns.name = "gold", "pred"
    result = {
        "n": int(n),
        "accuracy": float(correct.mean()),
        "macro_f1": float(macro_f1),
        "cohen_kappa": float(cohen_kappa_score(gold, filled)) if len(set(gold) | set(filled)) > 1 else 1.0,
        "krippendorff_alpha": krippendorff_alpha_nominal(gold, filled),
        "coverage": float(covered.mean()),
        "accuracy_covered": float(correct[covered].mean()) if covered.any() else float("nan"),
        "confusion": confusion,
        "per_code": per_code,
    }
    rows = []
    if languages is not None:
        for language in sorted(set(languages)):
            mask = languages == language
            rows.append({
                "language": language, "n": int(mask.sum()), "accuracy": float(correct[mask].mean()),
                "macro_f1": float(f1_score(gold[mask], filled[mask], labels=sorted(set(gold[mask])), average="macro", zero_division=0)),
                "coverage": float(covered[mask].mean()),
            })
    result["per_language"] = pd.DataFrame(rows, columns=["language", "n", "accuracy", "macro_f1", "coverage"])
    return result


def coverage_curve(gold: Sequence, pred: Sequence, confidence: Sequence[float], thresholds: Sequence[float] | None = None) -> pd.DataFrame:
    """Semi-automatic coding: auto-code answers at or above each confidence threshold, send
    the rest to humans. One row per threshold: coverage (share auto-coded) and the accuracy
    of the auto-coded answers."""
    gold, pred = _as_str(gold), _as_str(pred)
    confidence = np.asarray(confidence, dtype=float)
    scored = gold != ""
    gold, pred, confidence = gold[scored], pred[scored], np.nan_to_num(confidence[scored], nan=-1.0)
    if thresholds is None:
        thresholds = np.round(np.arange(0.0, 1.0, 0.05), 2)
    rows = []
    for threshold in thresholds:
        auto = (confidence >= threshold) & (pred != "")
        rows.append({
            "threshold": float(threshold), "coverage": float(auto.mean()) if len(gold) else 0.0,
            "accuracy": float((pred[auto] == gold[auto]).mean()) if auto.any() else float("nan"),
            "n_auto": int(auto.sum()),
        })
    return pd.DataFrame(rows)


def coverage_at_accuracy(gold: Sequence, pred: Sequence, confidence: Sequence[float], target: float = 0.9) -> dict:
    """The largest share of answers that can be auto-coded (most confident first) while the
    auto-coded answers stay at least `target` accurate; and the confidence cut that gives it."""
    gold, pred = _as_str(gold), _as_str(pred)
    confidence = np.asarray(confidence, dtype=float)
    scored = gold != ""
    gold, pred, confidence = gold[scored], pred[scored], np.nan_to_num(confidence[scored], nan=-1.0)
    confidence = np.where(pred == "", -1.0, confidence)
    order = np.lexsort((np.arange(len(gold)), -confidence))
    correct = (pred[order] == gold[order]).astype(float)
    running = np.cumsum(correct) / np.arange(1, len(correct) + 1)
    # Only cut between different confidence values: equal confidences go together.
    sorted_conf = confidence[order]
    boundary = np.r_[sorted_conf[1:] != sorted_conf[:-1], True] & (sorted_conf >= 0)
    ok = np.flatnonzero((running >= target) & boundary)
    if not len(ok):
        return {"target": target, "coverage": 0.0, "accuracy": float("nan"), "threshold": float("nan")}
    last = ok[-1]
    return {"target": target, "coverage": float((last + 1) / len(gold)), "accuracy": float(running[last]), "threshold": float(sorted_conf[last])}


# -------------------------------------------------------------------------- clusters
def purity(gold: Sequence, pred: Sequence) -> float:
    """Share of answers whose cluster's majority gold label is their own."""
    table = pd.crosstab(np.asarray(pred), np.asarray(gold))
    return float(table.max(axis=1).sum() / max(1, len(gold)))


def _partition_scores(gold: np.ndarray, pred: np.ndarray) -> dict:
    from sklearn import metrics

    if len(gold) == 0:
        return {k: float("nan") for k in ("nmi", "ami", "ari", "v_measure", "homogeneity", "completeness", "purity")}
    homogeneity, completeness, v_measure = metrics.homogeneity_completeness_v_measure(gold, pred)
    return {
        "nmi": float(metrics.normalized_mutual_info_score(gold, pred)),
        "ami": float(metrics.adjusted_mutual_info_score(gold, pred)),
        "ari": float(metrics.adjusted_rand_score(gold, pred)),
        "v_measure": float(v_measure),
        "homogeneity": float(homogeneity),
        "completeness": float(completeness),
        "purity": purity(gold, pred),
    }


def cluster_metrics(gold: Sequence, pred: Sequence) -> dict:
    """Similarity of a clustering to manual codes.

    Rows without a gold label are ignored. Unassigned answers (cluster -1) are scored two
    ways: as one more cluster (the main keys: nmi, ami, ari, v_measure, homogeneity,
    completeness, purity) and left out (the same keys under `excluded`). Also: n,
    n_clusters, n_gold, unassigned (share).
    """
    gold = _as_str(gold)
    pred = np.asarray([int(p) for p in pred])
    if len(gold) != len(pred):
        raise ValueError(f"gold has {len(gold)} rows but pred has {len(pred)}")
    scored = gold != ""
    gold, pred = gold[scored], pred[scored]
    assigned = pred != UNASSIGNED
    result = {
        "n": int(len(gold)),
        "n_clusters": int(len(set(pred[assigned]))),
        "n_gold": int(len(set(gold))),
        "unassigned": float((~assigned).mean()) if len(gold) else 0.0,
    }
    result.update(_partition_scores(gold, pred))
    result["excluded"] = _partition_scores(gold[assigned], pred[assigned])
    return result


def cross_lingual_consistency(pred: Sequence, pair: Sequence, languages: Sequence) -> float:
    """Share of translation pairs (rows sharing `pair`, in different languages) put in the
    same cluster. A pair with an unassigned member counts as split."""
    frame = pd.DataFrame({"pred": [int(p) for p in pred], "pair": _as_str(pair), "language": _as_str(languages)})
    frame = frame[frame["pair"] != ""]
    same = total = 0
    for _, group in frame.groupby("pair", sort=True):
        members = list(zip(group["language"], group["pred"]))
        for (lang_a, a), (lang_b, b) in combinations(members, 2):
            if lang_a == lang_b:
                continue
            total += 1
            same += int(a == b and a != UNASSIGNED)
    return float(same / total) if total else float("nan")


def consistency_by_language(pred: Sequence, pair: Sequence, languages: Sequence) -> pd.DataFrame:
    """Cross-lingual consistency of each language with all the others."""
    frame = pd.DataFrame({"pred": [int(p) for p in pred], "pair": _as_str(pair), "language": _as_str(languages)})
    rows = []
    for language in sorted(set(frame["language"])):
        mine = frame[frame["language"] == language].set_index("pair")["pred"]
        others = frame[frame["language"] != language]
        joined = others.join(mine.rename("own"), on="pair").dropna(subset=["own"])
        agree = (joined["pred"] == joined["own"]) & (joined["pred"] != UNASSIGNED)
        rows.append({"language": language, "pairs": int(len(joined)), "consistency": float(agree.mean()) if len(joined) else float("nan")})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------ file level
def evaluate_table(table: pd.DataFrame, gold_col: str, pred_col: str, *, lang_col: str | None = None,
                   confidence_col: str | None = None, pair_col: str | None = None, kind: str = "auto") -> dict:
    """Score one table's prediction column against its gold column.

    kind: "codes", "clusters" or "auto" (clusters when every prediction is an integer).
    pair_col (clusters, with lang_col): rows sharing it are translations of one answer; adds
    the cross-lingual consistency.
    """
    from criteria_nlp.errors import InputError

    for column in (gold_col, pred_col, lang_col, confidence_col, pair_col):
        if column and column not in table.columns:
            raise InputError(f"column '{column}' is not in the table; columns are: {', '.join(map(str, table.columns))}")
    pred = table[pred_col].astype(str).str.strip()
    if kind == "auto":
        kind = "clusters" if len(pred) and pred.str.fullmatch(r"-?\d+").all() else "codes"
    gold = table[gold_col]
    if kind == "clusters":
        result = {"kind": "clusters", **cluster_metrics(gold, pred.astype(int))}
        if pair_col:
            if not lang_col:
                raise InputError("--pair-col needs --lang-col: consistency compares translations in different languages")
            result["cross_lingual_consistency"] = cross_lingual_consistency(pred.astype(int), table[pair_col], table[lang_col])
            result["consistency_by_language"] = consistency_by_language(pred.astype(int), table[pair_col], table[lang_col])
        return result
    languages = table[lang_col] if lang_col else None
    result = {"kind": "codes", **code_metrics(gold, pred, languages)}
    if confidence_col:
        confidence = pd.to_numeric(table[confidence_col], errors="coerce")
        result["coverage_curve"] = coverage_curve(gold, pred, confidence)
        result["coverage_at_90"] = coverage_at_accuracy(gold, pred, confidence, 0.9)
    return result


def markdown_table(frame: pd.DataFrame, digits: int = 3) -> str:
    """A DataFrame as a GitHub markdown table (floats rounded), without extra dependencies."""
    def cell(value):
        if isinstance(value, (float, np.floating)):
            return "" if np.isnan(value) else f"{value:.{digits}f}"
        return str(value).replace("|", "\\|")

    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def format_report(result: dict) -> str:
    """Human-readable summary of `evaluate_table`'s result (markdown)."""
    lines = []
    if result["kind"] == "clusters":
        lines.append(f"{result['n']} answers, {result['n_clusters']} clusters, {result['n_gold']} gold labels, "
                     f"{result['unassigned']:.1%} unassigned")
        lines += ["", "| metric | unassigned as a cluster | unassigned excluded |", "|---|---|---|"]
        for key in ("nmi", "ami", "ari", "v_measure", "homogeneity", "completeness", "purity"):
            lines.append(f"| {key} | {result[key]:.3f} | {result['excluded'][key]:.3f} |")
        if "cross_lingual_consistency" in result:
            lines += ["", f"Cross-lingual consistency (translation pairs in the same cluster): {result['cross_lingual_consistency']:.3f}",
                      "", markdown_table(result["consistency_by_language"])]
        return "\n".join(lines) + "\n"
    lines.append(f"{result['n']} answers with a gold code; coverage {result['coverage']:.1%}")
    lines += ["", "| metric | value |", "|---|---|"]
    for key in ("accuracy", "macro_f1", "cohen_kappa", "krippendorff_alpha", "accuracy_covered"):
        lines.append(f"| {key} | {result[key]:.3f} |")
    if "coverage_at_90" in result:
        c = result["coverage_at_90"]
        lines.append(f"| auto-coded at >= 90% accuracy | {c['coverage']:.1%} (confidence >= {c['threshold']:.3f}) |")
    if len(result["per_language"]):
        lines += ["", "Per language:", "", markdown_table(result["per_language"])]
    lines += ["", "Per code:", "", markdown_table(result["per_code"])]
    if "coverage_curve" in result:
        lines += ["", "Semi-automatic coding (auto-code at or above the threshold):", "",
                  markdown_table(result["coverage_curve"])]
    return "\n".join(lines) + "\n"

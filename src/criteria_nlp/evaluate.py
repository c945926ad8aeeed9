"""Metrics against manual coding (minimal version; the evaluation issue extends it).

`code_metrics(gold, pred)` compares predicted codes with an analyst's codes on the answers
that have a manual code. An empty prediction is an abstention: it counts as wrong in
accuracy, macro-F1 and kappa (the answer still needs a human) and lowers `coverage`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

ABSTAIN = "(none)"


def code_metrics(gold: Sequence[str], pred: Sequence[str], languages: Sequence[str] | None = None) -> dict:
    """accuracy, macro_f1, cohen_kappa, krippendorff_alpha (None here), n, coverage,
    confusion (gold × predicted DataFrame), per_language and per_code DataFrames."""
    from sklearn.metrics import accuracy_score, cohen_kappa_score, confusion_matrix, f1_score, precision_recall_fscore_support

    gold = pd.Series([("" if v is None else str(v)) for v in gold], dtype=object)
    pred = pd.Series([("" if v is None else str(v)) for v in pred], dtype=object)
    if len(gold) != len(pred):
        raise ValueError(f"gold and pred differ in length: {len(gold)} != {len(pred)}")
    keep = (gold != "").to_numpy()
    langs = pd.Series(list(languages), dtype=object)[keep].reset_index(drop=True) if languages is not None else None
    gold, pred = gold[keep].reset_index(drop=True), pred[keep].reset_index(drop=True).replace("", ABSTAIN)
    n = len(gold)
    if n == 0:
        return {"accuracy": None, "macro_f1": None, "cohen_kappa": None, "krippendorff_alpha": None, "n": 0,
                "coverage": None, "confusion": pd.DataFrame(), "per_language": pd.DataFrame(), "per_code": pd.DataFrame()}
    gold_codes = sorted(gold.unique())
    labels = gold_codes + sorted(set(pred.unique()) - set(gold_codes) - {ABSTAIN}) + ([ABSTAIN] if (pred == ABSTAIN).any() else [])
    confusion = pd.DataFrame(confusion_matrix(gold, pred, labels=labels), index=labels, columns=labels)
    confusion = confusion.loc[gold_codes]
    confusion.index.name, confusion.columns.name = "gold", "predicted"
    precision, recall, f1, support = precision_recall_fscore_support(gold, pred, labels=gold_codes, zero_division=0)
    per_code = pd.DataFrame({"code": gold_codes, "precision": precision, "recall": recall, "f1": f1, "support": support})
    per_language = pd.DataFrame()
    if langs is not None:
        rows = []
        for language, index in langs.groupby(langs).groups.items():
            g, p = gold[index], pred[index]
            rows.append({"language": language, "n": len(g), "accuracy": accuracy_score(g, p),
                         "macro_f1": f1_score(g, p, labels=sorted(g.unique()), average="macro", zero_division=0),
                         "coverage": float((p != ABSTAIN).mean())})
        per_language = pd.DataFrame(rows)
    return {
        "accuracy": float(accuracy_score(gold, pred)),
        "macro_f1": float(f1_score(gold, pred, labels=gold_codes, average="macro", zero_division=0)),
        "cohen_kappa": float(cohen_kappa_score(gold, pred)) if len(set(gold) | set(pred)) > 1 else None,
        "krippendorff_alpha": None,
        "n": int(n),
        "coverage": float((pred != ABSTAIN).mean()),
        "confusion": confusion,
        "per_language": per_language,
        "per_code": per_code,
    }


def cluster_metrics(gold: Sequence[str], pred: Sequence) -> dict:
    """Adjusted Rand index, NMI and purity of clusters against manual codes."""
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    gold = np.asarray([str(v) for v in gold])
    pred = np.asarray([str(v) for v in pred])
    keep = gold != ""
    gold, pred = gold[keep], pred[keep]
    if not len(gold):
        return {"ari": None, "nmi": None, "purity": None, "n": 0}
    table = pd.crosstab(pred, gold)
    return {
        "ari": float(adjusted_rand_score(gold, pred)),
        "nmi": float(normalized_mutual_info_score(gold, pred)),
        "purity": float(table.max(axis=1).sum() / len(gold)),
        "n": int(len(gold)),
    }

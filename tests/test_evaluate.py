"""Metrics against manual coding: known values on small hand-made cases."""

import json

import pandas as pd
import pytest

from criteria_nlp.cli.app import main
from criteria_nlp.evaluate import (
    cluster_metrics,
    code_metrics,
    consistency_by_language,
    coverage_at_accuracy,
    coverage_curve,
    cross_lingual_consistency,
    krippendorff_alpha_nominal,
    purity,
)


def test_krippendorff_alpha_matches_hand_computation():
    # 4 units, two coders, one disagreement (a/b). Coincidences: a-a 2*2=4... n = 8 values.
    a = ["a", "a", "b", "b"]
    b = ["a", "b", "b", "b"]
    # o_ab = o_ba = 1, marginals n_a = 3, n_b = 5; alpha = 1 - (n-1) * 2 / (n^2 - sum n_c^2)
    expected = 1 - 7 * 2 / (64 - 9 - 25)
    assert krippendorff_alpha_nominal(a, b) == pytest.approx(expected)
    assert krippendorff_alpha_nominal(a, a) == 1.0


def test_code_metrics_keys_and_values():
    gold = ["x", "x", "y", "y", "z", ""]
    pred = ["x", "y", "y", "", "z", "x"]  # the last row has no gold code: ignored
    result = code_metrics(gold, pred, languages=["fr", "fr", "nl", "nl", "nl", "fr"])
    assert set(result) >= {"accuracy", "macro_f1", "cohen_kappa", "krippendorff_alpha", "n", "coverage",
                           "confusion", "per_language", "per_code"}
    assert result["n"] == 5
    assert result["accuracy"] == pytest.approx(3 / 5)
    assert result["coverage"] == pytest.approx(4 / 5)
    assert result["accuracy_covered"] == pytest.approx(3 / 4)
    assert result["confusion"].loc["y", "(none)"] == 1
    per_language = result["per_language"].set_index("language")
    assert per_language.loc["fr", "accuracy"] == pytest.approx(0.5)
    assert per_language.loc["nl", "n"] == 3
    assert result["per_code"].set_index("code").loc["z", "f1"] == pytest.approx(1.0)


def test_perfect_codes_score_one():
    gold = ["a", "b", "c", "a"]
    result = code_metrics(gold, gold)
    assert result["accuracy"] == result["macro_f1"] == result["cohen_kappa"] == result["krippendorff_alpha"] == 1.0


def test_cluster_metrics_treat_unassigned_both_ways():
    gold = ["a", "a", "a", "b", "b", "b"]
    pred = [0, 0, -1, 1, 1, -1]
    result = cluster_metrics(gold, pred)
    assert result["unassigned"] == pytest.approx(2 / 6)
    assert result["n_clusters"] == 2
    assert result["excluded"]["ami"] == pytest.approx(1.0)
    assert result["ami"] < 1.0
    assert result["purity"] == pytest.approx(4 / 6 + 1 / 6)  # the -1 "cluster" is half right
    assert purity(["a", "b"], [0, 0]) == 0.5


def test_renamed_clusters_score_like_the_gold():
    gold = ["a", "a", "b", "b", "c", "c"]
    result = cluster_metrics(gold, [5, 5, 3, 3, 9, 9])
    for key in ("nmi", "ami", "ari", "v_measure", "homogeneity", "completeness", "purity"):
        assert result[key] == pytest.approx(1.0)


def test_cross_lingual_consistency_counts_translation_pairs():
    pred = [0, 0, 0, 1, 1, 2]
    pair = ["s1", "s1", "s1", "s2", "s2", "s2"]
    languages = ["fr", "nl", "de", "fr", "nl", "de"]
    # s1: 3 pairs agree; s2: fr-nl agree, fr-de and nl-de split
    assert cross_lingual_consistency(pred, pair, languages) == pytest.approx(4 / 6)
    by_language = consistency_by_language(pred, pair, languages).set_index("language")
    assert by_language.loc["de", "consistency"] == pytest.approx(2 / 4)
    assert cross_lingual_consistency([-1, -1], ["s", "s"], ["fr", "nl"]) == 0.0


def test_coverage_curve_and_best_coverage_at_accuracy():
    gold = ["a"] * 10
    pred = ["a"] * 8 + ["b", "b"]
    confidence = [0.9, 0.9, 0.8, 0.8, 0.7, 0.7, 0.6, 0.6, 0.5, 0.95]
    curve = coverage_curve(gold, pred, confidence, thresholds=[0.0, 0.75])
    assert curve.loc[1, "coverage"] == pytest.approx(0.5)
    assert curve.loc[1, "accuracy"] == pytest.approx(0.8)
    best = coverage_at_accuracy(gold, pred, confidence, 0.85)
    # most confident first: b(0.95) wrong, then 8 right (0.9..0.6), b(0.5) wrong
    assert best["coverage"] == pytest.approx(0.9)
    assert best["accuracy"] == pytest.approx(8 / 9)
    assert best["threshold"] == pytest.approx(0.6)


def test_evaluate_command_codes_and_clusters(tmp_path, capsys):
    table = pd.DataFrame({
        "manual": ["a", "a", "b", "b", "c", "c"],
        "code": ["a", "b", "b", "b", "c", ""],
        "confidence": [0.9, 0.4, 0.8, 0.7, 0.95, 0.1],
        "cluster": [0, 0, 1, 1, 2, -1],
        "language": ["fr", "nl", "fr", "nl", "fr", "nl"],
    })
    path = tmp_path / "pred.csv"
    table.to_csv(path, index=False)
    assert main([ "evaluate", str(path), "--gold-col", "manual", "--pred-col", "code", "--lang-col", "language",
                  "--confidence-col", "confidence", "-o", str(tmp_path / "m.json")]) == 0
    out = capsys.readouterr().out
    assert "krippendorff_alpha" in out and "Per language" in out
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert metrics["kind"] == "codes" and metrics["accuracy"] == pytest.approx(4 / 6)
    assert metrics["confusion"]["a"]["b"] == 1
    assert main(["evaluate", str(path), "--gold-col", "manual", "--pred-col", "cluster"]) == 0
    out = capsys.readouterr().out
    assert "ami" in out and "unassigned excluded" in out


def test_evaluate_command_unknown_column_exits_2(tmp_path, capsys):
    path = tmp_path / "pred.csv"
    pd.DataFrame({"gold": ["a"], "pred": ["a"]}).to_csv(path, index=False)
    assert main(["evaluate", str(path), "--gold-col", "manual", "--pred-col", "pred"]) == 2
    err = capsys.readouterr().err
    assert "manual" in err and "Traceback" not in err


def test_evaluate_command_reports_cross_lingual_consistency(tmp_path, capsys):
    path = tmp_path / "clusters.csv"
    pd.DataFrame({"gold": ["a", "a", "b", "b"], "cluster": [0, 0, 1, 2], "language": ["fr", "nl", "fr", "nl"],
                  "pair": ["s1", "s1", "s2", "s2"]}).to_csv(path, index=False)
    assert main(["evaluate", str(path), "--gold-col", "gold", "--pred-col", "cluster", "--lang-col", "language",
                 "--pair-col", "pair"]) == 0
    assert "Cross-lingual consistency (translation pairs in the same cluster): 0.500" in capsys.readouterr().out

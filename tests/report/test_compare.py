"""Comparison statistics: intervals, residuals, exact tests, multiple-testing adjustment,
and the compare tables on small hand-made answers (plus the `compare` command)."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2_contingency, fisher_exact

from criteria_nlp.cli.app import main
from criteria_nlp.report.compare import (
    NO_CODE_ITEM,
    adjust_p_values,
    adjusted_residuals,
    available_dimensions,
    cell_p_values,
    compare,
    compare_all,
    distinctive_items,
    pivot_shares,
    question_kind,
    shared_items,
    wilson_interval,
)


@pytest.mark.parametrize("value, kind", [
    ("wellbeing", "wellbeing"), ("illbeing", "illbeing"), ("action", "action"),
    ("Qu'est-ce que le bien-être pour vous ?", "wellbeing"), ("mal-être", "illbeing"),
    ("welzijn", "wellbeing"), ("onwelzijn", "illbeing"), ("benessere", "wellbeing"), ("malessere", "illbeing"),
    ("labklājība", "wellbeing"), ("nelabklājība", "illbeing"), ("благополучие", "wellbeing"), ("неблагополучие", "illbeing"),
    ("What do you do for your well-being and that of all?", "action"), ("Que faites-vous pour le bien-être de tous ?", "action"),
    ("What is ill-being for you?", "illbeing"), ("What will make you well?", "wellbeing"), ("Q2", "illbeing"), ("3", "action"), ("", ""), ("other", ""),
])
def test_question_kind_reads_the_three_spiral_questions(value, kind):
    assert question_kind(value) == kind


def test_wilson_interval_matches_published_values():
    low, high = wilson_interval([0, 5, 3], [10, 10, 0])
    # Newcombe (1998): 0/10 -> 0-0.2775, 5/10 -> 0.2366-0.7634.
    assert low[0] == pytest.approx(0.0, abs=1e-9) and high[0] == pytest.approx(0.2775, abs=1e-4)
    assert (low[1], high[1]) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    assert np.isnan(low[2]) and np.isnan(high[2])


def test_wilson_interval_agrees_with_scipy():
    from scipy.stats import binomtest

    counts, totals = [0, 1, 7, 30, 146], [146, 3, 146, 31, 146]
    low, high = wilson_interval(counts, totals, confidence=0.9)
    for k, n, lo, hi in zip(counts, totals, low, high):
        expected = binomtest(k, n).proportion_ci(confidence_level=0.9, method="wilson")
        assert (lo, hi) == pytest.approx((expected.low, expected.high), abs=1e-12)


def test_adjusted_residuals_of_a_2x2_table_equal_the_chi_square_root():
    table = np.array([[20, 5], [10, 25]])
    chi2 = chi2_contingency(table, correction=False)[0]
    residuals = adjusted_residuals(table)
    assert np.abs(residuals) == pytest.approx(np.full((2, 2), np.sqrt(chi2)))
    assert residuals[0, 0] > 0 > residuals[0, 1]


def test_cell_p_values_are_doubled_one_sided_fisher_tests():
    table = np.array([[8, 1, 1], [20, 25, 22], [2, 6, 5]])
    p = cell_p_values(table)
    total = table.sum()
    for i, j in [(0, 0), (1, 1), (2, 0)]:
        collapsed = np.array([[table[i, j], table[i].sum() - table[i, j]],
                              [table[:, j].sum() - table[i, j], total - table[i].sum() - table[:, j].sum() + table[i, j]]])
        greater = fisher_exact(collapsed, alternative="greater")[1]
        less = fisher_exact(collapsed, alternative="less")[1]
        assert p[i, j] == pytest.approx(min(1.0, 2 * min(greater, less)))


def test_small_expected_counts_are_not_overclaimed():
    # 3 answers where 0.5 are expected: z = 3.9 (normal p = 9e-5), exact p = 0.008.
    from scipy.stats import norm

    table = np.array([[3, 0, 0, 0, 0, 0], [22, 25, 25, 25, 25, 25]])
    z = adjusted_residuals(table)[0, 0]
    assert z > 3.5
    assert cell_p_values(table)[0, 0] > 50 * 2 * norm.sf(z)


def test_holm_and_benjamini_hochberg_adjustments():
    p = np.array([0.01, 0.04, 0.03, 0.005, np.nan])
    assert adjust_p_values(p, "holm")[:4] == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert adjust_p_values(p, "fdr_bh")[:4] == pytest.approx([0.02, 0.04, 0.04, 0.02])
    assert np.isnan(adjust_p_values(p, "holm")[4])
    with pytest.raises(ValueError):
        adjust_p_values(p, "bonferonni")


def _answers():
    """Two French cities and a Latvian one; Riga-side Salaspils writes about heating (A03)
    far more than the others; family (D01) is everywhere."""
    rows = []
    spec = {
        "Mulhouse": ("fr", {"A03": 2, "A06": 12, "D01": 6, "": 2}),
        "Braine-l'Alleud": ("fr", {"A03": 3, "A06": 10, "D01": 6, "": 2}),
        "Salaspils": ("lv", {"A03": 18, "A06": 2, "D01": 6, "": 2}),
    }
    for city, (language, codes) in spec.items():
        for code, n in codes.items():
            for k in range(n):
                question = ["wellbeing", "illbeing"][k % 2] if code != "A03" else "illbeing"
                rows.append({"id": f"{city[:3]}-{code}-{k}", "text": f"{code} {k}", "language": language, "code": code,
                             "code_label": {"fr": "Logement", "lv": "Mājoklis"}.get(language) if code == "A03" else code,
                             "confidence": 0.5, "cluster": {"A03": 0, "A06": 1, "D01": 2, "": 3}[code], "status": "answer",
                             "city": city, "group": "seniors" if k % 2 else "young people", "question": question})
    rows.append({"id": "x", "text": "rien", "language": "fr", "code": "", "code_label": "", "confidence": np.nan, "cluster": -1,
                 "status": "non_answer", "city": "Mulhouse", "group": "seniors", "question": "wellbeing"})
    return pd.DataFrame(rows)


def test_compare_finds_the_distinctive_city_and_the_shared_code():
    answers = _answers()
    table = compare(answers, "city", "code", labels={"A03": "Housing"})
    # Every (city, code) cell once; shares add up to one per city; the non-answer is left out.
    assert len(table) == 3 * 4
    assert table.groupby("value")["share"].sum().to_numpy() == pytest.approx([1, 1, 1], abs=1e-3)
    assert table.groupby("value")["total"].first().to_dict() == {"Braine-l'Alleud": 21, "Mulhouse": 22, "Salaspils": 28}
    # French and Latvian answers share the code rows, labelled in one language.
    cell = table.set_index(["value", "item"]).loc[("Salaspils", "A03")]
    assert cell["label"] == "Housing" and cell["count"] == 18
    assert cell["distinctive"] == "over" and cell["residual"] > 3 and cell["p_adjusted"] <= 0.05
    assert cell["ci_low"] < cell["share"] < cell["ci_high"]
    found = distinctive_items(table, "city", "code", "Salaspils")
    assert found["item"].iloc[0] == "A03"
    assert set(table.loc[table["item"] == "A06", "distinctive"]) >= {"under"}
    shared = shared_items(table, "city", "code")
    assert "D01" in set(shared["item"]) and "A03" not in set(shared["item"])
    assert NO_CODE_ITEM in set(table["item"])


def test_holm_flags_no_more_than_benjamini_hochberg():
    answers = _answers()
    bh = compare(answers, "city", "code", correction="fdr_bh")
    holm = compare(answers, "city", "code", correction="holm")
    assert set(holm.index[holm["distinctive"] != ""]) <= set(bh.index[bh["distinctive"] != ""])
    assert (holm["p_adjusted"] >= bh["p_adjusted"] - 1e-12).all()


def test_wellbeing_illbeing_balance_per_code():
    answers = _answers()
    overall = compare_all(answers, by=["city"], levels=["code"]).query("by == 'all'").set_index("item")
    assert overall.loc["A03", ["n_wellbeing", "n_illbeing", "n_action"]].tolist() == [0, 23, 0]
    assert overall.loc["A03", "wellbeing_share"] == 0 and overall.loc["A03", "wellbeing_ci_high"] < 0.2
    d01 = overall.loc["D01"]
    assert d01["n_wellbeing"] == 9 and d01["n_illbeing"] == 9 and d01["wellbeing_share"] == 0.5


def test_compare_all_stacks_dimensions_and_levels():
    answers = _answers()
    assert available_dimensions(answers) == ["city", "group", "question", "language"]
    table = compare_all(answers)
    assert set(table["by"]) == {"all", "city", "group", "question", "language"}
    assert set(table["level"]) == {"code", "cluster"}
    clusters = table[(table["by"] == "city") & (table["level"] == "cluster")]
    assert set(clusters["item"]) == {"0", "1", "2", "3"}
    assert clusters.set_index("item")["code"].to_dict()["0"] == "A03"
    heat = pivot_shares(table, "city", "code", "count")
    assert heat.loc["A03", "Salaspils"] == 18 and list(heat.columns) == ["Braine-l'Alleud", "Mulhouse", "Salaspils"]
    # Same input, same table.
    pd.testing.assert_frame_equal(table, compare_all(answers.sample(frac=1, random_state=1)))


def test_compare_with_a_single_city_reports_counts_but_no_test():
    answers = _answers().query("city == 'Mulhouse'")
    table = compare(answers, "city", "code")
    assert table["p_value"].isna().all() and (table["distinctive"] == "").all() and not table["shared"].any()
    assert table["count"].sum() == 22


def test_compare_command_writes_compare_csv(tmp_path, capsys):
    _answers().to_csv(tmp_path / "answers.csv", index=False)
    assert main(["compare", str(tmp_path), "--by", "city", "--correction", "holm"]) == 0
    table = pd.read_csv(tmp_path / "compare.csv", dtype=str, keep_default_na=False)
    assert set(table["by"]) == {"all", "city"}
    out = capsys.readouterr().out
    assert "Salaspils: A03" in out


@pytest.mark.parametrize("args, message", [
    (["--by", "town"], "no column town"),
    (["--correction", "bonferonni"], "--correction must be one of"),
])
def test_compare_command_user_errors(tmp_path, capsys, args, message):
    _answers().to_csv(tmp_path / "answers.csv", index=False)
    assert main(["compare", str(tmp_path), *args]) == 2
    assert message in capsys.readouterr().err


def test_compare_command_without_a_run(tmp_path, capsys):
    assert main(["compare", str(tmp_path)]) == 2
    assert "no answers.csv" in capsys.readouterr().err

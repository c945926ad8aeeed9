"""`criteria-nlp describe --group-col` (groups made by hand) and the run's drafting options,
end to end on the demo corpus with the fast tfidf embedder."""

from pathlib import Path

import pandas as pd
import pytest

from criteria_nlp.cli import main

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "corpora" / "demo" / "answers.csv"


@pytest.fixture(scope="module")
def demo_subset(tmp_path_factory):
    demo = pd.read_csv(DEMO, dtype=str, keep_default_na=False)
    subset = demo[demo["manual_code"].isin(["A03", "A06", "D00", "B02"])].head(160)
    path = tmp_path_factory.mktemp("describe") / "coded.csv"
    subset.to_csv(path, index=False)
    return path, subset


def test_describe_drafts_the_analysts_own_groups(demo_subset, tmp_path, capsys):
    path, subset = demo_subset
    out = tmp_path / "out"
    assert main(["describe", str(path), "--group-col", "manual_code", "-o", str(out), "--analyst-language", "fr",
                 "--embedder", "tfidf", "-q"]) == 0
    clusters = pd.read_csv(out / "clusters.csv", dtype=str, keep_default_na=False)
    indicators = pd.read_csv(out / "indicators.csv", dtype=str, keep_default_na=False)
    assert set(clusters["cluster"]) == set(subset["manual_code"])  # cluster = the group's value
    assert clusters["cluster_label"].str.len().gt(0).all()
    assert set(indicators["language"]) == {"fr"} and set(indicators["cluster"]) == set(subset["manual_code"])
    assert {"name", "level_1", "level_5", "language", "indicator_id", "status"} <= set(indicators.columns)
    assert (out / "manifest.json").exists()


def test_describe_with_a_missing_group_column_says_which(demo_subset, tmp_path, capsys):
    path, _ = demo_subset
    assert main(["describe", str(path), "--group-col", "nope", "-o", str(tmp_path / "o"), "--embedder", "tfidf", "-q"]) == 2
    err = capsys.readouterr().err
    assert "nope" in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_run_writes_valence_and_indicator_for_every_answer_in_the_analysts_language(demo_subset, tmp_path):
    path, subset = demo_subset
    out = tmp_path / "run"
    assert main(["run", str(path), "-o", str(out), "--analyst-language", "nl", "--embedder", "tfidf", "-q"]) == 0
    answers = pd.read_csv(out / "answers.csv", dtype=str, keep_default_na=False)
    assert list(answers.columns[:9]) == ["id", "text", "language", "code", "code_label", "confidence", "cluster", "valence", "indicator_id"]
    coded = answers[answers["status"] == "answer"]
    assert set(coded["valence"]) <= {"positive", "negative"} and len(coded)
    indicators = pd.read_csv(out / "indicators.csv", dtype=str, keep_default_na=False)
    assert set(indicators["language"]) == {"nl"}
    drafted = indicators[indicators["status"] == "draft"]
    chosen = dict(zip(drafted["cluster"], drafted["indicator_id"]))
    for row in coded.itertuples():  # an answer's indicator is its group's
        assert row.indicator_id == chosen.get(row.cluster, "")
    compare = pd.read_csv(out / "compare.csv", dtype=str, keep_default_na=False)
    if len(drafted):
        assert "indicator" in set(compare["level"])


@pytest.mark.parametrize("args, fragment", [
    (["--analyst-language", "hu"], "written in"),
    (["--indicators", "missing.yaml"], "not found"),
])
def test_bad_drafting_options_are_refused_before_any_work(demo_subset, tmp_path, capsys, args, fragment):
    path, _ = demo_subset
    out = tmp_path / "o"
    assert main(["run", str(path), "-o", str(out), "--embedder", "tfidf", "-q", *args]) == 2
    err = capsys.readouterr().err
    assert fragment in err and len(err.strip().splitlines()) == 1
    assert not (out / "answers.csv").exists()

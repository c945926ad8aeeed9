"""The quality benchmark's code path on a tiny subset (TF-IDF vectors, no BERTopic): the real
benchmark is `python evaluation/bench_quality.py` (see evaluation/README.md)."""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load_bench():
    spec = importlib.util.spec_from_file_location("bench_quality", ROOT / "evaluation" / "bench_quality.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bench_runs_on_a_tiny_demo_subset(tmp_path):
    bench = load_bench()
    output = tmp_path / "quality.md"
    report = bench.main(["--corpora", "demo", "--limit", "160", "--no-bertopic", "--embedder", "tfidf", "--seeds", "0,1",
                         "--sizes", "40,all", "--output", str(output)])
    assert output.read_text(encoding="utf-8") == report
    for heading in ("## Targets", "## Every row", "## demo", "### Discovery, every method", "### Learned assignment"):
        assert heading in report
    for block in ("zero-shot (accuracy)", "learned (macro-F1)", "discovery (AMI)", "e5 + KMeans (true K)", "TF-IDF + KMeans (true K)",
                  "SPIRAL labels only", "imbalanced subsample", "40 coded", "all coded"):
        assert block in report


@pytest.mark.skipif(not (ROOT.parent / "shared" / "corpora_external" / "sib200_topics").exists(),
                    reason="the external corpora are not beside the project")
def test_bench_scores_cross_lingual_consistency_on_parallel_data(tmp_path):
    bench = load_bench()
    report = bench.main(["--corpora", "sib200", "--limit", "120", "--no-bertopic", "--embedder", "tfidf", "--seeds", "0,1",
                         "--sizes", "all", "--blocks", "discovery", "--output", str(tmp_path / "q.md")])
    assert "consistency" in report and "Language neutrality" in report


def test_runs_of_different_blocks_join_into_one_report(tmp_path):
    bench = load_bench()
    common = ["--corpora", "demo", "--limit", "120", "--no-bertopic", "--embedder", "tfidf", "--seeds", "0,1", "--sizes", "all"]
    first = bench.main([*common, "--blocks", "discovery", "--output", str(tmp_path / "a.md")])
    assert (tmp_path / "a.json").exists() and "partial" not in first
    bench.main([*common, "--blocks", "zero-shot", "--output", str(tmp_path / "b.md")])
    joined = bench.main(["--merge", f"{tmp_path / 'a.json'},{tmp_path / 'b.json'}", "--output", str(tmp_path / "q.md")])
    rows = [line.split(" | ")[0] for line in joined.splitlines() if line.startswith("| ") and " | demo | " in line]
    # One section per corpus, its rows in the order of a single run (zero-shot, then discovery).
    assert joined.count("## demo") == 1 and "### Discovery, every method" in joined.split("## demo")[1]
    assert rows == sorted(rows, key=lambda block: "discovery" in block) and {"| zero-shot (accuracy)", "| discovery (AMI)"} <= set(rows)


@pytest.mark.skipif(not (ROOT.parent / "shared" / "corpora_external" / "consultation_an_egalite_fr").exists(),
                    reason="the external corpora are not beside the project")
def test_discovery_shows_the_true_k_run_and_the_other_coding_of_the_same_answers(tmp_path):
    bench = load_bench()
    themes, types = bench.LOADERS["consultation_theme"](), bench.LOADERS["consultation_type"]()
    # One set of answers, two human codings: each corpus carries the other as its reference.
    assert themes["id"].tolist() == types["id"].tolist()
    assert themes["other coding"].tolist() == types["gold"].tolist() and types["other coding"].tolist() == themes["gold"].tolist()
    report = bench.main(["--corpora", "consultation_type", "--limit", "150", "--no-bertopic", "--embedder", "tfidf", "--seeds", "0",
                         "--blocks", "discovery", "--output", str(tmp_path / "q.md")])
    detail = report.split("### Discovery, every method")[1]
    assert bench.TRUE_K in detail and bench.OTHER_CODING in detail

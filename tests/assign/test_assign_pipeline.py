"""`run` with the assign and discover stages: learning from --train, criteria groups inside
each code, and answers that do not depend on the order of the input rows."""

import json
from pathlib import Path

import pandas as pd
import pytest

from criteria_nlp.config import RunConfig
from criteria_nlp.pipeline.run import run_pipeline

DEMO = Path(__file__).resolve().parents[2] / "corpora" / "demo" / "answers.csv"


@pytest.fixture(scope="module")
def demo():
    return pd.read_csv(DEMO, dtype=str, keep_default_na=False).sample(frac=1, random_state=0).reset_index(drop=True)


def _run(path, outdir, **kwargs):
    kwargs.setdefault("embedder", "tfidf")
    return run_pipeline(RunConfig(input=path, outdir=outdir, show_progress=False, **kwargs))


def test_run_learns_from_train_and_groups_inside_codes(demo, tmp_path):
    demo.iloc[:180].drop(columns=["manual_code"]).to_csv(tmp_path / "answers.csv", index=False)
    demo.iloc[180:600].to_csv(tmp_path / "train.csv", index=False)
    result = _run(tmp_path / "answers.csv", tmp_path / "out", train=tmp_path / "train.csv", label_col="manual_code",
                  min_confidence=0.0, top_k=2)
    answers = pd.read_csv(tmp_path / "out" / "answers.csv", dtype=str, keep_default_na=False)
    clusters = pd.read_csv(tmp_path / "out" / "clusters.csv", dtype=str, keep_default_na=False)
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["assignment"]["method"] == "learned"
    # Every refinement is reported with what cross-validation decided.
    assert set(manifest["assignment"]["refinements"]) >= {"word_features", "neighbour_vote", "self_training"}
    assert all("kept" in d for d in manifest["assignment"]["refinements"].values())
    assert set(answers.loc[answers["status"] == "answer", "code"]) <= set(demo.iloc[180:600]["manual_code"])
    assert "code_2" in answers.columns
    # Every criteria group lies inside one code; ids are global and listed once.
    assert clusters["cluster"].is_unique and "code" in clusters.columns
    by_cluster = answers[answers["cluster"] != "-1"].groupby("cluster")["code"].unique()
    for cluster, code in zip(clusters["cluster"], clusters["code"]):
        assert list(by_cluster[cluster]) == [code]
    assert (answers["cluster"] == "-1").mean() <= 0.10 + (answers["status"] == "non_answer").mean()
    assert result.manifest["counts"]["clusters"] == len(clusters)


def test_run_with_shots_uses_the_codebook_and_a_few_examples(demo, tmp_path):
    demo.iloc[:120].to_csv(tmp_path / "answers.csv", index=False)
    demo.iloc[120:600].to_csv(tmp_path / "train.csv", index=False)
    result = _run(tmp_path / "answers.csv", tmp_path / "out", train=tmp_path / "train.csv", label_col="manual_code", shots=3)
    assert result.manifest["assignment"]["method"] == "zero-shot + 3 shots per code"
    assert result.manifest["assignment"]["guard"]["decision"] in ("refined", "plain")


@pytest.mark.slow  # embeds the whole SPIRAL codebook with e5 into a fresh cache (~2-3 min)
@pytest.mark.model
def test_shuffled_rows_change_no_code_and_no_cluster(demo, tmp_path, e5_embedder):
    sample = demo.iloc[:150]
    sample.to_csv(tmp_path / "a.csv", index=False)
    sample.sample(frac=1, random_state=5).to_csv(tmp_path / "b.csv", index=False)
    for name in ("a", "b"):
        _run(tmp_path / f"{name}.csv", tmp_path / name, embedder="e5", cache_dir=e5_embedder.cache_dir)
    a = pd.read_csv(tmp_path / "a" / "answers.csv", dtype=str, keep_default_na=False).set_index("id")
    b = pd.read_csv(tmp_path / "b" / "answers.csv", dtype=str, keep_default_na=False).set_index("id").loc[a.index]
    pd.testing.assert_series_equal(a["code"], b["code"])
    pd.testing.assert_series_equal(a["confidence"], b["confidence"])
    pd.testing.assert_series_equal(a["cluster"], b["cluster"])
    ca = pd.read_csv(tmp_path / "a" / "clusters.csv", dtype=str, keep_default_na=False)
    cb = pd.read_csv(tmp_path / "b" / "clusters.csv", dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(ca[["cluster", "code", "size"]], cb[["cluster", "code", "size"]])

"""Determinism: the same input and seed give byte-identical answers.csv and clusters.csv;
shuffling the input rows changes no answer's code and no cluster's membership (cluster ids
are canonical, so they do not change either)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from criteria_nlp.cli.app import main
from criteria_nlp.io.outputs import read_output_csv

DEMO = Path(__file__).resolve().parents[2] / "corpora" / "demo" / "answers.csv"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The same 160 demo answers run three times with tf-idf: twice as given, once shuffled."""
    folder = tmp_path_factory.mktemp("determinism")
    demo = pd.read_csv(DEMO, dtype=str, keep_default_na=False)
    sample = demo.sample(n=160, random_state=1).sort_values("id")
    sample.to_csv(folder / "answers.csv", index=False)
    sample.sample(frac=1, random_state=5).to_csv(folder / "shuffled.csv", index=False)
    outs = {}
    for name, source in (("first", "answers.csv"), ("again", "answers.csv"), ("shuffled", "shuffled.csv")):
        outs[name] = folder / name
        assert main(["run", str(folder / source), "-o", str(outs[name]), "--embedder", "tfidf", "--seed", "7", "-q"]) == 0
    return outs


def test_same_input_and_seed_give_identical_bytes(runs):
    for name in ("answers.csv", "clusters.csv"):
        assert (runs["first"] / name).read_bytes() == (runs["again"] / name).read_bytes(), name
    first, again = (json.loads((runs[r] / "manifest.json").read_text()) for r in ("first", "again"))
    # What the caches served differs by design (the first run filled them); the outputs may not.
    for volatile in ("created", "timings_seconds", "peak_rss_mb_after_stage", "embedding_cache", "analysis_cache"):
        first.pop(volatile), again.pop(volatile)
    assert first == again


def _by_id(outdir: Path) -> pd.DataFrame:
    return read_output_csv(outdir / "answers.csv").set_index("id").sort_index()


def test_shuffled_rows_keep_every_answers_language_and_code(runs):
    first, shuffled = _by_id(runs["first"]), _by_id(runs["shuffled"])
    assert first.index.equals(shuffled.index)
    assert first["language"].equals(shuffled["language"])
    assert first["code"].equals(shuffled["code"])
    assert first["status"].equals(shuffled["status"])


def _partition(table: pd.DataFrame) -> set[frozenset[str]]:
    return {frozenset(group.index) for _, group in table.groupby("cluster")}


def test_shuffled_rows_keep_every_clusters_membership(runs):
    assert _partition(_by_id(runs["first"])) == _partition(_by_id(runs["shuffled"]))


def test_shuffled_rows_keep_canonical_cluster_ids(runs):
    assert _by_id(runs["first"])["cluster"].equals(_by_id(runs["shuffled"])["cluster"])

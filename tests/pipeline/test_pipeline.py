"""`run` end to end: contract columns, carried-through columns, manifest, determinism,
the cache on re-runs, and the OUTDIR lock."""

import json

import pandas as pd
import pytest

from criteria_nlp.config import RunConfig
from criteria_nlp.errors import OutputError
from criteria_nlp.io.lock import outdir_lock
from criteria_nlp.pipeline.run import run_pipeline

ANSWERS = [
    ("m1", "avoir un logement décent", "Mulhouse", "fr"),
    ("m2", "des loyers trop chers", "Mulhouse", "fr"),
    ("m3", "rien", "Mulhouse", "fr"),
    ("m4", "trouver un travail", "Mulhouse", "fr"),
    ("m5", "la solitude des personnes âgées", "Mulhouse", "fr"),
    ("b1", "een betaalbare woning", "Mechelen", "nl"),
    ("b2", "werk vinden in de buurt", "Mechelen", "nl"),
    ("b3", "eenzaamheid bij ouderen", "Mechelen", "nl"),
    ("b4", "=HYPERLINK(\"http://x\")", "Mechelen", "nl"),
    ("b5", "", "Mechelen", "nl"),
    ("k1", "η ανεργία των νέων", "Kavala", "el"),
    ("k2", "ένα ζεστό σπίτι", "Kavala", "el"),
]


@pytest.fixture()
def small_input(tmp_path):
    frame = pd.DataFrame(ANSWERS, columns=["id", "text", "city", "expected_language"]).assign(age=["71"] * len(ANSWERS))
    path = tmp_path / "answers.csv"
    frame.to_csv(path, index=False)
    return path


def _run(path, outdir, **kwargs):
    return run_pipeline(RunConfig(input=path, outdir=outdir, embedder=kwargs.pop("embedder", "tfidf"), show_progress=False, **kwargs))


def test_run_writes_contract_outputs(small_input, tmp_path):
    result = _run(small_input, tmp_path / "out")
    table = pd.read_csv(tmp_path / "out" / "answers.csv", dtype=str, keep_default_na=False)
    assert list(table.columns[:7]) == ["id", "text", "language", "code", "code_label", "confidence", "cluster"]
    # One row per non-empty input answer, input order, input columns carried through.
    assert table["id"].tolist() == [a[0] for a in ANSWERS if a[1]]
    assert table["age"].tolist() == ["71"] * 11 and "expected_language" in table.columns
    non_answer = table.set_index("id").loc["m3"]
    assert (non_answer["status"], non_answer["code"], non_answer["cluster"]) == ("non_answer", "", "-1")
    assert table.set_index("id").loc["b4", "text"] == "'=HYPERLINK(\"http://x\")"  # neutralised for spreadsheets
    assert (table["language"] == table["expected_language"]).all()
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["input"]["sha256"] == result.manifest["input"]["sha256"]
    assert manifest["counts"]["skipped"] == 1 and manifest["counts"]["non_answers"] == 1
    assert {"read", "language", "embed", "assign", "discover"} <= set(manifest["timings_seconds"])
    peaks = list(manifest["peak_rss_mb_after_stage"].values())
    assert list(manifest["peak_rss_mb_after_stage"]) == list(manifest["timings_seconds"])
    assert peaks == sorted(peaks) and peaks[0] > 10  # a process peak only grows; MB, not bytes
    assert manifest["seed"] == 0 and manifest["packages"]["pandas"]
    assert (tmp_path / "out" / "clusters.csv").exists()


def test_same_seed_same_bytes(small_input, tmp_path):
    _run(small_input, tmp_path / "a", seed=3)
    _run(small_input, tmp_path / "b", seed=3)
    for name in ("answers.csv", "clusters.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_second_process_on_same_outdir_is_refused(small_input, tmp_path):
    with outdir_lock(tmp_path / "out"):
        with pytest.raises(OutputError, match="another criteria-nlp run"):
            _run(small_input, tmp_path / "out")


@pytest.mark.model
def test_e5_run_uses_cache_on_second_run(small_input, tmp_path, e5_embedder):
    first = _run(small_input, tmp_path / "out", embedder="e5", cache_dir=e5_embedder.cache_dir)
    assert first.manifest["embedding_cache"]["embedded"] > 0
    second = _run(small_input, tmp_path / "out", embedder="e5", cache_dir=e5_embedder.cache_dir)
    assert second.manifest["embedding_cache"]["embedded"] == 0
    codes = second.answers.set_index("id")["code"]
    # Housing in French and Dutch lands on the same code.
    assert codes["m1"] == codes["b1"] != ""


@pytest.mark.model
def test_a_run_with_the_side_process_writes_what_a_run_without_it_writes(small_input, tmp_path, e5_embedder, monkeypatch):
    import criteria_nlp.pipeline.side_process as side_process

    monkeypatch.setattr(side_process, "SIDE_PROCESS_FROM", 1)
    aside = _run(small_input, tmp_path / "aside", embedder="e5", cache_dir=e5_embedder.cache_dir, use_cache=False)
    assert set(aside.manifest["side_process_seconds"]) == {"language", "analysis"}
    assert "load_model" in aside.manifest["timings_seconds"]
    monkeypatch.setattr(side_process, "SIDE_PROCESS_FROM", 10**9)
    inside = _run(small_input, tmp_path / "inside", embedder="e5", cache_dir=e5_embedder.cache_dir, use_cache=False)
    assert "side_process_seconds" not in inside.manifest
    for name in ("answers.csv", "clusters.csv", "codes.csv", "indicators.csv"):
        assert (tmp_path / "aside" / name).read_bytes() == (tmp_path / "inside" / name).read_bytes(), name

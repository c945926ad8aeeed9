"""A re-run reads languages and lemma analyses from the cache and gives the same outputs;
--no-cache writes nothing; `criteria-nlp cache clear` empties the cache."""

import json

import pandas as pd

from criteria_nlp.cli.app import main
from criteria_nlp.config import RunConfig
from criteria_nlp.pipeline.run import run_pipeline

ANSWERS = [
    ("1", "Les loyers sont trop chers pour les familles du quartier.", "Mulhouse"),
    ("2", "Trouver un travail près de chez soi.", "Mulhouse"),
    ("3", "La solitude des personnes âgées.", "Mulhouse"),
    ("4", "Betaalbare woningen voor jonge gezinnen.", "Mechelen"),
    ("5", "Werk vinden in de buurt.", "Mechelen"),
    ("6", "Eenzaamheid bij ouderen.", "Mechelen"),
]


def _input(tmp_path):
    path = tmp_path / "answers.csv"
    pd.DataFrame(ANSWERS, columns=["id", "text", "city"]).to_csv(path, index=False)
    return path


def _run(path, outdir, cache, **kwargs):
    return run_pipeline(RunConfig(input=path, outdir=outdir, embedder="tfidf", cache_dir=cache, show_progress=False, **kwargs))


def test_a_rerun_reads_the_analyses_from_the_cache_and_gives_the_same_answers(tmp_path):
    path, cache = _input(tmp_path), tmp_path / "cache"
    first = _run(path, tmp_path / "a", cache)
    second = _run(path, tmp_path / "b", cache)
    assert first.manifest["analysis_cache"]["analysed"] >= 6 and first.manifest["analysis_cache"]["cache_hits"] == 0
    assert second.manifest["analysis_cache"]["analysed"] == 0 and second.manifest["analysis_cache"]["cache_hits"] >= 6
    a = pd.read_csv(tmp_path / "a" / "answers.csv", dtype=str, keep_default_na=False)
    b = pd.read_csv(tmp_path / "b" / "answers.csv", dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(a, b)
    assert any((cache / "analyses").iterdir())


def test_no_cache_reads_and_writes_nothing(tmp_path):
    path, cache = _input(tmp_path), tmp_path / "cache"
    _run(path, tmp_path / "out", cache, use_cache=False)
    assert not (cache / "analyses").exists() or not any((cache / "analyses").iterdir())


def test_cache_clear_command_and_no_cache_option(tmp_path, capsys):
    path, cache = _input(tmp_path), tmp_path / "cache"
    assert main(["run", str(path), "-o", str(tmp_path / "out"), "--embedder", "tfidf", "--cache-dir", str(cache), "-q"]) == 0
    assert any((cache / "analyses").iterdir())
    assert main(["cache", "clear", "--cache-dir", str(cache)]) == 0
    assert "analyses:" in capsys.readouterr().err
    assert not any((cache / "analyses").iterdir())
    assert main(["run", str(path), "-o", str(tmp_path / "out2"), "--embedder", "tfidf", "--cache-dir", str(cache),
                 "--no-cache", "--device", "cpu", "-q"]) == 0
    assert not any((cache / "analyses").iterdir())
    assert json.loads((tmp_path / "out2" / "manifest.json").read_text())["analysis_cache"]["cache_hits"] == 0
    assert main(["cache", "clear", "--only", "models", "--cache-dir", str(cache)]) == 2
    assert main(["run", str(path), "-o", str(tmp_path / "out3"), "--device", "tpu"]) == 2
    assert "unknown device 'tpu'" in capsys.readouterr().err

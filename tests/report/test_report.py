"""The HTML report: sections from plain DataFrames, graceful without optional inputs,
escaped citizen text, no network reference; and `run` writing compare.csv + report.html."""

import json
import re
import warnings

import numpy as np
import pandas as pd
import pytest

from criteria_nlp.cli.app import main
from criteria_nlp.codebook.loaders import load_codebook
from criteria_nlp.config import RunConfig
from criteria_nlp.errors import InputError
from criteria_nlp.evaluate import code_metrics
from criteria_nlp.pipeline.run import run_pipeline
from criteria_nlp.report.html import render_report

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)> & "quotes"'


def _answers():
    rows = [
        ("m1", "avoir un logement décent", "fr", "A03", "Mulhouse", "wellbeing", "A03"),
        ("m2", "des loyers trop chers", "fr", "A03", "Mulhouse", "illbeing", "A03"),
        ("m3", HOSTILE, "fr", "A06", "Mulhouse", "illbeing", "A06"),
        ("m4", "trouver un travail", "fr", "A06", "Mulhouse", "wellbeing", "A06"),
        ("s1", "silts dzīvoklis ziemā", "lv", "A03", "Salaspils", "wellbeing", "A03"),
        ("s2", "apkures rēķini", "lv", "A03", "Salaspils", "illbeing", "A00"),
        ("s3", "darbs Rīgā", "lv", "A06", "Salaspils", "wellbeing", "A06"),
        ("s4", "ģimene", "lv", "", "Salaspils", "wellbeing", "D01"),
        ("s5", "nezinu", "lv", "", "Salaspils", "wellbeing", ""),
    ]
    frame = pd.DataFrame(rows, columns=["id", "text", "language", "code", "city", "question", "manual_code"])
    frame["status"] = np.where(frame["id"] == "s5", "non_answer", "answer")
    frame["cluster"] = frame["code"].map({"A03": 0, "A06": 1, "": 2})
    frame.loc[frame["id"] == "s5", "cluster"] = -1
    frame["confidence"] = [0.9, 0.8, 0.7, 0.6, 0.9, 0.5, 0.7, np.nan, np.nan]
    frame["code_label"] = frame["code"]
    return frame


def _coords(answers):
    rows = answers[answers["status"] == "answer"]
    return pd.DataFrame({"id": rows["id"], "x": np.linspace(0, 1, len(rows)), "y": np.linspace(1, 0, len(rows))})


def test_minimal_report_degrades_gracefully():
    html = render_report(_answers())
    assert "<html" in html and "Overview" in html and "Codebook coverage" in html
    assert 'id="map"' not in html and 'id="evaluation"' not in html
    assert "No draft indicator for this code" in html
    assert "non-answer" in html and "nezinu" in html  # skipped rows and why
    assert "heatmap-city" in html


def test_report_from_a_bare_table_without_codes_or_dimensions():
    html = render_report(pd.DataFrame({"id": ["1", "2"], "text": ["un", "deux"], "code": ["", ""]}))
    assert "No answer received a code" in html
    assert 'id="compare"' not in html and 'id="balance"' not in html


def test_full_report_has_every_section():
    answers = _answers()
    clusters = pd.DataFrame({
        "cluster": [0, 1, 2], "cluster_label": ["logement", "travail", "famille"], "code": ["A03", "A06", ""],
        "keyphrases": [json.dumps({"fr": ["logement", "loyer"], "lv": ["dzīvoklis"]}), "fr: travail | lv: darbs", ""],
        "representatives": ["avoir un logement décent | silts dzīvoklis ziemā", "", ""],
    })
    indicators = pd.DataFrame([{
        "indicator_id": "IND-1", "cluster": 0, "code": "A03", "language": "fr", "name": "Accès à un logement décent",
        **{f"level_{i}": f"niveau {i}" for i in range(1, 6)}, "status": "draft", "note": "",
    }])
    rows = answers[answers["status"] == "answer"]
    metrics = code_metrics(rows["manual_code"], rows["code"], rows["language"])
    html = render_report(answers, clusters=clusters, indicators=indicators, codebook=load_codebook("spiral"),
                         coords=_coords(answers), projection_note="test layout", metrics=metrics, gold_col="manual_code")
    for anchor in ("overview", "coverage", "balance", "codes", "compare", "map", "evaluation"):
        assert f'id="{anchor}"' in html
    # Keyphrases per language, representatives and draft indicators come from the frames.
    assert "dzīvoklis" in html and "loyer" in html and "darbs" in html
    assert "Accès à un logement décent" in html and "niveau 5" in html
    # Codes are labelled from the codebook in one language; French and Latvian answers share rows.
    assert "Housing and furniture" in html
    assert html.count('class="point"') == 8  # every answer on the map
    assert "confusion" in html and "Cohen" in html
    # Every chart has a table alternative.
    assert html.count("<svg") <= html.count("<details>") + 1


def test_citizen_text_is_escaped_everywhere():
    answers = _answers()
    rows = answers[answers["status"] == "answer"]
    html = render_report(answers, coords=_coords(answers), metrics=code_metrics(rows["manual_code"], rows["code"]))
    assert "<script" not in html and "<img" not in html and "onerror=alert(1)>" not in html
    assert "&lt;script&gt;" in html
    # In the map's hover text too.
    assert re.search(r"<title>[^<]*&lt;script&gt;alert", html)


def test_report_makes_no_network_reference():
    html = render_report(_answers(), coords=_coords(_answers()))
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    # The only URL is the SVG namespace, which is a name, not a request.
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", html))
    assert urls <= {"http://www.w3.org/2000/svg"}
    assert not re.search(r"\b(src|href)\s*=\s*[\"'](?!#)", html)


def test_code_metrics_minimal_contract():
    result = code_metrics(["A03", "A06", "A06", "D01", ""], ["A03", "A06", "A03", "", "A06"], ["fr", "fr", "lv", "lv", "lv"])
    assert result["n"] == 4 and result["accuracy"] == 0.5 and result["coverage"] == 0.75
    assert {"macro_f1", "cohen_kappa", "krippendorff_alpha", "confusion", "per_language", "per_code"} <= set(result)
    assert result["confusion"].loc["A06", "A03"] == 1
    assert result["per_language"].set_index("language").loc["fr", "accuracy"] == 1.0


# --------------------------------------------------------------------------- run end to end

@pytest.fixture()
def demo_sample(tmp_path):
    """A quarter of the demo corpus's rows from three cities in three languages."""
    demo = pd.read_csv("corpora/demo/answers.csv", dtype=str, keep_default_na=False)
    sample = demo[demo["city"].isin(["Mulhouse", "Salaspils", "Kavala"])].groupby("city", group_keys=False).head(40)
    sample.loc[sample.index[0], "text"] = HOSTILE
    path = tmp_path / "sample.csv"
    sample.to_csv(path, index=False)
    return path


def test_run_writes_compare_csv_and_report(demo_sample, tmp_path):
    result = run_pipeline(RunConfig(input=demo_sample, outdir=tmp_path / "out", embedder="tfidf", show_progress=False, gold_col="manual_code"))
    compare = pd.read_csv(tmp_path / "out" / "compare.csv", dtype=str, keep_default_na=False)
    assert {"all", "city", "group", "question", "language"} <= set(compare["by"])
    assert set(compare.loc[compare["by"] == "city", "value"]) == {"Mulhouse", "Salaspils", "Kavala"}
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert 'id="evaluation"' in html and 'id="map"' in html and "&lt;script&gt;" in html and "<script" not in html
    assert html.count('class="point"') == int((result.answers["status"] == "answer").sum())
    copies = re.search(r"duplicate \(counted\)</td><td class=\"n\">(\d+)<", html)
    texts = result.answers.loc[result.answers["status"] == "answer", "text"].str.lower().str.strip()
    assert copies and 0 < int(copies.group(1)) <= texts.duplicated().sum() + 5
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert {"compare", "report"} <= set(manifest["timings_seconds"])
    assert manifest["parameters"]["gold_col"] == "manual_code"
    assert len(result.comparison) == len(compare)


def test_unknown_gold_column_fails_before_embedding(demo_sample, tmp_path):
    with pytest.raises(InputError, match="--gold-col 'manual'"):
        run_pipeline(RunConfig(input=demo_sample, outdir=tmp_path / "out", embedder="tfidf", show_progress=False, gold_col="manual"))
    assert not (tmp_path / "out" / "answers.csv").exists()


def test_report_command_rewrites_the_report(demo_sample, tmp_path, capsys):
    assert main(["run", str(demo_sample), "-o", str(tmp_path / "out"), "--embedder", "tfidf", "-q"]) == 0
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert 'id="evaluation"' not in html
    assert main(["report", str(tmp_path / "out"), "--gold-col", "manual_code", "-q"]) == 0
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert 'id="evaluation"' in html and 'id="map"' in html and "&lt;script&gt;" in html
    assert main(["report", str(tmp_path / "out"), "--gold-col", "nope"]) == 2
    assert "--gold-col 'nope'" in capsys.readouterr().err


def test_indicator_rows_with_an_empty_numeric_column_render_without_a_dtype_warning():
    from criteria_nlp.report.html import _indicators_for

    # Read back from CSV, a column no row fills (here the note) is float64 NaN.
    indicators = pd.DataFrame({"code": ["A03", "A06"], "indicator_id": ["i1", "i2"], "name": ["Logement", "Travail"],
                               "language": ["fr", "fr"], "status": ["draft", "draft"], "note": [np.nan, np.nan], "cluster": [0, 1]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # pandas warns before it starts to raise
        rows = _indicators_for(indicators, "A03")
    assert [row["name"] for row in rows] == ["Logement"] and rows[0]["levels"][0]["text"] == ""

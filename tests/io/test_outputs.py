"""outputs.py: formula neutralisation, text-only XLSX cells, escaped HTML, atomic writes and
the output transaction of a run."""

from __future__ import annotations

import io
import zipfile

import pandas as pd
import pytest

from criteria_nlp.io.outputs import (
    escape_html,
    neutralise_cell,
    output_transaction,
    read_output_csv,
    unneutralise_cell,
    write_csv_atomic,
    write_text_atomic,
    xlsx_bytes,
)


@pytest.mark.parametrize(
    "value, written",
    [
        ("=1+1", "'=1+1"), ("+33 6", "'+33 6"), ("-rien", "'-rien"), ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"), ("＝1+1", "'＝1+1"), ("'=x", "''=x"), ("'x", "'x"), ("la santé", "la santé"), ("", ""),
    ],
)
def test_neutralisation_rule(value, written):
    assert neutralise_cell(value) == written
    assert unneutralise_cell(written) == value


def test_xlsx_text_is_never_a_formula():
    data = xlsx_bytes({"answers": pd.DataFrame({"text": ["=HYPERLINK(\"http://x\",\"y\")", "@SUM(A1)", "bell\x07", "ok"], "n": [1, 2, 3, 4]})})
    sheet = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet and "HYPERLINK" in sheet
    import openpyxl

    cells = [c for c in openpyxl.load_workbook(io.BytesIO(data))["answers"]["A"]]
    assert [c.value for c in cells] == ["text", "=HYPERLINK(\"http://x\",\"y\")", "@SUM(A1)", "bell", "ok"]
    assert {c.data_type for c in cells} == {"s"}


def test_html_is_escaped():
    assert escape_html("<script>alert('x')</script> & \"q\"") == "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &quot;q&quot;"
    assert escape_html(None) == ""


def test_csv_round_trip_keeps_line_breaks_and_spaces(tmp_path):
    frame = pd.DataFrame({"id": ["a", "b", "c"], "text": ["x\ry", "p\r\nq", "  s  "]})
    write_csv_atomic(tmp_path / "t.csv", frame)
    assert read_output_csv(tmp_path / "t.csv").to_dict("list") == frame.to_dict("list")


def test_transaction_renames_everything_at_the_end(tmp_path):
    (tmp_path / "a.txt").write_text("old a")
    with output_transaction(tmp_path):
        write_text_atomic(tmp_path / "a.txt", "new a")
        write_text_atomic(tmp_path / "sub" / "b.txt", "new b")
        assert (tmp_path / "a.txt").read_text() == "old a"  # not yet
        assert not (tmp_path / "sub" / "b.txt").exists()
    assert (tmp_path / "a.txt").read_text() == "new a" and (tmp_path / "sub" / "b.txt").read_text() == "new b"
    assert not list(tmp_path.rglob("*.part"))


def test_failed_transaction_changes_nothing(tmp_path):
    (tmp_path / "a.txt").write_text("old a")
    with pytest.raises(RuntimeError):
        with output_transaction(tmp_path):
            write_text_atomic(tmp_path / "a.txt", "new a")
            write_text_atomic(tmp_path / "c.txt", "new c")
            raise RuntimeError("boom")
    assert (tmp_path / "a.txt").read_text() == "old a" and not (tmp_path / "c.txt").exists()
    assert not list(tmp_path.rglob("*.part"))


def test_transaction_sweeps_temporaries_of_killed_runs_and_leaves_other_folders_alone(tmp_path):
    outdir, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    (outdir / "review-snapshots").mkdir(parents=True)
    stale = [outdir / ".answers.csv.x1.part", outdir / "review-snapshots" / ".s.json.x2.part"]
    for path in stale:
        path.write_text("half")
    with output_transaction(outdir):
        write_text_atomic(elsewhere / "d.txt", "written at once")  # not in the transaction's folder
        assert (elsewhere / "d.txt").read_text() == "written at once"
    assert not any(path.exists() for path in stale)

"""The catalogue of bad inputs (tests/data/bad, listed in EXPECTED.csv): `criteria-nlp run` on
each file either processes it and writes back exactly what was read, or exits with code 2
and one line that says what is wrong — never a traceback."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from criteria_nlp.cli.app import main
from criteria_nlp.io.corpus import read_answers
from criteria_nlp.io.outputs import FORMULA_PREFIXES, read_output_csv

from ..bad_files import BAD, GEN

CATALOGUE = list(csv.DictReader(open(BAD / "EXPECTED.csv", encoding="utf-8")))
csv.field_size_limit(2**31 - 1)  # the 1 MB answer is one field
NUMBER = re.compile(r"[+-]?\d+(\.\d+)?([eE][+-]?\d+)?")  # a number is shown, never evaluated as a formula


BASE_IDS = [row[0] for row in GEN.BASE_ROWS]
BASE_TEXTS = [row[1] for row in GEN.BASE_ROWS]
BASE_CITIES = [row[2] for row in GEN.BASE_ROWS]


def _args(entry, out: Path) -> list[str]:
    values = {"file": str(BAD / entry["file"]), "base": str(BAD / "base_answers.csv"), "out": str(out)}
    return [part.format(**values) for part in entry["args"].split(" ")]


def test_catalogue_is_complete_and_in_sync_with_its_generator():
    listed = {entry["file"] for entry in CATALOGUE}
    present = {p.name for p in BAD.iterdir() if p.name not in ("make_bad_files.py", "EXPECTED.csv", "EXPECTED.md", "__pycache__")}
    assert listed == present
    assert len(listed) >= 30
    assert [(e["file"], e["args"], int(e["exit_code"]), e["message"]) for e in CATALOGUE] == [
        (name, args, code, message) for name, _, args, code, message, _ in GEN.CATALOGUE
    ]


@pytest.mark.parametrize("entry", CATALOGUE, ids=[e["file"] for e in CATALOGUE])
def test_each_bad_input_gets_the_documented_outcome(entry, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(_args(entry, out))
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert code == int(entry["exit_code"]), err
    if code == 2:
        line = err.strip()
        assert "\n" not in line, "the error must be one line"
        assert line.startswith("error: ") and entry["message"] in line
        assert not (out / "answers.csv").exists(), "a refused input writes no output"
        assert not out.exists(), "a refused run leaves no trace: not even the folder and its lock"
        return
    assert err == ""  # -q: nothing on stderr
    table = read_output_csv(out / "answers.csv")
    _assert_written_back_as_read(entry, table)
    _assert_outputs_are_safe(out)
    CHECKS.get(entry["file"], lambda table, out: None)(table, out)


def _assert_written_back_as_read(entry, table):
    """Whatever the reader read (ids, texts, the input's other columns) comes out unchanged."""
    if "--codebook" in entry["args"]:
        source = BAD / "base_answers.csv"
    else:
        source = BAD / entry["file"]
    corpus = read_answers(source)
    assert table["id"].tolist() == corpus.answers["id"].tolist()
    assert table["text"].tolist() == corpus.answers["text"].tolist()
    for column in corpus.extra_columns:
        assert table[column].tolist() == corpus.answers[column].tolist()


def _assert_outputs_are_safe(out: Path):
    """No output cell a spreadsheet would evaluate; no citizen markup live in HTML."""
    for path in out.glob("*.csv"):
        with open(path, encoding="utf-8", newline="") as stream:
            for row in csv.reader(stream):
                live = [c for c in row if c.startswith(FORMULA_PREFIXES) and not NUMBER.fullmatch(c)]
                assert not live, (path.name, live)
    for path in out.glob("*.xlsx"):
        import openpyxl

        book = openpyxl.load_workbook(path)
        for sheet in book.worksheets:
            for row in sheet.iter_rows():
                assert not any(cell.data_type == "f" for cell in row), (path.name, sheet.title)
    for path in out.glob("*.html"):
        page = path.read_text(encoding="utf-8")
        for text in GEN.HTML_TEXTS:
            assert text not in page, path.name


def _manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text(encoding="utf-8"))


def _base(table, out):
    assert table["id"].tolist() == BASE_IDS
    assert table["text"].tolist() == BASE_TEXTS
    assert table["city"].tolist() == BASE_CITIES


def _nul_bytes(table, out):
    _base(table, out)
    assert any("NUL byte" in w for w in _manifest(out)["input"]["warnings"])


def _mixed(table, out):
    texts = dict(zip(table["id"], table["text"]))
    assert texts["u1"] == GEN.UTF8_LINE_TEXT and texts["w1"] == GEN.CP1252_LINE_TEXT
    assert texts["w2"] == "bien-être à l'école"
    warning = " ".join(_manifest(out)["input"]["warnings"])
    assert "not UTF-8" in warning and "cp1252" in warning and "lines 6, 7" in warning


def _trailing(table, out):
    assert table["id"].tolist() == ["m1", "m2", "m3"]
    assert table["city"].tolist() == ["Mulhouse", "", "Mulhouse"]


def _single_column(table, out):
    assert table["id"].tolist() == ["row-1", "row-2", "row-3", "row-4"]
    assert table["text"].tolist()[0] == "la santé, le travail, la famille"
    assert table["text"].tolist()[3] == "un logement | un jardin"


def _semicolon(table, out):
    assert table["text"].tolist()[0] == "être bien chez soi; en paix"
    assert _manifest(out)["input"]["delimiter"] == ";"


def _duplicate_extra(table, out):
    assert set(table["note"]) == {"x"} and set(table["note.1"]) == {"y"}


def _numbers(table, out):
    numbers = table[table["id"].str.startswith("n")]
    assert numbers["text"].tolist() == GEN.NUMBER_TEXTS
    assert set(numbers["status"]) == {"non_answer"} and set(numbers["code"]) == {""} and set(numbers["cluster"]) == {"-1"}


def _huge(table, out):
    assert table.set_index("id").loc["big", "text"] == GEN.huge_answer_text()


def _exact(texts, prefix):
    def check(table, out):
        found = table[table["id"].str.startswith(prefix)]["text"].tolist()
        assert found == texts

    return check


def _formulas(table, out):
    _exact(GEN.FORMULA_TEXTS, "=f")(table, out)
    raw = list(csv.reader(open(out / "answers.csv", encoding="utf-8", newline="")))
    header = raw[0]
    rows = [dict(zip(header, row)) for row in raw[1:]]
    tricky = [row for row in rows if row["id"].startswith("'=f")]
    assert len(tricky) == len(GEN.FORMULA_TEXTS)
    assert all(row["text"].startswith("'") and row["city"] == "'@city" for row in tricky)


def _ids_verbatim(table, out):
    assert table["id"].tolist() == [" m1 ", " m2 ", " m3 ", " m4 ", "0012", "NA"]


def _sheets(table, out):
    _base(table, out)
    manifest = _manifest(out)
    assert manifest["input"]["sheet"] == "Réponses"
    assert any("read sheet 'Réponses' of 3" in w for w in manifest["input"]["warnings"])


def _formula_column(table, out):
    assert table["computed"].tolist() == [str(len(t)) for t in BASE_TEXTS]
    assert set(table["length"]) == {""}
    assert any("'length' (8)" in w for w in _manifest(out)["input"]["warnings"])


def _tricky_jsonl(table, out):
    rows = table.set_index("id")
    assert rows.loc["j1", "text"] == GEN.JSONL_SPECIAL
    assert (rows.loc["j1", "age"], rows.loc["j1", "tags"], rows.loc["j1", "note"]) == ("71", '["a", "b"]', "")
    assert (rows.loc["j2", "age"], rows.loc["j2", "age.1"]) == ("34", "35")
    assert rows.loc["j3", "extra"] == '{"k": 1}'


def _json_codebook(table, out):
    assert set(table["code"]) <= {"H", "W", ""}


def _identical(table, out):
    assert set(table["text"]) == {GEN.IDENTICAL_TEXT} and len(table) == 4
    assert (out / "report.html").exists()


def _two_distinct(table, out):
    assert set(table["text"]) == {"Mulhouse", "Mechelen"} and len(table) == 12
    assert (out / "report.html").exists()


def _output_named(table, out):
    carried = {name: (f"input_{name}" if name != "code_manual" else name) for name in GEN.OUTPUT_NAMED_COLUMNS}
    for name, column in carried.items():
        assert table[column].tolist() == [f"{name}-{i}" for i in BASE_IDS], column
    assert set(table["code_source"]) <= {"model", ""}  # the run's own column, next to the input's


def _previous_answers(table, out):
    for name in ("code", "code_label", "confidence", "cluster", "status", "code_proposed", "code_source"):
        assert f"input_{name}" in table.columns, name
    assert set(table["input_code"]) == {"A03"} and set(table["input_status"]) == {"answer"}


def _far_cell(table, out):
    assert table["text"].tolist() == BASE_TEXTS and table["id"].tolist() == [f"row-{i}" for i in range(1, 9)]


def _other_languages(table, out):
    rows = table.set_index("id")
    foreign = rows.loc[list(GEN.OTHER_LANGUAGE_TEXTS)]
    assert set(foreign["status"]) == {"other_language"} and set(foreign["code"]) == {""} and set(foreign["cluster"]) == {"-1"}
    assert foreign["language"].tolist() == ["zh", "zh", "th", "ar"]
    assert set(rows.loc[BASE_IDS, "status"]) == {"answer"}
    manifest = _manifest(out)
    assert manifest["counts"]["other_language"] == 4
    assert any("languages outside the configured ones (zh: 2" in w for w in manifest["input"]["warnings"])


def _contentless(table, out):
    rows = table[table["id"].str.startswith("c")]
    assert rows["text"].tolist() == GEN.CONTENTLESS_TEXTS
    assert set(rows["status"]) == {"non_answer"} and set(rows["code"]) == {""}


def _lone_surrogate(table, out):
    assert table.set_index("id").loc["j1", "text"] == "avoir un logement \ufffd pas cher"


CHECKS = {
    "base_answers.csv": _base,
    "nul_bytes.csv": _nul_bytes,
    "mixed_encodings.csv": _mixed,
    "old_mac_cr.csv": _base,
    "utf16le_bom_tab.txt": _base,
    "utf16le_no_bom.csv": _base,
    "utf16be_no_bom.csv": _base,
    "trailing_delimiters.csv": _trailing,
    "single_column_commas.csv": _single_column,
    "semicolon_cp1252_excel_fr.csv": _semicolon,
    "duplicate_extra_columns.csv": _duplicate_extra,
    "numbers_among_answers.csv": _numbers,
    "huge_answer.csv": _huge,
    "emoji_rtl.csv": _exact(GEN.EMOJI_RTL_TEXTS, "e"),
    "html_script.csv": _exact(GEN.HTML_TEXTS, "h"),
    "formula_cells.csv": _formulas,
    "multiline_answers.csv": _exact(GEN.MULTILINE_TEXTS, "l"),
    "control_chars.csv": _exact(["page\x0cbreak and vertical\x0btab"], "c"),
    "ids_verbatim.csv": _ids_verbatim,
    "several_sheets.xlsx": _sheets,
    "merged_cells.xlsx": _base,
    "formula_column.xlsx": _formula_column,
    "tricky_values.jsonl": _tricky_jsonl,
    "codebook_as_json.json": _json_codebook,
    "identical_answers.csv": _identical,
    "two_distinct_answers.csv": _two_distinct,
    "output_named_columns.csv": _output_named,
    "previous_answers.csv": _previous_answers,
    "far_cell.xlsx": _far_cell,
    "other_languages.csv": _other_languages,
    "contentless_answers.csv": _contentless,
    "lone_surrogate.jsonl": _lone_surrogate,
}


def test_every_processed_entry_has_a_specific_check():
    processed = {e["file"] for e in CATALOGUE if e["exit_code"] == "0"}
    assert processed == set(CHECKS)


def test_repairs_are_reported_on_stderr_without_quiet(tmp_path, capsys):
    assert main(["run", str(BAD / "mixed_encodings.csv"), "-o", str(tmp_path / "out"), "--embedder", "tfidf"]) == 0
    err = capsys.readouterr().err
    assert "warning: 2 line(s) were not UTF-8 and were read as cp1252" in err
    assert GEN.CP1252_LINE_TEXT not in err  # line numbers, never the answers themselves

"""Property-based tests: any text that goes in comes out in answers.csv unchanged — ids,
answers and the input's other columns — through every reader and the CSV writer.

The rule for "unchanged": CSV outputs neutralise formula-looking cells with one leading
quote (outputs.neutralise_cell); `outputs.read_output_csv` undoes exactly that, so the
property is stated on what it returns. What "any text" excludes, and why:
- NUL and the other control characters except tab, LF and CR in CSV/XLSX inputs: a table
  full of them is refused as binary, stray NULs are dropped on purpose, and XLSX cannot store
  most of them (JSON lines can: they are escaped there);
- unpaired surrogates (not encodable);
- answers that are blank after trimming: they are skipped and counted, not written.
"""

from __future__ import annotations

import csv
import io
import json

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from criteria_nlp.io.corpus import read_answers
from criteria_nlp.io.outputs import (
    neutralise_cell,
    read_output_csv,
    set_cell,
    unneutralise_cell,
    write_csv_atomic,
)
from criteria_nlp.prepare.text import (
    duplicate_groups,
    duplicate_key,
    is_non_answer,
    normalise_text,
)

TABLE_TEXT = st.characters(blacklist_categories=("Cs", "Cc"), whitelist_characters="\t\n\r")
XLSX_TEXT = st.characters(blacklist_categories=("Cs", "Cc"), whitelist_characters="\t\n")  # XML turns CR into LF
JSON_TEXT = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
ANY_TEXT = st.characters(blacklist_categories=("Cs",))

settings.register_profile("criteria", deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
settings.load_profile("criteria")


@st.composite
def answer_rows(draw, alphabet=TABLE_TEXT, min_rows=1, max_rows=8):
    """Rows (id, text, note): unique non-blank ids, at least one non-blank answer."""
    n = draw(st.integers(min_rows, max_rows))
    ids = draw(st.lists(st.text(alphabet, min_size=1, max_size=12).filter(lambda s: s.strip()), min_size=n, max_size=n, unique=True))
    texts = draw(st.lists(st.text(alphabet, max_size=60), min_size=n, max_size=n).filter(lambda ts: any(t.strip() for t in ts)))
    notes = draw(st.lists(st.text(alphabet, max_size=20), min_size=n, max_size=n))
    return list(zip(ids, texts, notes))


def _expected(rows):
    kept = [row for row in rows if row[1].strip()]
    return [r[0] for r in kept], [r[1] for r in kept], [r[2] for r in kept]


def _csv_bytes(rows, delimiter, encoding) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(["id", "text", "note"])
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def _assert_read_exactly(corpus, rows):
    ids, texts, notes = _expected(rows)
    assert corpus.answers["id"].tolist() == ids
    assert corpus.answers["text"].tolist() == texts
    assert corpus.answers["note"].tolist() == notes


# ---------------------------------------------------------------- readers

@settings(max_examples=150)
@given(rows=answer_rows(), delimiter=st.sampled_from([",", ";", "\t", "|"]), encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "cp1252"]))
def test_csv_reader_reads_any_text_exactly(tmp_path_factory, rows, delimiter, encoding):
    if encoding == "cp1252":  # a legacy code page can only hold its own characters
        try:
            _csv_bytes(rows, delimiter, encoding)
        except UnicodeEncodeError:
            encoding = "utf-8"
        else:
            # Short legacy files are ambiguous between code pages: only plain ASCII is sure.
            rows = [tuple(value.encode("ascii", "ignore").decode() for value in row) for row in rows]
            if not any(r[1].strip() for r in rows) or len({r[0] for r in rows}) < len(rows) or not all(r[0].strip() for r in rows):
                return
    path = tmp_path_factory.mktemp("csv") / "answers.csv"
    path.write_bytes(_csv_bytes(rows, delimiter, encoding))
    _assert_read_exactly(read_answers(path), rows)


@settings(max_examples=60)
@given(rows=answer_rows(alphabet=XLSX_TEXT))
def test_xlsx_reader_reads_any_text_exactly(tmp_path_factory, rows):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    for r, row in enumerate([("id", "text", "note"), *rows], start=1):
        for c, value in enumerate(row, start=1):
            set_cell(sheet.cell(row=r, column=c), value)
    path = tmp_path_factory.mktemp("xlsx") / "answers.xlsx"
    book.save(path)
    # A spreadsheet row whose cells are all blank is not a row; an empty cell reads as "".
    rows = [row for row in rows if any(value.strip() for value in row)]
    _assert_read_exactly(read_answers(path), rows)


@settings(max_examples=150)
@given(rows=answer_rows(alphabet=JSON_TEXT), newline=st.sampled_from(["\n", "\r\n"]))
def test_jsonl_reader_reads_any_text_exactly(tmp_path_factory, rows, newline):
    path = tmp_path_factory.mktemp("jsonl") / "answers.jsonl"
    lines = [json.dumps({"id": i, "text": t, "note": n}, ensure_ascii=False) for i, t, n in rows]
    path.write_bytes(newline.join(lines).encode("utf-8"))
    _assert_read_exactly(read_answers(path), rows)


# ---------------------------------------------------------------- writer

@given(value=st.text(ANY_TEXT))
def test_neutralisation_is_undone_exactly(value):
    written = neutralise_cell(value)
    assert unneutralise_cell(written) == value
    assert not written.startswith(("=", "+", "-", "@", "\t", "\r"))


@settings(max_examples=150)
@given(rows=answer_rows(alphabet=JSON_TEXT))
def test_csv_outputs_round_trip_any_text(tmp_path_factory, rows):
    frame = pd.DataFrame(rows, columns=["id", "text", "note"])
    path = tmp_path_factory.mktemp("out") / "answers.csv"
    write_csv_atomic(path, frame)
    back = read_output_csv(path)
    assert back.to_dict("list") == frame.to_dict("list")


# ---------------------------------------------------------------- the whole run

@settings(max_examples=12)
@given(rows=answer_rows(max_rows=5))
def test_run_writes_every_answer_back_unchanged(tmp_path_factory, rows):
    from criteria_nlp.config import RunConfig
    from criteria_nlp.pipeline.run import run_pipeline

    # Two ordinary answers, so that tf-idf always has something to learn from.
    rows = [("fixed-1", "avoir un logement décent", "a"), ("fixed-2", "trouver un travail", "b")] + [
        row for row in rows if not row[0].startswith("fixed-")
    ]
    folder = tmp_path_factory.mktemp("run")
    (folder / "answers.csv").write_bytes(_csv_bytes(rows, ",", "utf-8"))
    run_pipeline(RunConfig(input=folder / "answers.csv", outdir=folder / "out", embedder="tfidf", show_progress=False))
    table = read_output_csv(folder / "out" / "answers.csv")
    ids, texts, notes = _expected(rows)
    assert table["id"].tolist() == ids
    assert table["text"].tolist() == texts
    assert table["note"].tolist() == notes


# ---------------------------------------------------------------- text normalisation

@given(text=st.text(ANY_TEXT))
def test_normalise_text_is_idempotent_and_trimmed(text):
    once = normalise_text(text)
    assert normalise_text(once) == once
    assert once == once.strip() and "  " not in once


@given(text=st.text(ANY_TEXT))
def test_duplicate_key_is_idempotent(text):
    key = duplicate_key(text)
    assert duplicate_key(key) == key


@given(text=st.text(ANY_TEXT), edge=st.sampled_from(["", " ", ".", "!!", " ...", "\n", "« ", " »"]))
def test_case_spacing_and_edge_punctuation_change_nothing(text, edge):
    variant = f"{edge}{text.upper() if text.upper().casefold() == text.casefold() else text}{edge[::-1]}"
    assert duplicate_key(variant) == duplicate_key(text)
    assert is_non_answer(variant) == is_non_answer(text)


@given(texts=st.lists(st.text(ANY_TEXT, max_size=20), max_size=30))
def test_duplicate_groups_follow_the_key(texts):
    groups = duplicate_groups(pd.Series(texts, dtype=object)).tolist()
    keys = [duplicate_key(t) for t in texts]
    for i in range(len(texts)):
        for j in range(len(texts)):
            assert (groups[i] == groups[j]) == (keys[i] == keys[j])


@pytest.mark.parametrize("text", ["rien", "RIEN.", "  Rien !", "n/a", "-", "12", "…"])
def test_known_non_answers(text):
    assert is_non_answer(text)

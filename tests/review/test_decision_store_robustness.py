"""The analysts' decision store is never lost: a damaged store is detected, reported in one
line and never overwritten; a run killed at any point leaves it byte-for-byte intact.

Skipped until the review module (issue 4) is merged. What these tests assume of it:
- ``criteria_nlp.review.DecisionStore(outdir)`` stores ``outdir / "decisions.jsonl"`` (``.path``),
  ``.records()`` returns the records and raises ``DecisionStoreError`` (a CriteriaNLPError) on
  any damage, ``.append(entries, analyst=None)`` appends ``{"kind", "target", "value"}``
  entries and refuses to append to a damaged store;
- an ``answer_override`` entry is ``target={"id": ...}, value={"code": ...}``;
- ``criteria-nlp run`` reads the store of its OUTDIR (so it exits 2 on a damaged store) and
  never writes it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

review = pytest.importorskip("criteria_nlp.review")

from criteria_nlp.cli.app import main  # noqa: E402 - after the skip

SRC = Path(__file__).resolve().parents[2] / "src"
ROWS = [
    ("m1", "avoir un logement décent", "Mulhouse"),
    ("m2", "des loyers trop chers", "Mulhouse"),
    ("m3", "trouver un travail", "Mulhouse"),
    ("m4", "la solitude des personnes âgées", "Mulhouse"),
    ("b1", "een betaalbare woning", "Mechelen"),
    ("b2", "werk vinden in de buurt", "Mechelen"),
    ("b3", "eenzaamheid bij ouderen", "Mechelen"),
]


@pytest.fixture()
def reviewed(tmp_path):
    """OUTDIR after a run and a recorded review (three decisions)."""
    answers = tmp_path / "answers.csv"
    pd.DataFrame(ROWS, columns=["id", "text", "city"]).to_csv(answers, index=False)
    outdir = tmp_path / "out"
    assert main(["run", str(answers), "-o", str(outdir), "--embedder", "tfidf", "-q"]) == 0
    store = review.DecisionStore(outdir)
    store.append([
        {"kind": "answer_override", "target": {"id": "m1"}, "value": {"code": "A03"}},
        {"kind": "answer_override", "target": {"id": "b1"}, "value": {"code": "A03"}},
        {"kind": "answer_note", "target": {"id": "m4"}, "value": {"note": "loneliness"}},
    ], analyst="tester")
    assert store.path == outdir / "decisions.jsonl" and len(store.records()) == 3
    return answers, outdir, store.path


def _edit_value(data: bytes) -> bytes:
    return data.replace(b'"A03"', b'"A06"', 1)


def _delete_line(data: bytes) -> bytes:
    lines = data.splitlines(keepends=True)
    return b"".join(lines[:1] + lines[2:])


def _swap_lines(data: bytes) -> bytes:
    lines = data.splitlines(keepends=True)
    return b"".join([lines[1], lines[0]] + lines[2:])


def _truncate(data: bytes) -> bytes:
    return data[: len(data) - 25]  # an interrupted append: partial last line


def _garbage_line(data: bytes) -> bytes:
    return data + b"\x00\xff\xfe not json at all\n"


def _not_utf8(data: bytes) -> bytes:
    return data.replace("é".encode(), b"\xe9", 1) if "é".encode() in data else b"\xe9" + data


def _blank_line(data: bytes) -> bytes:
    lines = data.splitlines(keepends=True)
    return b"".join(lines[:1] + [b"\n"] + lines[1:])


def _emptied_to_text(data: bytes) -> bytes:
    return b"{}\n"


DAMAGE = [_edit_value, _delete_line, _swap_lines, _truncate, _garbage_line, _not_utf8, _blank_line, _emptied_to_text]


@pytest.mark.parametrize("damage", DAMAGE, ids=[d.__name__.strip("_") for d in DAMAGE])
def test_damaged_store_is_detected_reported_and_never_overwritten(reviewed, damage, capsys):
    answers, outdir, path = reviewed
    damaged = damage(path.read_bytes())
    path.write_bytes(damaged)
    outputs = {p.name: p.read_bytes() for p in outdir.iterdir() if p.is_file() and not p.name.startswith(".")}

    with pytest.raises(review.DecisionStoreError):
        review.DecisionStore(outdir).records()
    with pytest.raises(review.DecisionStoreError):
        review.DecisionStore(outdir).append([{"kind": "answer_note", "target": {"id": "m2"}, "value": {"note": "x"}}])
    assert path.read_bytes() == damaged

    assert main(["run", str(answers), "-o", str(outdir), "--embedder", "tfidf", "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err and "decisions.jsonl" in err
    assert path.read_bytes() == damaged, "the damaged store must never be rewritten"
    assert {p.name: p.read_bytes() for p in outdir.iterdir() if p.is_file() and not p.name.startswith(".")} == outputs


def _start_paused(answers: Path, outdir: Path, point: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]), CRITERIA_NLP_TEST_PAUSE_AT=point)
    return subprocess.Popen(
        [sys.executable, "-m", "criteria_nlp.cli", "run", str(answers), "-o", str(outdir), "--embedder", "tfidf", "-q"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )


@pytest.mark.parametrize("point", ["assign", "write", "commit"])
def test_kill_during_a_run_leaves_the_store_intact(reviewed, point):
    answers, outdir, path = reviewed
    before = path.read_bytes()
    process = _start_paused(answers, outdir, point)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if f"paused at {point}" in line or (not line and process.poll() is not None):
            break
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    process.stderr.close()
    assert process.returncode == -signal.SIGKILL
    assert path.read_bytes() == before
    assert len(review.DecisionStore(outdir).records()) == 3
    # A complete run afterwards applies the decisions and still leaves the store as it was.
    assert main(["run", str(answers), "-o", str(outdir), "--embedder", "tfidf", "-q"]) == 0
    assert path.read_bytes() == before


@pytest.mark.parametrize("note", ["ligne\u2028séparateur", "retour\rchariot", "deux\nlignes", "emoji 👍🏽 \u202e RTL", "\x00nul"])
def test_any_note_text_survives_the_store(tmp_path, note):
    """Lines are split on LF only: a JSON line written with ensure_ascii=False may hold U+2028,
    U+0085 and friends, which str.splitlines() would cut."""
    store = review.DecisionStore(tmp_path)
    store.append([{"kind": "answer_note", "target": {"id": "m1"}, "value": {"note": note}}])
    store.append([{"kind": "answer_note", "target": {"id": "m2"}, "value": {"note": "after"}}])
    records = review.DecisionStore(tmp_path).records()
    assert [r["value"]["note"] for r in records] == [note, "after"]

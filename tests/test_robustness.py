"""Robustness, round two (issue 14): the scripted scenarios of the catalogue of bad inputs.

Each test is one scenario listed in tests/data/bad/EXPECTED.md (make_bad_files.SCENARIOS):
what is done, the expected exit code and one-line message, and the files that must be left
unchanged. The input-file cases of the same issue are entries of the catalogue itself
(test_bad_inputs.py)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from criteria_nlp.cli.app import main
from criteria_nlp.io.xlsx import decode_escapes

from .bad_files import BAD, GEN

SRC = Path(__file__).resolve().parents[1] / "src"
TFIDF = ["--embedder", "tfidf", "-q", "--analyst-language", "en"]  # the English workbook (the answers are mostly French)



ROWS = [
    ("f1", "avoir un logement décent", "Mulhouse"), ("f2", "des loyers trop chers", "Mulhouse"),
    ("f3", "un logement bien chauffé", "Mulhouse"), ("f4", "pas de logement pour les jeunes", "Mulhouse"),
    ("f5", "trouver un travail", "Mulhouse"), ("f6", "le chômage des jeunes", "Mulhouse"),
    ("f7", "un travail stable", "Mulhouse"), ("f8", "pas de travail depuis deux ans", "Mulhouse"),
    ("f9", "la solitude des personnes âgées", "Mulhouse"), ("f10", "voir mes amis", "Mulhouse"),
    ("n1", "een betaalbare woning", "Mechelen"), ("n2", "de huur is te duur", "Mechelen"),
    ("n3", "werk vinden in de buurt", "Mechelen"), ("n4", "geen werk", "Mechelen"),
    ("n5", "eenzaamheid bij ouderen", "Mechelen"), ("n6", "vrienden zien", "Mechelen"),
]


def _write(path: Path, rows=ROWS) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows, columns=["id", "text", "city"]).to_csv(path, index=False)
    return path


def _files(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` (sub-folders too, hidden files too), with its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink()}


def _cli(capsys, *args) -> tuple[int, str]:
    code = main([str(a) for a in args])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err.strip()


def _one_line(err: str, fragment: str) -> None:
    assert "\n" not in err, f"one line expected: {err}"
    assert err.startswith(("error: ", "interrupted")) and fragment in err, err


def _env(**extra) -> dict:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]))
    env.pop("CRITERIA_NLP_TEST_PAUSE_AT", None)
    env.update(extra)
    return env


def _subprocess(args, *, file_limit: int | None = None, timeout: float = 300, **env) -> subprocess.CompletedProcess:
    def limit():  # in the child: files may not grow beyond `file_limit` bytes (a full disk, for this process)
        import resource

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_limit, file_limit))

    return subprocess.run([sys.executable, "-m", "criteria_nlp.cli", *map(str, args)], env=_env(**env), capture_output=True,
                          text=True, timeout=timeout, preexec_fn=limit if file_limit else None)


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """An input and the OUTDIR of a finished run on it (copy it before changing it)."""
    base = tmp_path_factory.mktemp("finished")
    source = _write(base / "in" / "answers.csv")
    assert main(["run", str(source), "-o", str(base / "out"), *TFIDF]) == 0
    return source, base / "out"


@pytest.fixture()
def project(finished, tmp_path):
    source, out = finished
    shutil.copytree(out, tmp_path / "out", symlinks=True)
    return source, tmp_path / "out"


def _sheet_columns(ws) -> dict[str, int]:
    return {cell.value: cell.column for cell in ws[1]}


def _edit_workbook(path: Path, target: Path, overrides: dict[str, str] | None = None, notes: dict[str, str] | None = None,
                   group_decisions: dict[int, str] | None = None, change=None) -> Path:
    """A copy of review.xlsx with the analyst's edits (answer id -> override code / note,
    group number -> decision)."""
    book = openpyxl.load_workbook(path)
    answers = book["Answers"]
    columns = _sheet_columns(answers)
    for row in answers.iter_rows(min_row=2):
        answer_id = decode_escapes(row[columns["id"] - 1].value)  # as the analyst sees it in Excel
        if overrides and answer_id in overrides:
            row[columns["override code"] - 1].value = overrides[answer_id]
        if notes and answer_id in notes:
            row[columns["notes"] - 1].value = notes[answer_id]
    groups = book["Criteria groups"]
    columns = _sheet_columns(groups)
    for row in groups.iter_rows(min_row=2):
        if group_decisions and row[columns["group"] - 1].value in group_decisions:
            row[columns["decision"] - 1].value = group_decisions[row[columns["group"] - 1].value]
    if change is not None:
        change(book)
    book.save(target)
    return target


def _import(capsys, workbook: Path, out: Path, *extra) -> tuple[int, str]:
    return _cli(capsys, "review", "import", workbook, "--project", out, *extra)


def _overrides(out: Path) -> dict[str, str | None]:
    from criteria_nlp.review.state import DecisionState

    return {k: a.code for k, a in DecisionState.load(out).answers.items()}


# ------------------------------------------------------------------ 1. work lost: a full disk

def test_import_on_a_full_disk_records_nothing_and_says_so(project, tmp_path, capsys):
    source, out = project
    # A first import, so that the store exists; then one with an override for every answer.
    first = _edit_workbook(out / "review.xlsx", tmp_path / "first.xlsx", notes={"f1": "seen"})
    assert _import(capsys, first, out)[0] == 0
    before = (out / "decisions.jsonl").read_bytes()
    many = _edit_workbook(out / "review.xlsx", tmp_path / "many.xlsx", overrides={i: "A03" for i, _, _ in ROWS})
    done = _subprocess(["review", "import", many, "--project", out], file_limit=len(before) + 600)
    assert done.returncode == 2, done.stderr
    _one_line(done.stderr.strip(), "nothing recorded, the store is unchanged")
    assert (out / "decisions.jsonl").read_bytes() == before
    # With space again, the same import goes through, whole.
    assert _import(capsys, many, out)[0] == 0
    assert all(code == "A03" for code in _overrides(out).values())


# ------------------------------------------------------------------ 2. never replace what the run did not write

def test_run_refuses_a_folder_it_did_not_write(tmp_path, capsys):
    data = tmp_path / "data"
    source = _write(data / "answers.csv")
    (data / "report.html").write_text("my own report")
    before = _files(data)
    code, err = _cli(capsys, "run", source, "-o", data, *TFIDF)
    assert code == 2
    _one_line(err, "that criteria-nlp did not write")
    assert _files(data) == before


def test_force_writes_into_a_foreign_folder_but_never_over_the_input(tmp_path, capsys):
    data = tmp_path / "data"
    source = _write(data / "my_answers.csv")
    (data / "notes.txt").write_text("mine")
    (data / ".draft.part").write_text("another program's temporary file")
    assert _cli(capsys, "run", source, "-o", data, "--force", *TFIDF)[0] == 0
    assert (data / "answers.csv").exists() and (data / "notes.txt").read_text() == "mine"
    assert (data / ".draft.part").read_text() == "another program's temporary file"
    assert source.read_bytes() == _write(tmp_path / "again.csv").read_bytes()


def test_run_sweeps_only_its_own_temporaries(project, capsys):
    source, out = project
    own = out / ".answers.csv.k3j2h1g0.part"
    others = [out / ".notes.txt.abc.part", out / "user" / ".answers.csv.k3j2h1g0.part", out / "user" / ".x.part"]
    for path in [own] + others:
        path.parent.mkdir(exist_ok=True)
        path.write_text("half")
    assert _cli(capsys, "run", source, "-o", out, *TFIDF)[0] == 0
    assert not own.exists()
    assert all(path.read_text() == "half" for path in others)


def test_an_empty_outdir_is_refused_not_read_as_the_current_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    source = _write(tmp_path / "answers.csv")
    before = _files(tmp_path)
    code, err = _cli(capsys, "run", source, "-o", "", *TFIDF)
    assert code == 2
    _one_line(err, "-o is empty")
    assert _files(tmp_path) == before


# ------------------------------------------------------------------ 3. the input is never an output

def _assign(x, out):
    return ["assign", x, "-o", out, "--embedder", "tfidf", "-q"]


CASES = {
    "assign": _assign,
    "embed": lambda x, out: ["embed", x, "-o", out, "--embedder", "tfidf", "-q"],
    "cluster": lambda x, out: ["cluster", x, "-o", out, "--embedder", "tfidf", "-q"],
    "evaluate": lambda x, out: ["evaluate", x, "--gold-col", "city", "--pred-col", "city", "-o", out],
}


@pytest.mark.parametrize("command", list(CASES))
@pytest.mark.parametrize("link", ["same path", "symbolic link", "hard link"])
def test_an_output_that_is_the_input_is_refused(tmp_path, capsys, command, link):
    source = _write(tmp_path / "X.csv")
    before = source.read_bytes()
    output = source
    if link == "symbolic link":
        output = tmp_path / "link.csv"
        output.symlink_to(source)
    elif link == "hard link":
        output = tmp_path / "hard.csv"
        os.link(source, output)
    code, err = _cli(capsys, *CASES[command](source, output))
    assert code == 2
    _one_line(err, "is the input")
    assert source.read_bytes() == before


def test_a_run_never_replaces_its_input(project, tmp_path, capsys):
    source, out = project
    before = _files(out)
    # The answers.csv of the run itself, given as input to a run into the same folder.
    code, err = _cli(capsys, "run", out / "answers.csv", "-o", out, *TFIDF)
    assert code == 2
    _one_line(err, "is the input")
    assert _files(out) == before


# ------------------------------------------------------------------ 4. an older workbook never reverts later decisions

def test_an_older_workbook_never_reverts_later_decisions(project, tmp_path, capsys):
    source, out = project
    old = shutil.copy(out / "review.xlsx", tmp_path / "old.xlsx")
    newer = _edit_workbook(out / "review.xlsx", tmp_path / "newer.xlsx", overrides={"f1": "A03", "n1": "none"}, group_decisions={0: "accept"})
    assert _import(capsys, newer, out)[0] == 0
    assert _cli(capsys, "run", source, "-o", out, *TFIDF)[0] == 0
    decided = _overrides(out)
    store = (out / "decisions.jsonl").read_bytes()
    # The old copy, untouched: nothing is reverted (only the "seen" record is added).
    assert _import(capsys, Path(old), out)[0] == 0
    assert _overrides(out) == decided
    records = [json.loads(line) for line in (out / "decisions.jsonl").read_bytes()[len(store):].splitlines()]
    assert [r["kind"] for r in records] == ["import"]
    # The old copy with one edit: only that edit is recorded.
    edited = _edit_workbook(Path(old), tmp_path / "old_edited.xlsx", overrides={"f5": "A06"})
    assert _import(capsys, edited, out)[0] == 0
    assert _overrides(out) == {**decided, "f5": "A06"}


def test_a_conflicting_edit_is_reported_not_applied(project, tmp_path, capsys):
    source, out = project
    old = shutil.copy(out / "review.xlsx", tmp_path / "old.xlsx")
    newer = _edit_workbook(out / "review.xlsx", tmp_path / "newer.xlsx", overrides={"f1": "A03"})
    assert _import(capsys, newer, out)[0] == 0
    store = (out / "decisions.jsonl").read_bytes()
    conflicting = _edit_workbook(Path(old), tmp_path / "conflict.xlsx", overrides={"f1": "A06", "f2": "A06"})
    code, err = _import(capsys, conflicting, out)
    assert code == 2
    _one_line(err, "1 conflict(s) with decisions recorded after this workbook was written, nothing recorded")
    assert "'A03' was recorded after it was written" in err
    assert (out / "decisions.jsonl").read_bytes() == store
    assert _import(capsys, conflicting, out, "--overwrite")[0] == 0
    assert _overrides(out)["f1"] == "A06" and _overrides(out)["f2"] == "A06"


# ------------------------------------------------------------------ 5. the map never crashes

def test_map_of_identical_or_few_distinct_answers_never_crashes():
    code = (
        "import numpy as np\n"
        "from criteria_nlp.report.projection import project_2d\n"
        "v = np.tile(np.arange(8.0), (40, 1))\n"
        "c, note = project_2d(v, ['fr'] * 40)\n"
        "assert c.shape == (40, 2) and np.isfinite(c).all() and 'one point' in note, note\n"
        "w = np.vstack([v[:20], v[:20] + 1, np.eye(3, 8)])\n"
        "c, note = project_2d(w, ['fr'] * len(w))\n"
        "assert np.isfinite(c).all() and len(np.unique(c, axis=0)) == 5, note\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], env=_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "ok" in done.stdout, done.stderr[-2000:]


# ------------------------------------------------------------------ 6. Ctrl-C

def test_ctrl_c_exits_130_with_one_line(tmp_path):
    source = _write(tmp_path / "answers.csv")
    out = tmp_path / "out"
    process = subprocess.Popen([sys.executable, "-m", "criteria_nlp.cli", "run", str(source), "-o", str(out), *TFIDF],
                               env=_env(CRITERIA_NLP_TEST_PAUSE_AT="embed"), stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if "paused at embed" in line or (not line and process.poll() is not None):
            break
    process.send_signal(signal.SIGINT)
    rest = process.stderr.read()
    assert process.wait(timeout=60) == 130
    assert "Traceback" not in rest
    _one_line(rest.strip(), "interrupted")
    assert not out.exists(), "an interrupted first run leaves no folder"


# ------------------------------------------------------------------ 7. one line, never a traceback

@pytest.mark.parametrize("args, fragment", [
    (["--seed", "-1"], "--seed"),
    (["--seed", str(2**32)], "--seed"),
    (["--top-k", "5", "--codebook", str(BAD / "codebook_as_json.json")], "--top-k 5 asks for more codes per answer"),
    (["--n-clusters", "50"], "--n-clusters 50 is more than the 16 answer(s)"),
    (["--embedder", "word2vec"], "unknown embedder 'word2vec'"),
])
def test_wrong_options_fail_at_once_in_one_line(tmp_path, capsys, args, fragment):
    source = _write(tmp_path / "answers.csv")
    code, err = _cli(capsys, "run", source, "-o", tmp_path / "out", *TFIDF, *args)
    assert code == 2
    _one_line(err, fragment)
    assert not (tmp_path / "out").exists(), "refused before the output folder is created"


def test_disk_full_during_a_run_is_one_line_and_changes_nothing(project, tmp_path):
    source, out = project
    before = _files(out)
    done = _subprocess(["run", _write(tmp_path / "new.csv", ROWS + [("n7", "veilig over straat", "Mechelen")]), "-o", out, *TFIDF],
                       file_limit=2000)
    assert done.returncode == 2, done.stderr
    _one_line(done.stderr.strip(), "nothing was replaced")
    assert _files(out) == before


def test_a_file_name_that_is_not_utf8_is_processed(tmp_path, capsys):
    name = os.fsdecode(b"answers\xff.csv")
    source = _write(tmp_path / name)
    assert _cli(capsys, "run", source, "-o", tmp_path / "out", *TFIDF)[0] == 0
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["input"]["path"].endswith("answers\ufffd.csv")


# ------------------------------------------------------------------ 8. ids with edge spaces and CRs

def test_ids_with_edge_spaces_and_cr_survive_the_review_round_trip(tmp_path, capsys):
    import csv

    rows = [(" m1", "avoir un logement décent", "Mulhouse"), ("m2\r", "des loyers trop chers", "Mulhouse")] + ROWS[2:]
    source = tmp_path / "answers.csv"
    with open(source, "w", encoding="utf-8", newline="") as stream:
        csv.writer(stream, quoting=csv.QUOTE_ALL, lineterminator="\r\n").writerows([("id", "text", "city"), *rows])
    out = tmp_path / "out"
    assert _cli(capsys, "run", source, "-o", out, *TFIDF)[0] == 0
    edited = _edit_workbook(out / "review.xlsx", tmp_path / "edited.xlsx", overrides={" m1": "A03", "m2\r": "A06"})
    assert _import(capsys, edited, out)[0] == 0
    assert {k: v for k, v in _overrides(out).items()} == {" m1": "A03", "m2\r": "A06"}
    assert _cli(capsys, "run", source, "-o", out, *TFIDF)[0] == 0
    from criteria_nlp.io.outputs import read_output_csv

    table = read_output_csv(out / "answers.csv").set_index("id")
    assert table.loc[" m1", "code"] == "A03" and table.loc["m2\r", "code"] == "A06"


# ------------------------------------------------------------------ 10. a workbook that claims far more than it holds

def test_review_import_of_a_workbook_with_a_far_cell_is_bounded(project, tmp_path, capsys):
    source, out = project

    def stray(book):
        book["Answers"]["XFD1048576"] = "x"

    edited = _edit_workbook(out / "review.xlsx", tmp_path / "far.xlsx", overrides={"f1": "A03"}, change=stray)
    start = time.perf_counter()
    assert _import(capsys, edited, out)[0] == 0
    assert time.perf_counter() - start < 60 and _overrides(out) == {"f1": "A03"}


def test_review_import_of_a_shared_strings_bomb_is_refused_early(project, capsys):
    source, out = project
    store = _files(out)
    code, err = _import(capsys, BAD / "many_shared_strings.xlsx", out)
    assert code == 2
    _one_line(err, "shared strings for at most")
    assert _files(out) == store


# ------------------------------------------------------------------ 11. the workbook id is a name, never a path

def test_a_workbook_id_that_is_a_path_is_refused(project, tmp_path, capsys):
    source, out = project
    evil = tmp_path / "x" / "evil.json"
    evil.parent.mkdir()
    evil.write_text(json.dumps({"groups": {}, "answers": {}, "codes": [], "group_columns": [], "answer_columns": []}))

    def path_id(book):
        book["_about"]["B1"] = "../../../../../../../../" + str(evil.with_suffix("")).lstrip("/")

    edited = _edit_workbook(out / "review.xlsx", tmp_path / "evil.xlsx", change=path_id)
    code, err = _import(capsys, edited, out)
    assert code == 2
    _one_line(err, "hidden workbook id was edited")
    assert not (out / "decisions.jsonl").exists()


# ------------------------------------------------------------------ 12. planted symbolic links

@pytest.mark.parametrize("name", [".criteria-nlp.lock", "decisions.jsonl"])
def test_planted_symlinks_are_never_followed(project, tmp_path, capsys, name):
    source, out = project
    target = tmp_path / "elsewhere" / "planted"
    target.parent.mkdir()
    (out / name).unlink(missing_ok=True)
    (out / name).symlink_to(target)
    code, err = _cli(capsys, "run", source, "-o", out, *TFIDF)
    assert code == 2
    _one_line(err, "is a symbolic link")
    assert not target.exists()
    if name == "decisions.jsonl":
        edited = _edit_workbook(out / "review.xlsx", tmp_path / "edited.xlsx", overrides={"f1": "A03"})
        code, err = _import(capsys, edited, out)
        assert code == 2 and "is a symbolic link" in err and not target.exists()


# ------------------------------------------------------------------ 13. hardened XML

def test_workbooks_are_parsed_by_defusedxml():
    import openpyxl as xl

    assert xl.DEFUSEDXML is True


# ------------------------------------------------------------------ 14. special inputs

@pytest.mark.parametrize("device, fragment", [("/dev/zero", "nothing but NUL bytes"), ("/dev/urandom", "binary content")])
def test_endless_devices_are_refused_at_once(tmp_path, capsys, device, fragment):
    start = time.perf_counter()
    code, err = _cli(capsys, "run", device, "-o", tmp_path / "out", *TFIDF)
    assert code == 2 and time.perf_counter() - start < 30
    _one_line(err, fragment)
    assert not (tmp_path / "out").exists()


def test_a_fifo_is_read_once_with_the_checksum_of_what_was_read(tmp_path, capsys):
    content = _write(tmp_path / "plain.csv").read_bytes()
    fifo = tmp_path / "answers.csv"
    os.mkfifo(fifo)

    def feed():
        with open(fifo, "wb") as stream:
            stream.write(content)

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    assert _cli(capsys, "run", fifo, "-o", tmp_path / "out", *TFIDF)[0] == 0
    writer.join(timeout=30)
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["input"]["sha256"] == hashlib.sha256(content).hexdigest()
    assert manifest["counts"]["answers"] == len(ROWS)


def test_an_input_over_the_size_limit_is_refused_before_it_is_read(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("CRITERIA_NLP_MAX_INPUT_MB", "0.001")  # about 1 KB
    source = _write(tmp_path / "answers.csv", [(f"{i}-{n}", t, c) for n in range(5) for i, t, c in ROWS])
    code, err = _cli(capsys, "run", source, "-o", tmp_path / "out", *TFIDF)
    assert code == 2
    _one_line(err, "the limit for an input")


# ------------------------------------------------------------------ 17. a concurrent run in a sub-folder

def test_a_run_never_deletes_staged_files_in_a_sub_folder(project, capsys):
    source, out = project
    staged = out / "sub" / ".answers.csv.a1b2c3d4.part"
    staged.parent.mkdir()
    staged.write_text("being written by a run into out/sub")
    (out / "sub" / ".criteria-nlp.lock").write_text("")
    assert _cli(capsys, "run", source, "-o", out, *TFIDF)[0] == 0
    assert staged.read_text() == "being written by a run into out/sub"


# ------------------------------------------------------------------ messages

def test_store_tolerates_a_bom_a_missing_final_newline_and_trailing_blank_lines(project, tmp_path, capsys):
    from criteria_nlp.review.store import DecisionStore

    source, out = project
    first = _edit_workbook(out / "review.xlsx", tmp_path / "first.xlsx", overrides={"f1": "A03"})
    assert _import(capsys, first, out)[0] == 0
    path = out / "decisions.jsonl"
    clean = path.read_bytes()
    records = DecisionStore(out).records()
    for variant in (b"\xef\xbb\xbf" + clean, clean[:-1], clean + b"\n\n  \n", clean.replace(b"\n", b"\r\n")):
        path.write_bytes(variant)
        assert DecisionStore(out).records() == records
        assert _cli(capsys, "run", source, "-o", out, *TFIDF)[0] == 0
    # An append after a harmless tail repairs it (whitespace only) and keeps every line.
    path.write_bytes(clean[:-1])
    second = _edit_workbook(out / "review.xlsx", tmp_path / "second.xlsx", overrides={"f2": "A06"})
    assert _import(capsys, second, out)[0] == 0
    assert path.read_bytes().startswith(clean) and len(DecisionStore(out).records()) == len(records) + 2


def test_an_edited_store_is_refused_before_any_work(project, tmp_path):
    source, out = project
    (out / "decisions.jsonl").write_text('{"seq": 1, "kind": "answer_override"}\n')
    before = _files(out)
    done = _subprocess(["run", source, "-o", out, *TFIDF], timeout=120,
                       CRITERIA_NLP_TEST_PAUSE_AT="language,embed", CRITERIA_NLP_TEST_PAUSE_SECONDS="100")
    assert done.returncode == 2 and "paused at" not in done.stderr
    _one_line(done.stderr.strip(), "decisions.jsonl line 1: checksum mismatch")
    assert _files(out) == before


def test_an_error_never_echoes_the_answers(tmp_path, capsys):
    code, err = _cli(capsys, "run", BAD / "no_newline_header.csv", "-o", tmp_path / "out", *TFIDF)
    assert code == 2 and len(err) < 400
    assert "la santé, le travail et la famille la santé" not in err


@pytest.mark.parametrize("kind", ["file", "link loop"])
def test_an_outdir_that_is_a_file_or_a_link_loop_is_named(tmp_path, capsys, kind):
    source = _write(tmp_path / "answers.csv")
    target = tmp_path / "target"
    if kind == "file":
        target.write_text("not a folder")
    else:
        target.symlink_to(tmp_path / "target")
    code, err = _cli(capsys, "run", source, "-o", target, *TFIDF)
    assert code == 2
    _one_line(err, "is a file, not a folder" if kind == "file" else "is a symbolic link loop")


def test_outputs_follow_the_umask(tmp_path, capsys):
    source = _write(tmp_path / "answers.csv")
    previous = os.umask(0o022)
    try:
        assert _cli(capsys, "run", source, "-o", tmp_path / "out", *TFIDF)[0] == 0
    finally:
        os.umask(previous)
    for name in ("answers.csv", "review.xlsx", "manifest.json"):
        assert (tmp_path / "out" / name).stat().st_mode & 0o777 == 0o644, name


@pytest.mark.parametrize("command", ["report", "compare"])
def test_report_and_compare_take_the_folder_lock(project, capsys, command):
    from criteria_nlp.io.lock import outdir_lock

    source, out = project
    before = _files(out)
    with outdir_lock(out, create=False):
        code, err = _cli(capsys, command, out, *(["--no-map", "-q"] if command == "report" else []))
    assert code == 2
    _one_line(err, "another criteria-nlp run is writing this folder")
    assert _files(out) == before


def test_review_snapshots_are_pruned_to_the_last_ten(project, capsys):
    source, out = project
    folder = out / "review-snapshots"
    old = []
    for n in range(12):
        path = folder / f"{n:016x}.json"
        path.write_text("{}")
        os.utime(path, (1_000_000 + n, 1_000_000 + n))
        old.append(path)
    (folder / "notes.json").write_text("mine")
    assert _cli(capsys, "run", source, "-o", out, *TFIDF)[0] == 0
    snapshots = [p for p in folder.iterdir() if p.name != "notes.json"]
    assert len(snapshots) == 10 and (folder / "notes.json").read_text() == "mine"
    assert all(p.exists() for p in old[-8:]) and not any(p.exists() for p in old[:3])


def test_deleted_answer_rows_are_refused(project, tmp_path, capsys):
    source, out = project

    def delete(book):
        book["Answers"].delete_rows(3)

    edited = _edit_workbook(out / "review.xlsx", tmp_path / "deleted.xlsx", overrides={"f1": "A03"}, change=delete)
    code, err = _import(capsys, edited, out)
    assert code == 2
    _one_line(err, "1 answer row(s) were deleted ('f2')")
    assert not (out / "decisions.jsonl").exists()


def test_codebook_export_never_replaces_its_source(tmp_path, capsys):
    source = tmp_path / "cb.yaml"
    source.write_text("codes:\n  - code: A\n    label: Housing\n", encoding="utf-8")
    before = source.read_bytes()
    code, err = _cli(capsys, "codebook", "export", source, "-o", source)
    assert code == 2
    _one_line(err, "is the input")
    assert source.read_bytes() == before


def test_a_bug_is_one_line_not_a_traceback(tmp_path, capsys, monkeypatch):
    import criteria_nlp.pipeline.run as run

    def broken(*args, **kwargs):
        raise ValueError("a bug\non two lines")

    monkeypatch.setattr(run, "discover_groups", broken)
    source = _write(tmp_path / "answers.csv")
    code, err = _cli(capsys, "run", source, "-o", tmp_path / "out", *TFIDF)
    assert code == 1
    _one_line(err, "internal error (ValueError: a bug on two lines)")
    assert not (tmp_path / "out").exists()


def test_a_folder_left_by_a_killed_first_run_is_reused(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / ".criteria-nlp.lock").write_text("")
    (out / ".answers.csv.x1y2z3w4.part").write_text("half")
    source = _write(tmp_path / "answers.csv")
    assert _cli(capsys, "run", source, "-o", out, *TFIDF)[0] == 0
    assert not (out / ".answers.csv.x1y2z3w4.part").exists() and (out / "answers.csv").exists()


def test_every_scenario_is_listed_in_the_catalogue():
    listed = {name for name, *_ in GEN.SCENARIOS}
    here = {name for name in globals() if name.startswith("test_") and name != "test_every_scenario_is_listed_in_the_catalogue"}
    assert listed == here

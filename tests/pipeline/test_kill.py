"""No lost work: `criteria-nlp run` killed with SIGKILL at any point leaves the previous
outputs intact and readable; a second run on the same OUTDIR is refused while one is running.

The run is started in a subprocess with CRITERIA_NLP_TEST_PAUSE_AT=<point> (outputs.pause_point:
each pipeline stage start, and "commit" = every new output fully written under a temporary
name, just before the renames), killed when it reports the pause, and the folder inspected.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from criteria_nlp.cli.app import main
from criteria_nlp.io.outputs import read_output_csv

SRC = Path(__file__).resolve().parents[2] / "src"
OUTPUTS = ("answers.csv", "clusters.csv", "manifest.json")
# Nothing is written between "read" and "write", so the middle stages behave like "embed";
# they run with -m slow to keep the default suite short.
POINTS = [
    "read",
    pytest.param("language", marks=pytest.mark.slow),
    "embed",
    pytest.param("assign", marks=pytest.mark.slow),
    pytest.param("discover", marks=pytest.mark.slow),
    "write",
    "commit",
]

ROWS = [
    ("m1", "avoir un logement décent", "Mulhouse"),
    ("m2", "des loyers trop chers", "Mulhouse"),
    ("m3", "trouver un travail", "Mulhouse"),
    ("m4", "la solitude des personnes âgées", "Mulhouse"),
    ("m5", "être en bonne santé", "Mulhouse"),
    ("m6", "avoir des amis dans le quartier", "Mulhouse"),
    ("b1", "een betaalbare woning", "Mechelen"),
    ("b2", "werk vinden in de buurt", "Mechelen"),
    ("b3", "eenzaamheid bij ouderen", "Mechelen"),
    ("b4", "gezond zijn", "Mechelen"),
]


def _outputs(outdir: Path) -> dict[str, bytes]:
    """Every file a run leaves in OUTDIR (sub-folders too), except the lock and temporaries."""
    return {
        str(p.relative_to(outdir)): p.read_bytes()
        for p in sorted(outdir.rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    }


def _write_input(path: Path, rows) -> Path:
    pd.DataFrame(rows, columns=["id", "text", "city"]).to_csv(path, index=False)
    return path


@pytest.fixture()
def previous_run(tmp_path):
    """OUTDIR holding the outputs of a finished run, and a changed input for the next run."""
    old = _write_input(tmp_path / "old.csv", ROWS)
    new = _write_input(tmp_path / "new.csv", ROWS + [("b5", "veilig over straat", "Mechelen"), ("m7", "du temps pour soi", "Mulhouse")])
    outdir = tmp_path / "out"
    assert main(["run", str(old), "-o", str(outdir), "--embedder", "tfidf", "-q"]) == 0
    snapshot = _outputs(outdir)
    assert set(OUTPUTS) <= set(snapshot)
    return outdir, new, snapshot


def _start(input_path: Path, outdir: Path, pause_at: str | None = None) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]))
    env.pop("CRITERIA_NLP_TEST_PAUSE_AT", None)
    if pause_at:
        env["CRITERIA_NLP_TEST_PAUSE_AT"] = pause_at
    return subprocess.Popen(
        [sys.executable, "-m", "criteria_nlp.cli", "run", str(input_path), "-o", str(outdir), "--embedder", "tfidf", "-q"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _wait_for_pause(process: subprocess.Popen, point: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line and process.poll() is not None:
            break
        seen.append(line)
        if f"paused at {point}" in line:
            return
    process.kill()
    raise AssertionError(f"the run never paused at {point}: {''.join(seen)[-2000:]}")


def _kill(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    process.stdout.close()
    process.stderr.close()
    assert process.returncode == -signal.SIGKILL


def _assert_readable(outdir: Path) -> None:
    answers = read_output_csv(outdir / "answers.csv")
    clusters = read_output_csv(outdir / "clusters.csv")
    manifest = json.loads((outdir / "manifest.json").read_text(encoding="utf-8"))
    assert len(answers) and len(clusters) and manifest["tool"] == "criteria-nlp"


@pytest.mark.parametrize("point", POINTS)
def test_kill_at_any_stage_leaves_previous_outputs_intact(previous_run, point):
    outdir, new_input, snapshot = previous_run
    process = _start(new_input, outdir, pause_at=point)
    _wait_for_pause(process, point)
    _kill(process)
    after = _outputs(outdir)
    assert after.keys() == snapshot.keys()
    for name, content in snapshot.items():
        assert after[name] == content, f"{name} changed by a run killed at {point}"
    _assert_readable(outdir)
    leftovers = list(outdir.rglob(".*.part"))
    if point == "commit":
        assert len(leftovers) >= len(OUTPUTS)  # the new outputs were complete, never renamed
    # The next run works, replaces the outputs and sweeps the temporary files away.
    assert main(["run", str(new_input), "-o", str(outdir), "--embedder", "tfidf", "-q"]) == 0
    assert not list(outdir.rglob(".*.part"))
    assert len(read_output_csv(outdir / "answers.csv")) == len(ROWS) + 2


def test_kill_after_random_delays_leaves_each_output_old_or_new(previous_run, tmp_path):
    outdir, new_input, snapshot = previous_run
    reference = tmp_path / "reference"
    assert main(["run", str(new_input), "-o", str(reference), "--embedder", "tfidf", "-q"]) == 0
    new = {name: (reference / name).read_bytes() for name in ("answers.csv", "clusters.csv")}
    rng = random.Random(11)
    for _ in range(3):
        process = _start(new_input, outdir)
        time.sleep(rng.uniform(0.5, 6.0))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        process.communicate(timeout=180)
        manifest = json.loads((outdir / "manifest.json").read_text(encoding="utf-8"))
        manifest_is_new = manifest["input"]["path"] == str(new_input)
        for name in ("answers.csv", "clusters.csv"):
            content = (outdir / name).read_bytes()
            assert content in (snapshot[name], new[name]), name
            if manifest_is_new:  # the manifest is renamed last: everything before it is new
                assert content == new[name], name
        _assert_readable(outdir)


def test_second_run_on_the_same_outdir_is_refused(previous_run, capsys):
    outdir, new_input, snapshot = previous_run
    process = _start(new_input, outdir, pause_at="embed")
    try:
        _wait_for_pause(process, "embed")
        assert main(["run", str(new_input), "-o", str(outdir), "--embedder", "tfidf", "-q"]) == 2
        err = capsys.readouterr().err.strip()
        assert "\n" not in err and "another criteria-nlp run is writing this folder" in err
        assert _outputs(outdir) == snapshot
    finally:
        _kill(process)
    # The lock dies with its process: the folder is usable again.
    assert main(["run", str(new_input), "-o", str(outdir), "--embedder", "tfidf", "-q"]) == 0


def test_a_failing_run_changes_nothing(previous_run, tmp_path):
    outdir, _, snapshot = previous_run
    broken = tmp_path / "broken.csv"
    broken.write_bytes(b'id,text\r\nx1,"never closed\r\n')
    assert main(["run", str(broken), "-o", str(outdir), "--embedder", "tfidf", "-q"]) == 2
    assert _outputs(outdir) == snapshot
    assert not list(outdir.rglob(".*.part"))

"""A run killed in the middle of embedding resumes from the embedding cache: the second run
embeds only what the first had not stored."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from criteria_nlp.embed import get_embedder

ROOT = Path(__file__).resolve().parents[2]
SRC = str(ROOT / "src")


def _stored(path: Path) -> int:
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(path, timeout=5) as conn:
            return conn.execute("SELECT COUNT(*) FROM vectors").fetchone()[0]
    except sqlite3.OperationalError:  # table not created yet
        return 0


@pytest.mark.model
def test_killed_run_resumes_from_the_cache(e5_embedder, tmp_path):
    # A fresh embedding cache, but the session's converted model (no second conversion).
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "models").symlink_to(Path(e5_embedder.cache_dir) / "models", target_is_directory=True)
    answers = pd.read_csv(ROOT / "corpora/demo/answers.csv", dtype=str, keep_default_na=False).head(200)
    source = tmp_path / "answers.csv"
    answers[["id", "text", "city", "group"]].to_csv(source, index=False)
    # A three-code codebook keeps the codebook's own texts (embedded after the answers) few.
    codebook = tmp_path / "codebook.csv"
    codebook.write_text("label\nhousing\nloneliness\npublic transport\n", encoding="utf-8")
    out = tmp_path / "out"
    command = [sys.executable, "-m", "criteria_nlp.cli", "run", str(source), "-o", str(out), "--codebook", str(codebook),
               "--cache-dir", str(cache), "--batch-size", "8", "--quiet"]
    env = {**os.environ, "PYTHONPATH": SRC}
    db = get_embedder("e5", cache_dir=cache).cache.path

    first = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 600
    while _stored(db) == 0 and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)  # in the middle of embedding: some chunks stored, not all
    first.wait()
    stored = _stored(db)
    assert first.returncode == -signal.SIGKILL, first.stderr.read().decode()
    assert stored > 0 and not (out / "manifest.json").exists()

    second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    assert second.returncode == 0, second.stderr
    counts = json.loads((out / "manifest.json").read_text())["embedding_cache"]
    assert counts["cache_hits"] == stored < counts["unique"]
    # Answers that are texts of the package (a codebook example, an indicator name) come with it.
    assert counts["embedded"] == counts["unique"] - stored - counts["shipped"]

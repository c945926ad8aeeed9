"""One writer per output folder: an advisory lock, released on exit or kill."""

from __future__ import annotations

import contextlib
import fcntl
from pathlib import Path

from criteria_nlp.errors import OutputError


@contextlib.contextmanager
def outdir_lock(outdir: Path):
    """Refuse a second process writing the same OUTDIR (advisory lock, released on exit/kill)."""
    outdir.mkdir(parents=True, exist_ok=True)
    handle = open(outdir / ".criteria-nlp.lock", "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise OutputError(f"{outdir}: another criteria-nlp run is writing this folder; wait for it to finish or choose another -o") from None
    try:
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()

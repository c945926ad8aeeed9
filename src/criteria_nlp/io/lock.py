"""One writer per output folder: an advisory lock, released on exit or kill; and the checks
that come before it (io.folders): a run only writes into a new or empty folder or into one
that criteria-nlp wrote, and never over one of its inputs."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
from collections.abc import Iterable
from pathlib import Path

from criteria_nlp.errors import OutputError
from criteria_nlp.io.folders import (
    LOCK_NAME,
    check_output_argument,
    check_output_folder,
    refuse_overwriting_inputs,
    shown,
)


def _open_lock(path: Path) -> int:
    """Open (creating) the lock file without ever following a symbolic link planted there,
    and lock it; retried when the file was replaced between the open and the lock."""
    for _ in range(10):
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0), 0o666)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise OutputError(f"{shown(path)}: is a symbolic link; remove it (criteria-nlp never follows a link for its lock file)") from None
            raise OutputError(f"{shown(path.parent)}: cannot create the lock file ({exc.strerror}); give a folder you can write") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise OutputError(f"{shown(path.parent)}: another criteria-nlp run is writing this folder; wait for it to finish or choose another -o") from None
        try:
            same = os.fstat(fd).st_ino == os.stat(path, follow_symlinks=False).st_ino
        except OSError:
            same = False
        if same:
            return fd
        os.close(fd)  # removed by a run that failed just now: lock the new file
    raise OutputError(f"{shown(path)}: the lock file keeps changing; is another program removing it?")


@contextlib.contextmanager
def outdir_lock(outdir: Path, *, create: bool = True, force: bool = False, inputs: Iterable = (), outputs: Iterable[str] = (),
                requires: Iterable[str] = ()):
    """Refuse a second process writing the same OUTDIR (advisory lock, released on exit/kill).

    Before locking: `outdir` must be new, empty or a criteria-nlp folder (unless `force`;
    with `create=False` it must exist and hold every name in `requires`, so that no lock
    file is left in a folder that is not a run's), and none of the files named in `outputs`
    may be one of `inputs`. A folder created here is removed again (with its lock file and
    any empty sub-folder) when the block fails."""
    outdir = check_output_argument(outdir)
    existed = check_output_folder(outdir, force=force, must_exist=not create)
    for name in requires:
        if not os.path.exists(outdir / name):
            raise OutputError(f"{shown(outdir)}: no {name} here; run `criteria-nlp run INPUT -o {shown(outdir)}` first")
    refuse_overwriting_inputs([outdir / name for name in outputs], inputs)
    created: list[Path] = []
    if not existed:
        missing = [outdir] + [p for p in outdir.parents if not os.path.lexists(p)]
        try:
            outdir.mkdir(parents=True)
        except OSError as exc:
            raise OutputError(f"{shown(outdir)}: cannot create the folder ({exc.strerror}); give a folder you can write") from None
        created = [p for p in missing if os.path.isdir(p)]
    lock_path = outdir / LOCK_NAME
    fd = _open_lock(lock_path)
    try:
        yield
    except BaseException:
        if created:
            _remove_created(outdir, lock_path, created)
        raise
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _remove_created(outdir: Path, lock_path: Path, created: list[Path]) -> None:
    """A failed run leaves no trace of a folder it created: the lock file and the folders
    that are empty (never a file other than the lock)."""
    with contextlib.suppress(OSError):
        lock_path.unlink()
    for folder, subfolders, _ in sorted(os.walk(outdir, topdown=False), key=lambda item: -len(item[0])):
        with contextlib.suppress(OSError):
            os.rmdir(folder)
    for folder in created[1:]:
        with contextlib.suppress(OSError):
            os.rmdir(folder)

"""Where outputs may go. A run never deletes or replaces a file it did not write: an output
folder must be new, empty, or one that criteria-nlp wrote before (unless --force); no output
may be one of the inputs (the same file, through links too); an empty -o (an unset shell
variable) is refused rather than read as the current folder."""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Iterable
from pathlib import Path

from criteria_nlp.errors import OutputError

LOCK_NAME = ".criteria-nlp.lock"


STORE_NAME = "decisions.jsonl"


# Entries that file managers put in any folder: they do not make a folder "not empty".
IGNORED_ENTRIES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini", ".directory", "lost+found"})


def shown(path) -> str:
    """A path as text that can always be printed and written as UTF-8 (bytes of a file name
    that are not UTF-8 become U+FFFD)."""
    text = os.fspath(path)
    if isinstance(text, bytes):
        return text.decode("utf-8", "replace")
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def check_output_argument(value, option: str = "-o") -> Path:
    """The path given to an output option; an empty value is an error, not the current folder."""
    if value is None or not str(value).strip():
        raise OutputError(f"{option} is empty (an unset shell variable?); give the output path explicitly")
    return Path(value)


def _stat(path: Path, *, follow: bool = True) -> os.stat_result | None:
    """os.stat, None when nothing is there; a link loop or unreadable parent is an OutputError."""
    try:
        return os.stat(path, follow_symlinks=follow)
    except FileNotFoundError:
        if not follow:
            return None
        if os.path.lexists(path):
            raise OutputError(f"{shown(path)}: is a symbolic link to nothing; remove it or give another output path") from None
        return None
    except NotADirectoryError:
        raise OutputError(f"{shown(path)}: a part of this path is a file, not a folder; give another output path") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise OutputError(f"{shown(path)}: is a symbolic link loop; remove the link or give another output path") from None
        raise OutputError(f"{shown(path)}: cannot be used as an output ({exc.strerror})") from None


def is_run_folder(folder: Path) -> bool:
    """A folder criteria-nlp wrote: a manifest.json saying so, or a decision store (copied
    alone into a new folder to re-apply the decisions). Its lock file alone is not enough:
    `compare` or `report` pointed at the wrong folder leave one."""
    folder = Path(folder)
    try:
        manifest = json.loads((folder / "manifest.json").read_bytes()[: 1 << 20].decode("utf-8"))
        if isinstance(manifest, dict) and manifest.get("tool") == "criteria-nlp":
            return True
    except (OSError, ValueError, RecursionError):
        pass
    try:
        with open(folder / STORE_NAME, "rb") as stream:
            first = json.loads(stream.readline(1 << 20).lstrip(b"\xef\xbb\xbf"))
        return isinstance(first, dict) and "sha256" in first and "seq" in first
    except (OSError, ValueError, RecursionError):
        return False


def _entries(folder: Path) -> list[str]:
    try:
        return [name for name in os.listdir(folder) if name not in IGNORED_ENTRIES]
    except OSError as exc:
        raise OutputError(f"{shown(folder)}: cannot be listed ({exc.strerror}); give a folder you can write") from None


def check_output_folder(outdir: Path, *, force: bool = False, must_exist: bool = False) -> bool:
    """Check that `outdir` may receive a run's outputs; True when the folder is already there.

    Refused: a file, a link loop, and a folder holding files that criteria-nlp did not write
    (unless `force`): a run replaces answers.csv, report.html... without asking."""
    outdir = Path(outdir)
    found = _stat(outdir)
    if found is None:
        if must_exist:
            raise OutputError(f"{shown(outdir)}: no such folder; give the -o folder of a finished 'criteria-nlp run'")
        return False
    if not os.path.isdir(outdir):
        raise OutputError(f"{shown(outdir)}: is a file, not a folder; give a new folder (or the folder of an earlier run) as -o")
    if must_exist or force or is_run_folder(outdir):
        return True
    from criteria_nlp.io.outputs import is_own_temporary

    # A run killed before its first outputs were in place leaves only its lock and temporaries.
    entries = [name for name in _entries(outdir) if name != LOCK_NAME and not is_own_temporary(name)]
    if entries:
        listing = ", ".join(sorted(entries)[:3]) + (", ..." if len(entries) > 3 else "")
        raise OutputError(
            f"{shown(outdir)}: the folder holds {len(entries)} file(s) that criteria-nlp did not write ({shown(listing)}); "
            "a run would replace same-named files: give a new or empty folder as -o, or add --force to write there anyway"
        )
    return True


def check_output_file(path: Path, option: str = "-o") -> Path:
    """An output file path: not a folder, not a link loop, in a folder that can exist."""
    path = check_output_argument(path, option)
    if _stat(path) is not None and os.path.isdir(path):
        raise OutputError(f"{shown(path)}: is a folder; give a file name for {option}")
    parent = path.parent
    while True:
        found = _stat(parent)
        if found is not None:
            if not os.path.isdir(parent):
                raise OutputError(f"{shown(parent)}: is a file, not a folder; give another path for {option}")
            break
        if parent == parent.parent:
            break
        parent = parent.parent
    return path


def _same(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def refuse_overwriting_inputs(outputs: Iterable[Path], inputs: Iterable, option: str = "-o") -> None:
    """No output may be an input (the same file, through symbolic or hard links too)."""
    sources = [Path(i) for i in inputs if i is not None and str(i) != "" and os.path.isfile(i)]
    for output in outputs:
        output = Path(output)
        for source in sources:
            if _same(output, source) or (not os.path.lexists(output) and os.path.abspath(output) == os.path.abspath(source)):
                raise OutputError(
                    f"{shown(output)}: is the input {shown(source)} (the same file); writing it would destroy the input: "
                    f"choose another {option}"
                )

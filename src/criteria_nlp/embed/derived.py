"""Model folders derived from the converted e5 folder (ONNX export, distilled static model):
built once into the models cache, with the same integrity design as ``e5_convert``.

A derived folder is built in a temporary folder next to its destination, given a manifest
(``criteria_nlp_manifest.json``: size and sha256 of every file, a sample hash for big ones, plus
the ``format`` and the ``source`` it was built from), checked, then renamed into place under a
file lock, so concurrent runs build it once and a killed build leaves nothing half-written. The
quick check before each use reads about 1 MB; a missing, truncated or replaced file, or a folder
built from another source, triggers a rebuild.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

from criteria_nlp.embed.model_folder import (
    LOCK_TIMEOUT_S,
    MANIFEST,
    build_into_place,
    file_problem,
    read_manifest,
    remove_leftovers,
    write_manifest,
)
from criteria_nlp.errors import ModelError

log = logging.getLogger(__name__)


def derived_problems(folder: Path, expected: dict, required: Sequence[str], full: bool = False) -> list[str]:
    """What is wrong with a derived folder (empty: intact). ``expected`` holds manifest fields
    that must match (format, source...), ``required`` the files that must be listed."""
    manifest = read_manifest(folder)
    if manifest is None:
        return [f"{MANIFEST} missing or unreadable"]
    problems = [
        f"{key} is {manifest.get(key)!r}, expected {value!r}"
        for key, value in expected.items()
        if manifest.get(key) != value
    ]
    if problems:
        return problems
    files = manifest.get("files")
    if not isinstance(files, dict):
        return ["manifest lists no files"]
    problems = [f"{name}: not in manifest" for name in required if name not in files]
    for name, record in files.items():
        problem = file_problem(Path(folder) / name, record, full)
        if problem:
            problems.append(f"{name}: {problem}")
    return problems


def ensure_derived(
    dest: Path,
    *,
    expected: dict,
    required: Sequence[str],
    build: Callable[[Path], dict],
    what: str,
) -> Path:
    """Return ``dest``, building it first when missing or damaged.

    ``build(tmp_folder)`` writes the files and returns extra manifest fields; ``expected`` is
    merged into the manifest and checked on every later use.
    """
    dest = Path(dest)
    if not derived_problems(dest, expected, required):
        return dest
    from filelock import FileLock, Timeout

    root = dest.parent
    root.mkdir(parents=True, exist_ok=True)
    lock_path = root / f"{dest.name}.lock"
    try:
        with FileLock(str(lock_path), timeout=LOCK_TIMEOUT_S):
            problems = derived_problems(dest, expected, required)
            if problems:  # another process may have built it while we waited
                remove_leftovers(root, dest.name)
                if dest.exists():
                    log.warning("rebuilding %s: %s", dest, "; ".join(problems[:3]))
                _build_into_place(dest, expected, required, build, what)
    except Timeout:
        raise ModelError(
            f"another criteria-nlp process has held {lock_path} for {LOCK_TIMEOUT_S} s: "
            "wait for it to finish, or delete that file if no other run is active"
        ) from None
    except OSError as exc:
        raise ModelError(
            f"cannot prepare the {what} in {root} ({exc}): set CRITERIA_NLP_CACHE_DIR to a writable folder"
        ) from exc
    return dest


def _build_into_place(dest: Path, expected: dict, required: Sequence[str], build, what: str) -> None:
    build_into_place(
        dest,
        build=lambda tmp: write_manifest(tmp, {**expected, **(build(tmp) or {})}),
        problems=lambda tmp: derived_problems(tmp, expected, required),
        failure=lambda exc: (
            f"building the {what} in {dest.parent} failed ({exc}): check free memory and disk "
            "space there (or set CRITERIA_NLP_CACHE_DIR elsewhere), then retry"
        ),
    )

"""Model folders built once in the user's cache and trusted afterwards: a manifest of every
file (size, sha256, or a sample sha256 for big files), a quick integrity check before each
load, and a build into a temporary folder renamed into place under a lock, so a folder at its
final path is complete unless damaged later. Shared by the e5 conversion and the models
derived from it (ONNX, static)."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from criteria_nlp.errors import ModelError

log = logging.getLogger(__name__)


MANIFEST = "criteria_nlp_manifest.json"


FULL_HASH_LIMIT = 32 * 2**20  # files up to this size are fully hashed by the quick check


SAMPLE_BLOCKS = 16


SAMPLE_BLOCK_SIZE = 64 * 2**10


LOCK_TIMEOUT_S = 600


def write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def file_record(path: Path) -> dict:
    """Size and sha256 of a file, plus the sample hash for big files."""
    record = {"size": path.stat().st_size, "sha256": _sha256(path)}
    if record["size"] > FULL_HASH_LIMIT:
        record["sample_sha256"] = _sample_sha256(path)
    return record


def write_manifest(folder: Path, info: dict) -> None:
    files = sorted(
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and p.name != MANIFEST
    )
    info = dict(info, files={name: file_record(folder / name) for name in files})
    write_json(folder / MANIFEST, info)


def read_manifest(folder: Path) -> dict | None:
    try:
        manifest = json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) else None


def file_problem(path: Path, record: dict, full: bool) -> str | None:
    try:
        size = path.stat().st_size
        if size != record["size"]:
            return f"size {size}, expected {record['size']}"
        if full or size <= FULL_HASH_LIMIT:
            return None if _sha256(path) == record["sha256"] else "sha256 differs"
        return None if _sample_sha256(path) == record["sample_sha256"] else "sample hash differs"
    except OSError as exc:
        return f"unreadable ({exc.strerror or exc})"
    except (KeyError, TypeError):
        return "bad manifest record"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(4 * 2**20):
            digest.update(chunk)
    return digest.hexdigest()


def _sample_sha256(path: Path) -> str:
    """sha256 of SAMPLE_BLOCKS blocks evenly spread from the first to the last byte."""
    size = path.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    last = max(size - SAMPLE_BLOCK_SIZE, 0)
    with open(path, "rb") as f:
        for offset in np.linspace(0, last, SAMPLE_BLOCKS, dtype=np.int64).tolist():
            f.seek(offset)
            digest.update(f.read(SAMPLE_BLOCK_SIZE))
    return digest.hexdigest()


def build_into_place(dest: Path, *, build, problems, failure) -> Path:
    """Build a model folder in a temporary folder next to ``dest``, check it, then rename it
    into place (a damaged ``dest`` is replaced): a crash never leaves a half-written model.

    `build(tmp)` writes the files; `problems(tmp)` lists what is wrong with them (empty: fine);
    `failure(exc)` is the message of the ModelError raised when either fails."""
    tmp = None
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".partial", dir=dest.parent))
        build(tmp)
        found = problems(tmp)
        if found:
            raise ValueError("; ".join(found))
        _move_into_place(tmp, dest)
    except ModelError:
        raise
    except Exception as exc:
        raise ModelError(failure(exc)) from exc
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)  # nothing left once renamed
    return dest


def _move_into_place(tmp: Path, dest: Path) -> None:
    """Rename tmp to dest; a damaged dest is moved aside first (rename needs a free name)."""
    if dest.exists() or dest.is_symlink():
        trash = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".old", dir=dest.parent))
        os.replace(dest, trash / "damaged")
        os.replace(tmp, dest)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        os.replace(tmp, dest)


def remove_leftovers(models_root: Path, name: str) -> None:
    """Temporary folders of a killed conversion (safe: we hold the lock)."""
    for pattern in (f".{name}.*.partial", f".{name}.*.old"):
        for leftover in models_root.glob(pattern):
            shutil.rmtree(leftover, ignore_errors=True)

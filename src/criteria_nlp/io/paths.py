"""Where criteria-nlp keeps data that can be rebuilt: the converted models, the embedding cache
and the analysis caches (language, lemmas).

Precedence: an explicit override (e.g. the CLI's ``--cache-dir``) > the environment variable
``CRITERIA_NLP_CACHE_DIR`` > the platform's user cache folder (``~/.cache/criteria-nlp`` on Linux,
which ``XDG_CACHE_HOME`` moves). Nothing here is ever committed: it is all regenerated on demand.
"""

from __future__ import annotations

import os
from pathlib import Path

from criteria_nlp.errors import OutputError

APP_NAME = "criteria-nlp"


CACHE_ENV_VAR = "CRITERIA_NLP_CACHE_DIR"


def cache_root(override: str | os.PathLike | None = None) -> Path:
    """Return the cache root folder, creating it if missing."""
    if override is not None and str(override) != "":
        root = Path(override)
    elif os.environ.get(CACHE_ENV_VAR):
        root = Path(os.environ[CACHE_ENV_VAR])
    else:
        import platformdirs

        # appauthor=False: no extra "<author>" level on Windows.
        root = Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))
    return _ensure_dir(root.expanduser())


def models_dir(override: str | os.PathLike | None = None) -> Path:
    """Folder holding converted models (~470 MB for e5)."""
    return _ensure_dir(cache_root(override) / "models")


def embeddings_dir(override: str | os.PathLike | None = None) -> Path:
    """Folder holding one sqlite embedding cache per model id."""
    return _ensure_dir(cache_root(override) / "embeddings")


def analyses_dir(override: str | os.PathLike | None = None) -> Path:
    """Folder holding the content caches of the text analyses (language, lemmas)."""
    return _ensure_dir(cache_root(override) / "analyses")


CACHE_PARTS = {"embeddings": embeddings_dir, "analyses": analyses_dir}  # what `cache clear` may empty


def clear_cache(override: str | os.PathLike | None = None, parts=tuple(CACHE_PARTS)) -> dict[str, int]:
    """Delete the cached results (not the converted models): part -> files removed."""
    removed = {}
    for part in parts:
        folder = CACHE_PARTS[part](override)
        files = [p for p in folder.iterdir() if p.is_file()]
        for path in files:
            try:
                path.unlink()
            except OSError as exc:
                raise OutputError(f"cannot delete {path} ({exc.strerror or exc}): is a run still using it?") from exc
        removed[part] = len(files)
    return removed


def _ensure_dir(path: Path) -> Path:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(
            f"cannot create cache folder {path} ({exc.strerror or exc}): "
            f"set {CACHE_ENV_VAR} to a writable folder"
        ) from exc
    return path

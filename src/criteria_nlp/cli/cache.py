"""`criteria-nlp cache clear`: empty the caches of vectors and text analyses."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from criteria_nlp.cli.app import app
from criteria_nlp.cli.options import CacheOpt, QuietOpt, echo_err

cache_app = typer.Typer(help="The cache of vectors, languages and lemma analyses (rebuilt on demand).", no_args_is_help=True)
app.add_typer(cache_app, name="cache")


@cache_app.command("clear")
def clear(
    cache_dir: Optional[Path] = CacheOpt,
    only: Optional[str] = typer.Option(None, "--only", help="Clear only 'embeddings' or only 'analyses' (languages, lemmas)."),
    quiet: bool = QuietOpt,
):
    """Delete the cached vectors and text analyses (the converted models are kept)."""
    from criteria_nlp.errors import InputError
    from criteria_nlp.io.paths import CACHE_PARTS, cache_root, clear_cache

    if only is not None and only not in CACHE_PARTS:
        raise InputError(f"--only must be one of {', '.join(CACHE_PARTS)}, not {only!r}")
    removed = clear_cache(cache_dir, (only,) if only else tuple(CACHE_PARTS))
    if not quiet:
        echo_err(", ".join(f"{part}: {n} files removed" for part, n in removed.items()) + f" ({cache_root(cache_dir)})")

"""`criteria-nlp embed`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from criteria_nlp.cli.app import app
from criteria_nlp.cli.options import (
    CacheOpt,
    DeviceOpt,
    NoCacheOpt,
    EmbedderOpt,
    IdCol,
    QuietOpt,
    SeedOpt,
    TextCol,
    echo_err,
)


@app.command()
def embed(
    input: Path = typer.Argument(..., help="Answers table: CSV/TSV, XLSX or JSONL."),
    output: Path = typer.Option(..., "--output", "-o", help="Output .npy file (float32, one row per answer, input order)."),
    text_col: str = TextCol,
    id_col: Optional[str] = IdCol,
    embedder: str = EmbedderOpt,
    seed: int = SeedOpt,
    cache_dir: Optional[Path] = CacheOpt,
    device: str = DeviceOpt,
    no_cache: bool = NoCacheOpt,
    quiet: bool = QuietOpt,
):
    """Embed every answer (and fill the embedding cache)."""
    from criteria_nlp.pipeline.commands import embed_file

    stats = embed_file(input, output, text_col=text_col, id_col=id_col, embedder=embedder, seed=seed, cache_dir=cache_dir, show_progress=not quiet,
                       device=device, use_cache=not no_cache)
    if not quiet:
        echo_err(f"{stats.get('requested', '?')} answers embedded ({stats.get('cache_hits', 0)} from cache) -> {output}")

"""`criteria-nlp cluster`."""

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
    LangCol,
    MaxUnassignedOpt,
    QuietOpt,
    RedactOpt,
    SeedOpt,
    TextCol,
    echo_err,
)


@app.command()
def cluster(
    input: Path = typer.Argument(..., help="Answers table: CSV/TSV, XLSX or JSONL."),
    output: Path = typer.Option(..., "--output", "-o", help="Output CSV: id, cluster (-1 = unassigned), cluster_label."),
    n_clusters: Optional[int] = typer.Option(None, "--n-clusters", min=1, help="Number of clusters (default: chosen automatically)."),
    max_unassigned: float = MaxUnassignedOpt,
    text_col: str = TextCol,
    id_col: Optional[str] = IdCol,
    lang_col: Optional[str] = LangCol,
    embedder: str = EmbedderOpt,
    seed: int = SeedOpt,
    cache_dir: Optional[Path] = CacheOpt,
    device: str = DeviceOpt,
    no_cache: bool = NoCacheOpt,
    quiet: bool = QuietOpt,
    redact: bool = RedactOpt,
):
    """Discover criteria groups without a codebook."""
    from criteria_nlp.pipeline.commands import cluster_file

    choice = cluster_file(
        input, output, n_clusters=n_clusters, text_col=text_col, id_col=id_col, lang_col=lang_col,
        embedder=embedder, seed=seed, cache_dir=cache_dir, show_progress=not quiet, redact=redact,
        max_unassigned=max_unassigned, device=device, use_cache=not no_cache,
    )
    if not quiet:
        echo_err(f"{choice} -> {output}")

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
    from criteria_nlp.i18n import messages
    from criteria_nlp.pipeline.commands import cluster_file

    found = cluster_file(
        input, output, n_clusters=n_clusters, text_col=text_col, id_col=id_col, lang_col=lang_col,
        embedder=embedder, seed=seed, cache_dir=cache_dir, show_progress=not quiet, redact=redact,
        max_unassigned=max_unassigned, device=device, use_cache=not no_cache,
    )
    if not quiet:
        loc = messages()
        _ = loc.gettext
        values = {"clusters": loc.integer(found["clusters"]), "unassigned": loc.percent(found["unassigned"]),
                  "cap": loc.percent(found["cap"], 0), "path": output}
        if found["asked"]:
            echo_err(_("criteria groups: %(clusters)s (number requested: %(asked)s); ungrouped answers: %(unassigned)s "
                       "(maximum allowed: %(cap)s) -> %(path)s") % {**values, "asked": loc.integer(found["asked"])})
        else:
            echo_err(_("criteria groups: %(clusters)s (number chosen automatically); ungrouped answers: %(unassigned)s "
                       "(maximum allowed: %(cap)s) -> %(path)s") % values)
            # The diagnostic names graph measures that have no settled wording in other languages.
            echo_err(_("choice of the number of groups (technical detail, in English): %(detail)s") % {"detail": found["choice"]})

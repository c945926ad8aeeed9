"""`criteria-nlp compare`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from criteria_nlp.cli.app import app
from criteria_nlp.cli.options import CorrectionOpt, echo_err


@app.command()
def compare(
    outdir: Path = typer.Argument(..., help="Output folder of a finished `criteria-nlp run`."),
    by: Optional[list[str]] = typer.Option(None, "--by", help="city, group, question or language; repeat for several (default: every one present)."),
    correction: str = CorrectionOpt,
    alpha: float = typer.Option(0.05, "--alpha", min=0.0, max=1.0, help="Adjusted p-value at or below which a criterion is distinctive."),
    top: int = typer.Option(3, "--top", min=0, help="Distinctive criteria printed per city (or group...)."),
):
    """Compare codes and criteria groups across cities, groups, questions or languages: OUTDIR/compare.csv."""
    from criteria_nlp.io.lock import outdir_lock
    from criteria_nlp.report.compare import distinctive_items
    from criteria_nlp.report.outdir import compare_outdir

    with outdir_lock(outdir, create=False, requires=("answers.csv",)):  # never beside a run or an import writing the folder
        comparison = compare_outdir(outdir, by=by, correction=correction, alpha=alpha)
    for dimension in dict.fromkeys(comparison.loc[comparison["by"] != "all", "by"]):
        found = distinctive_items(comparison, dimension, "code")
        typer.echo(f"{dimension}: {len(found)} distinctive (over-represented) codes")
        for value, rows in found.groupby("value", sort=False):
            items = ", ".join(f"{r.item} {r.label} ({r.count}/{r.total}, adj. p={r.p_adjusted:.2g})" for r in rows.head(top).itertuples())
            typer.echo(f"  {value}: {items}")
        if found.empty and top:
            cells = comparison[(comparison["by"] == dimension) & (comparison["level"] == "code") & (comparison["count"] > 0)]
            strongest = cells.nlargest(top, "residual")
            items = ", ".join(f"{r.value} {r.item} ({r.count}/{r.total}, z={r.residual:+.1f}, adj. p={r.p_adjusted:.2g})" for r in strongest.itertuples())
            typer.echo(f"  strongest tendencies, not significant: {items}")
    echo_err(f"{len(comparison)} rows -> {outdir / 'compare.csv'}")

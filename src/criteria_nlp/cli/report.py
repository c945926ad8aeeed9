"""`criteria-nlp report`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from criteria_nlp.cli.app import app
from criteria_nlp.cli.options import (
    AnalystLanguageOpt,
    CacheOpt,
    CorrectionOpt,
    GoldColOpt,
    QuietOpt,
    echo_err,
    speak,
)


@app.command()
def report(
    outdir: Path = typer.Argument(..., help="Output folder of a finished `criteria-nlp run`."),
    gold_col: Optional[str] = GoldColOpt,
    correction: str = CorrectionOpt,
    no_map: bool = typer.Option(False, "--no-map", help="Leave out the 2-D map (it re-embeds the answers, from the cache for e5)."),
    cache_dir: Optional[Path] = CacheOpt,
    quiet: bool = QuietOpt,
    analyst_language: Optional[str] = AnalystLanguageOpt,
):
    """(Re)write OUTDIR/report.html and OUTDIR/compare.csv from a finished run."""
    from criteria_nlp.i18n import _
    from criteria_nlp.io.lock import outdir_lock
    from criteria_nlp.report.outdir import report_outdir

    speak(analyst_language)
    with outdir_lock(outdir, create=False, requires=("answers.csv",)):  # never beside a run or an import writing the folder
        path = report_outdir(outdir, gold_col=gold_col, with_map=not no_map, correction=correction, cache_dir=cache_dir,
                             show_progress=not quiet, language=analyst_language)
    if not quiet:
        echo_err(_("report -> %(path)s") % {"path": path})

"""`criteria-nlp review ...` sub-commands."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from criteria_nlp.cli.app import review_app
from criteria_nlp.cli.options import echo_err


@review_app.command("import")
def review_import(
    workbook: Path = typer.Argument(..., help="The review.xlsx written by 'run', with the analysts' decisions."),
    project: Path = typer.Option(..., "--project", "-p", help="The OUTDIR of the run that wrote the workbook."),
    analyst: Optional[str] = typer.Option(None, "--analyst", "-a", help="Name of the analyst, recorded with each decision."),
    overwrite: bool = typer.Option(False, "--overwrite", help="When a cell edited in this workbook was decided again after it was written, let this workbook win (default: refuse and list the conflicts)."),
):
    """Validate a review workbook and record its decisions in OUTDIR/decisions.jsonl (append-only).
    The next 'run' on the same OUTDIR applies them."""
    from criteria_nlp.i18n import messages
    from criteria_nlp.io.lock import outdir_lock
    from criteria_nlp.io.outputs import SNAPSHOT_DIR
    from criteria_nlp.review.importer import ReviewError, import_review

    if not project.is_dir():
        raise ReviewError(f"{project}: no such project folder; give the -o folder of 'criteria-nlp run' as --project")
    with outdir_lock(project, create=False, requires=(SNAPSHOT_DIR,)):
        result = import_review(workbook, project, analyst=analyst, overwrite=overwrite)
    counts, loc = result.counts, messages()
    echo_err(loc.gettext("recorded %(groups)s group decision(s), %(answers)s answer override(s), %(notes)s note(s) -> %(path)s; "
                         "run 'criteria-nlp run ... -o %(project)s' again to apply them")
             % {"groups": loc.integer(counts["group_decision"]), "answers": loc.integer(counts["answer_override"]),
                "notes": loc.integer(counts["group_note"] + counts["answer_note"]), "path": project / "decisions.jsonl", "project": project})

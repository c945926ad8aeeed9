"""`criteria-nlp evaluate`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from criteria_nlp.cli.app import app


@app.command()
def evaluate(
    input: Path = typer.Argument(..., help="Table with a manual-code column and a prediction column (CSV/TSV, XLSX, JSONL)."),
    gold_col: str = typer.Option(..., "--gold-col", help="Column holding the manual codes (gold)."),
    pred_col: str = typer.Option(..., "--pred-col", help="Column holding the predicted codes or cluster ids."),
    lang_col: Optional[str] = typer.Option(None, "--lang-col", help="Column holding the language, for per-language scores."),
    confidence_col: Optional[str] = typer.Option(None, "--confidence-col", help="Column holding the confidence, for the semi-automatic coding curve."),
    pair_col: Optional[str] = typer.Option(None, "--pair-col", help="Clusters of parallel data: column shared by translations of one answer (needs --lang-col); adds cross-lingual consistency."),
    kind: str = typer.Option("auto", "--kind", help="codes, clusters, or auto (clusters when every prediction is an integer)."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Also write the report (.md) or all metrics (.json)."),
):
    """Score predictions against manual coding (codes or clusters).

    Codes: accuracy, macro-F1, Cohen's kappa, Krippendorff's alpha, confusion, per language and
    per code. Clusters: NMI, AMI, ARI, V-measure, homogeneity, completeness, purity, share
    unassigned (scored as a cluster and excluded)."""
    from criteria_nlp.errors import InputError
    from criteria_nlp.pipeline.commands import evaluate_file

    if kind not in ("auto", "codes", "clusters"):
        raise InputError(f"--kind must be codes, clusters or auto, not '{kind}'")
    result = evaluate_file(input, gold_col=gold_col, pred_col=pred_col, lang_col=lang_col, confidence_col=confidence_col,
                           pair_col=pair_col, kind=kind, output=output)
    typer.echo(result["report"], nl=False)

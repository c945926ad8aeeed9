"""`criteria-nlp assign`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from criteria_nlp.cli.app import app
from criteria_nlp.cli.options import (
    CacheOpt,
    DeviceOpt,
    NoCacheOpt,
    CodebookOpt,
    EmbedderOpt,
    IdCol,
    LabelColOpt,
    LangCol,
    ModelOpt,
    QuietOpt,
    RedactOpt,
    SeedOpt,
    ShotsOpt,
    TextCol,
    TopKOpt,
    TrainOpt,
    echo_err,
)
from criteria_nlp.config import DEFAULT_MIN_CONFIDENCE


@app.command()
def assign(
    input: Path = typer.Argument(..., help="Answers table: CSV/TSV, XLSX or JSONL."),
    output: Path = typer.Option(..., "--output", "-o", help="Output CSV: id, code, confidence (+ code_label)."),
    codebook: str = CodebookOpt,
    text_col: str = TextCol,
    id_col: Optional[str] = IdCol,
    lang_col: Optional[str] = LangCol,
    embedder: str = EmbedderOpt,
    min_confidence: float = typer.Option(DEFAULT_MIN_CONFIDENCE, "--min-confidence", min=0.0, max=1.0, help="Abstain (empty code) below this calibrated confidence."),
    train: Optional[Path] = TrainOpt,
    label_col: str = LabelColOpt,
    shots: int = ShotsOpt,
    top_k: int = TopKOpt,
    seed: int = SeedOpt,
    cache_dir: Optional[Path] = CacheOpt,
    device: str = DeviceOpt,
    no_cache: bool = NoCacheOpt,
    quiet: bool = QuietOpt,
    redact: bool = RedactOpt,
    model: Optional[Path] = ModelOpt,
):
    """Assign each answer to a code with a calibrated confidence (zero-shot, or learned with --train).

    Zero-shot uses the codebook's labels, descriptions and examples; --train learns from
    answers the analysts already coded (their codes in --label-col). With --model, a saved
    synthesis codes them (its settings win) and each answer also gets its criteria group
    (cluster, cluster_label; fits_group False when it fits none)."""
    if model is not None:
        from criteria_nlp.synthesis.commands import assign_with_model

        out = assign_with_model(input, output, model=model, text_col=text_col, id_col=id_col, lang_col=lang_col,
                                show_progress=not quiet)
        if not quiet:
            echo_err(f"{int((out['code'] != '').sum())} of {len(out)} answers coded, {int(out['fits_group'].sum())} in a "
                     f"group of the model -> {output}")
        return
    from criteria_nlp.pipeline.commands import assign_file

    out = assign_file(
        input, output, codebook=codebook, text_col=text_col, id_col=id_col, lang_col=lang_col,
        embedder=embedder, min_confidence=min_confidence, seed=seed, cache_dir=cache_dir, show_progress=not quiet,
        redact=redact, train=train, label_col=label_col, shots=shots, top_k=top_k,
        device=device, use_cache=not no_cache,
    )
    if not quiet:
        echo_err(f"{int((out['code'] != '').sum())} of {len(out)} answers coded, the rest left for review -> {output}")

"""`criteria-nlp run`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from criteria_nlp.cli.app import app
from criteria_nlp.cli.options import (
    AllLanguagesOpt,
    AnalystLanguageOpt,
    BatchOpt,
    CacheOpt,
    DeviceOpt,
    NoCacheOpt,
    CityCol,
    CodebookOpt,
    CorrectionOpt,
    EmbedderOpt,
    ForceOpt,
    GoldColOpt,
    GroupCol,
    IdCol,
    IndicatorsOpt,
    LabelColOpt,
    LangCol,
    MaxUnassignedOpt,
    ModelOpt,
    QuestionCol,
    QuietOpt,
    RedactOpt,
    SeedOpt,
    ShotsOpt,
    TextCol,
    TopKOpt,
    TrainOpt,
    echo_err,
    speak,
)
from criteria_nlp.config import DEFAULT_MIN_CONFIDENCE


@app.command()
def run(
    input: Path = typer.Argument(..., help="Answers table: CSV/TSV, XLSX or JSONL."),
    outdir: str = typer.Option(..., "--outdir", "-o", help="Output folder: new, empty, or that of an earlier run."),
    text_col: str = TextCol,
    id_col: Optional[str] = IdCol,
    lang_col: Optional[str] = LangCol,
    city_col: Optional[str] = CityCol,
    group_col: Optional[str] = GroupCol,
    question_col: Optional[str] = QuestionCol,
    codebook: str = CodebookOpt,
    embedder: str = EmbedderOpt,
    min_confidence: float = typer.Option(DEFAULT_MIN_CONFIDENCE, "--min-confidence", min=0.0, max=1.0, help="Abstain (empty code) below this calibrated confidence."),
    n_clusters: Optional[int] = typer.Option(None, "--n-clusters", min=1, help="Number of criteria groups among uncoded answers (default: chosen automatically)."),
    train: Optional[Path] = TrainOpt,
    label_col: str = LabelColOpt,
    shots: int = ShotsOpt,
    top_k: int = TopKOpt,
    max_unassigned: float = MaxUnassignedOpt,
    seed: int = SeedOpt,
    cache_dir: Optional[Path] = CacheOpt,
    device: str = DeviceOpt,
    no_cache: bool = NoCacheOpt,
    quiet: bool = QuietOpt,
    gold_col: Optional[str] = GoldColOpt,
    correction: str = CorrectionOpt,
    redact: bool = RedactOpt,
    batch_size: Optional[int] = BatchOpt,
    indicators: Optional[str] = IndicatorsOpt,
    analyst_language: Optional[str] = AnalystLanguageOpt,
    all_languages: bool = AllLanguagesOpt,
    force: bool = ForceOpt,
    model: Optional[Path] = ModelOpt,
    save_model: Optional[Path] = typer.Option(None, "--save-model", help="Also save the fitted synthesis to this folder (JSON, CSV, .npz; no pickle), to code later waves with --model."),
):
    """Run the whole pipeline: languages, embeddings, codes, clusters, outputs in OUTDIR.

    With --model, INPUT is coded and grouped by a saved synthesis (nothing refitted; its
    settings win over the command's), then described, compared and written the same way."""
    from criteria_nlp.config import RunConfig
    from criteria_nlp.i18n import messages
    from criteria_nlp.io.folders import check_output_argument
    from criteria_nlp.synthesis.commands import run_command

    speak(analyst_language)
    result = run_command(RunConfig(
        input=input, outdir=check_output_argument(outdir), force=force, text_col=text_col, id_col=id_col, lang_col=lang_col,
        city_col=city_col, group_col=group_col, question_col=question_col, codebook=codebook,
        embedder=embedder, min_confidence=min_confidence, n_clusters=n_clusters, seed=seed,
        cache_dir=cache_dir, show_progress=not quiet, gold_col=gold_col, correction=correction, redact=redact,
        batch_size=batch_size, train=train, label_col=label_col, shots=shots,
        top_k=top_k, max_unassigned=max_unassigned, indicators=indicators, analyst_language=analyst_language,
        all_languages=all_languages, device=device, use_cache=not no_cache,
    ), model=model, save_model=save_model)
    counts = result.manifest["counts"]
    if not quiet:
        loc = messages()
        _ = loc.gettext
        for warning in result.manifest["input"].get("warnings", []):
            echo_err(_("warning: %(message)s") % {"message": warning})
        number = {key: loc.integer(value) for key, value in counts.items() if isinstance(value, int)}
        echo_err(loc.ngettext(
            "%(answers)s answer (%(skipped)s empty rows skipped, %(non_answers)s non-answers), %(coded)s coded, "
            "%(abstained)s left for review, %(clusters)s clusters -> %(outdir)s",
            "%(answers)s answers (%(skipped)s empty rows skipped, %(non_answers)s non-answers), %(coded)s coded, "
            "%(abstained)s left for review, %(clusters)s clusters -> %(outdir)s", counts["answers"]) % {**number, "outdir": result.outdir})
        review = result.manifest.get("review", {})
        if review.get("decisions_recorded"):
            applied = ", ".join(f"{n} {status}" for status, n in sorted(review.get("decisions_report", {}).items()))
            echo_err(_("analyst decisions re-applied: %(applied)s (details in %(path)s)")
                     % {"applied": applied, "path": result.outdir / "decisions_report.csv"})

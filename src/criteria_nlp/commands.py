"""Plain functions behind the single-stage commands (assign, embed, cluster): importable
and testable without the CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .assign import DEFAULT_MIN_CONFIDENCE, zero_shot_assign
from .codebook import load_codebook
from .corpus import read_answers
from .outputs import write_bytes_atomic, write_csv_atomic
from .pipeline import attach_rows, embed_answers, prepare_answers, redact_answers


def _embedder(name: str, cache_dir, seed: int):
    from .embed import get_embedder

    return get_embedder(name, cache_dir=cache_dir, seed=seed)


def embed_file(input, output, *, text_col="text", id_col=None, embedder="e5", seed=0, cache_dir=None, show_progress=True) -> dict:
    """Write one float32 vector per answer (input order, empty rows skipped) to a .npy file."""
    import io

    corpus = read_answers(input, text_col=text_col, id_col=id_col)
    backend = _embedder(embedder, cache_dir, seed)
    vectors = embed_answers(corpus.texts, backend, show_progress).astype(np.float32)
    buffer = io.BytesIO()
    np.save(buffer, vectors)
    write_bytes_atomic(Path(output), buffer.getvalue())
    return dict(getattr(backend, "stats", {}) or {"requested": len(vectors)})


def assign_file(
    input, output, *, codebook="spiral", text_col="text", id_col=None, lang_col=None, embedder="e5",
    min_confidence=DEFAULT_MIN_CONFIDENCE, seed=0, cache_dir=None, show_progress=True, redact=False,
) -> pd.DataFrame:
    """Zero-shot assignment of each answer: id, code (empty = abstained), confidence, code_label."""
    book = load_codebook(codebook)
    corpus = read_answers(input, text_col=text_col, id_col=id_col, lang_col=lang_col)
    answers = prepare_answers(corpus)
    if redact:
        answers, _ = redact_answers(answers)
    coded = answers["status"] == "answer"
    backend = _embedder(embedder, cache_dir, seed)
    vectors = embed_answers(answers.loc[coded, "text"].tolist(), backend, show_progress)
    table, _ = zero_shot_assign(vectors, book, backend, min_confidence=min_confidence, languages=answers.loc[coded, "language"].tolist())
    answers = attach_rows(answers, coded, table)
    out = answers[["id", "code", "confidence", "code_label"]]
    write_csv_atomic(Path(output), out)
    return out


def cluster_file(
    input, output, *, n_clusters=None, text_col="text", id_col=None, lang_col=None, embedder="e5",
    seed=0, cache_dir=None, show_progress=True, redact=False,
) -> str:
    """Discovery without a codebook: id, cluster (-1 = unassigned), cluster_label."""
    from .discover import KMeansDiscoverer, centre_by_language, cluster_summary

    corpus = read_answers(input, text_col=text_col, id_col=id_col, lang_col=lang_col)
    answers = prepare_answers(corpus)
    if redact:
        answers, _ = redact_answers(answers)
    coded = answers["status"] == "answer"
    backend = _embedder(embedder, cache_dir, seed)
    vectors = embed_answers(answers.loc[coded, "text"].tolist(), backend, show_progress)
    languages = answers.loc[coded, "language"].tolist()
    model = KMeansDiscoverer(n_clusters=n_clusters, seed=seed).fit(vectors, languages=languages, keys=answers.loc[coded, "id"].tolist())
    summary = cluster_summary(answers.loc[coded].reset_index(drop=True), model.labels_, centre_by_language(vectors, languages), model.cluster_centers_)
    answers["cluster"] = -1
    answers.loc[coded, "cluster"] = model.labels_
    names = dict(zip(summary["cluster"], summary["cluster_label"])) if len(summary) else {}
    out = pd.DataFrame({"id": answers["id"], "cluster": answers["cluster"].astype(int)})
    out["cluster_label"] = out["cluster"].map(names).fillna("")
    write_csv_atomic(Path(output), out)
    return model.k_choice_

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


def _embedded_answers(input, *, text_col, id_col, lang_col, redact, embedder, cache_dir, seed, show_progress):
    """Read, detect languages, optionally redact, and embed the answers (non-answers left out):
    the shared first half of the single-stage commands. Returns (answers, coded, vectors, backend)."""
    corpus = read_answers(input, text_col=text_col, id_col=id_col, lang_col=lang_col)
    answers = prepare_answers(corpus)
    if redact:
        answers, _ = redact_answers(answers)
    coded = answers["status"] == "answer"
    backend = _embedder(embedder, cache_dir, seed)
    vectors = embed_answers(answers.loc[coded, "text"].tolist(), backend, show_progress)
    return answers, coded, vectors, backend


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
    train=None, label_col="code", shots=0, top_k=1,
) -> pd.DataFrame:
    """Assign each answer to a code: id, code (empty = abstained), confidence, code_label
    (+ code_2, confidence_2... with top_k > 1). Zero-shot from the codebook, or learned from
    the coded answers in `train` (column `label_col`); with `shots`, only that many coded
    answers per code are used, as examples for the zero-shot assigner."""
    from .pipeline import RunConfig, assign_answers, load_training

    book = load_codebook(codebook)
    config = RunConfig(input=Path(input), outdir=Path("."), text_col=text_col, min_confidence=min_confidence, seed=seed,
                       train=Path(train) if train else None, label_col=label_col, shots=shots, top_k=top_k)
    training = load_training(config)  # before embedding: a wrong --label-col fails at once
    answers, coded, vectors, backend = _embedded_answers(
        input, text_col=text_col, id_col=id_col, lang_col=lang_col, redact=redact,
        embedder=embedder, cache_dir=cache_dir, seed=seed, show_progress=show_progress)
    table, _ = assign_answers(config, answers, coded, vectors, book, backend, training)
    answers = attach_rows(answers, coded, table)
    columns = ["id", "code", "confidence", "code_label"]
    for rank in range(2, top_k + 1):
        columns += [f"code_{rank}", f"confidence_{rank}", f"code_label_{rank}"]
    out = answers[columns]
    write_csv_atomic(Path(output), out)
    return out


def cluster_file(
    input, output, *, n_clusters=None, text_col="text", id_col=None, lang_col=None, embedder="e5",
    seed=0, cache_dir=None, show_progress=True, redact=False, max_unassigned=0.10,
) -> str:
    """Discovery without a codebook: id, cluster (-1 = unassigned or non-answer), cluster_label.

    Non-answers are left out (cluster -1) before clustering; duplicates are clustered once."""
    from .discover import Discoverer, cluster_summary

    answers, coded, vectors, _ = _embedded_answers(
        input, text_col=text_col, id_col=id_col, lang_col=lang_col, redact=redact,
        embedder=embedder, cache_dir=cache_dir, seed=seed, show_progress=show_progress)
    rows = answers.loc[coded]
    model = Discoverer(n_clusters=n_clusters, max_unassigned=max_unassigned, seed=seed).fit(
        vectors, languages=rows["language"].tolist(), keys=rows["id"].tolist(), texts=rows["text"].tolist())
    summary = cluster_summary(rows.reset_index(drop=True), model.labels_, model.representation_, model.cluster_centers_)
    answers["cluster"] = -1
    answers.loc[coded, "cluster"] = model.labels_
    names = dict(zip(summary["cluster"], summary["cluster_label"])) if len(summary) else {}
    out = pd.DataFrame({"id": answers["id"], "cluster": answers["cluster"].astype(int)})
    out["cluster_label"] = out["cluster"].map(names).fillna("")
    write_csv_atomic(Path(output), out)
    return f"{model.k_choice_}; {model.unassigned_share_:.1%} of the answers unassigned (cap {max_unassigned:.0%})"


def evaluate_file(input, *, gold_col, pred_col, lang_col=None, confidence_col=None, pair_col=None, kind="auto", output=None) -> dict:
    """Score a table's predictions against its manual codes; optionally write the report (.md)
    or the metrics (.json)."""
    from .corpus import read_table
    from .errors import InputError
    from .evaluate import evaluate_table, format_report
    from .outputs import write_json_atomic, write_text_atomic

    frame, _ = read_table(Path(input))
    frame.columns = [str(c) for c in frame.columns]
    if len(frame) == 0:
        raise InputError(f"{Path(input).name}: the table has no rows to evaluate")
    try:
        result = evaluate_table(frame, gold_col, pred_col, lang_col=lang_col, confidence_col=confidence_col, pair_col=pair_col, kind=kind)
    except ValueError as exc:
        raise InputError(f"{Path(input).name}: {exc}") from None
    result["report"] = format_report(result)
    if output:
        output = Path(output)
        if output.suffix.lower() == ".json":
            plain = {k: v for k, v in result.items() if not isinstance(v, pd.DataFrame) and k != "report"}
            plain.update({k: v.to_dict(orient="records") for k, v in result.items() if isinstance(v, pd.DataFrame) and k != "confusion"})
            if "confusion" in result:
                plain["confusion"] = {str(g): {str(p): int(n) for p, n in row.items()} for g, row in result["confusion"].iterrows()}
            write_json_atomic(output, plain)
        else:
            write_text_atomic(output, result["report"])
    return result

"""Plain functions behind the single-stage commands (assign, embed, cluster): importable
and testable without the CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from criteria_nlp.codebook.loaders import load_codebook
from criteria_nlp.config import (
    DEFAULT_CODEBOOK,
    DEFAULT_EMBEDDER,
    DEFAULT_LANGUAGES,
    DEFAULT_MAX_UNASSIGNED,
    DEFAULT_MIN_CONFIDENCE,
    UNASSIGNED,
)
from criteria_nlp.embed.texts import embed_answers
from criteria_nlp.io.corpus import read_answers
from criteria_nlp.io.folders import check_output_file, refuse_overwriting_inputs
from criteria_nlp.io.outputs import write_bytes_atomic, write_csv_atomic
from criteria_nlp.pipeline.checks import (
    check_n_clusters,
    check_settings,
    check_top_k,
    codebook_file,
)
from criteria_nlp.pipeline.state import RunState
from criteria_nlp.prepare.answers import prepare_answers


def _check_output(output, inputs) -> None:
    """The output file can be written and is none of the inputs."""
    refuse_overwriting_inputs([check_output_file(output)], inputs)


def _embedder(name: str, cache_dir, seed: int, device: str = "auto", use_cache: bool = True):
    from criteria_nlp.embed import get_embedder

    return get_embedder(name, cache_dir=cache_dir, seed=seed, device=device, use_cache=use_cache)


def _embedded_answers(input, *, text_col, id_col, lang_col, redact, embedder, cache_dir, seed, show_progress, n_clusters=None,
                      device="auto", use_cache=True):
    """Read, detect languages, optionally redact, and embed the answers (non-answers left out):
    the shared first half of the single-stage commands. Returns (RunState, embedder)."""
    corpus = read_answers(input, text_col=text_col, id_col=id_col, lang_col=lang_col)
    answers = prepare_answers(corpus, cache_dir=cache_dir, use_cache=use_cache)
    if redact:
        from criteria_nlp.prepare.privacy import redact_answers

        answers, _ = redact_answers(answers)
    state = RunState.from_answers(answers)
    check_n_clusters(n_clusters, int(state.coded.sum()))
    backend = _embedder(embedder, cache_dir, seed, device, use_cache)
    return state.with_vectors(embed_answers(state.rows["text"].tolist(), backend, show_progress)), backend


def embed_file(input, output, *, text_col="text", id_col=None, embedder=DEFAULT_EMBEDDER, seed=0, cache_dir=None, show_progress=True,
               device="auto", use_cache=True) -> dict:
    """Write one float32 vector per answer (input order, empty rows skipped) to a .npy file."""
    import io

    _check_output(output, [input])
    check_settings(embedder=embedder, seed=seed)
    corpus = read_answers(input, text_col=text_col, id_col=id_col)
    backend = _embedder(embedder, cache_dir, seed, device, use_cache)
    vectors = embed_answers(corpus.texts, backend, show_progress).astype(np.float32)
    buffer = io.BytesIO()
    np.save(buffer, vectors)
    write_bytes_atomic(Path(output), buffer.getvalue())
    return dict(getattr(backend, "stats", {}) or {"requested": len(vectors)})


def assign_file(
    input, output, *, codebook=DEFAULT_CODEBOOK, text_col="text", id_col=None, lang_col=None, embedder=DEFAULT_EMBEDDER,
    min_confidence=DEFAULT_MIN_CONFIDENCE, seed=0, cache_dir=None, show_progress=True, redact=False,
    train=None, label_col="code", shots=0, top_k=1, device="auto", use_cache=True,
) -> pd.DataFrame:
    """Assign each answer to a code: id, code (empty = abstained), confidence, code_label
    (+ code_2, confidence_2... with top_k > 1). Zero-shot from the codebook, or learned from
    the coded answers in `train` (column `label_col`); with `shots`, only that many coded
    answers per code are used, as examples for the zero-shot assigner."""
    from criteria_nlp.assign.answers import assign_answers
    from criteria_nlp.assign.training import read_training

    _check_output(output, [input, train, codebook_file(codebook)])
    check_settings(embedder=embedder, seed=seed, top_k=top_k, min_confidence=min_confidence, shots=shots)
    book = load_codebook(codebook)
    check_top_k(top_k, book)
    # Before embedding: a wrong --label-col fails at once.
    training = read_training(Path(train), label_col=label_col, text_col=text_col, languages=DEFAULT_LANGUAGES) if train else None
    state, backend = _embedded_answers(
        input, text_col=text_col, id_col=id_col, lang_col=lang_col, redact=redact,
        embedder=embedder, cache_dir=cache_dir, seed=seed, show_progress=show_progress, device=device, use_cache=use_cache)
    table, _ = assign_answers(state.rows, state.vectors, book, backend, training=training, shots=shots,
                              min_confidence=min_confidence, top_k=top_k, seed=seed)
    answers = state.with_rows(table).answers
    columns = ["id", "code", "confidence", "code_label"]
    for rank in range(2, top_k + 1):
        columns += [f"code_{rank}", f"confidence_{rank}", f"code_label_{rank}"]
    out = answers[columns]
    write_csv_atomic(Path(output), out)
    return out


def cluster_file(
    input, output, *, n_clusters=None, text_col="text", id_col=None, lang_col=None, embedder=DEFAULT_EMBEDDER,
    seed=0, cache_dir=None, show_progress=True, redact=False, max_unassigned=DEFAULT_MAX_UNASSIGNED, device="auto", use_cache=True,
) -> dict:
    """Discovery without a codebook: id, cluster (-1 = unassigned or non-answer), cluster_label.

    Non-answers are left out (cluster -1) before clustering; duplicates are clustered once.
    Returns what was found: clusters, asked (n_clusters), unassigned (share), cap and choice
    (how K was chosen, in English: `Discoverer.k_choice_`)."""
    from criteria_nlp.discover.discoverer import Discoverer, cluster_summary

    _check_output(output, [input])
    check_settings(embedder=embedder, seed=seed, n_clusters=n_clusters, max_unassigned=max_unassigned)
    state, _ = _embedded_answers(
        input, text_col=text_col, id_col=id_col, lang_col=lang_col, redact=redact,
        embedder=embedder, cache_dir=cache_dir, seed=seed, show_progress=show_progress, n_clusters=n_clusters,
        device=device, use_cache=use_cache)
    rows = state.rows
    model = Discoverer(n_clusters=n_clusters, max_unassigned=max_unassigned, seed=seed).fit(
        state.vectors, languages=rows["language"].tolist(), keys=rows["id"].tolist(), texts=rows["text"].tolist())
    summary = cluster_summary(rows.reset_index(drop=True), model.labels_, model.representation_, model.cluster_centers_)
    answers = state.with_row_values("cluster", model.labels_, fill=UNASSIGNED).answers
    names = dict(zip(summary["cluster"], summary["cluster_label"])) if len(summary) else {}
    out = pd.DataFrame({"id": answers["id"], "cluster": answers["cluster"].astype(int)})
    out["cluster_label"] = out["cluster"].map(names).fillna("")
    write_csv_atomic(Path(output), out)
    return {"clusters": model.n_clusters_, "asked": n_clusters, "unassigned": model.unassigned_share_, "cap": max_unassigned,
            "choice": model.k_choice_}


def evaluate_file(input, *, gold_col, pred_col, lang_col=None, confidence_col=None, pair_col=None, kind="auto", output=None) -> dict:
    """Score a table's predictions against its manual codes; optionally write the report (.md)
    or the metrics (.json)."""
    from criteria_nlp.errors import InputError
    from criteria_nlp.evaluate import evaluate_table, format_report
    from criteria_nlp.io.outputs import write_json_atomic, write_text_atomic
    from criteria_nlp.io.tables import read_table

    if output:
        _check_output(output, [input])
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


def describe_file(input, outdir, *, group_col: str, analyst_language=None, all_languages=False, indicators=None,
                  text_col="text", id_col=None, lang_col=None, question_col=None, embedder=DEFAULT_EMBEDDER, seed=0,
                  cache_dir=None, show_progress=True) -> str:
    """Describe groups made by hand (the values of `group_col`): clusters.csv (cluster = the
    group's value, cluster_label = its drafted name, keyphrases, representatives),
    indicators.csv and manifest.json in `outdir`."""
    from criteria_nlp.describe.analyser import Analyser
    from criteria_nlp.describe.groups import describe_groups
    from criteria_nlp.describe.library import check_analyst_language, load_library
    from criteria_nlp.io.lock import outdir_lock
    from criteria_nlp.io.outputs import output_transaction, write_json_atomic

    outdir = Path(outdir)
    library = load_library(indicators)
    check_analyst_language(analyst_language, library)
    corpus = read_answers(input, text_col=text_col, id_col=id_col, lang_col=lang_col, group_col=group_col,
                          question_col=question_col)
    with outdir_lock(outdir, inputs=[input, indicators], outputs=("clusters.csv", "indicators.csv", "manifest.json")):
        state = RunState.from_answers(prepare_answers(corpus, show_progress=show_progress))
        state = state.with_answers(state.answers.assign(cluster=state.answers["group"].astype(str).str.strip()))
        backend = _embedder(embedder, cache_dir, seed)
        state = state.with_vectors(embed_answers(state.rows["text"].tolist(), backend, show_progress))
        analyser = Analyser()
        described = describe_groups(state.rows, state.vectors, backend, analyser=analyser, library=library,
                                    analyst_language=analyst_language, all_languages=all_languages, seed=seed)
        analyser.close()
        with output_transaction(outdir):
            write_csv_atomic(outdir / "clusters.csv", described.clusters)
            write_csv_atomic(outdir / "indicators.csv", described.indicators)
            write_json_atomic(outdir / "manifest.json", {
                "tool": "criteria-nlp", "command": "describe", "input": {"path": str(corpus.source), "sha256": corpus.checksum},
                "group_col": group_col, "embedder": backend.name, "model_id": backend.model_id, "seed": seed,
                "indicators": described.info,
            })
    drafts = described.info["drafts"]
    return (f"{len(described.clusters)} groups described; {drafts.get('draft', 0)} drafts chosen from the library, "
            f"{drafts.get('draft-unmatched', 0)} unmatched (in {described.info['analyst_language']})")

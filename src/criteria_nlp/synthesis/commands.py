"""The plain functions behind `criteria-nlp run --model / --save-model` and
`criteria-nlp assign --model`: a new wave coded by a saved synthesis."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from criteria_nlp.config import RunConfig

# What `run --model` takes from the command line; every other setting is the saved model's.
RUN_OPTIONS = ("input", "outdir", "force", "text_col", "id_col", "lang_col", "city_col", "group_col", "question_col",
               "cache_dir", "show_progress", "gold_col", "correction", "batch_size", "indicators", "analyst_language",
               "all_languages")


def run_command(config: RunConfig, *, model: str | Path | None = None, save_model: str | Path | None = None):
    """`criteria-nlp run`: without `model`, every stage fitted on the input (the pipeline);
    with it, the input coded and grouped by the saved synthesis (nothing refitted), then
    described, compared and written as a run. `save_model` keeps the fitted synthesis."""
    from criteria_nlp.pipeline.checks import check_config
    from criteria_nlp.pipeline.run import run_pipeline

    check_config(config)
    if save_model is not None:
        _check_model_folder(Path(save_model), config)
    if model is None:
        result = run_pipeline(config)
        if save_model is not None:
            from criteria_nlp.synthesis.model import Synthesis

            Synthesis._from_fitted(result.fitted).save(save_model)
        return result
    return _run_wave(config, Path(model), save_model)


def _run_wave(config: RunConfig, model: Path, save_model):
    from criteria_nlp.pipeline.manifest import StageTimer
    from criteria_nlp.pipeline.run import load_corpus, locked_outdir, write_run
    from criteria_nlp.review.state import DecisionState
    from criteria_nlp.synthesis.model import Synthesis

    synthesis = Synthesis.load(model)  # refused before the output folder is touched
    wave_config = dataclasses.replace(synthesis.config_, **{name: getattr(config, name) for name in RUN_OPTIONS})
    timer = StageTimer(report=config.show_progress)
    with locked_outdir(wave_config):
        with timer.stage("read"):
            # Decisions taken on this folder's earlier outputs win; else the model's own.
            here = DecisionState.load(Path(config.outdir))
            corpus = load_corpus(wave_config)
        wave = synthesis._apply_corpus(wave_config, corpus, here if here.records else None)
        fitted = dataclasses.replace(wave._fitted, timer=timer)
        fitted.timer.timings.update(wave._fitted.timer.timings)
        result = write_run(Path(config.outdir), fitted)
    if save_model is not None:
        synthesis.save(save_model)
    return result


def _check_model_folder(folder: Path, config: RunConfig) -> None:
    from criteria_nlp.synthesis.folder import ModelFolderError

    if folder.resolve() == Path(config.outdir).resolve():
        raise ModelFolderError(f"--save-model {folder}: is the output folder; give the model its own folder")


def assign_with_model(input, output, *, model, text_col="text", id_col=None, lang_col=None, show_progress=True):
    """`criteria-nlp assign NEW --model FOLDER -o OUT.csv`: id, code, confidence, code_label,
    cluster, cluster_label, fits_group (False: the answer fits no group of the model)."""
    from criteria_nlp.io.folders import check_output_file, refuse_overwriting_inputs
    from criteria_nlp.io.outputs import write_csv_atomic
    from criteria_nlp.synthesis.model import Synthesis

    refuse_overwriting_inputs([check_output_file(output)], [input])
    synthesis = Synthesis.load(model)
    synthesis.config_ = dataclasses.replace(synthesis.config_, show_progress=show_progress)
    table = synthesis.transform(input, text=text_col, id=id_col, language=lang_col)
    columns = ["id", "code", "confidence", "code_label"]
    columns += [c for c in table.columns if c.startswith(("code_", "confidence_")) and c not in ("code_label", "code_source", "code_proposed")]
    columns += ["cluster", "cluster_label", "fits_group"]
    out = table[columns]
    write_csv_atomic(Path(output), out)
    return out

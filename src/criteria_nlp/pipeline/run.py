"""`criteria-nlp run`: read → prepare (language, redact) → embed → assign → discover →
describe → review → compare → report, each stage called once, in order, on one `RunState`;
every output is written atomically, together, with a manifest that says how it was made."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from criteria_nlp.assign.answers import AnswerAssigner
from criteria_nlp.assign.training import read_training
from criteria_nlp.codebook.loaders import load_codebook
from criteria_nlp.config import UNASSIGNED, RunConfig
from criteria_nlp.describe.analyser import Analyser
from criteria_nlp.describe.groups import describe_groups
from criteria_nlp.describe.library import check_analyst_language, load_library
from criteria_nlp.discover.groups import discover_groups
from criteria_nlp.embed.texts import embed_answers
from criteria_nlp.io.corpus import Corpus, read_answers
from criteria_nlp.io.lock import outdir_lock
from criteria_nlp.io.outputs import (
    RUN_OUTPUT_NAMES,
    output_transaction,
    write_csv_atomic,
    write_json_atomic,
)
from criteria_nlp.pipeline.checks import (
    check_config,
    check_n_clusters,
    check_top_k,
    run_inputs,
)
from criteria_nlp.pipeline.manifest import StageTimer, build_manifest
from criteria_nlp.pipeline.state import RunState, answers_output
from criteria_nlp.pipeline.side_process import SidePrepare
from criteria_nlp.prepare.answers import (
    likely_answer_texts,
    prepare_answers,
    texts_by_language,
)
from criteria_nlp.report.outdir import (
    check_report_options,
    MapInBackground,
    map_coordinates,
    write_comparison,
    write_run_report,
)
from criteria_nlp.review.apply import (
    apply_answer_decisions,
    apply_group_decisions,
    group_names,
)
from criteria_nlp.review.outputs import write_review_outputs
from criteria_nlp.review.state import DecisionState

# Answers up to which the map is laid out in a background thread (and the lemma analysis, when
# no side process does it): beyond, their memory would add to discovery's peak.
PREFETCH_MAX = 30_000
# Answers beyond which the embedder's model is freed once every answer is embedded: 0.5-1 GB
# (the e5 weights, ONNX Runtime's arena) that later stages rarely need, and reload if they do.
RELEASE_MODEL_ABOVE = 30_000


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
    fitted: FittedRun | None = None  # everything the run learned (criteria_nlp.synthesis keeps it)


@dataclass
class RunInputs:
    """What a run reads before any stage: the answers, the codebook, the coded answers to learn
    from, the indicator library and the analysts' decisions."""

    corpus: Corpus
    codebook: object
    training: pd.DataFrame | None
    library: object
    decisions: DecisionState


@dataclass
class FittedRun:
    """A run's stages done, nothing written yet: the state of every answer and what each stage
    learned (the assigner, the groups, their descriptions), as `write_run` and
    `criteria_nlp.synthesis` use them."""

    config: RunConfig
    inputs: RunInputs
    state: RunState
    embedder: object
    assigner: AnswerAssigner
    discovery: object
    clusters: pd.DataFrame
    indicators: pd.DataFrame
    codes: pd.DataFrame | None
    described_info: dict
    decision_report: list
    timer: StageTimer
    embedding_stats: dict = field(default_factory=dict)
    redaction: dict | None = None
    analysis_stats: dict = field(default_factory=dict)  # hits and misses of the text-analysis cache
    map_layout: MapInBackground | None = None  # the report's map, laid out while the later stages run
    side_process_seconds: dict = field(default_factory=dict)  # stages run in the side process, their own time

    @property
    def answers(self) -> pd.DataFrame:
        return self.state.answers


def load_corpus(config: RunConfig) -> Corpus:
    return read_answers(config.input, **config.columns())


def load_training(config: RunConfig) -> pd.DataFrame | None:
    """The coded answers of `config.train` (None without it), read before anything is embedded:
    a wrong --label-col must not cost an embedding pass."""
    if config.train is None:
        return None
    return read_training(config.train, label_col=config.label_col, text_col=config.text_col, languages=config.languages)


def read_run_inputs(config: RunConfig, decisions: DecisionState | None = None, corpus: Corpus | None = None,
                    training: pd.DataFrame | None = None) -> RunInputs:
    """Everything a run reads, checked before any stage: a wrong option or a damaged decision
    store costs seconds, not an embedding pass. `decisions`, `corpus` and `training` given
    (a notebook's tables) are used as they are."""
    decisions = decisions if decisions is not None else DecisionState.load(Path(config.outdir))
    corpus = corpus if corpus is not None else load_corpus(config)
    codebook = load_codebook(config.codebook)
    check_top_k(config.top_k, codebook)
    check_report_options(config.gold_col, config.correction, corpus.answers.columns, config.input)
    training = training if training is not None else load_training(config)
    library = load_library(config.indicators)
    check_analyst_language(config.analyst_language, library)
    return RunInputs(corpus, codebook, training, library, decisions)


def prepare_run(config: RunConfig, corpus: Corpus, timer: StageTimer,
                side: SidePrepare | None = None) -> tuple[RunState, dict | None]:
    """Languages, non-answers and duplicates (and redaction): the answers ready to embed.
    `side`: the same work already started in a side process (its result is waited for)."""
    with timer.stage("language"):
        if side is not None:
            prepared = side.answers()
        else:
            prepared = prepare_answers(corpus, config.languages, show_progress=config.show_progress,
                                       cache_dir=config.cache_dir, use_cache=config.use_cache)
        state = RunState.from_answers(prepared)
    redaction = None
    if config.redact:
        from criteria_nlp.prepare.privacy import redact_answers

        with timer.stage("redact"):
            redacted, redaction = redact_answers(state.answers)
            state = state.with_answers(redacted)
    return state, redaction


MODEL_EMBEDDERS = ("e5", "e5-onnx", "e5-onnx-fp32")  # embedders with a model to load (seconds)
WARM_UP_SAMPLE = 1000  # answers whose cached vectors tell whether the model is needed at all


def warm_up_sample(answers: pd.DataFrame) -> pd.DataFrame:
    """Evenly spread answers: any of them without a cached vector means the model will be
    needed (checking all 100,000 took seconds of the core the side process works on)."""
    step = max(1, len(answers) // WARM_UP_SAMPLE)
    return answers.iloc[::step]


def fit_run(config: RunConfig, inputs: RunInputs, timer: StageTimer | None = None) -> FittedRun:
    """The stages of a run in order, on answers already read: prepare, embed, assign (and the
    analysts' overrides), discover (and their group decisions), describe."""
    timer = timer or StageTimer(report=config.show_progress)
    # Languages (and the lemma analysis) in a side process while this one loads the model and
    # embeds. Redacted answers are analysed as redacted, after the language stage.
    # Only for a model that takes seconds to load and to embed with: beside tfidf or static the
    # run would wait for the side process it started.
    side = None
    if config.embedder in MODEL_EMBEDDERS:
        side = SidePrepare.start(inputs.corpus, config.languages, cache_dir=config.cache_dir,
                                 use_cache=config.use_cache, analyse=not config.redact)
    try:
        return _fit_stages(config, inputs, timer, side)
    finally:
        if side is not None:
            side.close()


def _fit_stages(config: RunConfig, inputs: RunInputs, timer: StageTimer, side: SidePrepare | None) -> FittedRun:
    from criteria_nlp.embed import get_embedder

    codebook, decisions = inputs.codebook, inputs.decisions
    analyser = Analyser(cache_dir=config.cache_dir, use_cache=config.use_cache)
    embedder = get_embedder(config.embedder, cache_dir=config.cache_dir, seed=config.seed, batch_size=config.batch_size,
                            device=config.device, use_cache=config.use_cache)
    if side is not None:
        with timer.stage("load_model"):  # while the side process identifies languages
            embedder.warm_up(likely_answer_texts(warm_up_sample(inputs.corpus.answers), config.languages))
    state, redaction = prepare_run(config, inputs.corpus, timer, side)
    check_n_clusters(config.n_clusters, int(state.coded.sum()))
    prefetch = None
    if (side is None or not side.analyses_started) and state.coded.sum() <= PREFETCH_MAX:
        prefetch = analyser.prefetch(texts_by_language(state.rows))
    with timer.stage("embed"):
        state = state.with_vectors(embed_answers(state.rows["text"].tolist(), embedder, config.show_progress))
        embedding_stats = dict(getattr(embedder, "stats", {}) or {})
        if len(state.rows) > RELEASE_MODEL_ABOVE:
            embedder.release()
    # The map needs only the vectors and languages: laid out now, beside the stages below.
    # Not beyond PREFETCH_MAX: its float64 copies of the vectors would add to discovery's peak memory.
    map_layout = None
    if len(state.rows) <= PREFETCH_MAX:
        map_layout = MapInBackground(state.rows["id"].tolist(), state.vectors, state.rows["language"].tolist(),
                                     seed=config.seed, cache_dir=config.cache_dir, use_cache=config.use_cache)
    with timer.stage("assign"):
        assigner = AnswerAssigner(min_confidence=config.min_confidence, top_k=config.top_k, shots=config.shots, seed=config.seed)
        assigner.fit(state.rows, state.vectors, codebook, embedder, training=inputs.training)
        state = state.with_rows(assigner.predict(state.rows, state.vectors, codebook))
        answers, decision_report = apply_answer_decisions(state.answers, decisions, codebook)
        state = state.with_answers(answers)
    with timer.stage("discover"):
        labels, _, discovery = discover_groups(state.rows, state.vectors, max_unassigned=config.max_unassigned,
                                               seed=config.seed, n_clusters=config.n_clusters,
                                               cache_dir=config.cache_dir, use_cache=config.use_cache)
        state = state.with_row_values("cluster", labels, fill=UNASSIGNED)
        answers, group_report = apply_group_decisions(state.answers, state.vectors, state.coded, decisions, codebook)
        state, decision_report = state.with_answers(answers), decision_report + group_report
    with timer.stage("describe"):
        if prefetch is not None:
            prefetch.wait()
        if side is not None:
            side.fill(analyser)
        described = describe_run(config, inputs, state, embedder, analyser)
        analysis_stats = dict(analyser.stats)
        analyser.close()  # the token analyses of every answer: hundreds of MB at 100,000 answers
        state = state.with_rows(described.answers)
    return FittedRun(config=config, inputs=inputs, state=state, embedder=embedder, assigner=assigner, discovery=discovery,
                     clusters=described.clusters, indicators=described.indicators, codes=described.codes,
                     described_info=described.info, decision_report=decision_report, timer=timer,
                     embedding_stats=embedding_stats, redaction=redaction, analysis_stats=analysis_stats,
                     map_layout=map_layout, side_process_seconds=dict(side.seconds) if side is not None else {})


def describe_run(config: RunConfig, inputs: RunInputs, state: RunState, embedder, analyser: Analyser | None = None):
    """Keyphrases, representatives and draft indicators of the groups in `state` (column cluster)."""
    return describe_groups(state.rows, state.vectors, embedder, codebook=inputs.codebook, names=group_names(inputs.decisions),
                           analyser=analyser, library=inputs.library, analyst_language=config.analyst_language,
                           all_languages=config.all_languages, seed=config.seed)


def write_run(outdir: Path, fitted: FittedRun) -> RunResult:
    """Every output of a run into `outdir` (already locked by the caller), renamed into place
    together once all are written: a run killed before that leaves the previous outputs."""
    config, timer, codebook = fitted.config, fitted.timer, fitted.inputs.codebook
    corpus, decisions, state = fitted.inputs.corpus, fitted.inputs.decisions, fitted.state
    answers, clusters, indicators, codes = state.answers, fitted.clusters, fitted.indicators, fitted.codes
    language = fitted.described_info.get("analyst_language") or "en"  # of the report and the workbook too
    with output_transaction(outdir):
        with timer.stage("compare"):
            comparison = write_comparison(outdir, answers, codebook=codebook, clusters=clusters, correction=config.correction)
        with timer.stage("write"):
            table = answers_output(answers, corpus.extra_columns)
            write_csv_atomic(outdir / "answers.csv", table)
            write_csv_atomic(outdir / "clusters.csv", clusters)
            write_csv_atomic(outdir / "codes.csv", codes)
            review = write_review_outputs(outdir, answers, indicators, clusters, codebook, decisions, fitted.decision_report, codes,
                                          extra_sheets={"Comparison": comparison}, language=language)
        with timer.stage("report"):
            manifest = build_manifest(config, corpus, answers, fitted.embedder, fitted.discovery, timer.timings, fitted.embedding_stats)
            manifest["review"] = review
            manifest["assignment"] = fitted.assigner.info_
            manifest["indicators"] = fitted.described_info
            manifest["analysis_cache"] = dict(fitted.analysis_stats)
            if fitted.side_process_seconds:
                manifest["side_process_seconds"] = dict(fitted.side_process_seconds)
            if fitted.redaction is not None:
                manifest["redaction"] = fitted.redaction
            rows = state.rows
            if fitted.map_layout is not None and fitted.map_layout.ids == rows["id"].astype(str).tolist():
                coords, note = fitted.map_layout.result()
            else:
                coords, note = map_coordinates(rows["id"].tolist(), state.vectors, rows["language"].tolist(), seed=config.seed,
                                               cache_dir=config.cache_dir, use_cache=config.use_cache)
            write_run_report(outdir, answers, comparison=comparison, codebook=codebook, clusters=clusters, coords=coords,
                             projection_note=note, gold_col=config.gold_col, manifest=manifest,
                             correction=config.correction, seed=config.seed, indicators=indicators, language=language)
        manifest["timings_seconds"] = dict(timer.timings)
        manifest["peak_rss_mb_after_stage"] = dict(timer.peak_rss_mb)
        write_json_atomic(outdir / "manifest.json", manifest)
    return RunResult(outdir=outdir, answers=table, clusters=clusters, manifest=manifest, timings=timer.timings,
                     indicators=indicators, decisions_report=pd.DataFrame(fitted.decision_report), comparison=comparison,
                     fitted=fitted)


def locked_outdir(config: RunConfig):
    """The run's output folder, locked (see io.lock.outdir_lock)."""
    return outdir_lock(Path(config.outdir), force=config.force, inputs=run_inputs(config), outputs=RUN_OUTPUT_NAMES)


def run_pipeline(config: RunConfig) -> RunResult:
    """`criteria-nlp run` without a saved model: read, every stage, every output."""
    check_config(config)  # before anything is read or created
    timer = StageTimer(report=config.show_progress)
    with locked_outdir(config):
        with timer.stage("read"):
            inputs = read_run_inputs(config)  # a damaged decision store is refused before any work
        return write_run(Path(config.outdir), fit_run(config, inputs, timer))

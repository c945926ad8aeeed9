"""`Synthesis`: the whole pipeline as one scikit-learn style object, for notebooks and scripts.

    synthesis = Synthesis(embedder="static", seed=0).fit(answers, city="city")
    synthesis.groups_, synthesis.compare(by="city"), synthesis.evaluate(gold="manual_code")
    synthesis.save("model/")                     # JSON, CSV, .npz: no pickle, checksummed
    Synthesis.load("model/").transform(next_wave)  # the same codes and groups, nothing refitted

It holds a `RunConfig` (every setting of `criteria-nlp run`, new ones included) and runs the
same stages as the command (`criteria_nlp.pipeline.run.fit_run`), so `write(outdir)` writes
exactly what `criteria-nlp run` writes."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd

from criteria_nlp.config import (
    DEFAULT_CODEBOOK,
    DEFAULT_CORRECTION,
    DEFAULT_EMBEDDER,
    DEFAULT_LANGUAGES,
    DEFAULT_MAX_UNASSIGNED,
    DEFAULT_MIN_CONFIDENCE,
    UNASSIGNED,
    RunConfig,
)
from criteria_nlp.errors import CriteriaNLPError, InputError

FRAME_NAME = "DataFrame"  # what the manifest shows as the input of a table given in memory

# The RunConfig fields that are not settings of the model: where the answers come from and
# where the outputs go, and the columns (given to fit and transform).
_NOT_SETTINGS = {"input", "outdir", "force", "train", "label_col", "text_col", "id_col", "lang_col", "city_col", "group_col",
                 "question_col"}
_COLUMN_ARGS = {"text": "text_col", "id": "id_col", "language": "lang_col", "city": "city_col", "group": "group_col",
                "question": "question_col"}


class NotFittedError(CriteriaNLPError):
    """The synthesis has not been fitted (or holds no answers: a loaded model)."""


class Synthesis:
    """Code, group, describe and compare citizens' answers, as `criteria-nlp run` does, in one
    object that keeps what it learned.

    Parameters are the settings of `criteria-nlp run` (see `RunConfig`): `codebook`
    ("spiral" or a codebook file), `embedder` ("e5", "e5-onnx", "static", "tfidf"...),
    `languages`, `min_confidence` (abstain below it), `n_clusters`, `max_unassigned`,
    `top_k`, `shots`, `seed`, `correction`, `analyst_language`, `show_progress`, and any other
    `RunConfig` field by name in `options` (e.g. `cache_dir`, `redact`, `indicators`).

    Fitted attributes (DataFrames with the columns of the CSV outputs): `answers_`
    (answers.csv), `groups_` (clusters.csv), `codes_` (codes.csv), `indicators_`
    (indicators.csv), `decisions_report_` (decisions_report.csv); and the model:
    `config_`, `codebook_`, `assigner_`, `group_index_`, `embedder_`, `decisions_`."""

    def __init__(self, codebook: str = DEFAULT_CODEBOOK, embedder: str = DEFAULT_EMBEDDER,
                 languages: tuple[str, ...] = DEFAULT_LANGUAGES, min_confidence: float = DEFAULT_MIN_CONFIDENCE,
                 n_clusters: int | None = None, max_unassigned: float = DEFAULT_MAX_UNASSIGNED, top_k: int = 1,
                 shots: int = 0, seed: int = 0, correction: str = DEFAULT_CORRECTION, analyst_language: str | None = None,
                 show_progress: bool = False, **options):
        self.codebook = codebook
        self.embedder = embedder
        self.languages = languages
        self.min_confidence = min_confidence
        self.n_clusters = n_clusters
        self.max_unassigned = max_unassigned
        self.top_k = top_k
        self.shots = shots
        self.seed = seed
        self.correction = correction
        self.analyst_language = analyst_language
        self.show_progress = show_progress
        self.options = options

    # ------------------------------------------------------------------ settings
    _PARAMS = ("codebook", "embedder", "languages", "min_confidence", "n_clusters", "max_unassigned", "top_k", "shots",
               "seed", "correction", "analyst_language", "show_progress")

    def get_params(self, deep: bool = True) -> dict:
        return {**{name: getattr(self, name) for name in self._PARAMS}, **self.options}

    def set_params(self, **params) -> Synthesis:
        for name, value in params.items():
            if name in self._PARAMS:
                setattr(self, name, value)
            else:
                self.options[name] = value
        return self

    def _config(self, **fields) -> RunConfig:
        """The RunConfig of these settings; unknown settings are refused by name."""
        known = {f.name for f in dataclasses.fields(RunConfig)}
        settings = {**self.get_params(), **fields}
        unknown = sorted(set(settings) - known)
        if unknown:
            raise InputError(f"unknown setting(s) {', '.join(unknown)}; settings are RunConfig's fields: "
                             f"{', '.join(sorted(known - _NOT_SETTINGS))}")
        settings["languages"] = tuple(settings["languages"])
        settings.setdefault("input", Path(FRAME_NAME))
        settings.setdefault("outdir", Path(""))
        return RunConfig(**settings)

    @classmethod
    def from_config(cls, config: RunConfig) -> Synthesis:
        """A synthesis with the settings of `config` (its input, output and columns are given to fit)."""
        settings = {k: v for k, v in dataclasses.asdict(config).items() if k not in _NOT_SETTINGS}
        main = {k: settings.pop(k) for k in cls._PARAMS}
        return cls(**main, **settings)

    # ------------------------------------------------------------------ fit
    def fit(self, answers: pd.DataFrame | str | Path, *, text: str = "text", id: str | None = None, language: str | None = None,
            city: str | None = None, group: str | None = None, question: str | None = None,
            train: pd.DataFrame | str | Path | None = None, label_col: str = "code", decisions=None) -> Synthesis:
        """Learn the codes, groups and drafts of `answers` (a DataFrame, or a CSV/TSV/XLSX/JSONL
        file) and return self.

        `text`, `id`, `language`, `city`, `group`, `question` name the columns (as
        `--text-col`...; by default the columns of those names when present). `train`: answers
        the analysts already coded (DataFrame or file), their codes in `label_col`: the
        assignment is learned from them. `decisions`: the analysts' decisions to re-apply, as
        the output folder of an earlier run (its decisions.jsonl) or a `DecisionState`."""
        from criteria_nlp.assign.training import read_training, training_from_corpus
        from criteria_nlp.pipeline.checks import check_config
        from criteria_nlp.pipeline.manifest import StageTimer
        from criteria_nlp.pipeline.run import fit_run, read_run_inputs

        columns = dict(text_col=text, id_col=id, lang_col=language, city_col=city, group_col=group, question_col=question)
        train_path = Path(train) if isinstance(train, (str, Path)) else None
        source = Path(answers) if isinstance(answers, (str, Path)) else Path(FRAME_NAME)
        config = self._config(**columns, input=source, train=train_path, label_col=label_col)
        check_config(config)
        corpus = _corpus(answers, config)
        training = None
        if isinstance(train, pd.DataFrame):
            from criteria_nlp.io.corpus import corpus_from_frame

            training = training_from_corpus(corpus_from_frame(train, text_col=text, id_col=id, lang_col=language),
                                            label_col=label_col, languages=config.languages)
        elif train_path is not None:
            training = read_training(train_path, label_col=label_col, text_col=text, languages=config.languages)
        timer = StageTimer(report=config.show_progress)
        inputs = read_run_inputs(config, decisions=_decision_state(decisions), corpus=corpus, training=training)
        return self._set_fitted(fit_run(config, inputs, timer))

    def _set_fitted(self, fitted) -> Synthesis:
        """Keep a finished run (its model and its tables)."""
        from criteria_nlp.synthesis.groups import GroupIndex

        state = fitted.state
        rows = state.rows
        self.config_ = fitted.config
        self.codebook_ = fitted.inputs.codebook
        self.decisions_ = fitted.inputs.decisions
        self.assigner_ = fitted.assigner
        self.embedder_ = fitted.embedder
        self.group_index_ = GroupIndex().fit(state.vectors, rows["language"].tolist(), rows["text"].tolist(),
                                             rows["code"].tolist(), rows["cluster"].astype(int).tolist())
        self._set_tables(fitted)
        return self

    def _set_tables(self, fitted) -> None:
        from criteria_nlp.pipeline.state import answers_output

        self._fitted = fitted
        self.answers_ = answers_output(fitted.state.answers, fitted.inputs.corpus.extra_columns)
        self.groups_ = fitted.clusters
        self.codes_ = fitted.codes
        self.indicators_ = fitted.indicators
        self.decisions_report_ = pd.DataFrame(fitted.decision_report, columns=["record", "timestamp", "analyst", "kind", "target",
                                                                               "status", "message"])

    @classmethod
    def _from_fitted(cls, fitted) -> Synthesis:
        return cls.from_config(fitted.config)._set_fitted(fitted)

    def fit_transform(self, answers, **kwargs) -> pd.DataFrame:
        """fit, then the fitted answers (answers.csv's columns)."""
        return self.fit(answers, **kwargs).answers_

    # ------------------------------------------------------------------ new answers
    def _check_model(self) -> None:
        if not hasattr(self, "assigner_"):
            raise NotFittedError("this Synthesis is not fitted yet: call fit(answers) or Synthesis.load(folder) first")

    def _check_answers(self) -> None:
        self._check_model()
        if getattr(self, "_fitted", None) is None:
            raise NotFittedError("this Synthesis was loaded from a folder: it holds the model, not the answers; "
                                 "apply it to answers first (synthesis.apply(answers))")

    def _wave_config(self, answers, columns: dict) -> RunConfig:
        """The fitted settings, with the new answers' source and the columns given."""
        self._check_model()
        given = {_COLUMN_ARGS[k]: v for k, v in columns.items() if v is not None}
        source = Path(answers) if isinstance(answers, (str, Path)) else Path(FRAME_NAME)
        return dataclasses.replace(self.config_, input=source, **given)

    def _coded_wave(self, config: RunConfig, corpus, decisions=None):
        """New answers coded and grouped by the fitted model: (inputs, state, decision report,
        redaction). Nothing is refitted: the embedder, the assigner and the groups are the
        fitted ones; `decisions` (default: the fitted ones) are re-applied."""
        from criteria_nlp.describe.library import load_library
        from criteria_nlp.pipeline.manifest import StageTimer
        from criteria_nlp.pipeline.run import RunInputs, prepare_run
        from criteria_nlp.review.apply import (
            apply_answer_decisions,
            apply_group_decisions,
        )

        decisions = self.decisions_ if decisions is None else decisions
        inputs = RunInputs(corpus, self.codebook_, None, load_library(config.indicators), decisions)
        state, redaction = prepare_run(config, corpus, StageTimer(report=False))
        texts = state.rows["text"].tolist()
        if not texts:
            raise InputError("no answer to code: every answer is empty, a non-answer or in a language outside the configured ones")
        state = state.with_vectors(self.embedder_.embed(texts, show_progress=config.show_progress))  # never refitted
        state = state.with_rows(self.assigner_.predict(state.rows, state.vectors, self.codebook_))
        answers, report = apply_answer_decisions(state.answers, decisions, self.codebook_)
        state = state.with_answers(answers).with_row_values("cluster", np.full(int(state.coded.sum()), UNASSIGNED), fill=UNASSIGNED)
        answers, group_report = apply_group_decisions(state.answers, state.vectors, state.coded, decisions, self.codebook_)
        # Answers no decision placed join the fitted group of their code they are close enough to.
        rows = answers.loc[state.coded]
        cluster, similarity = self.group_index_.predict(state.vectors, rows["language"].tolist(), rows["code"].tolist())
        free = ((rows["cluster"].astype(int) == UNASSIGNED) & (rows["cluster_source"] != "rejected by analyst")).to_numpy()
        answers.loc[state.coded, "cluster"] = np.where(free, cluster, rows["cluster"].astype(int))
        answers.loc[state.coded, "cluster_source"] = np.where(free & (cluster != UNASSIGNED), "fitted group",
                                                              rows["cluster_source"].to_numpy())
        answers["group_similarity"] = np.nan
        answers.loc[state.coded, "group_similarity"] = np.round(similarity, 4)
        return inputs, state.with_answers(answers), report + group_report, redaction

    def transform(self, answers: pd.DataFrame | str | Path, *, text: str | None = None, id: str | None = None,
                  language: str | None = None, city: str | None = None, group: str | None = None,
                  question: str | None = None) -> pd.DataFrame:
        """Code new answers with the fitted model, without refitting anything: their code
        (the fitted assigner, the analysts' overrides and group decisions re-applied), their
        criteria group (the fitted group of their code they are as close to as its own
        members) and `fits_group` (False: the answer fits no fitted group, cluster -1).

        The columns of answers.csv (without valence) plus cluster_label, fits_group and
        group_similarity. Column names default to those given to fit."""
        from criteria_nlp.pipeline.state import answers_output

        config = self._wave_config(answers, dict(text=text, id=id, language=language, city=city, group=group, question=question))
        inputs, state, _, _ = self._coded_wave(config, _corpus(answers, config))
        out = answers_output(state.answers, inputs.corpus.extra_columns)
        labels = dict(zip(self.groups_["cluster"].astype(int), self.groups_["cluster_label"].astype(str)))
        indicators = dict(zip(self.groups_["cluster"].astype(int), self.groups_["indicator_id"].astype(str)))
        out.insert(out.columns.get_loc("cluster") + 1, "cluster_label", out["cluster"].map(labels).fillna(""))
        out.insert(out.columns.get_loc("cluster_label") + 1, "fits_group", out["cluster"] != UNASSIGNED)
        out.insert(out.columns.get_loc("fits_group") + 1, "group_similarity", state.answers["group_similarity"].to_numpy())
        out["indicator_id"] = out["cluster"].map(indicators).fillna("")
        return out

    def apply(self, answers: pd.DataFrame | str | Path, *, text: str | None = None, id: str | None = None,
              language: str | None = None, city: str | None = None, group: str | None = None,
              question: str | None = None) -> Synthesis:
        """A new wave of answers coded and grouped by this model (as `transform`), then
        described (keyphrases, representatives, drafts of the fitted groups on the new
        answers): a Synthesis with the same model whose answers_, groups_, codes_ and
        indicators_ are the new wave's, ready to compare, evaluate or write."""
        config = self._wave_config(answers, dict(text=text, id=id, language=language, city=city, group=group, question=question))
        return self._apply_corpus(config, _corpus(answers, config))

    def _apply_corpus(self, config: RunConfig, corpus, decisions=None) -> Synthesis:
        from criteria_nlp.describe.analyser import Analyser
        from criteria_nlp.discover.groups import DiscoveryInfo
        from criteria_nlp.pipeline.manifest import StageTimer
        from criteria_nlp.pipeline.run import FittedRun, describe_run

        timer = StageTimer(report=False)
        with timer.stage("assign"):
            inputs, state, report, redaction = self._coded_wave(config, corpus, decisions)
            state = state.with_answers(state.answers.drop(columns="group_similarity"))
        with timer.stage("describe"):
            analyser = Analyser(cache_dir=config.cache_dir, use_cache=config.use_cache)
            described = describe_run(config, inputs, state, self.embedder_, analyser)
            analyser.close()
            state = state.with_rows(described.answers)
        groups = int((described.clusters["cluster"].astype(int) >= 0).sum()) if len(described.clusters) else 0
        discovery = DiscoveryInfo(groups, f"the {len(self.group_index_.clusters_)} criteria groups of the fitted synthesis "
                                  "(not rediscovered)", {})
        fitted = FittedRun(config=config, inputs=inputs, state=state, embedder=self.embedder_, assigner=self.assigner_,
                           discovery=discovery, clusters=described.clusters, indicators=described.indicators,
                           codes=described.codes, described_info=described.info, decision_report=report, timer=timer,
                           redaction=redaction)
        wave = Synthesis.from_config(config)
        for name in ("codebook_", "assigner_", "embedder_", "group_index_"):
            setattr(wave, name, getattr(self, name))
        wave.config_, wave.decisions_ = config, inputs.decisions
        wave._set_tables(fitted)
        return wave

    # ------------------------------------------------------------------ tables
    def compare(self, by: str = "city", level: str | None = None) -> pd.DataFrame:
        """compare.csv's rows for one dimension (city, group, question or language): per code,
        criteria group and indicator, the share of each value's answers with its interval,
        residual, adjusted p-value and `distinctive` / `shared`. `level` keeps one of code,
        cluster, indicator."""
        from criteria_nlp.report.compare import compare_all
        from criteria_nlp.report.outdir import (
            cluster_labels,
            code_labels,
            indicator_labels,
        )

        self._check_answers()
        answers = self._fitted.state.answers
        if by not in answers.columns:
            raise InputError(f"no column '{by}' to compare by: give it to fit (e.g. city='commune') or choose one of "
                             f"city, group, question, language")
        table = compare_all(answers, by=[by], correction=self.config_.correction, labels=code_labels(self.codebook_),
                            cluster_labels=cluster_labels(self.groups_), indicator_labels=indicator_labels(self.groups_))
        table = table[table["by"] == by]
        if level is not None:
            table = table[table["level"] == level]
        return table.reset_index(drop=True)

    def evaluate(self, gold: str = "manual_code", table: str = "summary") -> pd.DataFrame:
        """Agreement of the codes with the manual codes in column `gold` (answers without one
        are not scored). `table`: "summary" (n, accuracy, macro-F1, Cohen's κ, Krippendorff's
        α, coverage, accuracy of the coded answers, the share that can be auto-coded at 90 %
        accuracy), "per_code", "per_language", "confusion" or "coverage" (the semi-automatic
        coding curve: for each confidence threshold, the share auto-coded and its accuracy)."""
        from criteria_nlp.evaluate import (
            code_metrics,
            coverage_at_accuracy,
            coverage_curve,
        )
        from criteria_nlp.io.outputs import unneutralise_cell

        self._check_answers()
        answers = self._fitted.state.answers
        if gold not in answers.columns:
            raise InputError(f"no column '{gold}' of manual codes; columns: {', '.join(map(str, answers.columns))}")
        rows = answers[answers["status"] == "answer"]
        truth = rows[gold].fillna("").astype(str).map(unneutralise_cell).str.strip().tolist()
        predicted, confidence = rows["code"].fillna("").astype(str).tolist(), rows["confidence"].astype(float).tolist()
        if table == "coverage":
            return coverage_curve(truth, predicted, confidence)
        metrics = code_metrics(truth, predicted, rows["language"].astype(str).tolist())
        if table in ("per_code", "per_language", "confusion"):
            return metrics[table]
        if table != "summary":
            raise InputError(f"table must be summary, per_code, per_language, confusion or coverage, not {table!r}")
        at_90 = coverage_at_accuracy(truth, predicted, confidence, 0.9)
        keys = ("n", "accuracy", "macro_f1", "cohen_kappa", "krippendorff_alpha", "coverage", "accuracy_covered")
        summary = {k: metrics[k] for k in keys}
        summary["auto_coded_at_90_accuracy"] = at_90["coverage"]
        return pd.DataFrame([summary])

    # ------------------------------------------------------------------ figures
    def plot_map(self):
        """The 2-D map of the answers (plotly; hover shows the answer), coloured by code."""
        from criteria_nlp.synthesis.figures import map_figure

        self._check_answers()
        return map_figure(self._fitted, self.codebook_)

    def plot_heatmap(self, by: str = "city", level: str = "code"):
        """The `by` × code (or cluster, indicator) heatmap of shares, distinctive cells marked."""
        from criteria_nlp.synthesis.figures import heatmap_figure

        return heatmap_figure(self.compare(by=by, level=level), by=by, level=level)

    def plot_coverage(self, gold: str | None = None):
        """Codebook coverage: the answers each code received (codes no answer received
        included). With `gold` (a column of manual codes), the semi-automatic coding curve
        instead: the share auto-coded and its accuracy at each confidence threshold."""
        from criteria_nlp.synthesis.figures import coverage_curve_figure, coverage_figure

        self._check_answers()
        if gold is not None:
            return coverage_curve_figure(self.evaluate(gold=gold, table="coverage"))
        return coverage_figure(self.answers_, self.codebook_)

    # ------------------------------------------------------------------ outputs
    def write(self, outdir: str | Path, *, force: bool = False) -> Path:
        """Write exactly what `criteria-nlp run` writes (answers.csv, clusters.csv, codes.csv,
        indicators.csv, compare.csv, review.xlsx, codebook.qdc, project.qdpx, report.html,
        manifest.json...) into `outdir`: new, empty or that of an earlier run."""
        from criteria_nlp.io.folders import check_output_argument
        from criteria_nlp.pipeline.run import locked_outdir, write_run

        self._check_answers()
        config = dataclasses.replace(self._fitted.config, outdir=check_output_argument(outdir), force=force)
        with locked_outdir(config):
            write_run(Path(config.outdir), dataclasses.replace(self._fitted, config=config))
        return Path(config.outdir)

    def save(self, folder: str | Path) -> Path:
        """Save the fitted model to `folder` (JSON, CSV and NumPy .npz only, never pickle; with
        the package versions and a checksum of every file): `Synthesis.load(folder)` gives a
        model whose `transform` gives the same results."""
        from criteria_nlp.synthesis.folder import save_model

        self._check_model()
        return save_model(self, Path(folder))

    @classmethod
    def load(cls, folder: str | Path) -> Synthesis:
        """A synthesis saved with `save`; a folder from an incompatible version
        (`IncompatibleModelError`) or whose files changed (`TamperedModelError`) is refused."""
        from criteria_nlp.synthesis.folder import load_model

        return load_model(cls, Path(folder))

    def __repr__(self) -> str:
        changed = {k: v for k, v in self.get_params().items() if v != Synthesis().get_params().get(k, object())}
        shown = ", ".join(f"{k}={v!r}" for k, v in changed.items())
        return f"Synthesis({shown})"


def _corpus(answers, config: RunConfig):
    from criteria_nlp.io.corpus import corpus_from_frame, read_answers

    if isinstance(answers, pd.DataFrame):
        return corpus_from_frame(answers, **config.columns())
    if isinstance(answers, (str, Path)):
        return read_answers(answers, **config.columns())
    raise InputError(f"answers must be a pandas DataFrame or a file path, not {type(answers).__name__}")


def _decision_state(decisions):
    from criteria_nlp.review.state import DecisionState

    if decisions is None:
        return DecisionState()
    if isinstance(decisions, DecisionState):
        return decisions
    return DecisionState.load(Path(decisions))

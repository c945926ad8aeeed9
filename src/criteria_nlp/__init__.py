"""criteria-nlp: multilingual citizen answers to coded well-being criteria.

The public API is re-exported here and resolved lazily (PEP 562), so that importing the
package — and therefore `criteria-nlp --help` — does not pull in pandas, torch or spaCy.

Start with `Synthesis` (fit, transform, compare, evaluate, write, save / load); the other
names are the stages it is made of, for those who assemble their own pipeline.
"""

from importlib import import_module

__version__ = "0.1.0"

_EXPORTS = {
    # the whole pipeline as one fitted object, saved and loaded without pickle (issue 17)
    "Synthesis": "synthesis.model",
    "ModelFolderError": "synthesis.folder",
    "IncompatibleModelError": "synthesis.folder",
    "TamperedModelError": "synthesis.folder",
    "read_answers": "io.corpus",
    "read_table": "io.tables",
    "Corpus": "io.corpus",
    "ColumnMap": "io.corpus",
    "identify_languages": "prepare.language",
    "LanguageIdentifier": "prepare.language",
    "is_non_answer": "prepare.text",
    "Code": "codebook.model",
    "Codebook": "codebook.model",
    "load_codebook": "codebook.loaders",
    "read_qdc": "codebook.refiqda",
    "write_qdc": "codebook.refiqda",
    "get_embedder": "embed",
    "Embedder": "embed",
    "PrototypeAssigner": "assign.zero_shot",
    "zero_shot_assign": "assign.zero_shot",
    "KMeansDiscoverer": "discover.discoverer",
    "RunConfig": "config",
    "run_pipeline": "pipeline.run",
    "CriteriaNLPError": "errors",
    "InputError": "errors",
    "CodebookError": "errors",
    "ModelError": "errors",
    "OutputError": "errors",
    # describe / indicators / review (issue 4)
    "describe": "describe.keyphrases",
    "descriptions_table": "describe.keyphrases",
    "GroupDescription": "describe.keyphrases",
    "draft_indicators": "describe.drafting",
    "IndicatorDrafter": "describe.drafting",
    "load_library": "describe.library",
    "ValenceClassifier": "describe.valence",
    "DecisionStore": "review.store",
    "DecisionStoreError": "review.store",
    "DecisionState": "review.state",
    "ReviewError": "review.importer",
    "build_review_workbook": "review.workbook",
    "import_review": "review.importer",
    "write_qdpx": "codebook.refiqda",
    # compare / report (issue 5)
    "compare_all": "report.compare",
    "distinctive_items": "report.compare",
    "shared_items": "report.compare",
    "render_report": "report.html",
    "write_report": "report.html",
    "project_2d": "report.projection",
    "code_metrics": "evaluate",
    # robustness / privacy (issue 7)
    "read_output_csv": "io.outputs",
    "redact_answers": "prepare.privacy",
    # learned assignment, discovery, evaluation (issue 3)
    "ZeroShotAssigner": "assign.zero_shot",
    "Discoverer": "discover.discoverer",
    "discover_within_codes": "discover.discoverer",
    "cluster_metrics": "evaluate",
    "coverage_curve": "evaluate",
    "cross_lingual_consistency": "evaluate",
    "LearnedAssigner": "assign.learned",
    "learned_assign": "assign.learned",
    # the analyst's language (issue 16)
    "Localiser": "i18n",
    "localiser": "i18n",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'criteria_nlp' has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(__all__)

"""criteria-nlp: multilingual citizen answers to coded well-being criteria.

The public API is re-exported here and resolved lazily (PEP 562), so that importing the
package — and therefore `criteria-nlp --help` — does not pull in pandas, torch or spaCy.
"""

from importlib import import_module

__version__ = "0.1.0"

_EXPORTS = {
    "read_answers": "corpus",
    "read_table": "corpus",
    "Corpus": "corpus",
    "ColumnMap": "corpus",
    "identify_languages": "language",
    "LanguageIdentifier": "language",
    "is_non_answer": "text",
    "Code": "codebook",
    "Codebook": "codebook",
    "load_codebook": "codebook",
    "read_qdc": "exchange.refiqda",
    "write_qdc": "exchange.refiqda",
    "get_embedder": "embed",
    "Embedder": "embed",
    "PrototypeAssigner": "assign",
    "zero_shot_assign": "assign",
    "KMeansDiscoverer": "discover",
    "RunConfig": "pipeline",
    "run_pipeline": "pipeline",
    "CriteriaNLPError": "errors",
    "InputError": "errors",
    "CodebookError": "errors",
    "ModelError": "errors",
    "OutputError": "errors",
    # describe / indicators / review (issue 4)
    "describe": "describe",
    "descriptions_table": "describe",
    "GroupDescription": "describe",
    "draft_indicators": "indicators",
    "DecisionStore": "review",
    "DecisionStoreError": "review",
    "DecisionState": "review",
    "ReviewError": "review",
    "build_review_workbook": "review",
    "import_review": "review",
    "write_qdpx": "exchange.refiqda",
    # compare / report (issue 5)
    "compare_all": "compare",
    "distinctive_items": "compare",
    "shared_items": "compare",
    "render_report": "report",
    "write_report": "report",
    "project_2d": "projection",
    "code_metrics": "evaluate",
    # robustness / privacy (issue 7)
    "read_output_csv": "outputs",
    "redact_answers": "privacy",
    # learned assignment, discovery, evaluation (issue 3)
    "ZeroShotAssigner": "assign",
    "Discoverer": "discover",
    "discover_within_codes": "discover",
    "cluster_metrics": "evaluate",
    "coverage_curve": "evaluate",
    "cross_lingual_consistency": "evaluate",
    "LearnedAssigner": "learn",
    "learned_assign": "learn",
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

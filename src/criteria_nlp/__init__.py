"""criteria-nlp: multilingual citizen answers to coded well-being criteria."""

__version__ = "0.1.0"

# Public names, imported lazily so that `import criteria_nlp` (and `--help`) stays instant.
_LAZY = {
    "describe": "describe", "descriptions_table": "describe", "GroupDescription": "describe",
    "draft_indicators": "indicators",
    "DecisionStore": "review", "DecisionStoreError": "review", "DecisionState": "review", "ReviewError": "review",
    "build_review_workbook": "review", "import_review": "review",
    "write_qdpx": "exchange.refiqda",
}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'criteria_nlp' has no attribute {name!r}")

"""criteria-nlp: multilingual citizen answers to coded well-being criteria."""

__version__ = "0.1.0"

# Public names, imported on first use so that `criteria-nlp --help` stays instant.
_LAZY_EXPORTS = {
    "compare_all": "compare", "distinctive_items": "compare", "shared_items": "compare",
    "render_report": "report", "write_report": "report", "project_2d": "projection", "code_metrics": "evaluate",
}


def __getattr__(name):
    if name in _LAZY_EXPORTS:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

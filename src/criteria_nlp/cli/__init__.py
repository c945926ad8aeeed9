"""Command-line interface: typer only. Each command is a thin wrapper in its own module around
a plain function of a stage or of `pipeline`; heavy libraries (torch, spaCy,
sentence-transformers) are imported inside commands so that `criteria-nlp --help` is instant.
"""

# Importing the command modules registers them on `app`, in the order `--help` lists them.
from criteria_nlp.cli import (  # noqa: F401, E401
    assign,
    cluster,
    codebook,
    compare,
    embed,
    evaluate,
    report,
    review,
    run,
)
from criteria_nlp.cli.app import app, main

__all__ = ["app", "main"]

"""Command-line interface: typer only. Each command is a thin wrapper in its own module around
a plain function of a stage or of `pipeline`; heavy libraries (torch, spaCy,
sentence-transformers) are imported inside commands so that `criteria-nlp --help` is instant.
"""
# ruff: noqa: I001, F401 - the imports below register the commands, in the order --help lists them

from criteria_nlp.cli import run
from criteria_nlp.cli import assign
from criteria_nlp.cli import embed
from criteria_nlp.cli import cluster
from criteria_nlp.cli import describe
from criteria_nlp.cli import compare
from criteria_nlp.cli import report
from criteria_nlp.cli import evaluate
from criteria_nlp.cli import codebook
from criteria_nlp.cli import review
from criteria_nlp.cli import cache
from criteria_nlp.cli.app import app, main

__all__ = ["app", "main"]

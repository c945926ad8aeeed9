"""`criteria-nlp codebook ...` sub-commands."""

from __future__ import annotations

from pathlib import Path

import typer

from criteria_nlp.cli.app import codebook_app
from criteria_nlp.cli.options import echo_err
from criteria_nlp.config import DEFAULT_CODEBOOK


@codebook_app.command("show")
def codebook_show(
    codebook: str = typer.Argument(DEFAULT_CODEBOOK, help="'spiral' or a codebook file."),
    language: str = typer.Option("en", "--language", "-l", help="Language of the labels shown."),
):
    """Print the codebook as a tree of codes and labels."""
    from criteria_nlp.codebook.loaders import load_codebook

    book = load_codebook(codebook)
    typer.echo(f"{book.name}: {book.title or ''} ({len(book.codable())} codable codes)")
    for code in book:
        indent = "  " if code.parent else ""
        mark = "" if code.verified else " (unverified)"
        typer.echo(f"{indent}{code.code}  {code.label(language)}{mark}")


@codebook_app.command("export")
def codebook_export(
    codebook: str = typer.Argument(DEFAULT_CODEBOOK, help="'spiral' or a codebook file."),
    output: Path = typer.Option(..., "--output", "-o", help="Output file: .yaml/.yml or REFI-QDA .qdc."),
):
    """Export a codebook to YAML or REFI-QDA .qdc."""
    from criteria_nlp.codebook.loaders import load_codebook
    from criteria_nlp.errors import CodebookError
    from criteria_nlp.io.folders import check_output_file, refuse_overwriting_inputs

    refuse_overwriting_inputs([check_output_file(output)], [codebook])
    book = load_codebook(codebook)
    suffix = output.suffix.lower()
    if suffix in (".yaml", ".yml"):
        book.to_yaml(output)
    elif suffix == ".qdc":
        from criteria_nlp.codebook.refiqda import write_qdc

        write_qdc(book, output)
    else:
        raise CodebookError(f"{output.name}: unknown export format '{suffix}'; use .yaml or .qdc")
    echo_err(f"{len(book)} codes -> {output}")

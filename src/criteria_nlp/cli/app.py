"""The typer application, its root options and the console entry point (`main`): user errors
become one line on stderr and an exit code, never a traceback."""

from __future__ import annotations

import os

import typer

from criteria_nlp import __version__
from criteria_nlp.cli.options import echo_err
from criteria_nlp.errors import CriteriaNLPError

app = typer.Typer(
    name="criteria-nlp",
    help="Turn free-text citizen answers into coded well-being criteria, clusters and draft indicators (offline, multilingual).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


codebook_app = typer.Typer(help="Show or export codebooks (the SPIRAL default, YAML, CSV, REFI-QDA .qdc).", no_args_is_help=True)
app.add_typer(codebook_app, name="codebook")
review_app = typer.Typer(help="The human validation round-trip: import the analysts' review workbook.", no_args_is_help=True)
app.add_typer(review_app, name="review")


def _version_callback(value: bool):
    if value:
        typer.echo(f"criteria-nlp {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version_callback, is_eager=True, help="Show the version and exit."),
):
    """criteria-nlp: multilingual citizen answers to validated well-being criteria."""


def main(argv: list[str] | None = None) -> int:
    """Console entry point: user errors become one line on stderr and exit code 2."""
    # OpenMP threads (torch, scikit-learn) that spin while waiting take the cores from the work
    # on a busy 2-core machine: measured 6x slower e5 and 40x slower k-means under load. Set
    # before torch/scikit-learn load; a value set by the user wins.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        app(args=argv, standalone_mode=False)
    except CriteriaNLPError as exc:
        echo_err(f"error: {exc}")
        return 2
    except (typer.Exit, SystemExit) as exc:
        return int(getattr(exc, "exit_code", getattr(exc, "code", 0)) or 0)
    except typer.Abort:
        echo_err("aborted")
        return 130
    except Exception as exc:  # usage errors from typer's click, and OS errors on user paths
        # Duck-typed: recent typer versions vendor click, so its classes are not importable.
        if hasattr(exc, "show") and isinstance(getattr(exc, "exit_code", None), int):
            exc.show()
            return exc.exit_code
        if isinstance(exc, OSError) and exc.filename:
            echo_err(f"error: {exc.filename}: {exc.strerror}")
            return 2
        raise
    return 0

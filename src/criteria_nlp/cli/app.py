"""The typer application, its root options and the console entry point (`main`): user errors
become one line on stderr and an exit code, never a traceback."""

from __future__ import annotations

import errno
import os

import typer

from criteria_nlp import __version__
from criteria_nlp.cli.options import echo_err
from criteria_nlp.errors import CriteriaNLPError
from criteria_nlp.i18n import MESSAGE_LANGUAGE, _

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
    """Console entry point: user errors become one line on stderr and exit code 2; Ctrl-C
    exits with 130 and one line; nothing ends in a traceback that the user caused."""
    # OpenMP threads (torch, scikit-learn) that spin while waiting take the cores from the work
    # on a busy 2-core machine: measured 6x slower e5 and 40x slower k-means under load. Set
    # before torch/scikit-learn load; a value set by the user wins.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    # A command given --analyst-language speaks it on the terminal until main returns.
    token = MESSAGE_LANGUAGE.set(None)
    try:
        return _main(argv)
    finally:
        MESSAGE_LANGUAGE.reset(token)


def _main(argv: list[str] | None) -> int:
    try:
        code = app(args=argv, standalone_mode=False)
    except CriteriaNLPError as exc:
        echo_err(_("error: %(message)s") % {"message": one_line(exc)})
        return 2
    except (typer.Exit, SystemExit) as exc:
        code = int(getattr(exc, "exit_code", getattr(exc, "code", 0)) or 0)
    except (typer.Abort, KeyboardInterrupt):
        code = INTERRUPTED
    except MemoryError:
        echo_err(_("error: out of memory; try a smaller input, a smaller --batch-size, or a machine with more memory"))
        return 1
    except Exception as exc:  # usage errors from typer's click, and OS errors on user paths
        # Duck-typed: recent typer versions vendor click, so its classes are not importable.
        if hasattr(exc, "format_message") and isinstance(getattr(exc, "exit_code", None), int):
            command = getattr(getattr(exc, "ctx", None), "command_path", "criteria-nlp")
            echo_err(_("error: %(message)s (see '%(command)s --help')") % {"message": one_line(exc.format_message()), "command": command})
            return exc.exit_code
        if isinstance(exc, OSError):
            from criteria_nlp.io.folders import shown

            where = f"{shown(exc.filename)}: " if exc.filename else ""
            if exc.errno == errno.ENOSPC:
                echo_err(_("error: %(where)sno space left on the device; free some space and try again (finished outputs were not replaced)")
                         % {"where": where})
            else:
                echo_err(_("error: %(message)s") % {"message": f"{where}{exc.strerror or one_line(exc)}"})
            return 2
        if os.environ.get(DEBUG_ENV):
            raise
        # A bug, not the user's doing: still one line (the traceback with CRITERIA_NLP_DEBUG=1).
        echo_err(_("error: internal error (%(error)s); outputs of earlier runs are unchanged; please report it with the command line "
                   "(run again with %(debug)s=1 for the details)") % {"error": f"{type(exc).__name__}: {one_line(exc)[:200]}", "debug": DEBUG_ENV})
        return 1
    # typer returns 130 (instead of raising) when Ctrl-C interrupts a command.
    if code == INTERRUPTED:
        echo_err(_("interrupted (Ctrl-C): nothing was replaced; outputs of earlier runs are unchanged"))
        return INTERRUPTED
    return code if isinstance(code, int) else 0


INTERRUPTED = 130


DEBUG_ENV = "CRITERIA_NLP_DEBUG"


MAX_MESSAGE = 600  # characters: a message never carries a whole answer or header


def one_line(message) -> str:
    """A message on one line, of bounded length."""
    text = str(message).replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"

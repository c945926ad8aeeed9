"""Safe output writing: atomic replacement (a killed run never leaves half a file, nor a mix
of old and new outputs), neutralised spreadsheet formulas (citizen text must never execute in
Excel/LibreOffice) and escaped HTML.

Atomicity: every file is written to a temporary ``.NAME.*.part`` file in the same folder,
fsynced, then renamed over the target. Inside ``output_transaction(folder)`` the renames are
deferred until the block ends without error, and then done together (in write order): a run
killed before that point leaves every previous output untouched, and the window in which a
kill leaves a mix of old and new files is a few renames long.
"""

from __future__ import annotations

import contextlib
import contextvars
import html
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from criteria_nlp.errors import OutputError

# A cell starting with one of these is evaluated as a formula by spreadsheets (OWASP CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


QUOTE = "'"


PART_SUFFIX = ".part"


PAUSE_ENV = "CRITERIA_NLP_TEST_PAUSE_AT"


# The files a run writes at the top of OUTDIR (and review snapshots in SNAPSHOT_DIR): the only
# names whose temporary files a run sweeps, and the files no input may be.
RUN_OUTPUT_NAMES = (
    "answers.csv", "clusters.csv", "codes.csv", "compare.csv", "indicators.csv", "review.xlsx", "codebook.qdc",
    "project.qdpx", "decisions_report.csv", "report.html", "manifest.json",
)


SNAPSHOT_DIR = "review-snapshots"


def _needs_quote(value: str) -> bool:
    # Also quote text that already starts with quotes before a formula character, so that
    # unneutralise_cell is an exact inverse: "'=x" is written "''=x" and read back "'=x".
    return value.startswith(FORMULA_PREFIXES) or (
        value.startswith(QUOTE) and value.lstrip(QUOTE).startswith(FORMULA_PREFIXES)
    )


def neutralise_cell(value):
    """Prefix a formula-looking string with a quote so spreadsheets show it as text.

    The rule (documented in the README): a text cell is written with one extra leading ``'``
    when it starts with ``= + - @``, a tab or a carriage return (or their full-width forms),
    possibly after quotes. ``unneutralise_cell`` undoes exactly that.
    """
    if isinstance(value, str) and _needs_quote(value):
        return QUOTE + value
    return value


def unneutralise_cell(value):
    """Exact inverse of neutralise_cell, for reading our own CSV outputs back."""
    if isinstance(value, str) and value.startswith(QUOTE) and _needs_quote(value[1:]):
        return value[1:]
    return value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(neutralise_cell)
    out.columns = [neutralise_cell(str(c)) for c in out.columns]
    return out


def unneutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Undo neutralise_frame on a table read back with every column as text."""
    out = frame.map(unneutralise_cell)
    out.columns = [unneutralise_cell(str(c)) for c in out.columns]
    return out


def read_output_csv(path: str | Path) -> pd.DataFrame:
    """Read one of our CSV outputs back exactly: all text, no NA guessing, formulas restored."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False, encoding="utf-8")
    return unneutralise_frame(frame)


def escape_html(value) -> str:
    """Text for an HTML page: <, >, &, and quotes escaped (citizen text never becomes markup)."""
    return html.escape("" if value is None else str(value), quote=True)


def pause_point(name: str) -> None:
    """Test hook: when CRITERIA_NLP_TEST_PAUSE_AT lists `name`, say so on stderr and sleep,
    so a test can kill the process at a known point. A no-op otherwise."""
    wanted = os.environ.get(PAUSE_ENV, "")
    if wanted and name in {part.strip() for part in wanted.split(",")}:
        sys.stderr.write(f"criteria-nlp: paused at {name}\n")
        sys.stderr.flush()
        time.sleep(float(os.environ.get("CRITERIA_NLP_TEST_PAUSE_SECONDS", "300")))


class OutputTransaction:
    """Files staged (written and fsynced under temporary names) in `folder`, renamed over
    their targets together by `commit`."""

    def __init__(self, folder: Path):
        self.folder = Path(folder).resolve()
        self.staged: dict[Path, Path] = {}  # target -> temporary file, in write order

    def covers(self, path: Path) -> bool:
        """Files in the folder or its sub-folders (e.g. review snapshots)."""
        return self.folder in Path(path).resolve().parents

    def stage(self, path: Path, data: bytes) -> None:
        target = Path(path).resolve()
        previous = self.staged.pop(target, None)
        if previous is not None:
            previous.unlink(missing_ok=True)
        self.staged[target] = _write_temporary(target, data)

    def commit(self) -> None:
        pause_point("commit")
        for target, temporary in list(self.staged.items()):
            os.replace(temporary, target)
            del self.staged[target]
        fsync_folder(self.folder)

    def abort(self) -> None:
        for temporary in self.staged.values():
            temporary.unlink(missing_ok=True)
        self.staged.clear()


_TRANSACTION: contextvars.ContextVar[OutputTransaction | None] = contextvars.ContextVar("criteria_nlp_outputs", default=None)


@contextlib.contextmanager
def output_transaction(folder: str | Path):
    """Defer the final renames of every write_*_atomic into `folder` until the block succeeds.

    Call it while holding the folder's lock (pipeline.outdir_lock): it first removes the
    temporary files that a killed run may have left. Reading a file back inside the block
    gives its previous content.
    """
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{folder}: cannot create the folder ({exc.strerror}); give a folder you can write") from None
    remove_stale_parts(folder)
    transaction = OutputTransaction(folder)
    token = _TRANSACTION.set(transaction)
    try:
        yield transaction
    except BaseException:
        transaction.abort()
        raise
    else:
        transaction.commit()
    finally:
        _TRANSACTION.reset(token)


def is_own_temporary(name: str) -> bool:
    """A temporary file that a run writes at the top of OUTDIR (`.answers.csv.XXXX.part`)."""
    return _is_own_part(name, RUN_OUTPUT_NAMES)


def _is_own_part(name: str, own_names) -> bool:
    """`.NAME.XXXX.part`, the temporary of one of `own_names` (None: any .json, for snapshots)."""
    if not (name.startswith(".") and name.endswith(PART_SUFFIX)):
        return False
    target = name[1:-len(PART_SUFFIX)].rpartition(".")[0]
    return target.endswith(".json") if own_names is None else target in own_names


def remove_stale_parts(folder: Path) -> list[Path]:
    """Delete the temporary files that an interrupted run left: only those of the files a run
    writes (RUN_OUTPUT_NAMES at the top, snapshots in SNAPSHOT_DIR), never another program's
    .part files nor anything in other sub-folders (another run may be writing there)."""
    removed = []
    folder = Path(folder)
    for where, own in ((folder, RUN_OUTPUT_NAMES), (folder / SNAPSHOT_DIR, None)):
        if where != folder and (os.path.islink(where) or not os.path.isdir(where)):
            continue
        try:
            names = os.listdir(where)
        except OSError:
            continue
        for name in names:
            part = where / name
            if _is_own_part(name, own) and os.path.isfile(part) and not os.path.islink(part):
                with contextlib.suppress(OSError):
                    part.unlink()
                    removed.append(part)
    return removed


def _creation_mode() -> int:
    """0o666 less the process's umask: what open() would give a new file (mkstemp gives 0o600)."""
    mask = None
    with contextlib.suppress(OSError, ValueError, IndexError):
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    mask = int(line.split()[1], 8)
    if mask is None:  # no /proc: read it the only portable way (set and restore)
        mask = os.umask(0o022)
        os.umask(mask)
    return 0o666 & ~mask


def _write_temporary(path: Path, data: bytes) -> Path:
    try:
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=PART_SUFFIX)
    except OSError as exc:
        raise OutputError(f"{path.parent}: cannot write {path.name} ({exc.strerror}); give a folder you can write") from None
    try:
        with os.fdopen(handle, "wb") as stream:
            with contextlib.suppress(OSError):
                os.fchmod(stream.fileno(), _creation_mode())
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
    except BaseException as exc:
        Path(temporary).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise OutputError(
                f"{path.parent}: cannot write {path.name} ({exc.strerror or exc}); nothing was replaced: "
                "free some space (or fix the permissions) and try again"
            ) from None
        raise
    return Path(temporary)


def fsync_folder(folder: Path) -> None:
    # Makes the renames durable on power loss; not every platform can open a folder.
    with contextlib.suppress(OSError):
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same folder, fsync, then rename over the target
    (deferred to the end of an enclosing output_transaction on that folder)."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{path.parent}: cannot create the folder for {path.name} ({exc.strerror})") from None
    transaction = _TRANSACTION.get()
    if transaction is not None and transaction.covers(path):
        transaction.stage(path, data)
        return
    temporary = _write_temporary(path, data)
    try:
        os.replace(temporary, path)
    except BaseException as exc:
        temporary.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise OutputError(f"{path}: cannot be replaced ({exc.strerror or exc})") from None
        raise
    fsync_folder(path.parent)


def utf8(text: str) -> bytes:
    """UTF-8 bytes; a lone surrogate (from a file name that is not UTF-8) becomes U+FFFD."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace").encode("utf-8", "replace")


def write_text_atomic(path: Path, text: str) -> None:
    write_bytes_atomic(path, utf8(text))


def write_json_atomic(path: Path, data, *, indent: int | None = 2) -> None:
    """`indent=None` for files only programs read: json's C encoder then writes them (the
    indented form goes through its Python encoder, seconds for a 100,000-answer snapshot)."""
    write_text_atomic(path, json.dumps(data, ensure_ascii=False, indent=indent, default=str) + "\n")


def csv_bytes(frame: pd.DataFrame, *, neutralise: bool = True) -> bytes:
    """UTF-8 CSV, formulas neutralised, CRLF records (RFC 4180).

    CRLF as the record end makes the csv writer quote every cell holding a lone CR or LF, so
    multi-line answers survive the round trip. No BOM: scripts reading the file with the csv
    module would see it in the first column's name (the review workbook is for Excel)."""
    table = neutralise_frame(frame) if neutralise else frame
    return utf8(table.to_csv(index=False, lineterminator="\r\n"))


def write_csv_atomic(path: Path, frame: pd.DataFrame, *, neutralise: bool = True) -> None:
    write_bytes_atomic(path, csv_bytes(frame, neutralise=neutralise))


def xlsx_text(value) -> str:
    """A string openpyxl can store: characters XML forbids (most C0 controls) are dropped."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    return ILLEGAL_CHARACTERS_RE.sub("", str(value))


def set_cell(cell, value) -> None:
    """Put `value` in an openpyxl cell; strings are always stored as text, never as formulas
    (openpyxl would otherwise turn "=..." into a formula)."""
    if value is None or (isinstance(value, float) and value != value):
        cell.value = None
    elif isinstance(value, str):
        cell.value = xlsx_text(value)
        cell.data_type = "s"
    else:
        cell.value = value


def xlsx_bytes(sheets: dict[str, pd.DataFrame]) -> bytes:
    """A workbook with one sheet per frame (header row, then values; text never a formula)."""
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for name, frame in sheets.items():
        sheet = book.create_sheet(title=xlsx_text(name)[:31] or "Sheet")
        for column, header in enumerate(frame.columns, start=1):
            set_cell(sheet.cell(row=1, column=column), str(header))
        for row, values in enumerate(frame.itertuples(index=False), start=2):
            for column, value in enumerate(values, start=1):
                set_cell(sheet.cell(row=row, column=column), value.item() if hasattr(value, "item") else value)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def write_xlsx_atomic(path: Path, sheets: dict[str, pd.DataFrame]) -> None:
    write_bytes_atomic(path, xlsx_bytes(sheets))

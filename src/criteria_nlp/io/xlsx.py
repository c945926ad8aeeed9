"""Reading workbooks (.xlsx) streaming and bounded: the zip's parts are checked before any
is parsed (sizes once uncompressed, shared strings against cells, the longest string), the
sheet is read row by row in openpyxl's read-only mode, and only cells that hold something
are kept, so a 3 KB file that claims a cell at XFD1048576 costs what it holds. XML is
parsed by defusedxml (openpyxl uses it when it is installed; this module insists)."""

from __future__ import annotations

import io
import re
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field

from criteria_nlp.errors import InputError
from criteria_nlp.io.limits import (
    MAX_CELL_CHARS,
    max_input_bytes,
    shown_size,
    too_large,
)

_CHUNK = 1 << 20


_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]+[0-9]+(?::[A-Z]+[0-9]+)?)"')


_MAX_PARTS = 10_000


_MAX_OTHER_PART = 64 * 1024 * 1024  # styles, workbook, drawings...: far smaller in any real workbook


_STRING_STARTS = (b"<si>", b"<si ", b"<si/")  # prefixed elements (<x:si>) are not counted: a lower bound


_CELL_ENDS = (b"c>", b"<c ")  # </c>, <c> and <c ...>: an upper bound on the cells


_FORMULAS = (b"<f>", b"<f ", b":f>", b":f ")


# No cell of a spreadsheet holds more than 32,767 characters (at most 128 KB in UTF-8, about
# 800 KB escaped); a text node far beyond that is refused before openpyxl holds it in memory.
_LONGEST_TEXT = 4 * 1024 * 1024


@dataclass
class WorkbookScan:
    """What the preflight found: formulas and merged ranges per worksheet part."""

    formulas: set[str] = field(default_factory=set)  # worksheet part names holding <f>
    merged: dict[str, list[str]] = field(default_factory=dict)  # part name -> ["C2:C5", ...]


def _scan(archive: zipfile.ZipFile, info: zipfile.ZipInfo, needles: tuple[bytes, ...], merges: bool = False) -> tuple[list[int], int, list[str]]:
    """Stream one part with one chunk in memory (bytes.count: about 1 GB/s): how often each
    needle occurs, the longest text between two '<' that crosses a chunk boundary (any text
    node of 2 MB or more does), and the mergeCell refs."""
    counts = [0] * len(needles)
    refs: list[str] = []
    longest, run, tail = 0, 0, b""
    with archive.open(info) as stream:
        while True:
            chunk = stream.read(_CHUNK)
            if not chunk:
                break
            data = tail + chunk
            for k, needle in enumerate(needles):
                # An occurrence inside the tail was counted with the previous chunk.
                counts[k] += data.count(needle) - tail.count(needle)
            first = chunk.find(b"<")
            if first < 0:
                run += len(chunk)
            else:
                longest = max(longest, run + first)
                run = len(chunk) - chunk.rfind(b"<") - 1
            if merges and b"mergeCell" in data:
                refs += [m.group(1).decode("ascii") for m in _MERGE.finditer(data) if m.end() > len(tail)]
            tail = data[-256:]
    return counts, max(longest, run), refs


def check_workbook(source: bytes, name: str) -> WorkbookScan:
    """Refuse, before parsing, a workbook that would cost far more than its size."""
    limit = max_input_bytes()
    try:
        archive = zipfile.ZipFile(io.BytesIO(source))
        parts = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise InputError(f"{name}: cannot open as an Excel workbook ({_first_line(exc)}); save it as .xlsx or 'CSV UTF-8'") from None
    if len(parts) > _MAX_PARTS:
        raise InputError(f"{name}: the workbook has {len(parts):,} parts; an answers workbook has a few dozen (a damaged or hostile file?)")
    total = 0
    for info in parts:
        data_part = info.filename.startswith("xl/worksheets/") or info.filename == "xl/sharedStrings.xml"
        if info.file_size > (limit if data_part else min(limit, _MAX_OTHER_PART)):
            raise InputError(too_large(name, f"part '{info.filename[:60]}' ({shown_size(info.file_size)} uncompressed)"))
        total += info.file_size
    if total > 2 * limit:
        raise InputError(too_large(name, f"the workbook ({shown_size(total)} uncompressed)"))
    scan = WorkbookScan()
    cells = 0
    try:
        for info in parts:
            if info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml"):
                counts, _, refs = _scan(archive, info, _CELL_ENDS + _FORMULAS, merges=True)
                cells += sum(counts[: len(_CELL_ENDS)])
                if any(counts[len(_CELL_ENDS):]):
                    scan.formulas.add(info.filename)
                if refs:
                    scan.merged[info.filename] = refs
        strings = archive.getinfo("xl/sharedStrings.xml") if "xl/sharedStrings.xml" in archive.namelist() else None
        if strings is not None:
            counts, longest, _ = _scan(archive, strings, _STRING_STARTS)
            count = sum(counts)
            # Each shared string is used by at least one cell in a real workbook (cells are
            # over-counted and strings under-counted here: only a gross excess is refused).
            if count > 2 * cells + 10_000:
                raise InputError(f"{name}: the workbook lists {count:,} shared strings for at most {cells:,} cells; "
                                 "a damaged or hostile file: open and save it again in Excel or LibreOffice")
            if longest > _LONGEST_TEXT:
                raise InputError(f"{name}: one cell holds about {shown_size(longest)} of text, more than a spreadsheet cell can "
                                 f"({MAX_CELL_CHARS:,} characters); save the answers as 'CSV UTF-8' instead")
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, ValueError) as exc:  # a damaged part (CRC, deflate)
        raise InputError(f"{name}: cannot open as an Excel workbook ({_first_line(exc)}); save it as .xlsx or 'CSV UTF-8'") from None
    return scan


def open_workbook(source: bytes, name: str, *, data_only: bool):
    """openpyxl's read-only workbook over `source` (check_workbook first)."""
    import openpyxl

    if not getattr(openpyxl, "DEFUSEDXML", False):
        raise InputError("openpyxl is running without defusedxml (OPENPYXL_DEFUSEDXML is set to False?); "
                         "criteria-nlp reads workbooks only with a hardened XML parser: unset it")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openpyxl warns about unsupported extensions
        return openpyxl.load_workbook(io.BytesIO(source), read_only=True, data_only=data_only, keep_links=False)


def decode_escapes(value):
    """A cell's text as Excel shows it (other values unchanged). OOXML writes a character XML
    cannot hold as _xHHHH_ (a carriage return is _x000D_); Excel and xlsxwriter write them,
    and openpyxl's reader returns them as written, though openpyxl can decode them."""
    if isinstance(value, str) and "_x" in value:
        from openpyxl.utils.escape import unescape

        return unescape(value)
    return value


def _decoded_cell(cell):
    value = decode_escapes(cell.value)
    if value is cell.value:
        return cell
    from openpyxl.cell.read_only import ReadOnlyCell

    return ReadOnlyCell(cell.parent, cell.row, cell.column, value, cell.data_type, cell._style_id)


def sheet_rows(worksheet, max_row: int | None = None, cells: bool = False) -> Iterator[tuple[int, tuple]]:
    """(row number, values or cells) for the rows that hold something, whatever dimension
    the sheet claims; a row's tuple ends at its last cell. Text is as Excel shows it
    (`decode_escapes`)."""
    worksheet.reset_dimensions()  # the claimed dimension may be a lie (XFD1048576)
    number = 0
    for number, row in enumerate(worksheet.iter_rows(min_row=1, max_row=max_row, values_only=not cells), start=1):
        if not row:
            continue
        if cells:
            row = tuple(_decoded_cell(c) if isinstance(getattr(c, "value", None), str) else c for c in row)
            values = [c.value for c in row]
        else:
            row = values = tuple(decode_escapes(v) for v in row)
        if any(v is not None and v != "" for v in values):
            yield number, row


def part_name(worksheet) -> str:
    """The zip part of a read-only worksheet ('xl/worksheets/sheet1.xml')."""
    return str(getattr(worksheet, "_worksheet_path", "")).lstrip("/")


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__

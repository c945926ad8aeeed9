"""Reading tables as text, exactly as written: delimited text (delimiter sniffed), XLSX and
JSONL; header names cleaned and made unique."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import stat as statmod
import sys
from pathlib import Path

import pandas as pd

from criteria_nlp.errors import InputError
from criteria_nlp.i18n import _
from criteria_nlp.io.decoding import (
    decode_text,
    describe_binary,
    looks_binary,
    refuse_binary_head,
)
from criteria_nlp.io.limits import MAX_SHEET_CELLS

SUPPORTED_SUFFIXES = (".csv", ".tsv", ".txt", ".tab", ".xlsx", ".xlsm", ".jsonl", ".ndjson", ".json")


_DELIMITERS = (",", ";", "\t", "|")


_SNIFF_CHARS = 1 << 20


_SNIFF_RECORDS = 200


@contextlib.contextmanager
def _no_field_limit():
    # The csv module refuses fields over 128 KiB by default; a long answer is legitimate.
    previous = csv.field_size_limit()
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def sniff_delimiter(text: str, suffix: str = ".csv") -> str:
    """The delimiter that splits the first records into the same number (> 1) of fields.

    More robust than csv.Sniffer on survey exports, whose answers are full of commas and
    semicolons: quoted fields are parsed as such, and consistency across records decides."""
    if suffix in (".tsv", ".tab"):
        return "\t"
    sample = text[:_SNIFF_CHARS]
    truncated = len(text) > len(sample)
    best, best_key = ",", None
    with _no_field_limit():
        for rank, delimiter in enumerate(_DELIMITERS):
            reader = csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter)
            try:
                rows = [row for _, row in zip(range(_SNIFF_RECORDS + 1), reader) if row]
            except csv.Error:
                continue
            if truncated and len(rows) > 2:
                rows = rows[:-1]  # the sample may cut the last record
            if not rows:
                continue
            width = len(rows[0])
            body = rows[1:] or rows
            consistency = sum(len(row) == width for row in body) / len(body)
            # A delimiter that splits the header beats one that does not, even when some
            # rows are broken (they are then reported with their line number).
            key = (width > 1 and consistency >= 0.9, width > 1, consistency, -rank)
            if best_key is None or key > best_key:
                best, best_key = delimiter, key
    return best


def parse_delimited(text: str, delimiter: str, name: str) -> list[tuple[int, list[str]]]:
    """Records as (line number where the record starts, fields). A quoted field that is never
    closed is an error (it would swallow the rest of the file); other stray quotes are read
    leniently, as spreadsheets do."""
    with _no_field_limit():
        try:
            return _records(text, delimiter, strict=True)
        except _UnclosedQuote as exc:
            raise InputError(
                f"{name}: a quoted field starting on line {exc.line} is never closed (unbalanced \"); "
                "close the quote or remove it, then save again"
            ) from None
        except csv.Error:
            return _records(text, delimiter, strict=False)


class _UnclosedQuote(Exception):
    def __init__(self, line: int):
        self.line = line


def _records(text: str, delimiter: str, strict: bool) -> list[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=strict)
    records = []
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return records
        except csv.Error as exc:
            if "unexpected end of data" in str(exc):
                raise _UnclosedQuote(start) from None
            raise
        records.append((start, row))


def read_delimited(path: Path, data: bytes | None = None) -> tuple[pd.DataFrame, dict]:
    raw = data if data is not None else read_input(path)[0]
    if not raw.strip(b" \t\r\n\x00"):
        raise InputError(f"{path.name}: the file is empty; it needs a header row and at least one answer")
    decoded = decode_text(raw, path.name)
    text = decoded.text
    if looks_binary(text):
        raise InputError(f"{path.name}: this is not a text table (binary content); export the answers as CSV, XLSX or JSONL")
    delimiter = sniff_delimiter(text, path.suffix.lower())
    records = [(line, row) for line, row in parse_delimited(text, delimiter, path.name) if row]
    if not records:
        raise InputError(f"{path.name}: the file is empty; it needs a header row and at least one answer")
    (_, header), body = records[0], records[1:]
    width = len(header)
    notes = list(decoded.warnings)
    rows, padded = [], 0
    for line, row in body:
        if len(row) > width:
            if any(value.strip() for value in row[width:]):
                shown = {"\t": "tab"}.get(delimiter, delimiter)
                raise InputError(
                    f"{path.name}: line {line} has {len(row)} fields but the header has {width}; "
                    f"put quotes around answers that contain '{shown}', or check the separator"
                )
            row = row[:width]  # trailing empty cells, as some spreadsheets export them
        elif len(row) < width:
            padded += 1
            row = row + [""] * (width - len(row))
        rows.append(row)
    if padded:
        notes.append(f"{padded} row(s) had fewer fields than the header; the missing cells were read as empty")
    frame = pd.DataFrame(rows, columns=range(width), dtype=object) if rows else pd.DataFrame(columns=range(width), dtype=object)
    frame.columns = header_names(header)
    return frame, {"format": "csv", "encoding": decoded.encoding, "delimiter": delimiter, "warnings": notes}


def header_names(values) -> list[str]:
    """Header cells as column names: trimmed, a stray BOM removed, blanks named column_N.
    Duplicates are kept here (see dedupe_columns)."""
    names = []
    for position, value in enumerate(values, start=1):
        name = _cell_text(value).replace("\ufeff", "").strip()
        names.append(name or f"column_{position}")
    return names


def dedupe_columns(names: list[str], protected: set[str], source: str) -> tuple[list[str], list[str]]:
    """Rename repeated column names a, a.1, a.2 (as pandas does); a repeated name that a
    role needs (the text or id column...) is ambiguous and an error. Returns (names, notes)."""
    counts: dict[str, int] = {}
    for name in names:
        counts[name] = counts.get(name, 0) + 1
    repeated = [name for name, count in counts.items() if count > 1]
    for name in repeated:
        if name in protected:
            raise InputError(
                f"{source}: column '{name}' appears {counts[name]} times in the header; rename the copies "
                "so that one column holds it, or choose another column with the matching option"
            )
    if not repeated:
        return list(names), []
    taken = set(names)
    seen: dict[str, int] = {}
    out = []
    for name in names:
        if name not in seen:
            seen[name] = 0
            out.append(name)
            continue
        number = seen[name]
        while True:
            number += 1
            candidate = f"{name}.{number}"
            if candidate not in taken:
                break
        seen[name] = number
        taken.add(candidate)
        out.append(candidate)
    renamed = [new for new, old in zip(out, names) if new != old]
    shown = ", ".join(f"'{name}'" for name in repeated)
    return out, [f"repeated column name(s) {shown}: the copies are kept as " + ", ".join(f"'{n}'" for n in renamed)]


def read_xlsx(path: Path, sheet: str | int | None = None, text_col: str | None = None, data: bytes | None = None) -> tuple[pd.DataFrame, dict]:
    """The values a spreadsheet shows: cached results of formulas, merged cells repeated in
    every cell they cover. Without `sheet`, the first sheet whose header has `text_col`.
    Read streaming and bounded (io.xlsx): only the cells that hold something cost memory."""
    from criteria_nlp.io.xlsx import (
        check_workbook,
        open_workbook,
        part_name,
        sheet_rows,
    )

    raw = data if data is not None else read_input(path)[0]
    raw_head = raw[:4096]
    if not raw_head.startswith(b"PK"):
        found = describe_binary(raw_head)
        if found is None and raw_head and not looks_binary(raw_head.decode("latin-1")):
            raise InputError(f"{path.name}: this is a text file, not an Excel workbook; rename it to .csv")
        what = found[0] if found else "not an Excel workbook"
        raise InputError(f"{path.name}: cannot open as an Excel workbook ({what}); save it as .xlsx or 'CSV UTF-8'")
    scan = check_workbook(raw, path.name)
    try:
        book = open_workbook(raw, path.name, data_only=True)
    except InputError:
        raise
    except Exception as exc:  # openpyxl raises many types for a broken zip or non-xlsx file
        raise InputError(f"{path.name}: cannot open as an Excel workbook ({_first_line(exc)}); save it as .xlsx or 'CSV UTF-8'") from None
    try:
        sheets = [ws for ws in book.worksheets]
        names = [ws.title for ws in sheets]
        if not sheets:
            raise InputError(f"{path.name}: the workbook has no worksheet; put the answers in a sheet")
        if sheet is not None:
            chosen = names[sheet] if isinstance(sheet, int) and -len(names) <= sheet < len(names) else sheet
            if chosen not in names:
                raise InputError(f"{path.name}: no sheet named '{chosen}'; sheets found: {', '.join(names)}")
            worksheet = book[chosen]
        else:
            worksheet = _sheet_with_column(sheets, text_col)
        title, part = worksheet.title, part_name(worksheet)
        cells = {}
        for row, values in sheet_rows(worksheet):
            for column, value in enumerate(values, start=1):
                if value is not None and value != "":
                    cells[(row, column)] = value
    except InputError:
        raise
    except Exception as exc:  # a damaged sheet (bad shared-string index, broken XML...)
        raise InputError(f"{path.name}: cannot read sheet ({_first_line(exc)}); open and save it again in Excel or LibreOffice") from None
    finally:
        book.close()
    merged = _fill_merged(cells, scan.merged.get(part, []), path.name)
    uncomputed = _uncomputed_formulas(raw, path.name, title, cells) if part in scan.formulas else set()
    notes = []
    if len(sheets) > 1:
        notes.append(f"read sheet '{title}' of {len(sheets)} ({', '.join(repr(n) for n in names)})")
    if merged:
        notes.append(f"{merged} merged cell range(s): each cell of a range was given the range's value")
    texts = {key: _cell_text(value) for key, value in cells.items()}
    rows = sorted({r for (r, _), text in texts.items() if text.strip()})
    if not rows:
        raise InputError(f"{path.name}: sheet '{title}' is empty; it needs a header row and at least one answer")
    header_row, body_rows = rows[0], rows[1:]
    # Formatting can stretch a sheet with blank, unnamed columns: only columns holding something.
    used = sorted({c for (r, c), text in texts.items() if r >= header_row and (text.strip() or (r == header_row and text != ""))})
    if len(used) * max(1, len(body_rows)) > MAX_SHEET_CELLS:
        raise InputError(f"{path.name}: sheet '{title}' spans {len(body_rows):,} rows x {len(used):,} columns, more than the "
                         f"{MAX_SHEET_CELLS:,} cells criteria-nlp reads; delete unused rows and columns, or save the answers as CSV")
    names_by_position = header_names([cells.get((header_row, c)) for c in range(1, (used[-1] if used else 0) + 1)])
    header = [names_by_position[c - 1] for c in used]
    frame = pd.DataFrame([[texts.get((r, c), "") for c in used] for r in body_rows], columns=range(len(used)), dtype=object)
    frame.columns = header
    formulas = {}
    for (row, column) in uncomputed:
        if row != header_row and column in used:
            name = header[used.index(column)]
            formulas[name] = formulas.get(name, 0) + 1
    if formulas:
        listing = ", ".join(f"'{name}' ({count})" for name, count in formulas.items())
        notes.append(
            f"formula cells never computed by a spreadsheet were read as empty in {listing}; "
            "open and save the file in Excel or LibreOffice to compute them"
        )
    info = {"format": "xlsx", "sheet": title, "sheets": names, "warnings": notes, "uncomputed_formulas": formulas}
    return frame, info


def _sheet_with_column(sheets, text_col: str | None):
    from criteria_nlp.io.xlsx import sheet_rows

    if text_col:
        for worksheet in sheets:
            for _, row in sheet_rows(worksheet, max_row=50):
                if any(_cell_text(v).strip() for v in row):
                    if text_col in header_names(row):
                        return worksheet
                    break
    return sheets[0]


def _fill_merged(cells: dict, ranges: list[str], name: str) -> int:
    """Give every cell of a merged range the range's value, within the cells' bounding box."""
    if not ranges:
        return 0
    from openpyxl.utils.cell import range_boundaries

    last_row = max((r for r, _ in cells), default=0)
    last_column = max((c for _, c in cells), default=0)
    filled = 0
    for ref in ranges:
        try:
            min_col, min_row, max_col, max_row = range_boundaries(ref)
        except (ValueError, TypeError):
            continue
        value = cells.get((min_row, min_col))
        max_row, max_col = min(max_row, last_row), min(max_col, last_column)
        filled += max(0, max_row - min_row + 1) * max(0, max_col - min_col + 1)
        if filled > MAX_SHEET_CELLS:
            raise InputError(f"{name}: merged cells cover more than {MAX_SHEET_CELLS:,} cells; unmerge them or save the answers as CSV")
        for r in range(min_row, max_row + 1):
            for c in range(min_col, max_col + 1):
                if value is None:
                    cells.pop((r, c), None)
                else:
                    cells[(r, c)] = value
    return len(ranges)


def _uncomputed_formulas(raw: bytes, name: str, title: str, cells: dict) -> set[tuple[int, int]]:
    """Cells holding a formula but no cached result (files written by programs that do not
    calculate, e.g. generated by scripts). (row, column), 1-based."""
    from criteria_nlp.io.xlsx import open_workbook, sheet_rows

    book = open_workbook(raw, name, data_only=False)
    try:
        found = set()
        for row, values in sheet_rows(book[title], cells=True):
            for column, cell in enumerate(values, start=1):
                if getattr(cell, "data_type", None) == "f" and cells.get((row, column)) in (None, ""):
                    found.add((row, column))
        return found
    except Exception:  # the values were read: a formula pass that fails only loses the warning
        return set()
    finally:
        book.close()


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def read_jsonl(path: Path, data: bytes | None = None) -> tuple[pd.DataFrame, dict]:
    """One JSON object per line (lines end with LF; U+2028 inside strings is text), or a JSON
    array of objects."""
    raw = data if data is not None else read_input(path)[0]
    if not raw.strip(b" \t\r\n\x00"):
        raise InputError(f"{path.name}: the file is empty; it needs one JSON object per line")
    decoded = decode_text(raw, path.name)
    text = decoded.text
    if text.lstrip().startswith("["):
        records = _json_array(text, path.name)
    else:
        records = []
        for number, line in enumerate(text.split("\n"), start=1):
            line = line.rstrip("\r")
            if not line.strip():
                continue
            try:
                record = json.loads(line, object_pairs_hook=_keep_repeated_keys)
            except json.JSONDecodeError as exc:
                raise InputError(f"{path.name}: line {number} is not valid JSON ({exc.msg} at column {exc.colno}); fix or remove that line") from None
            except RecursionError:
                raise InputError(f"{path.name}: line {number} holds values nested too deeply to be an answer; fix or remove that line") from None
            if not isinstance(record, dict):
                raise InputError(f"{path.name}: line {number} is not a JSON object; each line must look like {{\"text\": \"...\"}}")
            records.append(record)
    if not records:
        raise InputError(f"{path.name}: no JSON object found; it needs one object per line")
    rows = [{_no_surrogates(key): _no_surrogates(_json_text(value)) for key, value in record.items()} for record in records]
    frame = pd.DataFrame.from_records(rows).fillna("").astype(object)
    frame.columns = header_names(frame.columns)
    return frame, {"format": "jsonl", "encoding": decoded.encoding, "warnings": list(decoded.warnings)}


def _json_array(text: str, name: str) -> list[dict]:
    try:
        data = json.loads(text, object_pairs_hook=_keep_repeated_keys)
    except json.JSONDecodeError as exc:
        raise InputError(f"{name}: not valid JSON ({exc.msg} at line {exc.lineno}); fix the file or export it as JSON lines") from None
    except RecursionError:
        raise InputError(f"{name}: values nested too deeply to be answers; export the answers as JSON lines of flat objects") from None
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise InputError(f"{name}: expected a list of objects like {{\"text\": \"...\"}}")
    return data


def _keep_repeated_keys(pairs) -> dict:
    out: dict = {}
    for key, value in pairs:
        name, number = key, 0
        while name in out:
            number += 1
            name = f"{key}.{number}"
        out[name] = value
    return out


_SURROGATE = re.compile("[\ud800-\udfff]")


def _no_surrogates(text: str) -> str:
    """JSON may escape half a character (\\ud800): it cannot be written as UTF-8, U+FFFD instead."""
    return _SURROGATE.sub("\ufffd", text) if _SURROGATE.search(text) else text


def _json_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False)
    except (RecursionError, ValueError):
        return "[nested too deeply]"


def read_input(path: str | Path, text: bool = False) -> tuple[bytes, str]:
    """The file's bytes and their SHA-256, read once and bounded (io.limits): a FIFO or a
    process substitution (<(cat file)) works and gets the checksum of what was read;
    /dev/zero or an endless stream is refused as soon as it passes the limit, or at once
    when it starts with nothing but NUL bytes."""
    import hashlib

    from criteria_nlp.io.folders import shown
    from criteria_nlp.io.limits import max_input_bytes, too_large

    path = Path(path)
    name = shown(path.name or path)
    limit = max_input_bytes()
    try:
        stream = open(path, "rb")
    except FileNotFoundError:
        raise InputError(_("%(path)s: no such file") % {"path": shown(path)}) from None
    except IsADirectoryError:
        raise InputError(_("%(path)s: is a folder; give the answers file") % {"path": shown(path)}) from None
    except OSError as exc:
        raise InputError(_("%(path)s: cannot be read (%(reason)s)") % {"path": shown(path), "reason": exc.strerror or exc}) from None
    digest, parts, size = hashlib.sha256(), [], 0
    with stream:
        try:
            stat = os.fstat(stream.fileno())
            if statmod.S_ISDIR(stat.st_mode):
                raise InputError(_("%(path)s: is a folder; give the answers file") % {"path": shown(path)})
            if statmod.S_ISREG(stat.st_mode) and stat.st_size > limit:
                raise InputError(too_large(name, "the file"))
            while True:
                chunk = stream.read(min(1 << 20, limit + 1 - size))
                if not chunk:
                    break
                if not size and len(chunk) >= 4096 and not chunk.strip(b"\x00"):
                    raise InputError(f"{name}: holds nothing but NUL bytes (a device or an empty disk image?); give the answers file")
                if not size and text:
                    refuse_binary_head(chunk[:65536], name)  # /dev/urandom: at once, not after 1 GB
                digest.update(chunk)
                parts.append(chunk)
                size += len(chunk)
                if size > limit:
                    raise InputError(too_large(name, "the input"))
        except IsADirectoryError:
            raise InputError(_("%(path)s: is a folder; give the answers file") % {"path": shown(path)}) from None
        except OSError as exc:
            raise InputError(f"{name}: cannot be read ({exc.strerror or exc})") from None
    return b"".join(parts), digest.hexdigest()


def read_table(path: str | Path, sheet: str | int | None = None, text_col: str | None = None) -> tuple[pd.DataFrame, dict]:
    """Read any supported table as all-text columns; returns (frame, info about the read).
    Column names may repeat (see dedupe_columns); `info["warnings"]` lists repairs and
    `info["sha256"]` is the checksum of the bytes read (the file is opened once)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise InputError(f"{path.name}: old .xls workbooks are not supported; save it as .xlsx or 'CSV UTF-8'")
    if suffix == ".ods":
        raise InputError(f"{path.name}: OpenDocument spreadsheets are not read; save it as .xlsx or 'CSV UTF-8'")
    data, checksum = read_input(path, text=suffix not in (".xlsx", ".xlsm"))
    if suffix in (".xlsx", ".xlsm"):
        frame, info = read_xlsx(path, sheet, text_col=text_col, data=data)
    elif suffix in (".jsonl", ".ndjson", ".json"):
        frame, info = read_jsonl(path, data)
    else:
        frame, info = read_delimited(path, data)
    info["sha256"] = checksum
    return frame, info


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__

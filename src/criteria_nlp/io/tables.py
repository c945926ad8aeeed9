"""Reading tables as text, exactly as written: delimited text (delimiter sniffed), XLSX and
JSONL; header names cleaned and made unique."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import sys
import warnings
import zipfile
from pathlib import Path

import pandas as pd

from criteria_nlp.errors import InputError
from criteria_nlp.io.decoding import decode_text, describe_binary, looks_binary

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


def read_delimited(path: Path) -> tuple[pd.DataFrame, dict]:
    raw = path.read_bytes()
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


def read_xlsx(path: Path, sheet: str | int | None = None, text_col: str | None = None) -> tuple[pd.DataFrame, dict]:
    """The values a spreadsheet shows: cached results of formulas, merged cells repeated in
    every cell they cover. Without `sheet`, the first sheet whose header has `text_col`."""
    raw_head = path.read_bytes()[:4096]
    if not raw_head.startswith(b"PK"):
        found = describe_binary(raw_head)
        if found is None and raw_head and not looks_binary(raw_head.decode("latin-1")):
            raise InputError(f"{path.name}: this is a text file, not an Excel workbook; rename it to .csv")
        what = found[0] if found else "not an Excel workbook"
        raise InputError(f"{path.name}: cannot open as an Excel workbook ({what}); save it as .xlsx or 'CSV UTF-8'")
    try:
        import openpyxl

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about unsupported extensions
            book = openpyxl.load_workbook(path, data_only=True)
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
        grid, merged = _sheet_values(worksheet)
        uncomputed = _uncomputed_formulas(path, worksheet.title, grid)
    finally:
        book.close()
    notes = []
    if len(sheets) > 1:
        notes.append(f"read sheet '{worksheet.title}' of {len(sheets)} ({', '.join(repr(n) for n in names)})")
    if merged:
        notes.append(f"{merged} merged cell range(s): each cell of a range was given the range's value")
    keep = [i for i, row in enumerate(grid) if any(_cell_text(v).strip() for v in row)]
    if not keep:
        raise InputError(f"{path.name}: sheet '{worksheet.title}' is empty; it needs a header row and at least one answer")
    header_row = keep[0]
    header = header_names(grid[header_row])
    body = [[_cell_text(v) for v in grid[i]] for i in keep[1:]]
    # Formatting can stretch a sheet with blank, unnamed columns: drop them.
    used = [j for j in range(len(header)) if grid[header_row][j] not in (None, "") or any(row[j].strip() for row in body)]
    header = [header[j] for j in used]
    frame = pd.DataFrame([[row[j] for j in used] for row in body], columns=range(len(used)), dtype=object)
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
    info = {"format": "xlsx", "sheet": worksheet.title, "sheets": names, "warnings": notes, "uncomputed_formulas": formulas}
    return frame, info


def _sheet_with_column(sheets, text_col: str | None):
    if text_col:
        for worksheet in sheets:
            for row in worksheet.iter_rows(values_only=True, max_row=50):
                if any(_cell_text(v).strip() for v in row):
                    if text_col in header_names(row):
                        return worksheet
                    break
    return sheets[0]


def _sheet_values(worksheet) -> tuple[list[list], int]:
    """Grid of values from A1 (rows and columns aligned with the sheet), merged ranges filled."""
    max_row, max_column = worksheet.max_row, worksheet.max_column
    grid = [
        list(row) for row in worksheet.iter_rows(min_row=1, min_col=1, max_row=max_row, max_col=max_column, values_only=True)
    ]
    ranges = list(getattr(worksheet, "merged_cells", None).ranges if getattr(worksheet, "merged_cells", None) else [])
    for merged in ranges:
        value = grid[merged.min_row - 1][merged.min_col - 1]
        for r in range(merged.min_row - 1, min(merged.max_row, max_row)):
            for c in range(merged.min_col - 1, min(merged.max_col, max_column)):
                grid[r][c] = value
    return grid, len(ranges)


def _uncomputed_formulas(path: Path, title: str, grid: list[list]) -> set[tuple[int, int]]:
    """Cells holding a formula but no cached result (files written by programs that do not
    calculate, e.g. generated by scripts). (row, column) 0-based."""
    try:
        with zipfile.ZipFile(path) as archive:
            has_formulas = any(
                b"<f>" in archive.read(name) or b"<f " in archive.read(name)
                for name in archive.namelist() if name.startswith("xl/worksheets/") and name.endswith(".xml")
            )
    except (zipfile.BadZipFile, KeyError, OSError):
        return set()
    if not has_formulas:
        return set()
    import openpyxl

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        book = openpyxl.load_workbook(path, data_only=False)
    try:
        found = set()
        for row in book[title].iter_rows(min_row=1, min_col=1, max_row=len(grid), max_col=len(grid[0]) if grid else 0):
            for cell in row:
                if cell.data_type == "f" and grid[cell.row - 1][cell.column - 1] in (None, ""):
                    found.add((cell.row - 1, cell.column - 1))
        return found
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


def read_jsonl(path: Path) -> tuple[pd.DataFrame, dict]:
    """One JSON object per line (lines end with LF; U+2028 inside strings is text), or a JSON
    array of objects."""
    raw = path.read_bytes()
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
            if not isinstance(record, dict):
                raise InputError(f"{path.name}: line {number} is not a JSON object; each line must look like {{\"text\": \"...\"}}")
            records.append(record)
    if not records:
        raise InputError(f"{path.name}: no JSON object found; it needs one object per line")
    rows = [{key: _json_text(value) for key, value in record.items()} for record in records]
    frame = pd.DataFrame.from_records(rows).fillna("").astype(object)
    frame.columns = header_names(frame.columns)
    return frame, {"format": "jsonl", "encoding": decoded.encoding, "warnings": list(decoded.warnings)}


def _json_array(text: str, name: str) -> list[dict]:
    try:
        data = json.loads(text, object_pairs_hook=_keep_repeated_keys)
    except json.JSONDecodeError as exc:
        raise InputError(f"{name}: not valid JSON ({exc.msg} at line {exc.lineno}); fix the file or export it as JSON lines") from None
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


def _json_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def read_table(path: str | Path, sheet: str | int | None = None, text_col: str | None = None) -> tuple[pd.DataFrame, dict]:
    """Read any supported table as all-text columns; returns (frame, info about the read).
    Column names may repeat (see dedupe_columns); `info["warnings"]` lists repairs."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a folder; give the answers file")
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return read_xlsx(path, sheet, text_col=text_col)
    if suffix in (".jsonl", ".ndjson", ".json"):
        return read_jsonl(path)
    if suffix == ".xls":
        raise InputError(f"{path.name}: old .xls workbooks are not supported; save it as .xlsx or 'CSV UTF-8'")
    if suffix == ".ods":
        raise InputError(f"{path.name}: OpenDocument spreadsheets are not read; save it as .xlsx or 'CSV UTF-8'")
    return read_delimited(path)


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__

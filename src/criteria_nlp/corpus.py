"""Reading answers tables (CSV/TSV in any common encoding, XLSX, JSONL) into a Corpus.

Every value is read as text, exactly as written: "NA", "0012", " 12 " or "=1+1" stay what
they are (only header names are trimmed). Problems with the file become one-line InputErrors
that say how to fix them; what was repaired on the way (NUL bytes dropped, lines in another
encoding, merged cells, uncomputed formulas...) is listed in ``Corpus.read_info["warnings"]``.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import re
import sys
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .errors import InputError

# Columns the pipeline writes; input columns with these names are kept as input_<name>.
OUTPUT_COLUMNS = (
    "id", "text", "language", "language_source", "status", "code", "code_label",
    "confidence", "cluster", "city", "group", "question",
)
SUPPORTED_SUFFIXES = (".csv", ".tsv", ".txt", ".tab", ".xlsx", ".xlsm", ".jsonl", ".ndjson", ".json")
ROLES = ("text", "id", "language", "city", "group", "question")


@dataclass(frozen=True)
class ColumnMap:
    """Which input column plays which role. None means absent (optional roles)."""

    text: str = "text"
    id: str | None = "id"
    language: str | None = None
    city: str | None = None
    group: str | None = None
    question: str | None = None

    def roles(self) -> dict[str, str]:
        """Canonical role -> input column, for the roles that are mapped."""
        return {role: col for role, col in vars(self).items() if col is not None}


@dataclass
class Corpus:
    """The answers of one input file, ready for the pipeline.

    `answers` has one row per non-empty answer with canonical columns `id`, `text` and,
    when mapped, `language`, `city`, `group`, `question`, then the input's other columns.
    `skipped` holds the rows that were not answers (with a `reason`).
    """

    answers: pd.DataFrame
    skipped: pd.DataFrame
    columns: ColumnMap
    extra_columns: list[str]
    source: Path
    checksum: str
    n_rows: int
    read_info: dict = field(default_factory=dict)

    @property
    def texts(self) -> list[str]:
        return self.answers["text"].tolist()

    @property
    def warnings(self) -> list[str]:
        return list(self.read_info.get("warnings", []))

    def summary(self) -> dict:
        return {
            "input_rows": self.n_rows,
            "answers": len(self.answers),
            "skipped": len(self.skipped),
            "skipped_by_reason": self.skipped["reason"].value_counts().to_dict() if len(self.skipped) else {},
        }


def file_checksum(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# ---------------------------------------------------------------------------- binary files

_SIGNATURES = (
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Office file (.xls/.doc)", "save it as .xlsx or 'CSV UTF-8'"),
    (b"%PDF", "a PDF document", "export the answers as CSV, XLSX or JSONL"),
    (b"\x89PNG", "a PNG image", "export the answers as CSV, XLSX or JSONL"),
    (b"\xff\xd8\xff", "a JPEG image", "export the answers as CSV, XLSX or JSONL"),
    (b"GIF8", "a GIF image", "export the answers as CSV, XLSX or JSONL"),
    (b"\x1f\x8b", "a gzip archive", "decompress it first"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive", "extract it first"),
    (b"Rar!", "a RAR archive", "extract it first"),
    (b"\x7fELF", "a program", "export the answers as CSV, XLSX or JSONL"),
    (b"SQLite format 3\x00", "an SQLite database", "export the answers table as CSV"),
)


def describe_binary(raw: bytes) -> tuple[str, str] | None:
    """(what the file is, what to do) for common non-text formats, else None."""
    if raw.startswith(b"PK\x03\x04") or raw.startswith(b"PK\x05\x06"):
        return _describe_zip(raw)
    for magic, what, advice in _SIGNATURES:
        if raw.startswith(magic):
            return what, advice
    return None


def _describe_zip(raw: bytes) -> tuple[str, str]:
    try:
        names = zipfile.ZipFile(io.BytesIO(raw)).namelist()
    except zipfile.BadZipFile:
        return "a damaged zip archive", "export the answers again"
    if "xl/workbook.xml" in names:
        return "an Excel workbook", "rename it to .xlsx"
    if "content.xml" in names:
        return "an OpenDocument file (.ods/.odt)", "save it as .xlsx or 'CSV UTF-8'"
    if any(name.startswith("word/") for name in names):
        return "a Word document", "put the answers in a table and save it as .xlsx or CSV"
    return "a zip archive", "extract the answers file from it first"


def _refuse_binary(raw: bytes, name: str) -> None:
    found = describe_binary(raw)
    if found:
        what, advice = found
        raise InputError(f"{name}: this is {what}, not a text table; {advice}")


# ---------------------------------------------------------------------------- decoding

_BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)

# Windows code pages of the project's languages, most common first: short files often decode
# equally cleanly in several, and then the most common one for survey exports wins.
_LEGACY_ENCODINGS = ("cp1252", "cp1257", "cp1250", "cp1253", "cp1251", "iso8859_15", "mac_roman")


@dataclass
class DecodedText:
    text: str
    encoding: str
    warnings: list[str] = field(default_factory=list)


def decode_bytes(raw: bytes, name: str = "input") -> tuple[str, str]:
    """Decode a text file's bytes; returns (text, encoding). See decode_text."""
    decoded = decode_text(raw, name)
    return decoded.text, decoded.encoding


def decode_text(raw: bytes, name: str = "input") -> DecodedText:
    """Decode a text file's bytes.

    Order: BOM; UTF-16 without BOM (NULs in every other byte); stray NUL bytes dropped;
    strict UTF-8; UTF-8 with some lines in a Windows code page (files pasted together from
    several exports), decoded line by line; else charset-normalizer's best Windows code page.
    Binary files are refused.
    """
    _refuse_binary(raw, name)
    for bom, encoding in _BOMS:
        if raw.startswith(bom):
            return DecodedText(_decode_or_fail(raw, encoding, name), encoding)
    notes: list[str] = []
    if b"\x00" in raw:
        encoding = _utf16_without_bom(raw)
        if encoding:
            return DecodedText(_decode_or_fail(raw, encoding, name), encoding)
        count = raw.count(0)
        raw = raw.replace(b"\x00", b"")
        notes.append(f"{count} NUL byte(s) removed (a damaged or padded export)")
    try:
        return DecodedText(raw.decode("utf-8"), "utf-8", notes)
    except UnicodeDecodeError:
        pass
    if _control_bytes(raw[:65536]) > 0.05:
        raise InputError(f"{name}: this is not a text table (binary content); export the answers as CSV, XLSX or JSONL")
    mixed = _decode_mixed_lines(raw, name)
    if mixed is not None:
        mixed.warnings[:0] = notes
        return mixed
    text, encoding = _decode_legacy(raw, name)
    return DecodedText(text, encoding, notes)


def _control_bytes(data: bytes) -> float:
    """Share of C0 control bytes other than tab, CR, LF (text has almost none)."""
    if not data:
        return 0.0
    return sum(data.count(bytes([b])) for b in range(32) if b not in (9, 10, 13)) / len(data)


def _utf16_without_bom(raw: bytes) -> str | None:
    # Delimiters, digits, spaces and line ends are ASCII, so UTF-16 text has a NUL high byte
    # at regular positions: all odd (little-endian) or all even (big-endian) offsets.
    sample = raw[:65536]
    sample = sample[: len(sample) // 2 * 2]
    half = len(sample) // 2
    if not half:
        return None
    even = sample[0::2].count(0)
    odd = sample[1::2].count(0)
    enough = max(2, 0.02 * half)
    if odd >= enough and even * 10 <= odd:
        return "utf-16-le"
    if even >= enough and odd * 10 <= even:
        return "utf-16-be"
    return None


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _decode_mixed_lines(raw: bytes, name: str) -> DecodedText | None:
    """UTF-8 lines with non-ASCII characters next to lines that are not UTF-8: decode each
    line on its own (the others with the code page that fits them best)."""
    lines = raw.split(b"\n")
    bad = [i for i, line in enumerate(lines) if not _is_utf8(line)]
    bad_set = set(bad)
    real_utf8 = any(not line.isascii() and i not in bad_set for i, line in enumerate(lines))
    if not bad or not real_utf8:
        return None
    _, encoding = _decode_legacy(b"\n".join(lines[i] for i in bad), name)
    text = "\n".join(
        line.decode(encoding, errors="replace") if i in bad_set else line.decode("utf-8")
        for i, line in enumerate(lines)
    )
    shown = ", ".join(str(i + 1) for i in bad[:10]) + (", ..." if len(bad) > 10 else "")
    warning = f"{len(bad)} line(s) were not UTF-8 and were read as {encoding} (lines {shown}); re-save the file as 'CSV UTF-8' to be sure"
    return DecodedText(text, f"utf-8+{encoding}", [warning])


def _decode_legacy(raw: bytes, name: str) -> tuple[str, str]:
    from charset_normalizer import from_bytes

    matches = list(from_bytes(raw, cp_isolation=list(_LEGACY_ENCODINGS)))
    if not matches:
        raise InputError(
            f"{name}: cannot decode the file as text (not UTF-8, UTF-16 or a Windows code page); "
            "save it as 'CSV UTF-8' from your spreadsheet and try again"
        )
    least_chaos = min(m.chaos for m in matches)
    clean = [m for m in matches if m.chaos <= least_chaos + 0.01]
    rank = {encoding: i for i, encoding in enumerate(_LEGACY_ENCODINGS)}
    best = min(clean, key=lambda m: rank.get(m.encoding, len(rank)))
    return str(best), best.encoding


def _decode_or_fail(raw: bytes, encoding: str, name: str) -> str:
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise InputError(f"{name}: looks like {encoding} but byte {exc.start} is invalid (a truncated or damaged file?); re-save the file as 'CSV UTF-8'") from None


def _looks_binary(text: str) -> bool:
    sample = text[:8192]
    if not sample:
        return False
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\t\r\n")
    return "\x00" in sample or controls > 0.05 * len(sample)


# ---------------------------------------------------------------------------- delimited text

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
    if _looks_binary(text):
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


# ---------------------------------------------------------------------------- workbooks

def read_xlsx(path: Path, sheet: str | int | None = None, text_col: str | None = None) -> tuple[pd.DataFrame, dict]:
    """The values a spreadsheet shows: cached results of formulas, merged cells repeated in
    every cell they cover. Without `sheet`, the first sheet whose header has `text_col`."""
    raw_head = path.read_bytes()[:4096]
    if not raw_head.startswith(b"PK"):
        found = describe_binary(raw_head)
        if found is None and raw_head and not _looks_binary(raw_head.decode("latin-1")):
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


# ---------------------------------------------------------------------------- JSON lines

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


# ---------------------------------------------------------------------------- dispatch

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


# ---------------------------------------------------------------------------- corpus

def resolve_columns(
    found: list[str],
    *,
    text_col: str = "text",
    id_col: str | None = None,
    lang_col: str | None = None,
    city_col: str | None = None,
    group_col: str | None = None,
    question_col: str | None = None,
    source: str = "input",
) -> ColumnMap:
    """Check the requested columns against the file's. Roles left unset fall back to the
    column of the same name (id, language, city, group, question) when the file has one."""
    listing = ", ".join(repr(c) for c in found)

    def require(option: str, column: str) -> str:
        if column not in found:
            close = [c for c in found if c.casefold() == column.strip().casefold()]
            hint = f"; did you mean '{close[0]}'? " if close else "; "
            raise InputError(f"{source}: no column '{column}' ({option}){hint}columns found: {listing}")
        return column

    def optional(option: str, column: str | None, default: str) -> str | None:
        if column:
            return require(option, column)
        return default if default in found else None

    return ColumnMap(
        text=require("--text-col", text_col),
        id=optional("--id-col", id_col, "id"),
        language=optional("--lang-col", lang_col, "language"),
        city=optional("--city-col", city_col, "city"),
        group=optional("--group-col", group_col, "group"),
        question=optional("--question-col", question_col, "question"),
    )


def read_answers(
    path: str | Path,
    *,
    text_col: str = "text",
    id_col: str | None = None,
    lang_col: str | None = None,
    city_col: str | None = None,
    group_col: str | None = None,
    question_col: str | None = None,
    sheet: str | int | None = None,
) -> Corpus:
    """Read an answers table into a Corpus (see the module docstring for what is accepted)."""
    path = Path(path)
    frame, info = read_table(path, sheet=sheet, text_col=text_col)
    info.setdefault("warnings", [])
    if frame.shape[1] == 0:
        raise InputError(f"{path.name}: the file is empty; it needs a header row and at least one answer")
    requested = {
        "--text-col": text_col, "--id-col": id_col or "id", "--lang-col": lang_col or "language",
        "--city-col": city_col or "city", "--group-col": group_col or "group", "--question-col": question_col or "question",
    }
    names, notes = dedupe_columns([str(c) for c in frame.columns], set(requested.values()), path.name)
    frame.columns = names
    info["warnings"] += notes
    columns = resolve_columns(
        names, text_col=text_col, id_col=id_col, lang_col=lang_col,
        city_col=city_col, group_col=group_col, question_col=question_col,
        source=path.name if "sheet" not in info else f"{path.name} (sheet '{info['sheet']}')",
    )
    _refuse_uncomputed(info, columns, path.name)
    n_rows = len(frame)
    if n_rows == 0:
        raise InputError(f"{path.name}: the file has a header but no rows; add answers below the header")

    canonical = pd.DataFrame(index=frame.index)
    if columns.id is None:
        # Row numbers as in a spreadsheet's data rows, so ids are stable across re-runs.
        canonical["id"] = [f"row-{i + 1}" for i in range(n_rows)]
    else:
        canonical["id"] = frame[columns.id].astype(str)  # exactly as written: ids are join keys
    canonical["text"] = frame[columns.text].astype(str)
    for role in ("language", "city", "group", "question"):
        column = getattr(columns, role)
        if column is not None:
            canonical[role] = frame[column].astype(str).str.strip()

    mapped = set(columns.roles().values())
    extras = [c for c in frame.columns if c not in mapped]
    extra_names = []
    for column in extras:
        name = column
        while name in OUTPUT_COLUMNS or name in canonical.columns:
            name = f"input_{name}"
        canonical[name] = frame[column].astype(str)
        extra_names.append(name)

    _check_ids(canonical, path.name, columns.id)
    empty = canonical["text"].str.strip() == ""
    skipped = canonical.loc[empty, ["id", "text"]].assign(reason="empty answer")
    answers = canonical.loc[~empty].reset_index(drop=True)
    if answers.empty:
        raise InputError(f"{path.name}: no non-empty answer in column '{columns.text}'; check --text-col")
    return Corpus(
        answers=answers,
        skipped=skipped.reset_index(drop=True),
        columns=columns,
        extra_columns=extra_names,
        source=path,
        checksum=file_checksum(path),
        n_rows=n_rows,
        read_info=info,
    )


def _refuse_uncomputed(info: dict, columns: ColumnMap, name: str) -> None:
    formulas = info.get("uncomputed_formulas") or {}
    for role, column in columns.roles().items():
        if formulas.get(column):
            raise InputError(
                f"{name}: column '{column}' ({role}) holds {formulas[column]} formula(s) that were never computed; "
                "open and save the file in Excel or LibreOffice (or paste the values) and try again"
            )


def _check_ids(frame: pd.DataFrame, name: str, id_column: str | None) -> None:
    ids = frame["id"]
    blank = ids.str.strip() == ""
    if blank.any():
        position = int(blank.to_numpy().argmax()) + 1
        raise InputError(f"{name}: empty id in column '{id_column}' (data row {position}); every answer needs an id (or omit --id-col to number rows)")
    duplicated = ids[ids.duplicated(keep=False)]
    if len(duplicated):
        shown = ", ".join(repr(v) for v in list(dict.fromkeys(duplicated))[:5])
        raise InputError(f"{name}: duplicate ids in column '{id_column}' ({shown}); ids must be unique")

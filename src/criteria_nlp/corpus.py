"""Reading answers tables (CSV/TSV in any common encoding, XLSX, JSONL) into a Corpus.

Every value is read as text, exactly as written: "NA", "0012" or "=1+1" stay what they are.
Problems with the file become one-line InputErrors that say how to fix them.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .errors import InputError

# Columns the pipeline writes; input columns with these names are kept as input_<name>.
OUTPUT_COLUMNS = (
    "id", "text", "language", "language_source", "status", "code", "code_label",
    "confidence", "cluster", "city", "group", "question",
)
SUPPORTED_SUFFIXES = (".csv", ".tsv", ".txt", ".tab", ".xlsx", ".xlsm", ".jsonl", ".ndjson")


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


# ---------------------------------------------------------------------------- decoding

_BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)


def decode_bytes(raw: bytes, name: str = "input") -> tuple[str, str]:
    """Decode a text file's bytes; returns (text, encoding).

    Order: BOM, UTF-16 without BOM (NUL in every other byte), strict UTF-8, then
    charset-normalizer's best guess (cp1252 and friends). Binary files are refused.
    """
    for bom, encoding in _BOMS:
        if raw.startswith(bom):
            return raw.decode(encoding), encoding
    sample = raw[:4096]
    if sample and b"\x00" in sample:
        even_nuls = sample[0::2].count(0)
        odd_nuls = sample[1::2].count(0)
        half = len(sample) / 2
        # Text in UTF-16 has NULs in one of the two byte positions for ASCII characters.
        if odd_nuls > 0.3 * half and even_nuls < 0.05 * half:
            return _decode_or_fail(raw, "utf-16-le", name), "utf-16-le"
        if even_nuls > 0.3 * half and odd_nuls < 0.05 * half:
            return _decode_or_fail(raw, "utf-16-be", name), "utf-16-be"
        raise InputError(f"{name}: this is not a text table (binary content); export the answers as CSV, XLSX or JSONL")
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    return _decode_legacy(raw, name)


# Windows code pages of the project's languages, most common first: short files often decode
# equally cleanly in several, and then the most common one for survey exports wins.
_LEGACY_ENCODINGS = ("cp1252", "cp1257", "cp1250", "cp1253", "cp1251", "iso8859_15", "mac_roman")


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
        raise InputError(f"{name}: looks like {encoding} but byte {exc.start} is invalid; re-save the file as CSV UTF-8") from None


def _looks_binary(text: str) -> bool:
    sample = text[:8192]
    if not sample:
        return False
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\t\r\n")
    return "\x00" in sample or controls > 0.05 * len(sample)


# ---------------------------------------------------------------------------- readers

def sniff_delimiter(text: str, suffix: str) -> str:
    if suffix in (".tsv", ".tab"):
        return "\t"
    sample = text[:65536]
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        header = sample.splitlines()[0] if sample.splitlines() else ""
        counts = {d: header.count(d) for d in (",", ";", "\t")}
        best = max(counts, key=counts.get)
        return best if counts[best] else ","


def read_delimited(path: Path) -> tuple[pd.DataFrame, dict]:
    raw = path.read_bytes()
    if not raw.strip():
        raise InputError(f"{path.name}: the file is empty; it needs a header row and at least one answer")
    text, encoding = decode_bytes(raw, path.name)
    if _looks_binary(text):
        raise InputError(f"{path.name}: this is not a text table (binary content); export the answers as CSV, XLSX or JSONL")
    delimiter = sniff_delimiter(text, path.suffix.lower())
    try:
        frame = pd.read_csv(
            io.StringIO(text), sep=delimiter, dtype=str, keep_default_na=False,
            na_filter=False, skip_blank_lines=True,
        )
    except pd.errors.EmptyDataError:
        raise InputError(f"{path.name}: the file is empty; it needs a header row and at least one answer") from None
    except pd.errors.ParserError as exc:
        raise InputError(f"{path.name}: the table is malformed ({_first_line(exc)}); check quotes and separators") from None
    return frame, {"format": "csv", "encoding": encoding, "delimiter": delimiter}


def read_xlsx(path: Path, sheet: str | int | None = None) -> tuple[pd.DataFrame, dict]:
    try:
        import openpyxl

        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a broken zip or non-xlsx file
        raise InputError(f"{path.name}: cannot open as an Excel workbook ({_first_line(exc)}); save it as .xlsx or CSV") from None
    try:
        names = book.sheetnames
        chosen = names[0] if sheet is None else (names[sheet] if isinstance(sheet, int) else sheet)
        if chosen not in names:
            raise InputError(f"{path.name}: no sheet named '{chosen}'; sheets found: {', '.join(names)}")
        rows = list(book[chosen].iter_rows(values_only=True))
    finally:
        book.close()
    rows = [row for row in rows if any(value is not None and str(value).strip() for value in row)]
    if not rows:
        raise InputError(f"{path.name}: sheet '{chosen}' is empty; it needs a header row and at least one answer")
    header = [_cell_text(value) or f"column_{i + 1}" for i, value in enumerate(rows[0])]
    body = [[_cell_text(value) for value in row] for row in rows[1:]]
    frame = pd.DataFrame(body, columns=_dedupe_names(header), dtype=str)
    return frame, {"format": "xlsx", "sheet": chosen, "sheets": names}


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _dedupe_names(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        if name in seen:
            seen[name] += 1
            out.append(f"{name}.{seen[name]}")
        else:
            seen[name] = 0
            out.append(name)
    return out


def read_jsonl(path: Path) -> tuple[pd.DataFrame, dict]:
    raw = path.read_bytes()
    if not raw.strip():
        raise InputError(f"{path.name}: the file is empty; it needs one JSON object per line")
    text, encoding = decode_bytes(raw, path.name)
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path.name}: line {number} is not valid JSON ({exc.msg}); fix or remove that line") from None
        if not isinstance(record, dict):
            raise InputError(f"{path.name}: line {number} is not a JSON object; each line must be {{\"text\": ...}}")
        records.append({key: _json_text(value) for key, value in record.items()})
    frame = pd.DataFrame.from_records(records).fillna("").astype(str)
    return frame, {"format": "jsonl", "encoding": encoding}


def _json_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def read_table(path: str | Path, sheet: str | int | None = None) -> tuple[pd.DataFrame, dict]:
    """Read any supported table as all-text columns; returns (frame, info about the read)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a folder; give the answers file")
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return read_xlsx(path, sheet)
    if suffix in (".jsonl", ".ndjson"):
        return read_jsonl(path)
    if suffix == ".xls":
        raise InputError(f"{path.name}: old .xls workbooks are not supported; save it as .xlsx or CSV UTF-8")
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
            raise InputError(f"{source}: no column '{column}' ({option}); columns found: {listing}")
        return column

    text = require("--text-col", text_col)
    ident = require("--id-col", id_col) if id_col else ("id" if "id" in found else None)
    language = require("--lang-col", lang_col) if lang_col else ("language" if "language" in found else None)
    def optional(option: str, column: str | None, default: str) -> str | None:
        if column:
            return require(option, column)
        return default if default in found else None

    return ColumnMap(
        text=text,
        id=ident,
        language=language,
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
    frame, info = read_table(path, sheet=sheet)
    if frame.shape[1] == 0 or (len(frame) == 0 and not len(frame.columns)):
        raise InputError(f"{path.name}: the file is empty; it needs a header row and at least one answer")
    frame.columns = [str(c) for c in frame.columns]
    columns = resolve_columns(
        list(frame.columns), text_col=text_col, id_col=id_col, lang_col=lang_col,
        city_col=city_col, group_col=group_col, question_col=question_col, source=path.name,
    )
    n_rows = len(frame)
    if n_rows == 0:
        raise InputError(f"{path.name}: the file has a header but no rows; add answers below the header")

    canonical = pd.DataFrame(index=frame.index)
    if columns.id is None:
        # Row numbers as in a spreadsheet's data rows, so ids are stable across re-runs.
        canonical["id"] = [f"row-{i + 1}" for i in range(n_rows)]
    else:
        canonical["id"] = frame[columns.id].astype(str).str.strip()
    canonical["text"] = frame[columns.text].astype(str)
    for role in ("language", "city", "group", "question"):
        column = getattr(columns, role)
        if column is not None:
            canonical[role] = frame[column].astype(str).str.strip()

    mapped = set(columns.roles().values())
    extras = [c for c in frame.columns if c not in mapped]
    for column in extras:
        name = f"input_{column}" if column in OUTPUT_COLUMNS else column
        canonical[name] = frame[column]
    extra_names = [f"input_{c}" if c in OUTPUT_COLUMNS else c for c in extras]

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


def _check_ids(frame: pd.DataFrame, name: str, id_column: str | None) -> None:
    ids = frame["id"]
    blank = ids == ""
    if blank.any():
        row = int(blank.idxmax()) + 2  # +1 for the header, +1 for 1-based rows
        raise InputError(f"{name}: empty id in column '{id_column}' at row {row}; every answer needs an id (or omit --id-col to number rows)")
    duplicated = ids[ids.duplicated(keep=False)]
    if len(duplicated):
        shown = ", ".join(repr(v) for v in list(dict.fromkeys(duplicated))[:5])
        raise InputError(f"{name}: duplicate ids in column '{id_column}' ({shown}); ids must be unique")

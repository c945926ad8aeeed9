"""Safe output writing: atomic replacement (a killed run never leaves half a file) and
neutralised spreadsheet formulas (citizen text must never execute in Excel/LibreOffice)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pandas as pd

# A cell starting with one of these is evaluated as a formula by spreadsheets (OWASP CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def neutralise_cell(value):
    """Prefix a formula-looking string with a quote so spreadsheets show it as text."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(neutralise_cell)
    out.columns = [neutralise_cell(str(c)) for c in out.columns]
    return out


def unneutralise_cell(value):
    """Inverse of neutralise_cell for reading our own CSV outputs back."""
    if isinstance(value, str) and value.startswith("'") and value[1:].startswith(FORMULA_PREFIXES):
        return value[1:]
    return value


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same folder, fsync, then rename over the target."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_text_atomic(path: Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: Path, data) -> None:
    write_text_atomic(path, json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def write_csv_atomic(path: Path, frame: pd.DataFrame, *, neutralise: bool = True) -> None:
    """UTF-8 CSV, formulas neutralised. No BOM: scripts reading the file with the csv
    module would see it in the first column's name (the review workbook is for Excel)."""
    table = neutralise_frame(frame) if neutralise else frame
    write_bytes_atomic(path, table.to_csv(index=False, lineterminator="\n").encode("utf-8"))

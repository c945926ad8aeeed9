"""Size limits on what is read: an input costs memory and time in proportion to what it
really holds, never to what it claims (a sheet dimension, a compressed part), and a file
that would cost too much is refused early with a message that says how to go further."""

from __future__ import annotations

import os

LIMIT_ENV = "CRITERIA_NLP_MAX_INPUT_MB"


DEFAULT_MAX_INPUT_MB = 1024


def max_input_bytes() -> int:
    """The largest input file read (text, or one part of a workbook once uncompressed)."""
    try:
        megabytes = float(os.environ.get(LIMIT_ENV, "") or DEFAULT_MAX_INPUT_MB)
    except ValueError:
        megabytes = DEFAULT_MAX_INPUT_MB
    return int(max(megabytes, 0.001) * 1024 * 1024)


def shown_size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):,.0f} MB"
    return f"{size / 1024:,.0f} KB"


def too_large(name: str, what: str) -> str:
    limit = max_input_bytes()
    return (f"{name}: {what} is larger than {shown_size(limit)}, the limit for an input; "
            f"split the file, or raise the limit with {LIMIT_ENV} if this is really your data")


MAX_CELL_CHARS = 32_767  # Excel's own limit for the text of one cell


MAX_SHEET_CELLS = 50_000_000  # rows x columns of the table built from a sheet

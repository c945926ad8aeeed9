"""Decoding an input file's bytes: BOMs, UTF-16 as Excel writes it, legacy code pages,
lines in mixed encodings, and binary files refused with a message that names them."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field

from criteria_nlp.errors import InputError

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


def refuse_binary_head(head: bytes, name: str) -> None:
    """Refuse a binary stream from its first bytes (before the rest is read): a known binary
    format, or bytes that are neither UTF-8, UTF-16 nor text in a code page."""
    _refuse_binary(head, name)
    if any(head.startswith(bom) for bom, _ in _BOMS) or _utf16_without_bom(head):
        return
    try:
        head[: max(0, len(head) - 4)].decode("utf-8")  # the last character may be cut
        return
    except UnicodeDecodeError:
        pass
    if _control_bytes(head) > 0.05:
        raise InputError(f"{name}: this is not a text table (binary content); export the answers as CSV, XLSX or JSONL")


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


def looks_binary(text: str) -> bool:
    sample = text[:8192]
    if not sample:
        return False
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\t\r\n")
    return "\x00" in sample or controls > 0.05 * len(sample)

"""The append-only decision store (decisions.jsonl): one checksummed JSON line per
decision, never rewritten; a damaged store is refused with the line to repair.

Harmless marks of a text editor are tolerated: a byte-order mark, CRLF line ends, a last
line without its newline, blank lines at the end (an append first trims that trailing
whitespace, nothing else). An append is all or nothing: the space is reserved first, and on
any failure (disk full, quota, I/O error) the file is cut back to its previous end, so a
failed import leaves the store exactly as it was; success is reported only after fsync."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import time
from pathlib import Path

from criteria_nlp.errors import CriteriaNLPError
from criteria_nlp.io.folders import STORE_NAME
from criteria_nlp.io.outputs import fsync_folder

_BOM = b"\xef\xbb\xbf"


_WHITESPACE = b" \t\r\n"


class DecisionStoreError(CriteriaNLPError):
    """The decision store is unreadable or was altered; it is never overwritten."""


def _line_checksum(record: dict) -> str:
    body = {k: v for k, v in record.items() if k != "sha256"}
    return hashlib.sha256(json.dumps(body, ensure_ascii=False, sort_keys=True).encode("utf-8")).hexdigest()


def _open_no_follow(path: Path, flags: int, mode: int = 0o666) -> int:
    """os.open that never follows a symbolic link planted at `path`."""
    try:
        return os.open(path, flags | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0), mode)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise DecisionStoreError(
                f"{path}: is a symbolic link; criteria-nlp never reads or writes the decision store through a link: "
                "replace the link by the file itself"
            ) from None
        raise


class DecisionStore:
    """OUTDIR/decisions.jsonl: one JSON record per line (seq, timestamp, analyst, kind, target,
    value), each with a checksum that also covers the previous line's checksum, so an edited,
    deleted or reordered line is detected. Only ever appended to."""

    def __init__(self, outdir: str | Path):
        self.path = Path(outdir) / STORE_NAME

    def _read(self) -> bytes | None:
        try:
            fd = _open_no_follow(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        with os.fdopen(fd, "rb") as stream:
            return stream.read()

    def records(self) -> list[dict]:
        data = self._read()
        return [] if data is None else self._parse(data)[0]

    def _parse(self, data: bytes) -> tuple[list[dict], int]:
        """(records, the offset just after the last record's bytes, before any line end)."""
        start = len(_BOM) if data.startswith(_BOM) else 0
        content_end = len(data.rstrip(_WHITESPACE))
        if content_end <= start:
            return [], start
        body = data[start:content_end]
        complete_last = b"\n" in data[content_end:]  # the last record is followed by a line end
        try:
            text = body.decode("utf-8", errors="strict")
        except UnicodeDecodeError as exc:
            raise DecisionStoreError(
                f"{self.path}: byte {exc.start + start} is not UTF-8 (the store was damaged or saved in another encoding); "
                "restore it from a backup (it is never rewritten)"
            ) from None
        # Split on "\n" only: notes may hold U+2028 or other characters that splitlines() breaks on.
        lines = text.split("\n")
        records, previous = [], ""
        for number, line in enumerate(lines, start=1):
            last = number == len(lines)
            if not line.strip():
                raise DecisionStoreError(
                    f"{self.path} line {number}: empty line (the store was edited by hand); "
                    "delete that empty line, the other lines are intact"
                )
            try:
                record = json.loads(line)
            except (json.JSONDecodeError, RecursionError) as exc:
                if last and not complete_last:
                    raise DecisionStoreError(
                        f"{self.path}: the last line is incomplete (an interrupted import?); "
                        "remove that partial last line by hand, then import the workbook again"
                    ) from None
                what = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
                raise DecisionStoreError(f"{self.path} line {number}: not valid JSON ({what}); the store was edited or damaged — restore it from a backup (it is never rewritten)") from None
            if not isinstance(record, dict) or record.get("sha256") != _line_checksum(record) or record.get("previous") != previous:
                raise DecisionStoreError(f"{self.path} line {number}: checksum mismatch — the line was edited, removed or reordered by hand; restore the file from a backup (it is never rewritten)")
            if record.get("seq") != number:
                raise DecisionStoreError(f"{self.path} line {number}: sequence number {record.get('seq')} where {number} was expected; restore the file from a backup")
            previous = record["sha256"]
            records.append(record)
        return records, content_end

    def append(self, entries: list[dict], analyst: str | None = None) -> list[dict]:
        """Append entries (kind, target, value); returns the stored records. All or nothing:
        on any failure the store is left as it was and DecisionStoreError (or OSError for
        an unexpected failure) is raised."""
        if not entries:
            self.records()  # still refuses a damaged store
            return []
        self.path.parent.mkdir(parents=True, exist_ok=True)
        created = not os.path.lexists(self.path)
        fd = _open_no_follow(self.path, os.O_RDWR | os.O_CREAT)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # two importers on one store take turns
            with os.fdopen(os.dup(fd), "rb") as stream:
                data = stream.read()
            existing, end = self._parse(data)  # refuses to append to a damaged store
            # Keep the line end that follows the last record; trailing blank lines go.
            tail = data[end:]
            if not existing:
                position, prefix = end, b""
            elif tail.startswith(b"\r\n"):
                position, prefix = end + 2, b""
            elif tail.startswith(b"\n"):
                position, prefix = end + 1, b""
            else:
                position, prefix = end, b"\n"
            previous = existing[-1]["sha256"] if existing else ""
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
            stored, lines = [], []
            for offset, entry in enumerate(entries, start=1):
                record = {
                    "seq": len(existing) + offset,
                    "timestamp": stamp,
                    "analyst": analyst or None,
                    "kind": entry["kind"],
                    "target": entry["target"],
                    "value": entry.get("value"),
                    "previous": previous,
                }
                record["sha256"] = previous = _line_checksum(record)
                stored.append(record)
                lines.append(json.dumps(record, ensure_ascii=False, sort_keys=True))
            payload = prefix + ("\n".join(lines) + "\n").encode("utf-8")
            try:
                _write_all_or_nothing(fd, position, payload, len(data))
            except OSError as exc:
                if created:  # the store did not exist: leave none
                    with contextlib.suppress(OSError):
                        os.unlink(self.path)
                raise DecisionStoreError(
                    f"{self.path}: nothing recorded, the store is unchanged: {exc.strerror or exc} while writing "
                    f"{len(entries)} decision(s); free some space (or fix the folder's permissions) and import again"
                ) from None
        finally:
            os.close(fd)
        if created:
            fsync_folder(self.path.parent)
        return stored


def _write_all_or_nothing(fd: int, position: int, payload: bytes, size: int) -> None:
    """Write `payload` at `position` (cutting whatever whitespace followed it) and fsync; on
    any failure cut the file back to `position` so that the store is as before."""
    try:
        # Reserve the space first: a full disk fails here, before one byte is written.
        with contextlib.suppress(AttributeError):
            try:
                os.posix_fallocate(fd, position, len(payload))
            except OSError as exc:
                if exc.errno not in (errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL):
                    raise
        if size > position:
            os.ftruncate(fd, position)
        view, written = memoryview(payload), 0
        while written < len(payload):
            count = os.pwrite(fd, view[written:], position + written)
            if count <= 0:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            written += count
        os.ftruncate(fd, position + len(payload))  # drop what fallocate reserved beyond, if anything
        os.fsync(fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.ftruncate(fd, position)
            os.fsync(fd)
        raise


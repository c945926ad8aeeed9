"""The append-only decision store (decisions.jsonl): one checksummed JSON line per
decision, never rewritten; a damaged store is refused with the line to repair."""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

from criteria_nlp.errors import CriteriaNLPError

STORE_NAME = "decisions.jsonl"


class DecisionStoreError(CriteriaNLPError):
    """The decision store is unreadable or was altered; it is never overwritten."""


def _line_checksum(record: dict) -> str:
    body = {k: v for k, v in record.items() if k != "sha256"}
    return hashlib.sha256(json.dumps(body, ensure_ascii=False, sort_keys=True).encode("utf-8")).hexdigest()


class DecisionStore:
    """OUTDIR/decisions.jsonl: one JSON record per line (seq, timestamp, analyst, kind, target,
    value), each with a checksum that also covers the previous line's checksum, so an edited,
    deleted or reordered line is detected. Only ever appended to."""

    def __init__(self, outdir: str | Path):
        self.path = Path(outdir) / STORE_NAME

    def records(self) -> list[dict]:
        if not self.path.exists():
            return []
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            raise DecisionStoreError(
                f"{self.path}: the last line is incomplete (an interrupted import?); "
                "remove that partial last line by hand, then import the workbook again"
            )
        try:
            text = data.decode("utf-8", errors="strict")
        except UnicodeDecodeError as exc:
            raise DecisionStoreError(
                f"{self.path}: byte {exc.start} is not UTF-8 (the store was damaged or saved in another encoding); "
                "restore it from a backup (it is never rewritten)"
            ) from None
        records, previous = [], ""
        # Split on "\n" only: notes may hold U+2028 or other characters that splitlines() breaks on.
        for number, line in enumerate(text[:-1].split("\n") if text else [], start=1):
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DecisionStoreError(f"{self.path} line {number}: not valid JSON ({exc.msg}); the store was edited or damaged — restore it from a backup (it is never rewritten)") from None
            if not isinstance(record, dict) or record.get("sha256") != _line_checksum(record) or record.get("previous") != previous:
                raise DecisionStoreError(f"{self.path} line {number}: checksum mismatch — the line was edited, removed or reordered by hand; restore the file from a backup (it is never rewritten)")
            if record.get("seq") != number:
                raise DecisionStoreError(f"{self.path} line {number}: sequence number {record.get('seq')} where {number} was expected; restore the file from a backup")
            previous = record["sha256"]
            records.append(record)
        return records

    def append(self, entries: list[dict], analyst: str | None = None) -> list[dict]:
        """Append entries (kind, target, value); returns the stored records."""
        existing = self.records()  # refuses to append to a damaged store
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
        if lines:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # One write in append mode, then fsync: a crash leaves at worst a partial last line,
            # which records() reports instead of silently dropping.
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, ("\n".join(lines) + "\n").encode("utf-8"))
                os.fsync(fd)
            finally:
                os.close(fd)
        return stored

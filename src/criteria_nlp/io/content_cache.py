"""A persistent, content-addressed store of small results (language probabilities, token
analyses): the same design as the embedding cache (sqlite in WAL mode, one file per namespace
in the cache folder, keys = sha256 of namespace + content), so a re-run recomputes only the
texts it has not seen. Each batch is committed when written (a killed run keeps what it
stored) and the file is bounded: past `max_entries` rows the oldest written go first.
A cache the disk refuses (full, a file size limit: sqlite's I/O errors) is skipped for the rest
of the run, which goes on without it, only slower; a damaged file is a named error.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path

from criteria_nlp.errors import OutputError

_SQL_CHUNK = 500  # sqlite limits the number of "?" in one statement (999 in old builds)
DEFAULT_MAX_ENTRIES = 2_000_000  # rows kept per namespace (a few GB at most for token analyses)


class ContentCache:
    """Bytes keyed by sha256(namespace + key), in ``<directory>/<sha1(namespace)>.sqlite``."""

    def __init__(self, directory: str | Path, namespace: str, max_entries: int = DEFAULT_MAX_ENTRIES):
        if max_entries < 1:
            raise ValueError("max_entries must be >= 1")
        self.namespace = namespace
        self.max_entries = max_entries
        self.path = Path(directory) / (hashlib.sha1(namespace.encode("utf-8")).hexdigest() + ".sqlite")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.write_error: str | None = None  # why the cache was skipped, when it was
        self._conn = self._open()

    def key(self, content: str) -> str:
        return hashlib.sha256((self.namespace + "\x00" + content).encode("utf-8")).hexdigest()

    def get_many(self, contents: Sequence[str]) -> dict[str, bytes]:
        """content -> stored bytes, for the contents already stored."""
        keys = {self.key(c): c for c in dict.fromkeys(contents)}
        found: dict[str, bytes] = {}
        unique = list(keys)
        for start in range(0, len(unique), _SQL_CHUNK):
            chunk = unique[start : start + _SQL_CHUNK]
            rows = self._query(f"SELECT key, value FROM entries WHERE key IN ({','.join('?' * len(chunk))})", chunk)
            found.update((keys[k], bytes(v)) for k, v in rows)
        return found

    def put_many(self, items: Iterable[tuple[str, bytes]]) -> None:
        """Store (content, bytes) pairs in one transaction, committed before returning; then
        drop the oldest rows if the file holds more than `max_entries`."""
        rows = [(self.key(c), sqlite3.Binary(v)) for c, v in items]
        if not rows or self.write_error is not None or self._conn is None:
            return
        try:
            with self._conn:
                # REPLACE gives the row a new rowid: rewritten entries count as recent.
                self._conn.executemany("INSERT OR REPLACE INTO entries (key, value) VALUES (?, ?)", rows)
                # max - min rowid bounds the count and costs two index look-ups (COUNT scans).
                low, high = self._conn.execute("SELECT MIN(rowid), MAX(rowid) FROM entries").fetchone()
                excess = (high - low + 1 - self.max_entries) if high is not None else 0
                if excess > 0:
                    excess = len(self) - self.max_entries
                if excess > 0:
                    # Trim to 90 % of the bound, so trimming happens once in a while, not per batch.
                    drop = excess + self.max_entries // 10
                    self._conn.execute("DELETE FROM entries WHERE rowid IN (SELECT rowid FROM entries ORDER BY rowid LIMIT ?)", (drop,))
        except sqlite3.Error as exc:
            # The transaction was rolled back: what was stored before is intact.
            self.write_error = str(exc)

    def __len__(self) -> int:
        rows = self._query("SELECT COUNT(*) FROM entries", [])
        return rows[0][0] if rows else 0

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()

    def __getstate__(self):  # a connection cannot be pickled or shared across processes
        raise TypeError("a ContentCache cannot be pickled: open one per process")

    def _open(self) -> sqlite3.Connection | None:
        try:
            # check_same_thread=False: the analysis runs in a background thread while embedding;
            # the connection is only ever used by one thread at a time.
            conn = sqlite3.connect(self.path, timeout=60, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            with conn:
                conn.execute("CREATE TABLE IF NOT EXISTS entries (key TEXT PRIMARY KEY, value BLOB NOT NULL)")
                conn.execute("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT)")
                conn.execute("INSERT OR IGNORE INTO meta VALUES ('namespace', ?)", (self.namespace,))
        except sqlite3.Error as exc:
            if _disk_refused(exc):
                self.write_error = str(exc)
                return None
            raise self._error(exc) from exc
        return conn

    def _query(self, sql: str, params: Sequence) -> list[tuple]:
        if self._conn is None:
            return []
        try:
            return self._conn.execute(sql, list(params)).fetchall()
        except sqlite3.Error as exc:
            if _disk_refused(exc):
                self.write_error = str(exc)
                return []
            raise self._error(exc) from exc

    def _error(self, exc: sqlite3.Error) -> OutputError:
        return OutputError(
            f"cache {self.path} is unusable ({exc}): delete that file (it is rebuilt on the next run), "
            "run `criteria-nlp cache clear`, or check the folder is writable"
        )


def _disk_refused(exc: sqlite3.Error) -> bool:
    """An I/O error (disk full, file size limit), as opposed to a damaged file."""
    message = str(exc).lower()
    return isinstance(exc, sqlite3.OperationalError) and ("disk i/o error" in message or "disk is full" in message)

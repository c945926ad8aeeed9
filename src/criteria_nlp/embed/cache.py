"""A persistent embedding cache (sqlite, one file per model id) and the embedder that uses it.

Embedding is the pipeline's main cost, so vectors are stored as soon as each chunk is computed:
a run that is killed resumes from what was stored, and re-running on the same answers is instant.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from criteria_nlp.embed.base import (
    Embedder,
    as_text_list,
    check_shape,
    normalise_for_cache,
)
from criteria_nlp.embed.shipped import find_shipped
from criteria_nlp.errors import OutputError
from criteria_nlp.progress import progress_bar

# sqlite limits the number of "?" in one statement (999 in old builds).
_SQL_CHUNK = 500


class EmbeddingCache:
    """Vectors keyed by sha256(model id + normalised text), in ``<directory>/<sha1(model_id)>.sqlite``."""

    def __init__(self, directory: Path, model_id: str):
        self.model_id = model_id
        self.path = Path(directory) / (hashlib.sha1(model_id.encode("utf-8")).hexdigest() + ".sqlite")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = self._open()

    @staticmethod
    def key(model_id: str, text: str) -> str:
        payload = model_id + "\x00" + normalise_for_cache(text)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()

    def get_many(self, texts: Sequence[str]) -> dict[int, np.ndarray]:
        """Index -> vector for the texts already cached (read-only float32 arrays)."""
        keys = [self.key(self.model_id, t) for t in texts]
        found: dict[str, np.ndarray] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), _SQL_CHUNK):
            chunk = unique[start : start + _SQL_CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = self._query(f"SELECT key, dim, vec FROM vectors WHERE key IN ({marks})", chunk)
            for key, dim, blob in rows:
                if len(blob) == 4 * dim:  # a damaged row is treated as a miss and re-embedded
                    found[key] = np.frombuffer(blob, dtype="<f4")
        return {i: found[k] for i, k in enumerate(keys) if k in found}

    def put_many(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        """Store vectors in one transaction, committed before returning."""
        vectors = np.asarray(vectors, dtype="<f4")
        if vectors.ndim != 2 or len(vectors) != len(texts):
            raise ValueError(f"put_many: {len(texts)} texts but vectors of shape {vectors.shape}")
        rows = [
            (self.key(self.model_id, t), vectors.shape[1], v.tobytes())
            for t, v in zip(texts, vectors)
        ]
        try:
            with self._conn:  # one transaction: commit on success, rollback on error
                self._conn.executemany(
                    "INSERT OR REPLACE INTO vectors (key, dim, vec) VALUES (?, ?, ?)", rows
                )
        except sqlite3.Error as exc:
            raise self._error(exc) from exc

    def __len__(self) -> int:
        return self._query("SELECT COUNT(*) FROM vectors", [])[0][0]

    def close(self) -> None:
        self._conn.close()

    def _open(self) -> sqlite3.Connection:
        try:
            # timeout: another process may hold the write lock for a moment.
            conn = sqlite3.connect(self.path, timeout=60)
            # WAL lets readers and one writer work at once; NORMAL sync is durable against a
            # killed process (only a power loss can drop the last commits).
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            with conn:
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS vectors "
                    "(key TEXT PRIMARY KEY, dim INTEGER NOT NULL, vec BLOB NOT NULL)"
                )
                # The model id in clear, so a human can tell the files apart.
                conn.execute("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT)")
                conn.execute(
                    "INSERT OR IGNORE INTO meta VALUES ('model_id', ?)", (self.model_id,)
                )
        except sqlite3.Error as exc:
            raise self._error(exc) from exc
        return conn

    def _query(self, sql: str, params: Sequence) -> list[tuple]:
        try:
            return self._conn.execute(sql, list(params)).fetchall()
        except sqlite3.Error as exc:
            raise self._error(exc) from exc

    def _error(self, exc: sqlite3.Error) -> OutputError:
        return OutputError(
            f"embedding cache {self.path} is unusable ({exc}): delete that file "
            "(it is rebuilt on the next run) or check the folder is writable"
        )


class CachedEmbedder(Embedder):
    """Wraps an embedder: embeds each distinct (normalised) text once, ever, per model id."""

    def __init__(self, inner: Embedder, cache: EmbeddingCache, batch_size: int = 64):
        if inner.needs_fit:
            raise ValueError(f"{inner.name!r} is fitted per corpus: its vectors cannot be cached")
        if cache.model_id != inner.model_id:
            raise ValueError(f"cache is for {cache.model_id!r}, embedder is {inner.model_id!r}")
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        self.inner = inner
        self.cache = cache
        self.batch_size = batch_size  # texts stored per transaction
        self.name = inner.name
        self.stats: dict = {"requested": 0, "unique": 0, "cache_hits": 0, "shipped": 0, "embedded": 0}

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    @property
    def dim(self) -> int:
        return self.inner.dim

    @property
    def runtime(self) -> dict:
        return self.inner.runtime

    def release(self) -> None:
        self.inner.release()

    def warm_up(self, texts: Sequence[str]) -> None:
        # Only when something is left to embed: a re-run with every vector stored loads nothing.
        unique = list(dict.fromkeys(normalise_for_cache(t) for t in as_text_list(texts)))
        if len(self.cache.get_many(unique)) < len(unique):
            self.inner.warm_up(texts)

    def _encode(self, texts: list[str]) -> np.ndarray:
        return self.inner.embed(texts)

    def embed(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        texts = as_text_list(texts)
        # Embed the normalised form, so a cached vector depends on its key only.
        normalised = [normalise_for_cache(t) for t in texts]
        unique = list(dict.fromkeys(normalised))
        position = {text: i for i, text in enumerate(unique)}
        vectors = np.empty((len(unique), self.dim), dtype=np.float32)

        hits = self.cache.get_many(unique)
        for i, vector in hits.items():
            vectors[i] = vector
        misses = [i for i in range(len(unique)) if i not in hits]
        # The package's own texts (codebook, indicator library) come with their vectors.
        model_id = self.model_id  # once: it reads package metadata (1-2 ms a call, per text here before)
        shipped = find_shipped(model_id, [self.cache.key(model_id, unique[i]) for i in misses])
        for j, vector in shipped.items():
            vectors[misses[j]] = vector
        misses = [i for j, i in enumerate(misses) if j not in shipped]
        self._embed_misses(unique, misses, vectors, show_progress)

        self.stats = {
            "requested": len(texts),
            "unique": len(unique),
            "cache_hits": len(hits),
            "shipped": len(shipped),
            "embedded": len(misses),
        }
        return vectors[np.array([position[t] for t in normalised], dtype=np.intp)]

    def _embed_misses(
        self, unique: list[str], misses: list[int], vectors: np.ndarray, show_progress: bool
    ) -> None:
        """Embed misses chunk by chunk, storing each chunk before the next (resumable)."""
        # Let the backend choose the order (e5 groups similar lengths: less padding).
        order = [misses[j] for j in self.inner._batch_order([unique[i] for i in misses])]
        label = f"embedding ({self.name}, {len(unique) - len(misses)} cached)"
        # At least one backend batch per commit (a GPU batch is larger than the default chunk).
        step = max(self.batch_size, self.inner.batch_size) if order else self.batch_size
        with progress_bar(len(order), label, show_progress and bool(order)) as advance:
            for start in range(0, len(order), step):
                chunk = order[start : start + step]
                chunk_texts = [unique[i] for i in chunk]
                chunk_vectors = self.inner.embed(chunk_texts)
                check_shape(chunk_vectors, len(chunk), self.dim, self.name)
                self.cache.put_many(chunk_texts, chunk_vectors)
                vectors[chunk] = chunk_vectors
                advance(len(chunk))

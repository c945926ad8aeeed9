"""The embedder interface shared by every backend, and the text normalisation used for cache keys."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np

from criteria_nlp.prepare.text import normalise_text
from criteria_nlp.progress import progress_bar
from criteria_nlp.vectors import unit_rows


class Embedder(ABC):
    """Turns texts into float32, L2-normalised vectors.

    Subclasses implement ``_encode`` (one raw batch) plus ``model_id`` and ``dim``; ``embed``
    handles validation, batching, progress, normalisation and input order.
    """

    name: str = ""
    needs_fit: bool = False  # True for corpus-fitted backends: their vectors are not cacheable
    batch_size: int = 32

    @property
    @abstractmethod
    def model_id(self) -> str:
        """Stable id including versions; the cache key namespace."""

    @property
    @abstractmethod
    def dim(self) -> int:
        """Length of each vector."""

    @property
    def runtime(self) -> dict:
        """Where and how the vectors were computed (device, precision, threads), for the manifest."""
        return {}

    def release(self) -> None:
        """Free the loaded model if the backend holds one (hundreds of MB); the next call
        that needs it loads it again."""

    def warm_up(self, texts: Sequence[str]) -> None:
        """Get ready to embed `texts` (load the model, if the backend has one and any of them
        needs it), so the load can overlap other work. Embedding works without it."""
        load = getattr(self, "load", None)  # the backends with a model: e5, e5-onnx, static
        if load is not None and len(texts):
            load()

    def fit(self, texts: Sequence[str]) -> "Embedder":
        """Learn from the corpus (only corpus-fitted backends do); returns self."""
        return self

    @abstractmethod
    def _encode(self, texts: list[str]) -> np.ndarray:
        """Raw backend call on one batch: shape (len(texts), dim)."""

    def _batch_order(self, texts: Sequence[str]) -> np.ndarray:
        """Order in which texts are sent to ``_encode``; backends may group similar lengths."""
        return np.arange(len(texts))

    def embed(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        """Embed texts: float32, L2-normalised rows, shape (len(texts), dim), in input order."""
        texts = as_text_list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        order = self._batch_order(texts)
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        with progress_bar(len(texts), f"embedding ({self.name})", show_progress) as advance:
            for start in range(0, len(texts), self.batch_size):
                batch = order[start : start + self.batch_size]
                vectors = self._encode([texts[i] for i in batch])
                check_shape(vectors, len(batch), self.dim, self.name)
                out[batch] = vectors
                advance(len(batch))
        return l2_normalise(out)


def normalise_for_cache(text: str) -> str:
    """The cache key's form of a text: `normalise_text` (NFC, whitespace collapsed, stripped;
    case is kept, for exactness)."""
    return normalise_text(text)


def as_text_list(texts: Sequence[str]) -> list[str]:
    """Validate texts; a bare string is refused because it would be embedded char by char."""
    if isinstance(texts, str):
        raise TypeError("embed() takes a sequence of texts, not a single str: wrap it in a list")
    texts = list(texts)
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(
                f"text #{i} is {type(text).__name__}, not str: drop or fill missing answers first"
            )
    return texts


def l2_normalise(vectors: np.ndarray) -> np.ndarray:
    """Row-wise L2 normalisation in float32; all-zero rows stay zero (nothing to normalise)."""
    return unit_rows(np.asarray(vectors, dtype=np.float32))


def check_shape(vectors: np.ndarray, n: int, dim: int, name: str) -> None:
    if vectors.ndim != 2 or vectors.shape != (n, dim):
        raise RuntimeError(f"embedder {name!r} returned shape {vectors.shape}, expected {(n, dim)}")



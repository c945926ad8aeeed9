"""Vectors shipped inside the package for texts that every run embeds: the indicator library's
sentences and the SPIRAL codebook's reference texts, computed ahead with the default model (e5)
and the fast tier (e5-onnx, whose int8 vectors differ from e5's).

They are a read-only layer under the embedding cache (same keys: model id + normalised text),
so the first run on a machine does not spend its time embedding the package's own texts. A
text not found, or another model, is embedded as usual. Each file is rebuilt by the module
that owns its texts (`describe.library_vectors`, `assign.reference_vectors`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

# Package-data files (relative to criteria_nlp/data) holding shipped vectors.
LIBRARY_VECTORS = "indicators/vectors.npz"
CODEBOOK_VECTORS = "spiral_vectors.npz"
# The same texts for e5-onnx: without them its first run embedded the library's ~12,000
# sentences (about a minute on 2 cores) and reloaded the model after a large run freed it.
LIBRARY_VECTORS_ONNX = "indicators/vectors-e5-onnx.npz"
CODEBOOK_VECTORS_ONNX = "spiral_vectors-e5-onnx.npz"
SHIPPED_FILES = (LIBRARY_VECTORS, CODEBOOK_VECTORS, LIBRARY_VECTORS_ONNX, CODEBOOK_VECTORS_ONNX)
# Which embedder (get_embedder name) each file is built with.
BUILT_WITH = {LIBRARY_VECTORS: "e5", CODEBOOK_VECTORS: "e5", LIBRARY_VECTORS_ONNX: "e5-onnx", CODEBOOK_VECTORS_ONNX: "e5-onnx"}


@dataclass(frozen=True)
class ShippedVectors:
    model_id: str
    index: dict[str, int]  # cache key -> row
    vectors: np.ndarray  # float16 rows

    def lookup(self, keys: Sequence[str]) -> dict[int, np.ndarray]:
        """Position in `keys` -> float32 vector, for the keys this file holds."""
        rows = {n: self.index[k] for n, k in enumerate(keys) if k in self.index}
        return {n: self.vectors[row].astype(np.float32) for n, row in rows.items()}


@lru_cache(maxsize=None)
def shipped_model_id(name: str) -> str | None:
    """The model id of the shipped file `name` (reads that field only), or None without it."""
    path = resources.files("criteria_nlp.data").joinpath(name)
    if not path.is_file():
        return None
    with path.open("rb") as handle, np.load(handle, allow_pickle=False) as data:
        return str(data["model_id"])


@lru_cache(maxsize=None)  # package data never changes while the process runs
def read_shipped(name: str) -> ShippedVectors | None:
    """The shipped file `name` (see SHIPPED_FILES), or None when the package has none."""
    path = resources.files("criteria_nlp.data").joinpath(name)
    if not path.is_file():
        return None
    with path.open("rb") as handle, np.load(handle, allow_pickle=False) as data:
        keys = data["keys"].tolist()
        return ShippedVectors(str(data["model_id"]), {k: i for i, k in enumerate(keys)}, data["vectors"])


def find_shipped(model_id: str, keys: Sequence[str], files: Sequence[str] = SHIPPED_FILES) -> dict[int, np.ndarray]:
    """Position in `keys` -> vector, from every shipped file made with `model_id`."""
    found: dict[int, np.ndarray] = {}
    if not keys:  # nothing left to find: no file is read
        return found
    for name in files:
        if shipped_model_id(name) != model_id:  # another model's file is never loaded
            continue
        shipped = read_shipped(name)
        missing = [n for n in range(len(keys)) if n not in found]
        for j, vector in shipped.lookup([keys[n] for n in missing]).items():
            found[missing[j]] = vector
    return found


def write_shipped(path: Path, model_id: str, keys: Sequence[str], vectors: np.ndarray) -> int:
    """Write a shipped-vectors file (float16, compressed); returns the number of rows."""
    vectors = np.asarray(vectors, dtype=np.float16)
    if len(keys) != len(vectors):
        raise ValueError(f"{len(keys)} keys for {len(vectors)} vectors")
    np.savez_compressed(path, model_id=np.array(model_id), keys=np.array(list(keys)), vectors=vectors)
    return len(keys)

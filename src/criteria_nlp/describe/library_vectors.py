"""The shipped library's sentences embedded ahead of time, for the default model.

Embedding the library's ~12,000 sentences on two CPU cores takes a minute or two; shipping
their e5 vectors (float16, keyed like the embedding cache: model id + normalised text) makes
the first run as fast as the next ones. Any sentence not found (an edited or user library,
another model) is embedded as usual. Rebuild after editing the library:
`python -m criteria_nlp.describe.library_vectors`.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import numpy as np

VECTORS_FILE = "vectors.npz"


def library_sentences(library) -> list[str]:
    """Every name, level and variant of the library, in every language (a stable order)."""
    texts = []
    for indicator in library:
        for language in sorted(indicator.texts):
            wording = indicator.texts[language]
            texts += [wording.name, *wording.levels, *(wording.variants[k] for k in sorted(wording.variants))]
    return list(dict.fromkeys(texts))


def _shipped() -> tuple[str, dict[str, int], np.ndarray] | None:
    path = resources.files("criteria_nlp.data").joinpath("indicators", VECTORS_FILE)
    if not path.is_file():
        return None
    with path.open("rb") as handle, np.load(handle, allow_pickle=False) as data:
        keys = data["keys"].tolist()
        return str(data["model_id"]), {k: i for i, k in enumerate(keys)}, data["vectors"]


def embed_sentences(embedder, texts: Sequence[str]) -> np.ndarray:
    """`embedder.embed(texts)`, taking the shipped vectors of the sentences it has for this model."""
    from criteria_nlp.embed.cache import EmbeddingCache

    texts = list(texts)
    out = np.zeros((len(texts), embedder.dim), dtype=np.float32)
    shipped = _shipped()
    found = np.zeros(len(texts), dtype=bool)
    model_id = getattr(embedder, "model_id", None)
    if shipped is not None and shipped[0] == model_id:
        _, index, vectors = shipped
        for n, text in enumerate(texts):
            row = index.get(EmbeddingCache.key(model_id, text))
            if row is not None:
                out[n] = vectors[row]
                found[n] = True
    missing = np.flatnonzero(~found)
    if len(missing):
        out[missing] = embedder.embed([texts[n] for n in missing])
    return out


def build(embedder, path: Path) -> int:
    """Embed the shipped library with `embedder` and write its vectors file; returns the count."""
    from criteria_nlp.describe.library import load_library
    from criteria_nlp.embed.cache import EmbeddingCache

    texts = library_sentences(load_library())
    vectors = np.asarray(embedder.embed(texts, show_progress=True), dtype=np.float16)
    keys = np.array([EmbeddingCache.key(embedder.model_id, t) for t in texts])
    np.savez_compressed(path, model_id=np.array(embedder.model_id), keys=keys, vectors=vectors)
    return len(texts)


if __name__ == "__main__":  # pragma: no cover - a maintenance step, run after editing the library
    from criteria_nlp.embed import get_embedder

    target = Path(str(resources.files("criteria_nlp.data").joinpath("indicators", VECTORS_FILE)))
    print(build(get_embedder("e5"), target), "sentences ->", target)

"""The shipped library's sentences embedded ahead of time, for the default model.

Embedding the library's ~12,000 sentences on two CPU cores takes a minute or two; shipping
their e5 vectors (float16, keyed like the embedding cache: model id + normalised text) makes
the first run as fast as the next ones. Any sentence not found (an edited or user library,
another model) is embedded as usual. Rebuild after editing the library:
`python -m criteria_nlp.describe.library_vectors`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from criteria_nlp.embed.shipped import LIBRARY_VECTORS, find_shipped


def library_sentences(library) -> list[str]:
    """Every name, level and variant of the library, in every language (a stable order)."""
    texts = []
    for indicator in library:
        for language in sorted(indicator.texts):
            wording = indicator.texts[language]
            texts += [wording.name, *wording.levels, *(wording.variants[k] for k in sorted(wording.variants))]
    return list(dict.fromkeys(texts))


def embed_sentences(embedder, texts: Sequence[str]) -> np.ndarray:
    """`embedder.embed(texts)`, taking the shipped vectors of the sentences it has for this model
    (a cached embedder does that itself; an uncached one, `--no-cache`, does not)."""
    from criteria_nlp.embed.cache import EmbeddingCache

    texts = list(texts)
    out = np.zeros((len(texts), embedder.dim), dtype=np.float32)
    model_id = getattr(embedder, "model_id", None)
    found = find_shipped(model_id, [EmbeddingCache.key(model_id, t) for t in texts]) if model_id else {}
    for n, vector in found.items():
        out[n] = vector
    missing = [n for n in range(len(texts)) if n not in found]
    if missing:
        out[missing] = embedder.embed([texts[n] for n in missing])
    return out


if __name__ == "__main__":  # pragma: no cover - a maintenance step, run after editing the library
    from criteria_nlp.describe.library import load_library
    from criteria_nlp.embed.shipped import LIBRARY_VECTORS_ONNX
    from criteria_nlp.embed.shipped_build import rebuild

    for path, count in rebuild((LIBRARY_VECTORS, LIBRARY_VECTORS_ONNX), library_sentences(load_library())):
        print(count, "sentences ->", path)

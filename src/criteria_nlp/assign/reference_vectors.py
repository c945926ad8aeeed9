"""The shipped SPIRAL codebook's reference texts (labels in every language, descriptions,
examples) embedded ahead of time with the default model.

Zero-shot assignment embeds them on every first run with a new cache: about 750 texts, 4 s
on two CPU cores, paid before any answer is coded. Shipped with the package, they are read
instead (`embed.shipped`). An edited or user codebook, or another model, is embedded as
usual. Rebuild after editing the SPIRAL codebook: `python -m criteria_nlp.assign.reference_vectors`.
"""

from __future__ import annotations

from pathlib import Path

from criteria_nlp.embed.shipped import write_shipped


def reference_texts() -> list[str]:
    """Every reference text of the shipped codebook, once each, in a stable order."""
    from criteria_nlp.assign.zero_shot import codebook_reference
    from criteria_nlp.codebook.loaders import load_codebook
    from criteria_nlp.config import DEFAULT_CODEBOOK

    return list(dict.fromkeys(codebook_reference(load_codebook(DEFAULT_CODEBOOK)).texts))


def build(embedder, path: Path) -> int:
    """Embed the shipped codebook's reference texts with `embedder` and write its vectors file."""
    from criteria_nlp.embed.cache import EmbeddingCache

    texts = reference_texts()
    vectors = embedder.embed(texts, show_progress=True)
    return write_shipped(path, embedder.model_id, [EmbeddingCache.key(embedder.model_id, t) for t in texts], vectors)


if __name__ == "__main__":  # pragma: no cover - a maintenance step, run after editing the codebook
    from importlib import resources

    from criteria_nlp.embed import get_embedder
    from criteria_nlp.embed.shipped import BUILT_WITH, CODEBOOK_VECTORS, CODEBOOK_VECTORS_ONNX

    for name in (CODEBOOK_VECTORS, CODEBOOK_VECTORS_ONNX):
        target = Path(str(resources.files("criteria_nlp.data").joinpath(name)))
        print(build(get_embedder(BUILT_WITH[name]), target), "texts ->", target)

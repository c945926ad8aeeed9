"""The shipped SPIRAL codebook's reference texts (labels in every language, descriptions,
examples) embedded ahead of time with the default model.

Zero-shot assignment embeds them on every first run with a new cache: about 750 texts, 4 s
on two CPU cores, paid before any answer is coded. Shipped with the package, they are read
instead (`embed.shipped`). An edited or user codebook, or another model, is embedded as
usual. Rebuild after editing the SPIRAL codebook: `python -m criteria_nlp.assign.reference_vectors`.
"""

from __future__ import annotations


def reference_texts() -> list[str]:
    """Every reference text of the shipped codebook, once each, in a stable order."""
    from criteria_nlp.assign.zero_shot import codebook_reference
    from criteria_nlp.codebook.loaders import load_codebook
    from criteria_nlp.config import DEFAULT_CODEBOOK

    return list(dict.fromkeys(codebook_reference(load_codebook(DEFAULT_CODEBOOK)).texts))


if __name__ == "__main__":  # pragma: no cover - a maintenance step, run after editing the codebook
    from criteria_nlp.embed.shipped import CODEBOOK_VECTORS, CODEBOOK_VECTORS_ONNX
    from criteria_nlp.embed.shipped_build import rebuild

    for path, count in rebuild((CODEBOOK_VECTORS, CODEBOOK_VECTORS_ONNX), reference_texts()):
        print(count, "texts ->", path)

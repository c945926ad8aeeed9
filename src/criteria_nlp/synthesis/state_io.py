"""Fitted estimators to plain data and back, without pickle: a JSON tree whose arrays live in
one NumPy .npz (read with allow_pickle=False).

Only the classes in `ALLOWED` are written or rebuilt; loading never imports or calls
anything else, so a model folder cannot run code. An estimator is rebuilt as scikit-learn's
own persistence does: a bare instance of the allowed class whose attributes are restored."""

from __future__ import annotations

import importlib
import io

import numpy as np

from criteria_nlp.errors import CriteriaNLPError

# The estimators a fitted synthesis is made of (module, class name).
ALLOWED = frozenset({
    "criteria_nlp.assign.answers.AnswerAssigner",
    "criteria_nlp.assign.zero_shot.ZeroShotAssigner",
    "criteria_nlp.assign.zero_shot.PrototypeAssigner",
    "criteria_nlp.assign.learned.LearnedAssigner",
    "criteria_nlp.assign.learned.LexicalFeatures",
    "criteria_nlp.vectors.LanguageCentring",
    "criteria_nlp.embed.tfidf.TfidfEmbedder",
    "criteria_nlp.synthesis.groups.GroupIndex",
    "sklearn.feature_extraction.text.TfidfVectorizer",
    "sklearn.feature_extraction.text.TfidfTransformer",
    "sklearn.decomposition._truncated_svd.TruncatedSVD",
    "sklearn.linear_model._logistic.LogisticRegression",
})


class StateFormatError(CriteriaNLPError):
    """An estimator's state that this format cannot hold, or a saved state it does not know."""


def class_name(obj) -> str:
    return f"{type(obj).__module__}.{type(obj).__qualname__}"


def encode(value, arrays: dict[str, np.ndarray]):
    """`value` as JSON-able data; its arrays are added to `arrays` and referenced by name."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)) and not isinstance(value, np.bool_):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, np.ndarray):
        key = f"a{len(arrays)}"
        if value.dtype == object:
            if not all(isinstance(v, str) for v in value.ravel()):
                raise StateFormatError("an object array holding something other than text cannot be saved")
            arrays[key] = value.astype(str) if value.size else np.zeros(value.shape, dtype="<U1")
            return {"__array__": key, "object": True}
        arrays[key] = value
        return {"__array__": key}
    if isinstance(value, type) and issubclass(value, np.generic):
        return {"__dtype__": np.dtype(value).str}
    if isinstance(value, np.dtype):
        return {"__dtype__": value.str, "instance": True}
    if isinstance(value, list):
        return [encode(v, arrays) for v in value]
    if isinstance(value, tuple):
        return {"__tuple__": [encode(v, arrays) for v in value]}
    if isinstance(value, (set, frozenset)):
        return {"__set__": [encode(v, arrays) for v in sorted(value)]}
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value):
            return {"__map__": {k: encode(v, arrays) for k, v in value.items()}}
        return {"__pairs__": [[encode(k, arrays), encode(v, arrays)] for k, v in value.items()]}
    name = class_name(value)
    if name in ALLOWED:
        return {"__object__": name, "state": encode(dict(vars(value)), arrays)}
    raise StateFormatError(f"cannot save an object of type {name}")


def decode(data, arrays):
    """The value `encode` described; objects only of the allowed classes."""
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    if isinstance(data, list):
        return [decode(v, arrays) for v in data]
    if not isinstance(data, dict) or len(data) == 0:
        raise StateFormatError("unknown entry in the saved state")
    if "__array__" in data:
        array = arrays[data["__array__"]]
        return array.astype(object) if data.get("object") else array
    if "__dtype__" in data:
        dtype = np.dtype(data["__dtype__"])
        return dtype if data.get("instance") else dtype.type
    if "__tuple__" in data:
        return tuple(decode(v, arrays) for v in data["__tuple__"])
    if "__set__" in data:
        return {decode(v, arrays) for v in data["__set__"]}
    if "__map__" in data:
        return {k: decode(v, arrays) for k, v in data["__map__"].items()}
    if "__pairs__" in data:
        return {_hashable(decode(k, arrays)): decode(v, arrays) for k, v in data["__pairs__"]}
    if "__object__" in data:
        name = data["__object__"]
        if name not in ALLOWED:
            raise StateFormatError(f"the saved state names a class that is not allowed: {name}")
        module, _, qualname = name.rpartition(".")
        cls = getattr(importlib.import_module(module), qualname)
        obj = cls.__new__(cls)
        obj.__dict__.update(decode(data["state"], arrays))
        return obj
    raise StateFormatError("unknown entry in the saved state")


def _hashable(value):
    return tuple(_hashable(v) for v in value) if isinstance(value, list) else value


def arrays_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def read_arrays(raw: bytes) -> dict[str, np.ndarray]:
    """The arrays of an .npz, never unpickling anything."""
    with np.load(io.BytesIO(raw), allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}

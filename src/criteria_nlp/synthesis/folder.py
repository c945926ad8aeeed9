"""A fitted synthesis saved to a folder in open formats, and loaded back, refusing a folder
from an incompatible version or one whose files were changed.

    model.json        format, versions (criteria-nlp, scikit-learn, numpy), the settings, the
                      embedder and its model id, the sha256 of every other file, and its own
    estimators.json   the assigner, the groups' centres (and a corpus-fitted embedder) as a
                      JSON tree (`state_io`), whose arrays are in
    arrays.npz        NumPy arrays, read with allow_pickle=False
    codebook.yaml     the codebook the codes come from
    groups.csv        the fitted criteria groups (clusters.csv)
    decisions.json    the analysts' decisions the model re-applies

No pickle anywhere: loading reads data and rebuilds only the package's own estimators and
scikit-learn's (an allow-list), so a model folder cannot run code. The checksums catch a
file that changed, was truncated or swapped; they are not a signature (whoever can write the
folder can rewrite model.json too)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from importlib import metadata
from pathlib import Path

import pandas as pd

from criteria_nlp import __version__
from criteria_nlp.errors import CriteriaNLPError

MODEL_FORMAT = 1  # bumped whenever what the folder holds, or how, changes
MODEL_FILE = "model.json"
FILES = ("estimators.json", "arrays.npz", "codebook.yaml", "groups.csv", "decisions.json")


def _path_fields() -> set[str]:
    """RunConfig's fields that hold paths (kept as text): read from its annotations, so that
    fields added later are saved too."""
    from criteria_nlp.config import RunConfig

    return {f.name for f in dataclasses.fields(RunConfig) if "Path" in str(f.type)}


class ModelFolderError(CriteriaNLPError):
    """A model folder that cannot be used."""


class IncompatibleModelError(ModelFolderError):
    """A model folder written by a version whose saved state this version cannot read."""


class TamperedModelError(ModelFolderError):
    """A model folder whose files are missing or differ from the checksums it was saved with."""


def _sha256(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _minor(version: str | None) -> str:
    return ".".join(str(version).split(".")[:2])


def _canonical(data: dict) -> bytes:
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def save_model(synthesis, folder: Path) -> Path:
    """Write the model folder (new or empty, or a model folder saved before: replaced)."""
    from criteria_nlp.io.outputs import (
        csv_bytes,
        output_transaction,
        write_bytes_atomic,
    )
    from criteria_nlp.synthesis.state_io import arrays_bytes, encode

    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ModelFolderError(f"{folder}: is a file; give a folder to save the model in")
    if folder.is_dir():
        foreign = sorted(set(os.listdir(folder)) - {MODEL_FILE, *FILES})
        if foreign and not (folder / MODEL_FILE).exists():
            raise ModelFolderError(f"{folder}: holds files that are not a saved model ({', '.join(foreign[:5])}); "
                                   "give a new or empty folder")
    folder.mkdir(parents=True, exist_ok=True)
    embedder = synthesis.embedder_
    arrays: dict = {}
    estimators = {"assigner": synthesis.assigner_, "groups": synthesis.group_index_,
                  "embedder": embedder if getattr(embedder, "needs_fit", False) else None}
    contents = {
        "estimators.json": json.dumps(encode(estimators, arrays), ensure_ascii=False).encode("utf-8"),
        "codebook.yaml": synthesis.codebook_.to_yaml().encode("utf-8"),
        "groups.csv": csv_bytes(synthesis.groups_),  # formula-safe, as clusters.csv
        "decisions.json": json.dumps(synthesis.decisions_.records, ensure_ascii=False, indent=1).encode("utf-8"),
    }
    contents["arrays.npz"] = arrays_bytes(arrays)
    config = {k: (str(v) if isinstance(v, Path) else v) for k, v in dataclasses.asdict(synthesis.config_).items()}
    config["languages"] = list(config["languages"])
    model = {
        "format": MODEL_FORMAT,
        "tool": "criteria-nlp",
        "versions": {"criteria-nlp": __version__, "scikit-learn": _version("scikit-learn"), "numpy": _version("numpy")},
        "config": config,
        "embedder": {"name": embedder.name, "model_id": embedder.model_id, "saved": estimators["embedder"] is not None},
        "groups": len(synthesis.group_index_.clusters_),
        "files": {name: _sha256(raw) for name, raw in contents.items()},
    }
    model["sha256"] = _sha256(_canonical(model))
    with output_transaction(folder):
        for name, raw in contents.items():
            write_bytes_atomic(folder / name, raw)
        write_bytes_atomic(folder / MODEL_FILE, json.dumps(model, ensure_ascii=False, indent=1).encode("utf-8"))
    return folder


def read_model_files(folder: Path) -> tuple[dict, dict[str, bytes]]:
    """model.json and the bytes of every file, checked: the format and versions this version
    reads, and each file's checksum."""
    folder = Path(folder)
    if not (folder / MODEL_FILE).is_file():
        raise ModelFolderError(f"{folder}: not a saved model (no {MODEL_FILE}); save one with Synthesis.save "
                               "or `criteria-nlp run ... --save-model FOLDER`")
    try:
        model = json.loads((folder / MODEL_FILE).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TamperedModelError(f"{folder / MODEL_FILE}: not readable JSON ({exc}); the folder was damaged") from None
    if not isinstance(model, dict) or model.get("tool") != "criteria-nlp":
        raise TamperedModelError(f"{folder / MODEL_FILE}: not a criteria-nlp model description")
    saved = model.get("format")
    if saved != MODEL_FORMAT:
        raise IncompatibleModelError(f"{folder}: saved in model format {saved!r} (criteria-nlp "
                                     f"{model.get('versions', {}).get('criteria-nlp')}); this criteria-nlp {__version__} "
                                     f"reads format {MODEL_FORMAT}: fit and save the model again with this version")
    claimed = model.pop("sha256", None)
    if claimed != _sha256(_canonical(model)):
        raise TamperedModelError(f"{folder / MODEL_FILE}: its checksum does not match its content; it was edited after saving")
    sklearn_saved, sklearn_here = model["versions"].get("scikit-learn"), _version("scikit-learn")
    if _minor(sklearn_saved) != _minor(sklearn_here):
        raise IncompatibleModelError(f"{folder}: saved with scikit-learn {sklearn_saved}, this environment has {sklearn_here}; "
                                     f"the fitted estimators are only read by the same scikit-learn {_minor(sklearn_saved)}.x: "
                                     "install that version or fit and save the model again")
    files = {}
    for name in FILES:
        path = folder / name
        if not path.is_file():
            raise TamperedModelError(f"{folder}: {name} is missing; the folder is incomplete")
        raw = path.read_bytes()
        if _sha256(raw) != model["files"].get(name):
            raise TamperedModelError(f"{path}: does not match the checksum it was saved with; the file was changed")
        files[name] = raw
    return model, files


def load_model(cls, folder: Path):
    """The Synthesis saved in `folder`."""
    import io

    from criteria_nlp.codebook.loaders import codebook_from_yaml_text
    from criteria_nlp.config import RunConfig
    from criteria_nlp.io.outputs import unneutralise_frame
    from criteria_nlp.review.state import DecisionState
    from criteria_nlp.synthesis.state_io import StateFormatError, decode, read_arrays

    model, files = read_model_files(folder)
    try:
        arrays = read_arrays(files["arrays.npz"])
        estimators = decode(json.loads(files["estimators.json"].decode("utf-8")), arrays)
    except (StateFormatError, ValueError, KeyError) as exc:
        raise IncompatibleModelError(f"{folder}: the saved estimators cannot be read by this version ({exc})") from None
    known = {f.name for f in dataclasses.fields(RunConfig)}
    settings = {k: v for k, v in model["config"].items() if k in known}  # a field a later version dropped is ignored
    for name in _path_fields() & set(settings):
        settings[name] = Path(settings[name]) if settings[name] is not None else None
    settings["languages"] = tuple(settings["languages"])
    config = RunConfig(**settings)
    synthesis = cls.from_config(config)
    synthesis.config_ = config
    synthesis.codebook_ = codebook_from_yaml_text(files["codebook.yaml"].decode("utf-8"), "model")
    synthesis.assigner_ = estimators["assigner"]
    synthesis.group_index_ = estimators["groups"]
    synthesis.decisions_ = DecisionState.from_records(json.loads(files["decisions.json"].decode("utf-8")))
    synthesis.groups_ = unneutralise_frame(pd.read_csv(io.BytesIO(files["groups.csv"]), dtype=str, keep_default_na=False))
    synthesis.groups_["cluster"] = synthesis.groups_["cluster"].astype(int)
    synthesis.embedder_ = estimators["embedder"] or _embedder(config, model["embedder"], folder)
    synthesis._fitted = None
    return synthesis


def _embedder(config, saved: dict, folder: Path):
    """The embedder the model was fitted with, refused when its model changed (other vectors)."""
    from criteria_nlp.embed import get_embedder

    embedder = get_embedder(saved["name"], cache_dir=config.cache_dir, seed=config.seed, batch_size=config.batch_size,
                            device=config.device, use_cache=config.use_cache)
    if embedder.model_id != saved["model_id"]:
        raise IncompatibleModelError(f"{folder}: fitted on embeddings of {saved['model_id']}, this environment gives "
                                     f"{embedder.model_id}; fit and save the model again")
    return embedder

"""Loading a codebook: the shipped SPIRAL default, YAML or CSV files (REFI-QDA .qdc in
`refiqda.py`), with one-line errors that say how to fix the file."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from criteria_nlp.codebook.model import EXAMPLE_SPLIT, Code, Codebook
from criteria_nlp.config import DEFAULT_CODEBOOK
from criteria_nlp.errors import CodebookError


def load_codebook(spec: str | Path | Codebook = DEFAULT_CODEBOOK) -> Codebook:
    """Load 'spiral' (the shipped default), or a .yaml/.yml, .csv/.tsv or REFI-QDA .qdc file."""
    if isinstance(spec, Codebook):
        return spec
    text = str(spec)
    if text == DEFAULT_CODEBOOK:
        data = resources.files("criteria_nlp.data").joinpath("spiral.yaml").read_text(encoding="utf-8")
        return codebook_from_yaml_text(data, DEFAULT_CODEBOOK)
    path = Path(text)
    if not path.exists():
        raise CodebookError(f"codebook '{text}' not found: give 'spiral' or the path of a .yaml, .csv or .qdc file")
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml", ".json"):  # JSON is YAML
        return codebook_from_yaml_text(_read_text(path), path.stem)
    if suffix in (".csv", ".tsv", ".txt"):
        return codebook_from_csv(path)
    if suffix == ".qdc":
        from criteria_nlp.codebook.refiqda import read_qdc

        return read_qdc(path)
    raise CodebookError(f"{path.name}: unknown codebook format '{suffix or '(none)'}'; use .yaml, .json, .csv or REFI-QDA .qdc")


def _read_text(path: Path) -> str:
    from criteria_nlp.errors import InputError
    from criteria_nlp.io.decoding import decode_bytes
    from criteria_nlp.io.tables import read_input
    from criteria_nlp.io.yamlfile import MAX_YAML_BYTES

    try:
        if path.stat().st_size > MAX_YAML_BYTES:
            raise CodebookError(f"{path.name}: larger than {MAX_YAML_BYTES // (1024 * 1024)} MB; is this the right codebook file?")
        return decode_bytes(read_input(path)[0], path.name)[0]
    except InputError as exc:
        raise CodebookError(str(exc)) from None
    except OSError as exc:
        raise CodebookError(f"{path}: cannot be read ({exc.strerror})") from None


def codebook_from_yaml_text(text: str, default_name: str) -> Codebook:
    """A codebook from YAML (or JSON) text, read with io.yamlfile: safe types only, no
    aliases (a few hundred bytes of nested aliases expand to gigabytes), bounded size and
    depth; entries of the wrong type are one-line CodebookErrors."""
    from criteria_nlp.io.yamlfile import parse_yaml

    name = f"codebook '{default_name}'"
    try:
        data = parse_yaml(text, name, _YamlProblem)
    except _YamlProblem as exc:
        raise CodebookError(str(exc).replace(f"{name}: not valid YAML", f"{name} is not valid YAML", 1)) from None
    if isinstance(data, list):
        data = {"codes": data}
    if not isinstance(data, dict) or not isinstance(data.get("codes"), list):
        raise CodebookError(f"codebook '{default_name}': expected a 'codes:' list of entries with at least a label")
    codes = [_code_from_mapping(entry, position, default_name) for position, entry in enumerate(data["codes"], start=1)]
    return Codebook(
        name=_scalar(data.get("name"), "name", default_name) or default_name,
        codes=codes,
        title=_scalar(data.get("title"), "title", default_name),
        source=_scalar(data.get("source"), "source", default_name),
        version=_scalar(data.get("version"), "version", default_name),
    )


class _YamlProblem(CodebookError):
    """parse_yaml's error, worded for a codebook."""


_SCALARS = (str, int, float, bool)


def _scalar(value, field: str, book: str, position: int | None = None) -> str:
    """A text field: a string or a number; a list or a mapping is an error."""
    if value is None:
        return ""
    if not isinstance(value, _SCALARS):
        where = f"entry {position}, " if position is not None else ""
        raise CodebookError(f"codebook '{book}': {where}'{field}' must be text, not a {_kind(value)}")
    return str(value).strip()


def _kind(value) -> str:
    if isinstance(value, bool):
        return "true/false value"
    if isinstance(value, (int, float)):
        return "number"
    return {dict: "mapping", list: "list"}.get(type(value), type(value).__name__)


def _code_from_mapping(entry, position: int, book: str) -> Code:
    if isinstance(entry, str):
        entry = {"label": entry}
    if not isinstance(entry, dict):
        raise CodebookError(f"codebook '{book}': entry {position} must be a mapping with at least a label")
    strange = [key for key in entry if not isinstance(key, str)]
    if strange:
        raise CodebookError(f"codebook '{book}': entry {position} has a key {strange[0]!r} that is not text "
                            "(keys are words such as code, label, description, examples: check the indentation)")
    labels = _labels(entry, position, book)
    code = _scalar(entry.get("code"), "code", book, position) or (labels.get("en") or next(iter(labels.values()), ""))
    if not labels:
        raise CodebookError(f"codebook '{book}': entry {position} ({code or 'no code'}) has no label")
    examples = entry.get("examples") or {}
    if isinstance(examples, (list, str)):
        examples = {"": examples}
    if not isinstance(examples, dict):
        raise CodebookError(f"codebook '{book}': entry {position} ({code}): 'examples' must be a list of texts, or one list "
                            f"per language (fr: [...]), not a {_kind(examples)}")
    examples = {("" if lang == "und" else str(lang)): _as_list(texts, position, code, book) for lang, texts in examples.items()}
    return Code(
        code=code,
        labels=labels,
        description=_scalar(entry.get("description"), "description", book, position),
        examples={lang: texts for lang, texts in examples.items() if texts},
        parent=_scalar(entry["parent"], "parent", book, position) if entry.get("parent") not in (None, "") else None,
        codable=_as_bool(entry.get("codable", True)),
        verified=_as_bool(entry.get("verified", True)),
    )


def _labels(entry: dict, position: int = 0, book: str = "") -> dict[str, str]:
    label = entry.get("label")
    labels: dict[str, str] = {}
    if isinstance(label, dict):
        for language, value in label.items():
            if value not in (None, ""):
                labels[str(language)] = _scalar(value, f"label ({language})", book, position)
    elif label not in (None, ""):
        labels["en"] = _scalar(label, "label", book, position)
    for key, value in entry.items():
        if isinstance(key, str) and key.startswith("label_") and value not in (None, ""):
            labels[key[len("label_"):]] = _scalar(value, key, book, position)
    return {k: v for k, v in labels.items() if v}


def _as_list(value, position: int = 0, code: str = "", book: str = "") -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [part for part in EXAMPLE_SPLIT.split(value) if part]
    if not isinstance(value, list) or not all(isinstance(v, str) or v is None for v in value):
        found = value if not isinstance(value, list) else next(v for v in value if not (isinstance(v, str) or v is None))
        hint = " (put an example that is a number in quotes)" if isinstance(found, (int, float)) else ""
        raise CodebookError(f"codebook '{book}': entry {position} ({code}): examples must be texts, not a {_kind(found)}{hint}")
    return [v.strip() for v in value if v is not None and v.strip()]


def _as_bool(value) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() not in ("false", "0", "no", "n", "")


def codebook_from_csv(path: Path) -> Codebook:
    """CSV with at least `label`; optional code, description, examples ('|'-separated),
    parent, codable, verified and label_xx columns."""
    from criteria_nlp.errors import InputError
    from criteria_nlp.io.tables import dedupe_columns, read_table

    try:
        frame, _ = read_table(path)
        # Every column of a codebook means something: a repeated one is always ambiguous.
        dedupe_columns([str(c) for c in frame.columns], {str(c) for c in frame.columns}, path.name)
    except InputError as exc:
        raise CodebookError(str(exc)) from None
    if "label" not in frame.columns and not any(c.startswith("label_") for c in frame.columns):
        raise CodebookError(f"{path.name}: a codebook CSV needs a 'label' column; columns found: {', '.join(frame.columns)}")
    entries = []
    for position, row in enumerate(frame.to_dict("records"), start=2):
        entry = {k: v for k, v in row.items() if str(v).strip() != ""}
        if not entry:
            continue
        if not _labels(entry):
            raise CodebookError(f"{path.name}: row {position} has no label; every code needs one")
        entries.append(entry)
    codes = [_code_from_mapping(entry, position, path.stem) for position, entry in enumerate(entries, start=1)]
    return Codebook(name=path.stem, codes=codes)

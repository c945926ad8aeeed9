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

    try:
        return decode_bytes(path.read_bytes(), path.name)[0]
    except InputError as exc:
        raise CodebookError(str(exc)) from None


def codebook_from_yaml_text(text: str, default_name: str) -> Codebook:
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise CodebookError(f"codebook '{default_name}' is not valid YAML{where}; check indentation and quotes") from None
    if isinstance(data, list):
        data = {"codes": data}
    if not isinstance(data, dict) or not isinstance(data.get("codes"), list):
        raise CodebookError(f"codebook '{default_name}': expected a 'codes:' list of entries with at least a label")
    codes = [_code_from_mapping(entry, position, default_name) for position, entry in enumerate(data["codes"], start=1)]
    return Codebook(
        name=str(data.get("name") or default_name),
        codes=codes,
        title=str(data.get("title") or ""),
        source=str(data.get("source") or ""),
        version=str(data.get("version") or ""),
    )


def _code_from_mapping(entry, position: int, book: str) -> Code:
    if isinstance(entry, str):
        entry = {"label": entry}
    if not isinstance(entry, dict):
        raise CodebookError(f"codebook '{book}': entry {position} must be a mapping with at least a label")
    labels = _labels(entry)
    code = str(entry.get("code") or "").strip() or (labels.get("en") or next(iter(labels.values()), ""))
    if not labels:
        raise CodebookError(f"codebook '{book}': entry {position} ({code or 'no code'}) has no label")
    examples = entry.get("examples") or {}
    if isinstance(examples, (list, str)):
        examples = {"": examples}
    examples = {("" if lang == "und" else str(lang)): _as_list(texts) for lang, texts in examples.items()}
    return Code(
        code=code,
        labels=labels,
        description=str(entry.get("description") or "").strip(),
        examples={lang: texts for lang, texts in examples.items() if texts},
        parent=str(entry["parent"]).strip() if entry.get("parent") not in (None, "") else None,
        codable=_as_bool(entry.get("codable", True)),
        verified=_as_bool(entry.get("verified", True)),
    )


def _labels(entry: dict) -> dict[str, str]:
    label = entry.get("label")
    labels: dict[str, str] = {}
    if isinstance(label, dict):
        labels.update({str(k): str(v).strip() for k, v in label.items() if v not in (None, "")})
    elif label not in (None, ""):
        labels["en"] = str(label).strip()
    for key, value in entry.items():
        if key.startswith("label_") and value not in (None, ""):
            labels[key[len("label_"):]] = str(value).strip()
    return {k: v for k, v in labels.items() if v}


def _as_list(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [part for part in EXAMPLE_SPLIT.split(value) if part]
    return [str(v).strip() for v in value if str(v).strip()]


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

"""Codebooks as data: the Code/Codebook model, loaders (YAML, CSV, REFI-QDA .qdc) and the
shipped SPIRAL default. The grid is replaceable, translatable and versioned by users."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from .errors import CodebookError

DEFAULT_CODEBOOK = "spiral"
_EXAMPLE_SPLIT = re.compile(r"\s*[|\n]\s*")


@dataclass
class Code:
    code: str
    labels: dict[str, str]
    description: str = ""
    examples: dict[str, list[str]] = field(default_factory=dict)  # language ("" = unknown) -> criteria
    parent: str | None = None
    codable: bool = True
    verified: bool = True

    def label(self, language: str | None = None) -> str:
        """The label in `language`, else English, else the first one given."""
        if language and language in self.labels:
            return self.labels[language]
        return self.labels.get("en") or next(iter(self.labels.values()))

    @property
    def all_examples(self) -> list[str]:
        return [text for texts in self.examples.values() for text in texts]


@dataclass
class Codebook:
    name: str
    codes: list[Code]
    title: str = ""
    source: str = ""
    version: str = ""

    def __post_init__(self):
        self._index = {code.code: code for code in self.codes}
        self.validate()

    def validate(self) -> None:
        if not self.codes:
            raise CodebookError(f"codebook '{self.name}' has no codes")
        seen: set[str] = set()
        for position, code in enumerate(self.codes, start=1):
            if not code.code or not str(code.code).strip():
                raise CodebookError(f"codebook '{self.name}': entry {position} has no code or label")
            if code.code in seen:
                raise CodebookError(f"codebook '{self.name}': code '{code.code}' appears twice; codes must be unique")
            seen.add(code.code)
            if not code.labels or not any(v.strip() for v in code.labels.values()):
                raise CodebookError(f"codebook '{self.name}': code '{code.code}' has no label")
        for code in self.codes:
            if code.parent and code.parent not in self._index:
                raise CodebookError(f"codebook '{self.name}': code '{code.code}' has parent '{code.parent}', which is not a code of the codebook")
        for code in self.codes:
            chain = [code.code]
            while self._index[chain[-1]].parent:
                chain.append(self._index[chain[-1]].parent)
                if chain[-1] in chain[:-1]:
                    loop = " -> ".join(chain[chain.index(chain[-1]):])
                    raise CodebookError(f"codebook '{self.name}': parents form a loop ({loop}); a code cannot be its own ancestor")
        if not self.codable():
            raise CodebookError(f"codebook '{self.name}' has no codable code")

    def __len__(self) -> int:
        return len(self.codes)

    def __iter__(self) -> Iterator[Code]:
        return iter(self.codes)

    def __contains__(self, code: str) -> bool:
        return code in self._index

    def __getitem__(self, code: str) -> Code:
        try:
            return self._index[code]
        except KeyError:
            raise CodebookError(f"code '{code}' is not in codebook '{self.name}'") from None

    def codable(self) -> list[Code]:
        return [code for code in self.codes if code.codable]

    def children(self, code: str | None) -> list[Code]:
        return [c for c in self.codes if c.parent == code]

    def root(self, code: str) -> str:
        """The top ancestor (the SPIRAL family for a component)."""
        seen = set()
        while self[code].parent and code not in seen:
            seen.add(code)
            code = self[code].parent
        return code

    def label(self, code: str, language: str | None = None) -> str:
        return self[code].label(language) if code in self else ""

    @property
    def languages(self) -> list[str]:
        found: dict[str, None] = {}
        for code in self.codes:
            found.update(dict.fromkeys(code.labels))
        return list(found)

    # ------------------------------------------------------------------ serialisation
    def to_dict(self) -> dict:
        entries = []
        for code in self.codes:
            entry: dict = {"code": code.code}
            if code.parent:
                entry["parent"] = code.parent
            if not code.codable:
                entry["codable"] = False
            entry["verified"] = code.verified
            entry["label"] = dict(code.labels)
            if code.description:
                entry["description"] = code.description
            if code.examples:
                entry["examples"] = {lang or "und": list(texts) for lang, texts in code.examples.items()}
            entries.append(entry)
        return {"name": self.name, "title": self.title, "version": self.version, "source": self.source, "codes": entries}

    def to_yaml(self, path: str | Path | None = None) -> str:
        import yaml

        text = yaml.safe_dump(self.to_dict(), allow_unicode=True, sort_keys=False, width=100)
        if path is not None:
            from .outputs import write_text_atomic

            write_text_atomic(Path(path), text)
        return text


# ---------------------------------------------------------------------- loading

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
        from .exchange.refiqda import read_qdc

        return read_qdc(path)
    raise CodebookError(f"{path.name}: unknown codebook format '{suffix or '(none)'}'; use .yaml, .json, .csv or REFI-QDA .qdc")


def _read_text(path: Path) -> str:
    from .corpus import decode_bytes
    from .errors import InputError

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
        return [part for part in _EXAMPLE_SPLIT.split(value) if part]
    return [str(v).strip() for v in value if str(v).strip()]


def _as_bool(value) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() not in ("false", "0", "no", "n", "")


def codebook_from_csv(path: Path) -> Codebook:
    """CSV with at least `label`; optional code, description, examples ('|'-separated),
    parent, codable, verified and label_xx columns."""
    from .corpus import read_table
    from .errors import InputError

    from .corpus import dedupe_columns

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

"""The codebook as data: `Code` and `Codebook` (labels in many languages, descriptions,
examples, the family tree). The grid is replaceable, translatable and versioned by users."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from criteria_nlp.errors import CodebookError

EXAMPLE_SPLIT = re.compile(r"\s*[|\n]\s*")


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
            from criteria_nlp.io.outputs import write_text_atomic

            write_text_atomic(Path(path), text)
        return text

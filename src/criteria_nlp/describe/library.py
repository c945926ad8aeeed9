"""The indicator library: SPIRAL indicators shipped as data, parallel in many languages.

Draft indicators are chosen from this library and adapted to each criteria group
(`describe.drafting`), never assembled word by word. The shipped library lives in
`data/indicators/` (an `index.yaml` and one `<lang>.yaml` per language, see its README);
`--indicators FILE` extends it with a user's own indicators, or replaces it (`replace: true`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from criteria_nlp.errors import CriteriaNLPError
from criteria_nlp.io.yamlfile import parse_yaml, read_yaml

LEVEL_NAMES = ("very unsatisfactory", "unsatisfactory", "average", "good", "ideal")
# The statement pattern of each SPIRAL family (see data/indicators/README.md).
PATTERNS = ("resource", "environment", "institution", "relation", "balance", "personal", "feeling", "initiative")
SHIPPED = "spiral"


class IndicatorLibraryError(CriteriaNLPError):
    """The indicator library file is missing, malformed or inconsistent."""


@dataclass(frozen=True)
class IndicatorText:
    """An indicator's wording in one language."""

    name: str
    levels: tuple[str, str, str, str, str]
    variants: dict[str, str] = field(default_factory=dict)  # variant id -> narrower name
    verified: bool = False  # checked by a native speaker


@dataclass(frozen=True)
class Indicator:
    id: str
    component: str
    pattern: str
    scope: str
    texts: dict[str, IndicatorText]

    @property
    def family(self) -> str:
        return self.component[:1]


class IndicatorLibrary:
    """Indicators by id, in a stable order; `languages` are those every indicator is written in."""

    def __init__(self, indicators: list[Indicator], source: str):
        self.indicators = {i.id: i for i in indicators}
        self.source = source
        written = [set(i.texts) for i in indicators]
        self.languages = tuple(sorted(set.intersection(*written))) if written else ()

    def __iter__(self):
        return iter(self.indicators.values())

    def __len__(self) -> int:
        return len(self.indicators)

    def __getitem__(self, indicator_id: str) -> Indicator:
        return self.indicators[indicator_id]

    def for_component(self, component: str) -> list[Indicator]:
        return [i for i in self if i.component == component]

    def components(self) -> set[str]:
        return {i.component for i in self}


def check_analyst_language(language: str | None, library: IndicatorLibrary) -> None:
    """Refuse, before any work, a draft language the library is not written in."""
    if language and language not in library.languages:
        from criteria_nlp.i18n import _

        raise IndicatorLibraryError(_("--analyst-language '%(language)s': the indicator library is written in %(languages)s; "
                                      "choose one of them (or add the language to the library)")
                                    % {"language": language, "languages": ", ".join(library.languages)})


def load_library(spec: str | Path | None = None) -> IndicatorLibrary:
    """The shipped library (`None` or 'spiral'), a library folder like the shipped one, or the
    shipped library extended (or replaced, with `replace: true`) by one YAML file."""
    shipped = _shipped()
    if spec is None or str(spec) == SHIPPED:
        return shipped
    path = Path(spec)
    if path.is_dir():
        return _read_folder(path)
    if not path.exists():
        raise IndicatorLibraryError(f"indicator library '{spec}' not found: give a .yaml file or a folder with index.yaml")
    data = read_yaml(path, IndicatorLibraryError)
    if not isinstance(data, dict) or not isinstance(data.get("indicators"), list):
        raise IndicatorLibraryError(f"{path.name}: expected 'indicators:' followed by a list of indicators (id, component, "
                                    "pattern, texts); see the README of the shipped library")
    own = [_indicator_from_entry(entry, n, path.name) for n, entry in enumerate(data["indicators"], start=1)]
    _check_unique([i.id for i in own], path.name)
    if data.get("replace") is True:
        return IndicatorLibrary(own, str(path))
    merged = {i.id: i for i in shipped}
    merged.update({i.id: i for i in own})
    return IndicatorLibrary(list(merged.values()), f"{SHIPPED} + {path}")


_SHIPPED_CACHE: dict[str, IndicatorLibrary] = {}


def _shipped() -> IndicatorLibrary:
    # Read-only once loaded (frozen dataclasses): a cache, not shared mutable state.
    if SHIPPED not in _SHIPPED_CACHE:
        folder = resources.files("criteria_nlp.data").joinpath("indicators")
        index = parse_yaml(folder.joinpath("index.yaml").read_text(encoding="utf-8"), "index.yaml", IndicatorLibraryError,
                           shipped=True)
        files = {p.name[:-5]: p.read_text(encoding="utf-8") for p in folder.iterdir()
                 if p.name.endswith(".yaml") and p.name != "index.yaml"}
        _SHIPPED_CACHE[SHIPPED] = _from_index(index, {lang: parse_yaml(text, f"{lang}.yaml", IndicatorLibraryError, shipped=True)
                                                       for lang, text in files.items()}, SHIPPED)
    return _SHIPPED_CACHE[SHIPPED]


def _read_folder(folder: Path) -> IndicatorLibrary:
    if not (folder / "index.yaml").exists():
        raise IndicatorLibraryError(f"{folder}: no index.yaml here; a library folder holds index.yaml and one <lang>.yaml per language")
    index = read_yaml(folder / "index.yaml", IndicatorLibraryError)
    files = {p.stem: read_yaml(p, IndicatorLibraryError) for p in sorted(folder.glob("*.yaml")) if p.name != "index.yaml"}
    return _from_index(index, files, str(folder))


def _from_index(index, files: dict, source: str) -> IndicatorLibrary:
    entries = index.get("indicators") if isinstance(index, dict) else index
    if not isinstance(entries, list):
        raise IndicatorLibraryError("index.yaml: expected 'indicators:' followed by a list of {id, component, pattern, scope}")
    texts: dict[str, dict] = {}
    for language, data in files.items():
        if not isinstance(data, dict) or not isinstance(data.get("indicators"), dict):
            raise IndicatorLibraryError(f"{language}.yaml: expected 'indicators:' followed by one entry per indicator id")
        default_verified = data.get("verified") is True
        for indicator_id, entry in data["indicators"].items():
            if isinstance(entry, dict) and "verified" not in entry:
                entry = {**entry, "verified": default_verified}
            texts.setdefault(str(indicator_id), {})[language] = entry
    indicators = []
    for n, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict):
            raise IndicatorLibraryError(f"index.yaml: entry {n} is not a mapping of id, component, pattern, scope")
        indicator_id = str(entry.get("id", ""))
        indicators.append(_indicator_from_entry({**entry, "texts": texts.pop(indicator_id, {})}, n, "index.yaml", per_language_files=True))
    _check_unique([i.id for i in indicators], "index.yaml")
    if texts:
        unknown = ", ".join(sorted(texts)[:5])
        raise IndicatorLibraryError(f"indicator(s) {unknown} have wording but no entry in index.yaml; add them there or remove them")
    return IndicatorLibrary(indicators, source)


def _indicator_from_entry(entry, n: int, where: str, per_language_files: bool = False) -> Indicator:
    if not isinstance(entry, dict):
        raise IndicatorLibraryError(f"{where}: indicator {n} is not a mapping (id, component, pattern, texts)")
    indicator_id = _text(entry.get("id"))
    if not indicator_id:
        raise IndicatorLibraryError(f"{where}: indicator {n} has no id")
    component = _text(entry.get("component"))
    if not component:
        raise IndicatorLibraryError(f"{where}: indicator '{indicator_id}' has no component (the codebook code it belongs to, e.g. A02)")
    pattern = _text(entry.get("pattern"))
    if pattern not in PATTERNS:
        raise IndicatorLibraryError(f"{where}: indicator '{indicator_id}' has pattern '{pattern}'; use one of {', '.join(PATTERNS)}")
    raw_texts = entry.get("texts")
    if not isinstance(raw_texts, dict) or not raw_texts:
        raise IndicatorLibraryError(f"{where}: indicator '{indicator_id}' has no wording; give its name and five levels "
                                    "in at least one language")
    texts = {str(lang): _wording(value, indicator_id, str(lang), f"{lang}.yaml" if per_language_files else where)
             for lang, value in raw_texts.items()}
    variant_ids = {lang: set(t.variants) for lang, t in texts.items()}
    if len({frozenset(v) for v in variant_ids.values()}) > 1:
        raise IndicatorLibraryError(f"{where}: indicator '{indicator_id}' has different variant ids across languages "
                                    f"({'; '.join(f'{k}: {sorted(v)}' for k, v in sorted(variant_ids.items()))}); "
                                    "variant ids must be the same in every language")
    return Indicator(indicator_id, component, pattern, _text(entry.get("scope")), texts)


def _wording(value, indicator_id: str, language: str, where: str) -> IndicatorText:
    place = f"{where}: indicator '{indicator_id}' in '{language}'"
    if not isinstance(value, dict):
        raise IndicatorLibraryError(f"{place}: expected name, levels and (optionally) variants")
    name = _text(value.get("name"))
    if not name:
        raise IndicatorLibraryError(f"{place} has no name")
    levels = value.get("levels")
    if not isinstance(levels, list) or len(levels) != 5 or not all(isinstance(x, str) and x.strip() for x in levels):
        count = len(levels) if isinstance(levels, list) else 0
        raise IndicatorLibraryError(f"{place}: 'levels' must be a list of exactly five sentences "
                                    f"({', '.join(f'{k} {n}' for k, n in enumerate(LEVEL_NAMES, start=1))}); found {count}")
    variants = value.get("variants") or {}
    if not isinstance(variants, dict) or not all(isinstance(v, str) and v.strip() for v in variants.values()):
        raise IndicatorLibraryError(f"{place}: 'variants' must map a variant id to a narrower name")
    return IndicatorText(name, tuple(x.strip() for x in levels), {str(k): v.strip() for k, v in variants.items()},
                         value.get("verified") is True)


def _text(value) -> str:
    return value.strip() if isinstance(value, str) else ("" if value is None else str(value).strip())


def _check_unique(ids: list[str], where: str) -> None:
    seen, repeated = set(), []
    for indicator_id in ids:
        if indicator_id in seen:
            repeated.append(indicator_id)
        seen.add(indicator_id)
    if repeated:
        raise IndicatorLibraryError(f"{where}: indicator id(s) {', '.join(sorted(set(repeated)))} appear more than once")

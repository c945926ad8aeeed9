"""`--redact`: mask personal data in answers before anything is embedded or written.

E-mail addresses, phone numbers (international and European national formats) and URLs are
masked in every text column by regular expressions; person names are masked in French
answers with spaCy's fr_core_news_sm NER (PER entities; loaded only when needed). Ids are
join keys and stay as written unless they themselves contain an e-mail, phone number or URL,
in which case they are replaced by a stable pseudonym (``id-`` + 12 hex digits of SHA-256).

Limits (documented, not hidden): names are found only in French and only as well as a small
NER model finds them (first names alone are sometimes missed); the patterns aim at recall, so
long digit runs (9 to 15 digits) are masked as phone numbers even when they are not.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Sequence

import pandas as pd

EMAIL_MASK = "[email]"


PHONE_MASK = "[phone]"


URL_MASK = "[url]"


NAME_MASK = "[name]"


_EMAIL = re.compile(r"(?<![\w.+\-])[\w.+\-]*\w@[\w\-]+(?:\.[\w\-]+)+")


_TLDS = (
    "com|org|net|edu|gov|info|io|eu|fr|be|nl|de|lu|ch|at|it|pt|es|gr|lv|lt|ee|fi|se|no|dk|pl|"
    "cz|sk|hu|ro|bg|hr|si|ie|uk|ru|ua|md|ge|am|tr|cy|mt"
)


_URL = re.compile(
    r"(?:\b(?:https?|ftp)://|\bwww\.)[^\s<>\"'\]\[]+"
    rf"|\b[a-z0-9][a-z0-9\-]*(?:\.[a-z0-9\-]+)*\.(?:{_TLDS})\b(?:/[^\s<>\"'\]\[]*)?",
    re.IGNORECASE,
)


_TRAILING = ".,;:!?)»\"'"


# Digits in groups separated by one space (also no-break spaces), dot, dash or slash, an
# optional +/00 prefix and (0): checked afterwards for a phone-like number of digits.
_PHONE = re.compile(r"(?<![\w+@/.\-])(?:\+|00)?\(?\d[\d()\u00a0\u202f .\-/]{5,}\d(?![\w@])")


_SEPARATOR_RUN = re.compile(r"[\u00a0\u202f .\-/]{2,}")


def _mask_url(match: re.Match) -> str:
    text = match.group(0)
    kept = text.rstrip(_TRAILING)
    return URL_MASK + text[len(kept):]


def _mask_phone(match: re.Match) -> str:
    text = match.group(0)
    digits = sum(ch.isdigit() for ch in text)
    international = text.startswith(("+", "00"))
    if _SEPARATOR_RUN.search(text) or not (9 <= digits <= 15 or (international and 8 <= digits <= 15)):
        return text
    return PHONE_MASK


def redact_patterns(text: str) -> str:
    """Mask e-mail addresses, URLs and phone numbers (in that order: an e-mail's domain is
    not a URL, a URL's digits are not a phone number)."""
    if not isinstance(text, str) or not text:
        return text
    text = _EMAIL.sub(EMAIL_MASK, text)
    text = _URL.sub(_mask_url, text)
    return _PHONE.sub(_mask_phone, text)


def has_personal_pattern(text: str) -> bool:
    return redact_patterns(text) != text


_NER_MODELS = {"fr": "fr_core_news_sm"}


_CHUNK = 20_000  # characters per NER call: long answers are cut at whitespace


@functools.lru_cache(maxsize=None)
def _ner(language: str):
    import spacy

    from criteria_nlp.errors import ModelError

    name = _NER_MODELS[language]
    try:
        # The morphologizer's part of speech tells a sentence-initial verb from a name.
        return spacy.load(name, exclude=["parser", "lemmatizer", "attribute_ruler", "senter"])
    except OSError as exc:
        raise ModelError(f"the spaCy model {name} needed by --redact is not installed ({exc}); reinstall criteria-nlp") from None


def _chunks(text: str) -> Iterable[tuple[int, str]]:
    start = 0
    while start < len(text):
        end = min(len(text), start + _CHUNK)
        if end < len(text):
            space = text.rfind(" ", start + _CHUNK // 2, end)
            end = space if space > start else end
        yield start, text[start:end]
        start = end


def redact_names(texts: Sequence[str], language: str = "fr") -> tuple[list[str], int]:
    """Replace PER entities by [name]; returns (texts, number of names masked). Entities made
    only of verbs (a capitalised first word such as "Parler ...") are not names."""
    if language not in _NER_MODELS:
        return list(texts), 0
    nlp = _ner(language)
    pieces = [(i, offset, chunk) for i, text in enumerate(texts) for offset, chunk in _chunks(text)]
    spans: dict[int, list[tuple[int, int]]] = {}
    for (i, offset, _), doc in zip(pieces, nlp.pipe((chunk for _, _, chunk in pieces), batch_size=64)):
        for entity in doc.ents:
            if entity.label_ == "PER" and not all(token.pos_ in ("VERB", "AUX") for token in entity):
                spans.setdefault(i, []).append((offset + entity.start_char, offset + entity.end_char))
    out, count = list(texts), 0
    for i, found in spans.items():
        text = out[i]
        for start, end in sorted(found, reverse=True):
            text = text[:start] + NAME_MASK + text[end:]
            count += 1
        out[i] = text
    return out, count


def pseudonym(value: str) -> str:
    return "id-" + hashlib.sha256(value.encode("utf-8")).hexdigest()[:12]


def redact_answers(answers: pd.DataFrame, *, text_column: str = "text", id_column: str = "id", language_column: str = "language") -> tuple[pd.DataFrame, dict]:
    """A copy of `answers` with personal data masked in every text column (names in the
    French rows of `text_column`), and counts of what was masked."""
    out = answers.copy()
    stats: Counter = Counter()
    for column in out.columns:
        if column == id_column or not (out[column].dtype == object or pd.api.types.is_string_dtype(out[column])):
            continue
        before = out[column]
        after = before.map(redact_patterns)
        for mask in (EMAIL_MASK, URL_MASK, PHONE_MASK):
            stats[mask.strip("[]")] += int(after.str.count(re.escape(mask)).sum() - before.astype(str).str.count(re.escape(mask)).sum())
        out[column] = after
    if id_column in out.columns:
        changed = out[id_column].map(has_personal_pattern)
        out.loc[changed, id_column] = out.loc[changed, id_column].map(pseudonym)
        stats["ids_pseudonymised"] = int(changed.sum())
    if language_column in out.columns and text_column in out.columns:
        for language in _NER_MODELS:
            rows = out[language_column] == language
            if rows.any():
                masked, count = redact_names(out.loc[rows, text_column].tolist(), language)
                out.loc[rows, text_column] = masked
                stats["name"] += count
    return out, {key: int(value) for key, value in sorted(stats.items())}

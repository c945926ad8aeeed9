"""Text normalisation, non-answers and duplicates.

Non-answers ("rien", "niets", "-", "/") are flagged before any model sees them: left in,
hundreds of them collapse into a few fake topics (a known BERTopic complaint).
"""

from __future__ import annotations

import re
import unicodedata

import pandas as pd

_SPACES = re.compile(r"\s+")


_EDGE_PUNCT = re.compile(r"^[\W_]+|[\W_]+$", re.UNICODE)


# Lower-cased, accents kept; matched after stripping surrounding punctuation.
NON_ANSWERS = frozenset({
    # fr
    "rien", "rien à dire", "je ne sais pas", "je sais pas", "sais pas", "jsp", "nsp", "aucun", "aucune",
    "pas d'idée", "pas d'avis", "sans avis", "néant", "neant", "idem", "ras",
    # nl
    "niets", "niks", "weet niet", "ik weet het niet", "geen idee", "geen", "geen mening", "nvt", "n.v.t",
    # en
    "nothing", "none", "don't know", "dont know", "do not know", "no idea", "n/a", "na", "nil", "no comment",
    # de
    "nichts", "weiß nicht", "weiss nicht", "keine ahnung", "keine",
    # it
    "niente", "nulla", "non so", "nessuno", "boh",
    # pt
    "nada", "não sei", "nao sei", "nenhum", "nenhuma",
    # es
    "no sé", "no se", "ninguno",
    # el
    "τίποτα", "τιποτα", "δεν ξέρω", "δεν ξερω", "κανένα",
    # lv
    "nekas", "nezinu", "nav", "nav viedokļa",
    # ru
    "ничего", "не знаю", "нет", "нечего",
    # sv
    "inget", "ingenting", "vet inte", "ingen aning",
    # hu, ro
    "semmi", "nem tudom", "nimic", "nu știu", "nu stiu",
})


def normalise_text(text: str) -> str:
    """NFC, whitespace collapsed, stripped: the form used for exact-duplicate detection."""
    return _SPACES.sub(" ", unicodedata.normalize("NFC", str(text))).strip()


def duplicate_key(text: str) -> str:
    """Case- and edge-punctuation-insensitive key: 'Solitude.' and 'solitude' are one criterion."""
    return _EDGE_PUNCT.sub("", normalise_text(text).casefold())


_LETTER_RUN = re.compile(r"[^\W\d_]+", re.UNICODE)


# Scripts written without spaces, where one character can be a whole word (家, 愛, ใจ).
_WORD_CHARACTER_SCRIPTS = ("CJK", "HIRAGANA", "KATAKANA", "HANGUL", "THAI", "LAO", "KHMER", "MYANMAR", "TIBETAN", "YI")


def _word_characters(key: str) -> bool:
    if key.isascii():
        return False
    return any(unicodedata.name(ch, "").startswith(_WORD_CHARACTER_SCRIPTS) for ch in key if not ch.isascii() and ch.isalpha())


def is_contentless(key: str) -> bool:
    """No word in it: single letters ("a", "x y z", "b."), or one letter repeated ("aaaa")."""
    runs = _LETTER_RUN.findall(key)
    if not runs or _word_characters(key):
        return False
    letters = "".join(runs)
    return len(set(letters)) <= 1 or max(len(run) for run in runs) < 2


def is_non_answer(text: str) -> bool:
    """True for answers that carry no criterion: empty after punctuation, a known phrase, or
    no word at all (single letters: a model would still give them a confident code)."""
    key = duplicate_key(text)
    if not key or not any(ch.isalpha() for ch in key):
        return True
    return key in NON_ANSWERS or is_contentless(key)


def answer_status(texts: pd.Series) -> pd.Series:
    """'answer' or 'non_answer' for each text."""
    return texts.map(lambda t: "non_answer" if is_non_answer(t) else "answer")


def duplicate_groups(texts: pd.Series) -> pd.Series:
    """Integer id shared by answers that are the same criterion written again (first seen order)."""
    keys = texts.map(duplicate_key)
    return pd.Series(pd.factorize(keys)[0], index=texts.index)

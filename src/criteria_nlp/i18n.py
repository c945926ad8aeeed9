"""Localisation: the gettext catalogues, the choice of language and Babel's number formats.

What a person reads (report.html, review.xlsx, terminal messages) goes through a `Localiser`;
what a program reads (CSV columns, manifest keys, decisions.jsonl values) stays English.
Catalogues: `locale/<lang>/LC_MESSAGES/criteria_nlp.po`, compiled to `.mo` with Babel
(`pybabel compile -d src/criteria_nlp/locale -D criteria_nlp`) and shipped in the package.
A message missing from a catalogue falls back to English.
"""

from __future__ import annotations

import gettext
import math
import os
from collections import Counter
from collections.abc import Iterable
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DOMAIN = "criteria_nlp"
LOCALE_DIR = Path(__file__).parent / "locale"
DEFAULT_LANGUAGE = "en"
# Languages with a catalogue (English is the source language of the messages).
UI_LANGUAGES = ("en", "fr", "nl", "it", "pt", "el", "lv", "sv", "de", "es")
# The language of the terminal messages when a command was given --analyst-language.
MESSAGE_LANGUAGE: ContextVar[str | None] = ContextVar("criteria_nlp_message_language", default=None)

# The review decisions as stored (decisions.jsonl) and as each language shows them in the
# workbook's dropdown: pgettext contexts keep these short words apart from other messages.
DECISION_CONTEXT = "review decision"
NO_CODE_CONTEXT = "review override"
NO_CODE_WORD = "none"  # as stored (review.state.NO_CODE)


def base_language(tag: str | None) -> str:
    """'fr_FR.UTF-8', 'fr-BE', 'FR' -> 'fr'; '' for C/POSIX or nothing."""
    tag = (tag or "").strip()
    if not tag or tag.split(".")[0] in ("C", "POSIX"):
        return ""
    return tag.replace("-", "_").split("_")[0].split(".")[0].split("@")[0].lower()


def terminal_language(environ=None) -> str:
    """The language of the terminal's locale, looked up as gettext does (LANGUAGE, LC_ALL,
    LC_MESSAGES, LANG); English when unset or C."""
    environ = os.environ if environ is None else environ
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(name, "")
        if value:
            language = base_language(value.split(":")[0])
            return language or DEFAULT_LANGUAGE
    return DEFAULT_LANGUAGE


def majority_language(languages: Iterable[str], allowed: Iterable[str] | None = None) -> str:
    """The most frequent language of the answers (ties: alphabetical), among `allowed` when
    given; English when there is none."""
    allowed = set(allowed) if allowed is not None else None
    counts = Counter(str(lang) for lang in languages if str(lang) and (allowed is None or str(lang) in allowed))
    if not counts:
        return DEFAULT_LANGUAGE
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[0][0]


@lru_cache(maxsize=None)
def translated_share(language: str) -> float:
    """The share of the interface's messages that `language`'s catalogue translates (the
    English catalogue holds them all); what is missing is shown in English."""
    from babel.messages.pofile import read_po

    def count(lang: str) -> int:
        path = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
        if not path.is_file():
            return 0
        with path.open("rb") as handle:
            strings = [m.string if isinstance(m.string, tuple) else (m.string,) for m in read_po(handle) if m.id]
        return sum(1 for forms in strings if forms and all(forms))  # a plural counts when every form is there

    total = count(DEFAULT_LANGUAGE)
    return 1.0 if language == DEFAULT_LANGUAGE or not total else min(1.0, count(language) / total)


@lru_cache(maxsize=None)
def translations(language: str) -> gettext.NullTranslations:
    """The compiled catalogue of `language`; English (the messages themselves) without one."""
    return gettext.translation(DOMAIN, LOCALE_DIR, languages=[language], fallback=True)


@dataclass(frozen=True)
class Localiser:
    """Messages and numbers in one language."""

    language: str = DEFAULT_LANGUAGE

    @property
    def catalogue(self) -> gettext.NullTranslations:
        return translations(self.language)

    def gettext(self, message: str) -> str:
        return self.catalogue.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.catalogue.ngettext(singular, plural, n)

    def pgettext(self, context: str, message: str) -> str:
        return self.catalogue.pgettext(context, message)

    @property
    def babel_locale(self) -> str:
        from babel import Locale, UnknownLocaleError

        try:
            return str(Locale.parse(self.language))
        except (ValueError, UnknownLocaleError):
            return DEFAULT_LANGUAGE

    def partial_translation_note(self) -> str | None:
        """A line for the top of the report and the workbook when this language's catalogue is
        incomplete, so that English left in them is never taken for a finished translation."""
        share = translated_share(self.language)
        if share >= 1.0:
            return None
        return self.gettext("Only %(share)s of the interface texts are translated into this language; the rest is shown "
                            "in English. No native speaker has reviewed the translation yet.") % {"share": self.percent(share, 0)}

    def integer(self, value) -> str:
        from babel.numbers import format_decimal

        return format_decimal(int(value), locale=self.babel_locale)

    def decimal(self, value: float, digits: int = 2, signed: bool = False) -> str:
        from babel.numbers import format_decimal

        text = format_decimal(value, format="#,##0." + "0" * digits if digits else "#,##0", locale=self.babel_locale,
                              decimal_quantization=True)
        return f"+{text}" if signed and value > 0 else text

    def scientific(self, value: float) -> str:
        from babel.numbers import format_scientific

        return format_scientific(value, format="0.0E0", locale=self.babel_locale)

    def percent(self, value, digits: int = 1) -> str:
        """A share as a percentage in the locale's way ('12.3%', '12,3 %'); '–' when unknown."""
        from babel.numbers import format_percent

        try:
            value = float(value)
        except (TypeError, ValueError):
            return "–"
        if not math.isfinite(value):
            return "–"
        from babel import Locale

        # The locale's own pattern ('#,##0%', '#,##0\u00a0%'...) with `digits` decimals.
        pattern = Locale.parse(self.babel_locale).percent_formats[None].pattern.split(";")[0]
        head, zero, tail = pattern.rpartition("0")
        pattern = head + zero + ("." + "0" * digits if digits else "") + tail
        return format_percent(value, format=pattern, locale=self.babel_locale)

    def date(self, value) -> str:
        """An ISO date/time (as the manifest records it) in the locale's medium format."""
        import datetime as dt

        from babel.dates import format_datetime

        try:
            moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
        except ValueError:
            return str(value)
        return format_datetime(moment, format="medium", locale=self.babel_locale)

    def gettext_parts(self, text: str, separator: str = "; ") -> str:
        """Stored English text made of marked messages joined by `separator`, each part
        translated (parts that are no message stay as they are)."""
        return separator.join(self.gettext(part) if part else part for part in str(text).split(separator))

    def decision(self, value: str) -> str:
        """A stored review decision ('accept'...) as the workbook shows it."""
        return self.pgettext(DECISION_CONTEXT, value) if value else ""

    def no_code(self) -> str:
        """The word an analyst types in 'override code' for 'no code'."""
        return self.pgettext(NO_CODE_CONTEXT, NO_CODE_WORD)


def localiser(language: str | None = None) -> Localiser:
    return Localiser(language or DEFAULT_LANGUAGE)


def messages() -> Localiser:
    """The localiser of terminal messages: --analyst-language when a command got it, else the
    terminal's locale."""
    return Localiser(MESSAGE_LANGUAGE.get() or terminal_language())


def _(message: str) -> str:
    """A terminal message in the user's language (see `messages`)."""
    return messages().gettext(message)


def decision_words(decisions: Iterable[str]) -> dict[str, str]:
    """Every language's word for each decision (casefolded) -> the stored decision."""
    words = {}
    for decision in decisions:
        words[decision.casefold()] = decision
        for language in UI_LANGUAGES:
            words.setdefault(Localiser(language).decision(decision).casefold(), decision)
    return words


def no_code_words(stored: str) -> set[str]:
    """Every language's word for 'no code' (casefolded), and the stored one."""
    return {stored.casefold()} | {Localiser(language).no_code().casefold() for language in UI_LANGUAGES}


def check_language(language: str | None) -> str | None:
    """`language` when the report and workbook can be written in it (their catalogue or the
    codebook's labels); an InputError naming the choices otherwise."""
    from criteria_nlp.config import DEFAULT_LANGUAGES
    from criteria_nlp.errors import InputError

    if language is None:
        return None
    choices = sorted(set(UI_LANGUAGES) | set(DEFAULT_LANGUAGES))
    if language not in choices:
        raise InputError(_("--analyst-language '%(language)s' is not supported; choose one of: %(choices)s")
                         % {"language": language, "choices": ", ".join(choices)})
    return language


def gettext_noop(message: str) -> str:
    """Marks a message for extraction only: the text is stored in English (a CSV, the
    manifest) and translated where a person reads it (`Localiser.gettext_parts`)."""
    return message


def pgettext_noop(context: str, message: str) -> str:
    """Marks a message with a context for extraction only."""
    return message


# The decision words and the 'no code' word of the workbook, marked for the catalogues.
DECISION_MESSAGES = (
    pgettext_noop("review decision", "accept"), pgettext_noop("review decision", "rename"),
    pgettext_noop("review decision", "merge"), pgettext_noop("review decision", "move"),
    pgettext_noop("review decision", "reject"), pgettext_noop("review override", "none"),
)

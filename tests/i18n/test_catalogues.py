"""The message catalogues: complete for fr, nl and en, compiled (.mo) up to date with their
source (.po), the same placeholders as the English messages, and the coverage of every
language (printed with `pytest -s`)."""

import gettext
import io
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from criteria_nlp.i18n import DOMAIN, LOCALE_DIR, UI_LANGUAGES

ROOT = Path(__file__).parents[2]
COMPLETE = ("en", "fr", "nl")
KEYWORDS = {"_": None, "N_": None, "gettext": None, "ngettext": (1, 2), "pgettext": ((1, "c"), 2), "pgettext_noop": ((1, "c"), 2), "gettext_noop": None}


def catalogue(language):
    with (LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as f:
        return read_po(f)


def key(message):
    return (message.context, message.id if isinstance(message.id, str) else message.id[0])


def translated(message) -> bool:
    strings = message.string if isinstance(message.string, tuple) else (message.string,)
    return bool(strings) and all(strings)


@pytest.fixture(scope="module")
def source_messages():
    """Every message the code and the report template mark, extracted as pybabel does."""
    method_map = [("src/criteria_nlp/**.py", "python"), ("src/criteria_nlp/templates/**.j2", "jinja2")]
    options = {"src/criteria_nlp/templates/**.j2": {"extensions": "jinja2.ext.i18n"}}
    found = set()
    for _filename, _line, message, _comments, context in extract_from_dir(ROOT, method_map, options, keywords=KEYWORDS):
        found.add((context, message if isinstance(message, str) else message[0]))
    return found


def test_every_language_has_a_catalogue_and_a_compiled_one():
    for language in UI_LANGUAGES:
        folder = LOCALE_DIR / language / "LC_MESSAGES"
        assert (folder / f"{DOMAIN}.po").is_file() and (folder / f"{DOMAIN}.mo").is_file(), language


@pytest.mark.parametrize("language", UI_LANGUAGES)
def test_each_mo_is_up_to_date_with_its_po(language):
    """The committed .mo is what compiling the .po gives (pybabel compile uses the same writer)."""
    compiled = io.BytesIO()
    write_mo(compiled, catalogue(language))
    shipped = (LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.mo").read_bytes()
    assert shipped == compiled.getvalue(), f"{language}: run `pybabel compile -d src/criteria_nlp/locale -D criteria_nlp`"
    with (LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.mo").open("rb") as f:
        assert gettext.GNUTranslations(f).info()["language"] == language


@pytest.mark.parametrize("language", COMPLETE)
def test_fr_nl_en_translate_every_message_of_the_code(language, source_messages):
    messages = {key(m): m for m in catalogue(language) if m.id}
    missing = sorted(str(k) for k in source_messages if k not in messages)
    assert not missing, f"{language}.po lacks messages of the code (extract and update the catalogues): {missing[:5]}"
    untranslated = sorted(str(k) for k, m in messages.items() if not translated(m))
    assert not untranslated, f"{language}.po leaves messages untranslated: {untranslated[:5]}"


def test_the_catalogues_hold_no_message_the_code_dropped(source_messages):
    stale = sorted(str(key(m)) for m in catalogue("fr") if m.id and key(m) not in source_messages)
    assert not stale, f"messages no longer in the code (run pybabel update): {stale[:5]}"


@pytest.mark.parametrize("language", UI_LANGUAGES)
def test_translations_keep_the_placeholders_and_plural_forms(language):
    problems = [(m.id, [str(e) for e in errors]) for m, errors in catalogue(language).check()]
    assert not problems, problems[:3]


def test_catalogue_headers_say_no_native_speaker_has_reviewed_them():
    for language in UI_LANGUAGES:
        text = (LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po").read_text(encoding="utf-8")
        assert "NO NATIVE SPEAKER HAS REVIEWED THEM YET" in text, language
    assert "No native speaker has reviewed" in (LOCALE_DIR / "README.md").read_text(encoding="utf-8")


def coverage_table() -> list[tuple[str, int, int]]:
    rows = []
    for language in UI_LANGUAGES:
        messages = [m for m in catalogue(language) if m.id]
        rows.append((language, sum(translated(m) for m in messages), len(messages)))
    return rows


def test_coverage_per_language():
    """Lists the share of messages each language translates (the rest falls back to English);
    every language at least names the workbook's decisions, sheets and the report's sections."""
    rows = coverage_table()
    print("\nlanguage  translated / messages")
    for language, done, total in rows:
        print(f"{language:8}  {done:4} / {total} ({done / total:.0%})")
    coverage = {language: done / total for language, done, total in rows}
    assert all(coverage[language] == 1.0 for language in COMPLETE)
    for language in UI_LANGUAGES:
        messages = {key(m): m for m in catalogue(language) if m.id}
        for decision in ("accept", "rename", "merge", "move", "reject"):
            assert translated(messages[("review decision", decision)]), (language, decision)
        assert translated(messages[("review override", "none")]), language
        assert translated(messages[(None, "Answers")]) and translated(messages[(None, "Overview")]), language

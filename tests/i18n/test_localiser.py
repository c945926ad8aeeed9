"""criteria_nlp.i18n: numbers, percentages, dates and plurals per locale (Babel), English
for what a catalogue lacks, and the review words of every language."""

import pytest

from criteria_nlp.errors import InputError
from criteria_nlp.i18n import (
    UI_LANGUAGES,
    Localiser,
    check_language,
    decision_words,
    majority_language,
    no_code_words,
    translated_share,
)
from criteria_nlp.review.state import DECISIONS, NO_CODE

NBSP, NNBSP = "\u00a0", "\u202f"


def test_numbers_and_percentages_follow_the_locale():
    assert Localiser("en").percent(0.5812) == "58.1%"
    assert Localiser("fr").percent(0.5812) == f"58,1{NBSP}%"
    assert Localiser("nl").percent(0.5812) == "58,1%"
    assert Localiser("de").percent(0.5, 0) == f"50{NBSP}%"
    assert Localiser("fr").integer(1234567) == f"1{NNBSP}234{NNBSP}567"
    assert Localiser("nl").integer(1234567) == "1.234.567"
    assert Localiser("en").decimal(-1.5, 2, signed=True) == "-1.50"
    assert Localiser("fr").decimal(2.25, 2, signed=True) == "+2,25"
    assert Localiser("fr").percent(float("nan")) == "–"


def test_dates_follow_the_locale():
    created = "2026-03-05T14:30:00+00:00"
    assert Localiser("en").date(created).startswith("Mar 5, 2026")
    assert Localiser("fr").date(created).startswith("5 mars 2026")
    assert Localiser("nl").date(created).startswith("5 mrt 2026")
    assert Localiser("fr").date("not a date") == "not a date"


def test_plural_forms_come_from_each_catalogue():
    fr, nl, lv = Localiser("fr"), Localiser("nl"), Localiser("lv")
    assert fr.ngettext("%(num)s answer", "%(num)s answers", 1) % {"num": 1} == "1 réponse"
    assert fr.ngettext("%(num)s answer", "%(num)s answers", 0) % {"num": 0} == "0 réponse"  # French: 0 is singular
    assert fr.ngettext("%(num)s answer", "%(num)s answers", 2) % {"num": 2} == "2 réponses"
    assert nl.ngettext("%(num)s answer", "%(num)s answers", 0) % {"num": 0} == "0 antwoorden"
    # Not translated in Latvian yet: English, with English plurals.
    assert lv.ngettext("%(num)s answer", "%(num)s answers", 2) % {"num": 2} == "2 answers"


def test_a_language_without_a_translation_falls_back_to_english():
    assert Localiser("ru").gettext("Overview") == "Overview"
    assert Localiser("lv").gettext("Codes, criteria groups and draft indicators") == "Codes, criteria groups and draft indicators"
    assert Localiser("fr").gettext("a message no catalogue has") == "a message no catalogue has"


def test_each_language_has_its_own_review_words_and_none_is_ambiguous():
    words = decision_words(DECISIONS)
    for language in UI_LANGUAGES:
        loc = Localiser(language)
        shown = [loc.decision(d) for d in DECISIONS]
        assert len(set(shown)) == len(DECISIONS), language
        assert all(words[w.casefold()] == d for w, d in zip(shown, DECISIONS)), language
        assert loc.no_code().casefold() in no_code_words(NO_CODE)
        assert loc.no_code().casefold() not in words  # "no code" is never read as a decision
    assert words["accepter"] == words["aanvaarden"] == words["accept"] == "accept"
    assert Localiser("fr").decision("reject") == "rejeter" and Localiser("nl").no_code() == "geen"


def test_the_majority_language_and_the_language_check():
    assert majority_language(["fr", "nl", "fr", "", "xx"], allowed=["fr", "nl"]) == "fr"
    assert majority_language(["nl", "fr"]) == "fr"  # a tie: alphabetical, the same every run
    assert majority_language([], allowed=["fr"]) == "en"
    assert check_language("nl") == "nl" and check_language(None) is None
    with pytest.raises(InputError, match="'klingon' is not supported"):
        check_language("klingon")


def test_an_incomplete_catalogue_says_so_in_its_own_language():
    """English left in a partly translated report or workbook is announced, never passed off
    as a finished translation; complete languages carry no such note."""
    assert all(Localiser(language).partial_translation_note() is None for language in ("en", "fr", "nl"))
    for language in ("it", "pt", "de", "es", "sv", "el", "lv"):
        note = Localiser(language).partial_translation_note()
        share = translated_share(language)
        assert 0 < share < 1 and note and not note.startswith("Only "), language  # written in the language
        assert Localiser(language).percent(share, 0) in note, language

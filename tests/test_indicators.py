"""Draft indicators: names from the group's own words, five SPIRAL levels drafted from the
answers (ill-being at the bottom, well-being at the top), cited ids, fallback to English."""

import numpy as np
import pandas as pd
import pytest

from criteria_nlp.codebook.loaders import load_codebook
from criteria_nlp.describe.indicators import (
    INDICATOR_COLUMNS,
    _load_templates,
    draft_indicators,
    parse_names,
    wording_for,
)
from criteria_nlp.describe.keyphrases import describe

ROWS = [
    ("f1", "avoir un logement décent", "fr", "wellbeing"),
    ("f2", "un logement décent pour ma famille", "fr", "wellbeing"),
    ("f3", "pas de logement pour les jeunes", "fr", "illbeing"),
    ("f4", "le loyer du logement trop cher", "fr", "illbeing"),
    ("f5", "garder mon logement toujours", "fr", "wellbeing"),
    ("f6", "un logement de bonne qualité", "fr", "wellbeing"),
    ("n1", "een betaalbare woning", "nl", "wellbeing"),
    ("n2", "een betaalbare woning vinden", "nl", "wellbeing"),
    ("n3", "geen woning voor jongeren", "nl", "illbeing"),
    ("k1", "ένα ζεστό σπίτι", "el", "wellbeing"),
    ("k2", "ακριβό ενοίκιο για το σπίτι", "el", "illbeing"),
]


@pytest.fixture(scope="module")
def drafted():
    frame = pd.DataFrame(ROWS, columns=["id", "text", "language", "question"]).assign(cluster=5, code="A03")
    rng = np.random.RandomState(1)
    vectors = rng.randn(len(frame), 12) * 0.2 + 1
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    descriptions = describe(frame, vectors)
    return frame, descriptions, draft_indicators(frame, descriptions, load_codebook("spiral"))


def test_one_draft_per_language_with_contract_columns(drafted):
    _, _, table = drafted
    assert list(table.columns) == INDICATOR_COLUMNS
    assert sorted(table["language"]) == ["el", "fr", "nl"]
    assert set(table["status"]) == {"draft"} and table["note"].str.startswith("DRAFT").all()


def test_french_name_and_levels_come_from_the_answers(drafted):
    _, _, table = drafted
    fr = table.set_index("language").loc["fr"]
    assert fr["name"] in ("Accès à un logement décent", "Accès au logement décent", "Accès à un logement", "Accès au logement")
    ids = {k: set(fr[f"level_{k}_ids"].split()) for k in range(1, 6)}
    assert ids[1] == {"f3"}  # "pas de logement": possibility
    assert ids[2] == {"f4"}  # "trop cher": attainment
    assert "f5" in ids[5] and "f6" in ids[4]  # "garder ... toujours": sustainability; "bonne qualité": quality
    assert set().union(*ids.values()) == {"f1", "f2", "f3", "f4", "f5", "f6"}  # every answer cited once
    assert not (ids[1] | ids[2]) & {"f1", "f2", "f5", "f6"}  # well-being answers never at the bottom
    assert fr["level_1"].startswith("Je ne peux pas avoir accès à") and "« pas de logement pour les jeunes »" in fr["level_1"]
    assert "BROUILLON" in fr["note"]


def test_dutch_name_uses_the_groups_words(drafted):
    _, _, table = drafted
    nl = table.set_index("language").loc["nl"]
    assert "betaalbare woning" in nl["name"] and nl["name"].startswith("Toegang tot")
    assert nl["level_1_ids"] == "n3" and nl["level_1"].startswith("Ik heb geen toegang tot")


def test_language_without_templates_falls_back_to_english_and_says_so(drafted):
    _, _, table = drafted
    el = table.set_index("language").loc["el"]
    assert "no wording templates for 'el'" in el["note"] and "English" in el["note"]
    assert el["level_5"].startswith("I am sure to keep access to") and "σπίτι" in el["name"].casefold()


def test_templates_exist_for_the_required_languages():
    templates = _load_templates(None)
    for language in ("fr", "nl", "en", "it", "pt"):
        wording = wording_for(language, templates)
        assert not wording.fallback_for
        assert all("{x}" in wording.spec["levels"][k] for k in range(1, 6))
    assert wording_for("fr").fill(wording_for("fr").spec["levels"][1], "le logement").startswith("Je ne peux pas avoir accès au logement")
    assert wording_for("it").fill("accesso a {x}", "il lavoro") == "accesso al lavoro"
    assert wording_for("sv").fallback_for == "sv"


def test_analyst_names_replace_drafted_names(drafted):
    frame, descriptions, _ = drafted
    assert parse_names("fr: Se loger | nl: Wonen") == {"fr": "Se loger", "nl": "Wonen"}
    assert parse_names("Santé: accès") == {"*": "Santé: accès"}
    table = draft_indicators(frame, descriptions, names={5: "fr: Se loger | *: Housing"}).set_index("language")
    assert table.loc["fr", "name"] == "Se loger" and table.loc["nl", "name"] == "Housing"
    assert "name given by an analyst" in table.loc["fr", "note"]

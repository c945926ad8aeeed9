"""The indicator library: the shipped data covers the SPIRAL codebook in eleven parallel
languages, and user files extend or replace it with one-line errors when they are wrong."""

import pytest

from criteria_nlp.codebook.loaders import load_codebook
from criteria_nlp.describe.library import (
    IndicatorLibraryError,
    check_analyst_language,
    load_library,
)

LANGUAGES = {"fr", "nl", "en", "it", "pt", "el", "lv", "sv", "ru", "de", "es"}
PATTERN_OF_FAMILY = {"A": "resource", "B": "environment", "C": "institution", "D": "relation", "E": "balance",
                     "F": "personal", "G": "feeling", "H": "initiative"}


def test_every_codable_component_has_two_to_five_indicators_in_eleven_languages():
    library = load_library()
    assert set(library.languages) == LANGUAGES
    codable = {c.code for c in load_codebook("spiral").codable()}
    per_component = {code: len(library.for_component(code)) for code in codable}
    assert all(2 <= n <= 5 for n in per_component.values()), per_component
    assert library.components() == codable
    for indicator in library:
        assert indicator.pattern == PATTERN_OF_FAMILY[indicator.family]
        variants = {frozenset(t.variants) for t in indicator.texts.values()}
        assert len(variants) == 1  # parallel: the same variant ids in every language
        for wording in indicator.texts.values():
            assert len(wording.levels) == 5 and all(level.rstrip().endswith((".", "。")) for level in wording.levels)
            assert not wording.verified  # nobody has checked them yet: they say so


def test_the_library_never_names_access_to_what_is_not_a_resource():
    library = load_library()
    for indicator in library:
        name = indicator.texts["en"].name.lower()
        if indicator.pattern != "resource":
            assert not name.startswith("access to"), indicator.id


def _write(tmp_path, text, name="extra.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


EXTRA = """
indicators:
  - id: X01-1
    component: A02
    pattern: resource
    scope: "Getting a dentist appointment"
    texts:
      fr:
        name: Accès au dentiste
        levels: [Je ne trouve aucun dentiste., Les rendez-vous sont trop loin., J'attends des mois., Je suis soigné à temps., Je suis sûr d'être soigné longtemps.]
      en:
        name: Access to a dentist
        levels: [I find no dentist., Appointments are too far away., I wait for months., I am treated in time., I will be treated for years.]
"""


def test_a_user_file_extends_the_shipped_library(tmp_path):
    library = load_library(_write(tmp_path, EXTRA))
    assert "X01-1" in library.indicators and "A02-1" in library.indicators
    assert library["X01-1"].texts["fr"].name == "Accès au dentiste"
    assert library.languages == ("en", "fr")  # the languages every indicator is written in


def test_replace_keeps_only_the_users_indicators(tmp_path):
    library = load_library(_write(tmp_path, "replace: true\n" + EXTRA))
    assert list(library.indicators) == ["X01-1"]


@pytest.mark.parametrize("broken, message", [
    (EXTRA.replace("J'attends des mois., ", ""), "exactly five"),
    (EXTRA.replace("pattern: resource", "pattern: mood"), "pattern 'mood'"),
    (EXTRA.replace("component: A02", "component: ''"), "no component"),
    (EXTRA.replace("name: Accès au dentiste", "name: ''"), "has no name"),
    (EXTRA + "  - id: X01-1\n    component: A02\n    pattern: resource\n    texts: {en: {name: x, levels: [a, b, c, d, e]}}\n", "more than once"),
    ("indicators: &a [*a, *a]", "aliases"),
    ("indicators: [unclosed", "not valid YAML"),
    ("codes: []", "expected 'indicators:'"),
])
def test_broken_library_files_get_one_line_errors(tmp_path, broken, message):
    with pytest.raises(IndicatorLibraryError) as error:
        load_library(_write(tmp_path, broken))
    assert message in str(error.value) and "\n" not in str(error.value)


def test_variant_ids_must_be_parallel(tmp_path):
    text = EXTRA.replace("        name: Access to a dentist\n", "        name: Access to a dentist\n        variants: {child: Access to a dentist for children}\n")
    with pytest.raises(IndicatorLibraryError, match="variant ids"):
        load_library(_write(tmp_path, text))


def test_an_analyst_language_the_library_lacks_is_refused():
    check_analyst_language("nl", load_library())
    with pytest.raises(IndicatorLibraryError, match="written in"):
        check_analyst_language("hu", load_library())


def test_a_library_file_that_is_not_there_is_named(tmp_path):
    with pytest.raises(IndicatorLibraryError, match="not found"):
        load_library(tmp_path / "nope.yaml")


def test_the_shipped_vectors_cover_every_sentence_of_the_library():
    """indicators/vectors.npz must be rebuilt after the library is edited
    (`python -m criteria_nlp.describe.library_vectors`)."""
    from criteria_nlp.describe.library_vectors import library_sentences
    from criteria_nlp.embed.cache import EmbeddingCache
    from criteria_nlp.embed.shipped import LIBRARY_VECTORS, read_shipped

    shipped = read_shipped(LIBRARY_VECTORS)
    assert shipped is not None
    missing = [t for t in library_sentences(load_library()) if EmbeddingCache.key(shipped.model_id, t) not in shipped.index]
    assert not missing, f"{len(missing)} sentences have no shipped vector, e.g. {missing[:3]}"
    assert shipped.vectors.shape[0] == len(shipped.index) and shipped.vectors.shape[1] == 384

import pandas as pd

from criteria_nlp.prepare.language import identify_languages, normalise_language_code


def test_language_codes_are_normalised():
    assert normalise_language_code("FR") == "fr"
    assert normalise_language_code("fra") == "fr"
    assert normalise_language_code("Dutch") == "nl"
    assert normalise_language_code("pt-BR") == "pt"
    assert normalise_language_code("klingon") is None


def test_detection_column_override_and_group_prior():
    answers = pd.DataFrame({
        "text": [
            "avoir un logement décent et pas trop cher", "trouver du travail près de chez moi", "la solitude",
            "een job hebben in de buurt", "betaalbare woningen voor jonge gezinnen", "werk",
            "ok", "-", "sentirsi utile",
        ],
        "city": ["Mulhouse"] * 3 + ["Mechelen"] * 4 + ["Mulhouse", "Pergine"],
        "language": ["", "", "", "", "", "", "", "", "it"],
    })
    result = identify_languages(answers)
    assert result["language"].tolist()[:6] == ["fr", "fr", "fr", "nl", "nl", "nl"]
    # "ok" is ambiguous anywhere: the Mechelen group's language decides.
    assert result.loc[6, "language"] == "nl" and result.loc[6, "language_source"] == "group_prior"
    assert result.loc[7, "language"] == "fr" and result.loc[7, "language_source"] == "group_majority"
    assert result.loc[8, "language"] == "it" and result.loc[8, "language_source"] == "column"
    assert result.loc[0, "language_source"] == "detected"

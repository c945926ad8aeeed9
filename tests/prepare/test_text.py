import pandas as pd
import pytest

from criteria_nlp.prepare.text import (
    answer_status,
    duplicate_groups,
    duplicate_key,
    is_non_answer,
)


@pytest.mark.parametrize("text", ["rien", "Rien.", "-", "/", "?", "...", "niets", "Weet niet", "je ne sais pas", "τίποτα", "nezinu", "123", "  "])
def test_non_answers(text):
    assert is_non_answer(text)


@pytest.mark.parametrize("text", ["rien ne va", "la solitude", "nav darba", "werk", "sentirsi utile", "Τίποτα δεν λειτουργεί"])
def test_real_answers_are_not_non_answers(text):
    assert not is_non_answer(text)


def test_duplicates_ignore_case_spacing_and_edge_punctuation():
    texts = pd.Series(["La solitude.", "la  solitude", "solitude", "LA SOLITUDE!"])
    assert duplicate_key(texts[0]) == duplicate_key(texts[3])
    assert duplicate_groups(texts).tolist() == [0, 0, 1, 0]
    assert answer_status(pd.Series(["rien", "la paix"])).tolist() == ["non_answer", "answer"]

"""The prepare stage: each answer's language, status (answer / non-answer) and duplicate group."""

from __future__ import annotations

import pandas as pd

from criteria_nlp.config import DEFAULT_LANGUAGES
from criteria_nlp.io.corpus import Corpus
from criteria_nlp.prepare.language import (
    LANGUAGE_SCRIPT,
    UNSUPPORTED,
    dominant_foreign_script,
    LanguageIdentifier,
    identify_languages,
)
from criteria_nlp.prepare.text import answer_status, duplicate_groups

OTHER_LANGUAGE = "other_language"  # status of answers in a language outside the configured list


def prepare_answers(corpus: Corpus, languages=DEFAULT_LANGUAGES, show_progress: bool = False, *,
                    cache_dir=None, use_cache: bool = False) -> pd.DataFrame:
    """Corpus rows with language, status (answer / non_answer / other_language) and duplicate group.
    `use_cache`: keep each text's detected languages in the content cache of `cache_dir`."""
    answers = corpus.answers.copy()
    identifier = LanguageIdentifier(languages, show_progress=show_progress, cache_dir=cache_dir, use_cache=use_cache)
    detected = identify_languages(answers, identifier)
    answers["language"] = detected["language"].fillna("")
    answers["language_source"] = detected["language_source"]
    answers["status"] = answer_status(answers["text"])
    # In a language none of the configured ones: shown, never coded (nothing reads it well).
    foreign = (detected["language_source"] == UNSUPPORTED) & (answers["status"] == "answer")
    answers.loc[foreign, "status"] = OTHER_LANGUAGE
    answers["duplicate_of"] = duplicate_groups(answers["text"])
    return answers


def likely_answer_texts(answers: pd.DataFrame, languages=DEFAULT_LANGUAGES) -> list[str]:
    """The texts `prepare_answers` will most likely keep as answers, known without language
    identification (non-answers and answers in a foreign script left out): what a run can
    start embedding for while languages are identified."""
    supported = frozenset(LANGUAGE_SCRIPT.get(code, "LATIN") for code in languages)
    texts = answers["text"].astype(str)
    keep = (answer_status(texts) == "answer") & texts.map(lambda t: dominant_foreign_script(t, supported) is None)
    return texts[keep].tolist()


def texts_by_language(rows: pd.DataFrame) -> dict[str, list[str]]:
    """The answers' texts per language, as describe groups them ("" = "und")."""
    languages = rows["language"].astype(str).replace("", "und")
    return {language: rows.loc[languages == language, "text"].astype(str).tolist() for language in sorted(set(languages))}

"""Preparing answers before embedding: text normalisation and non-answers, language
identification, and redaction of personal data."""

from criteria_nlp.prepare.answers import prepare_answers, texts_by_language
from criteria_nlp.prepare.language import (
    LanguageIdentifier,
    identify_languages,
    normalise_language_code,
)
from criteria_nlp.prepare.privacy import redact_answers
from criteria_nlp.prepare.text import (
    answer_status,
    duplicate_groups,
    duplicate_key,
    is_non_answer,
    normalise_text,
)

__all__ = ['normalise_text', 'duplicate_key', 'is_non_answer', 'answer_status', 'duplicate_groups', 'LanguageIdentifier', 'identify_languages', 'normalise_language_code', 'redact_answers', 'prepare_answers', 'texts_by_language']

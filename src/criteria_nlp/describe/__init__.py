"""Describing groups of answers: lemma analysis, keyphrases, representative answers and
draft indicator wording."""

from criteria_nlp.describe.indicators import draft_indicators
from criteria_nlp.describe.keyphrases import (
    GroupDescription,
    describe,
    descriptions_table,
)

__all__ = ['GroupDescription', 'describe', 'descriptions_table', 'draft_indicators']

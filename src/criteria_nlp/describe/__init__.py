"""Describing groups of answers: lemma analysis, keyphrases, representative answers and
draft indicator wording."""

from criteria_nlp.describe.drafting import IndicatorDrafter, draft_indicators
from criteria_nlp.describe.keyphrases import (
    GroupDescription,
    describe,
    descriptions_table,
)
from criteria_nlp.describe.library import (
    IndicatorLibrary,
    IndicatorLibraryError,
    load_library,
)
from criteria_nlp.describe.valence import ValenceClassifier

__all__ = ['GroupDescription', 'describe', 'descriptions_table', 'draft_indicators', 'IndicatorDrafter', 'IndicatorLibrary', 'IndicatorLibraryError', 'load_library',
           'ValenceClassifier']

"""Embedding a run's answers with any backend (fitting it first when it learns from the corpus)."""

from __future__ import annotations

import numpy as np

from criteria_nlp.errors import InputError


def embed_answers(texts: list[str], embedder, show_progress: bool) -> np.ndarray:
    if not texts:
        raise InputError(
            "no answer to code: every answer is a number, punctuation, a non-answer such as 'rien' or in a language "
            "outside the configured ones; "
            "check that --text-col names the column of answers"
        )
    if getattr(embedder, "needs_fit", False):
        embedder.fit(texts)
    return embedder.embed(texts, show_progress=show_progress)

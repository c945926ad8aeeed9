"""The assign stage: codes for a run's answers, learned from coded answers when there are
some, zero-shot from the codebook otherwise."""

from __future__ import annotations

import numpy as np
import pandas as pd

from criteria_nlp.assign.zero_shot import zero_shot_assign
from criteria_nlp.config import DEFAULT_MIN_CONFIDENCE


def assign_answers(rows: pd.DataFrame, vectors: np.ndarray, codebook, embedder, *, training: pd.DataFrame | None = None,
                   shots: int = 0, min_confidence: float = DEFAULT_MIN_CONFIDENCE, top_k: int = 1,
                   seed: int = 0) -> tuple[pd.DataFrame, dict]:
    """(one row of codes per row of `rows`, what the manifest says about the method).

    `rows` are the answers to code (`vectors` aligned to them); `training` the analysts'
    coded answers (`read_training`): learned assignment, or with `shots` only that many of
    them per code, as zero-shot examples."""
    languages = rows["language"].tolist()
    texts = rows["text"].tolist()
    common = dict(min_confidence=min_confidence, languages=languages, top_k=top_k)
    if training is None:
        table, assigner = zero_shot_assign(vectors, codebook, embedder, texts=texts, **common)
        return table, {"method": "zero-shot", **assigner.summary()}
    from criteria_nlp.assign.learned import learned_assign
    from criteria_nlp.assign.training import pick_shots

    if shots:
        examples = pick_shots(training, shots, seed)
        table, assigner = zero_shot_assign(vectors, codebook, embedder, texts=texts, shots=examples, **common)
        return table, {"method": f"zero-shot + {shots} shots per code", "training_answers": len(examples), **assigner.summary()}
    # The embedder is already fitted on the corpus (tfidf): embed, never refit.
    training_vectors = embedder.embed(training["text"].tolist())
    table, assigner = learned_assign(vectors, training, training_vectors, codebook=codebook, embedder=embedder, texts=texts,
                                     seed=seed, **common)
    return table, {"method": "learned", "training_answers": len(training), **assigner.summary()}

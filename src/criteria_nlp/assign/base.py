"""What both assigners share: the softmax over similarities, the grid of temperatures it is
calibrated on, and the table of codes (with abstention below `min_confidence`)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from criteria_nlp.codebook.model import Codebook

# Temperature for centred cosines when the codebook has no examples to calibrate on.
DEFAULT_CENTRED_TEMPERATURE = 0.05


TEMPERATURES = np.geomspace(0.002, 0.5, 60)


def softmax(scores: np.ndarray, temperature: float) -> np.ndarray:
    z = scores / temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def assignment_table(
    proba: np.ndarray,
    classes: np.ndarray,
    codebook: Codebook | None,
    min_confidence: float,
    languages: Sequence[str] | None = None,
    top_k: int = 1,
) -> pd.DataFrame:
    """code / code_label / confidence (+ code_2... for top_k > 1); empty code = abstained.

    Labels are given in each answer's language when the codebook has it.
    """
    order = np.argsort(-proba, axis=1)
    n = len(proba)
    languages = list(languages) if languages is not None else [None] * n
    out = {}
    for rank in range(top_k):
        suffix = "" if rank == 0 else f"_{rank + 1}"
        if rank >= proba.shape[1]:  # fewer codes than asked: the extra ranks stay empty
            out[f"code{suffix}"] = np.array([""] * n, dtype=object)
            out[f"code_label{suffix}"] = [""] * n
            out[f"confidence{suffix}"] = np.zeros(n)
            continue
        best = order[:, rank]
        confidence = proba[np.arange(n), best]
        codes = classes[best].astype(object)
        codes[confidence < min_confidence] = ""
        out[f"code{suffix}"] = codes
        out[f"code_label{suffix}"] = [
            codebook.label(c, lang) if (codebook is not None and c) else "" for c, lang in zip(codes, languages)
        ]
        out[f"confidence{suffix}"] = np.round(confidence, 4)
    return pd.DataFrame(out)

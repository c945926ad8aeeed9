"""Assigning answers to codebook codes, with calibrated confidence and abstention.

Zero-shot assignment compares each answer with code prototypes built from every label
(all languages), the description and the examples of each code. e5 cosines sit in a narrow
band (unrelated ~0.82, translations ~0.92), so a fixed cosine cut-off means nothing: the
similarities go through a softmax whose temperature is fitted on the codebook's own
examples (leave-one-out), and abstention is a threshold on that calibrated probability.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .codebook import Codebook

DEFAULT_MIN_CONFIDENCE = 0.25
_TEMPERATURES = np.geomspace(0.002, 0.5, 60)


def _normalise_rows(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1.0, norms)


def softmax(scores: np.ndarray, temperature: float) -> np.ndarray:
    z = scores / temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


@dataclass
class ReferenceTexts:
    """The texts that describe each code (labels, description, examples), one row each."""

    texts: list[str]
    codes: list[str]
    kinds: list[str]  # "label", "description", "example"


def codebook_reference(codebook: Codebook) -> ReferenceTexts:
    texts, codes, kinds = [], [], []
    for code in codebook.codable():
        for label in dict.fromkeys(code.labels.values()):
            texts.append(label), codes.append(code.code), kinds.append("label")
        if code.description:
            texts.append(code.description), codes.append(code.code), kinds.append("description")
        for example in code.all_examples:
            texts.append(example), codes.append(code.code), kinds.append("example")
    return ReferenceTexts(texts, codes, kinds)


class PrototypeAssigner:
    """Nearest-prototype classifier on unit vectors with a calibrated softmax.

    Parameters are stored as given; `fit` learns `classes_`, `prototypes_` and
    `temperature_`; `predict` never refits.
    """

    def __init__(self, min_confidence: float = DEFAULT_MIN_CONFIDENCE, temperature: float | None = None):
        self.min_confidence = min_confidence
        self.temperature = temperature

    def fit(self, X: np.ndarray, y: Sequence[str], calibrate_mask: np.ndarray | None = None) -> "PrototypeAssigner":
        X = _normalise_rows(np.asarray(X, dtype=np.float64))
        y = np.asarray(y, dtype=object)
        self.classes_ = np.array(list(dict.fromkeys(y)), dtype=object)
        index = {c: i for i, c in enumerate(self.classes_)}
        member = np.array([index[c] for c in y])
        sums = np.zeros((len(self.classes_), X.shape[1]))
        np.add.at(sums, member, X)
        counts = np.bincount(member, minlength=len(self.classes_)).astype(float)
        self.prototypes_ = _normalise_rows(sums / counts[:, None])
        self.temperature_ = self.temperature or self._calibrate(X, member, sums, counts, calibrate_mask)
        return self

    def _calibrate(self, X, member, sums, counts, mask) -> float:
        """Temperature minimising leave-one-out log-loss on the reference rows in `mask`."""
        rows = np.flatnonzero(mask) if mask is not None else np.arange(len(X))
        rows = rows[counts[member[rows]] > 1]
        if len(rows) < 5:
            return 0.02
        scores = np.empty((len(rows), len(self.classes_)))
        for k, i in enumerate(rows):
            own = member[i]
            protos = self.prototypes_.copy()
            protos[own] = _normalise_rows(((sums[own] - X[i]) / (counts[own] - 1))[None, :])[0]
            scores[k] = protos @ X[i]
        target = member[rows]
        losses = [-np.log(softmax(scores, t)[np.arange(len(rows)), target] + 1e-12).mean() for t in _TEMPERATURES]
        return float(_TEMPERATURES[int(np.argmin(losses))])

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        return _normalise_rows(np.asarray(X, dtype=np.float64)) @ self.prototypes_.T

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return softmax(self.decision_function(X), self.temperature_)

    def predict(self, X: np.ndarray) -> np.ndarray:
        proba = self.predict_proba(X)
        best = proba.argmax(axis=1)
        labels = self.classes_[best].astype(object)
        labels[proba[np.arange(len(best)), best] < self.min_confidence] = ""
        return labels


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


def zero_shot_assign(
    vectors: np.ndarray,
    codebook: Codebook,
    embedder,
    *,
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
    languages: Sequence[str] | None = None,
    top_k: int = 1,
) -> tuple[pd.DataFrame, PrototypeAssigner]:
    """Assign answer vectors to the codebook's codable codes without training data."""
    reference = codebook_reference(codebook)
    reference_vectors = embedder.embed(reference.texts)
    is_example = np.array([kind == "example" for kind in reference.kinds])
    assigner = PrototypeAssigner(min_confidence=min_confidence).fit(
        reference_vectors, reference.codes, calibrate_mask=is_example if is_example.any() else None
    )
    proba = assigner.predict_proba(vectors) if len(vectors) else np.zeros((0, len(assigner.classes_)))
    table = assignment_table(proba, assigner.classes_, codebook, min_confidence, languages, top_k)
    return table, assigner

"""The assign stage: codes for a run's answers, learned from coded answers when there are
some, zero-shot from the codebook otherwise.

`AnswerAssigner` keeps what was fitted (the zero-shot model, the learned one and its codebook
prior), so that a later wave of answers is coded by the same model without refitting."""

from __future__ import annotations

import numpy as np
import pandas as pd

from criteria_nlp.assign.base import assignment_table
from criteria_nlp.config import DEFAULT_MIN_CONFIDENCE


class AnswerAssigner:
    """The run's assignment as one estimator: zero-shot from the codebook, zero-shot with
    `shots` coded answers per code as examples, or learned from the coded answers
    (`training`) with the codebook's zero-shot probabilities as a prior.

    fit(rows, vectors, codebook, embedder, training=None) learns `method_`, `zero_shot_`
    (a fitted ZeroShotAssigner, or None), `learned_` (a fitted LearnedAssigner, or None),
    `info_` (what the manifest says); predict(rows, vectors, codebook) never refits and gives
    the table of codes (code, code_label, confidence[, code_2...])."""

    def __init__(self, min_confidence: float = DEFAULT_MIN_CONFIDENCE, top_k: int = 1, shots: int = 0, seed: int = 0):
        self.min_confidence = min_confidence
        self.top_k = top_k
        self.shots = shots
        self.seed = seed

    def fit(self, rows: pd.DataFrame, vectors: np.ndarray, codebook, embedder, training: pd.DataFrame | None = None) -> AnswerAssigner:
        from criteria_nlp.assign.zero_shot import zero_shot_assign

        languages, texts = rows["language"].tolist(), rows["text"].tolist()
        self.zero_shot_, self.learned_ = None, None
        if training is None:
            _, self.zero_shot_ = zero_shot_assign(vectors, codebook, embedder, min_confidence=self.min_confidence,
                                                  languages=languages, texts=texts)
            self.method_, self.info_ = "zero-shot", {"method": "zero-shot", **self.zero_shot_.summary()}
            return self
        from criteria_nlp.assign.learned import LearnedAssigner
        from criteria_nlp.assign.training import pick_shots

        if self.shots:
            examples = pick_shots(training, self.shots, self.seed)
            _, self.zero_shot_ = zero_shot_assign(vectors, codebook, embedder, min_confidence=self.min_confidence,
                                                  languages=languages, texts=texts, shots=examples)
            self.method_ = "zero-shot + shots"
            self.info_ = {"method": f"zero-shot + {self.shots} shots per code", "training_answers": len(examples),
                          **self.zero_shot_.summary()}
            return self
        # The embedder is already fitted on the corpus (tfidf): embed, never refit.
        training_vectors = embedder.embed(training["text"].tolist())
        prior = unlabeled_prior = None
        if set(training["code"]) & {c.code for c in codebook.codable()}:
            # Zero-shot probabilities from the codebook, fitted on the answers to code (transductive).
            _, self.zero_shot_ = zero_shot_assign(vectors, codebook, embedder, min_confidence=0.0, languages=languages, texts=texts)
            unlabeled_prior = self._prior(vectors, languages)
            prior = self._prior(training_vectors, training["language"].tolist())
        self.learned_ = LearnedAssigner(lexical="auto", min_confidence=self.min_confidence, seed=self.seed).fit(
            training_vectors, training["code"].tolist(), texts=training["text"].tolist(), unlabeled_X=vectors,
            unlabeled_texts=list(texts), prior=prior, unlabeled_prior=unlabeled_prior,
            languages=training["language"].tolist() if "language" in training else None, unlabeled_languages=list(languages))
        self.method_ = "learned"
        self.info_ = {"method": "learned", "training_answers": len(training), **self.learned_.summary()}
        return self

    def _prior(self, vectors: np.ndarray, languages) -> pd.DataFrame:
        return pd.DataFrame(self.zero_shot_.predict_proba(vectors, languages), columns=self.zero_shot_.classes_)

    def predict_proba(self, rows: pd.DataFrame, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(probabilities, the codes they are for), one row per row of `rows`."""
        languages = rows["language"].tolist()
        if self.learned_ is None:
            return self.zero_shot_.predict_proba(vectors, languages), self.zero_shot_.classes_
        prior = self._prior(vectors, languages) if self.zero_shot_ is not None else None
        return self.learned_.predict_proba(vectors, rows["text"].tolist(), prior, languages), self.learned_.classes_

    def predict(self, rows: pd.DataFrame, vectors: np.ndarray, codebook) -> pd.DataFrame:
        proba, classes = self.predict_proba(rows, vectors)
        table = assignment_table(proba, classes, codebook, self.min_confidence, rows["language"].tolist(), self.top_k)
        if self.learned_ is not None:  # codes the codebook lacks are labelled by themselves
            for column in [c for c in table.columns if c.startswith("code_label")]:
                code_column = column.replace("code_label", "code")
                table[column] = [label or code for label, code in zip(table[column], table[code_column])]
        return table


def assign_answers(rows: pd.DataFrame, vectors: np.ndarray, codebook, embedder, *, training: pd.DataFrame | None = None,
                   shots: int = 0, min_confidence: float = DEFAULT_MIN_CONFIDENCE, top_k: int = 1,
                   seed: int = 0) -> tuple[pd.DataFrame, dict]:
    """(one row of codes per row of `rows`, what the manifest says about the method).

    `rows` are the answers to code (`vectors` aligned to them); `training` the analysts'
    coded answers (`read_training`): learned assignment, or with `shots` only that many of
    them per code, as zero-shot examples."""
    assigner = AnswerAssigner(min_confidence=min_confidence, top_k=top_k, shots=shots, seed=seed)
    assigner.fit(rows, vectors, codebook, embedder, training=training)
    return assigner.predict(rows, vectors, codebook), assigner.info_

"""Well-being or ill-being: the valence of each answer, read from its text.

SPIRAL's three questions (well-being, ill-being, what I do) tell an answer's valence when
the question column is there, but answers drift ("a job, but badly paid" under well-being),
tables arrive without the column, and post-its get mixed up. `ValenceClassifier` is a
logistic regression on answer vectors trained on the indicator library's own situations, in
every language it is written in: levels 1-2 are ill-being, levels 4-5 well-being. The
question, when known, is added as a strong prior (a fixed shift of the log-odds), not a rule.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from criteria_nlp.prepare.questions import question_kind

POSITIVE, NEGATIVE = "positive", "negative"
# Log-odds added for an answer to the well-being question (subtracted for ill-being): strong
# enough that only a confident reading of the text overrides the question.
QUESTION_LOGIT = 3.0


def library_valence_texts(library, languages: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """The library's situations in `languages` as labelled text: levels 1-2 negative (0),
    levels 4-5 positive (1). Level 3 (attained but limited) is left out: it is both."""
    texts, labels = [], []
    for indicator in library:
        for language in languages:
            wording = indicator.texts.get(language)
            if wording is None:
                continue
            for level, sentence in enumerate(wording.levels, start=1):
                if level != 3:
                    texts.append(sentence)
                    labels.append(1 if level >= 4 else 0)
    return texts, np.asarray(labels, dtype=int)


# "What do I do for my well-being" answers are mostly actions taken for the good: a weaker
# push towards well-being than the well-being question's.
PRIOR = {"wellbeing": 1.0, "illbeing": -1.0, "action": 0.5}


def question_prior(questions: Sequence[str] | None, n: int) -> np.ndarray:
    """+1 for answers to the well-being question, -1 for ill-being, +0.5 for actions, 0 otherwise."""
    if questions is None:
        return np.zeros(n)
    return np.array([PRIOR.get(question_kind(q), 0.0) for q in questions])


class ValenceClassifier:
    """Positive (well-being) or negative (ill-being) from an answer's vector, scikit-learn style.

    `fit(X, y)` learns from labelled vectors (1 positive, 0 negative); `predict_proba(X,
    questions)` gives P(positive), shifted by `question_logit` towards the answered
    question's valence when `questions` are given."""

    def __init__(self, C: float = 1.0, question_logit: float = QUESTION_LOGIT, seed: int = 0):
        self.C = C
        self.question_logit = question_logit
        self.seed = seed

    def fit(self, X: np.ndarray, y: np.ndarray) -> "ValenceClassifier":
        from sklearn.linear_model import LogisticRegression

        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y, dtype=int)
        if len(set(y.tolist())) < 2:
            raise ValueError("valence needs both positive and negative examples")
        self.model_ = LogisticRegression(C=self.C, class_weight="balanced", max_iter=2000, random_state=self.seed).fit(X, y)
        return self

    def decision_function(self, X: np.ndarray, questions: Sequence[str] | None = None) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if len(X) == 0:
            return np.zeros(0)
        return self.model_.decision_function(X) + self.question_logit * question_prior(questions, len(X))

    def predict_proba(self, X: np.ndarray, questions: Sequence[str] | None = None) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.decision_function(X, questions)))

    def predict(self, X: np.ndarray, questions: Sequence[str] | None = None) -> np.ndarray:
        return np.where(self.predict_proba(X, questions) >= 0.5, POSITIVE, NEGATIVE)

"""Assignment learned from answers the analysts already coded.

`LearnedAssigner` is a scikit-learn style classifier on answer vectors:

- a multinomial logistic regression with class-balanced weights (macro-F1 counts every code
  equally, and survey codebooks are very unbalanced) whose regularisation C is chosen by
  stratified cross-validation on the training answers;
- lexical features (TF-IDF of word and character n-grams) beside the embedding, kept when
  cross-validation says they help:
  analysts' codes often hinge on a domain word ("Ampel", "éclairage") that a small sentence
  model blurs;
- each language's mean answer vector removed (means over the coded answers and the answers to
  code), when cross-validation says it helps: what tells codes apart should not be which
  language an answer is written in;
- agreement with the nearest coded answers (a 10-nearest-neighbour vote in e5 space)
  multiplied in: a second, local opinion that mostly sharpens the confidence ranking, which
  is what semi-automatic coding needs;
- optional transductive self-training (off by default: it did not help on the benchmark):
  the most confident answers to code join the training set once;
- optional codebook prior: the zero-shot probabilities, weighted by cross-validation;
- probabilities calibrated by one temperature fitted on out-of-fold predictions, so that
  `min_confidence` means what it says (semi-automatic coding).

Everything is deterministic: training rows are put in a canonical order (code, text) before
fitting, and every solver is seeded."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from criteria_nlp.assign.base import softmax
from criteria_nlp.vectors import unit_rows

DEFAULT_C_GRID = (1.0, 3.0, 10.0, 30.0)


_VOTE_FLOOR = 0.05  # a code none of the neighbours has is unlikely, not impossible


def _log_loss(proba: np.ndarray, target: np.ndarray) -> float:
    return float(-np.log(proba[np.arange(len(target)), target] + 1e-12).mean())


class LexicalFeatures:
    """TF-IDF of words (1-2) and character n-grams (2-5, within word bounds), sublinear,
    L2-normalised, fitted on the training texts (plus unlabeled texts when given)."""

    def __init__(self, max_features: int = 20000):
        self.max_features = max_features

    def fit(self, texts: Sequence[str]) -> "LexicalFeatures":
        from sklearn.feature_extraction.text import TfidfVectorizer

        texts = [str(t).lower() for t in texts]
        self.words_ = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, max_features=self.max_features).fit(texts)
        self.chars_ = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True, max_features=self.max_features).fit(texts)
        return self

    def transform(self, texts: Sequence[str]):
        from scipy import sparse

        texts = [str(t).lower() for t in texts]
        return sparse.hstack([self.words_.transform(texts), self.chars_.transform(texts)]).tocsr() / np.sqrt(2.0)


class LearnedAssigner:
    """Classifier of answer vectors (and optionally texts) into codes learned from examples.

    Parameters
    ----------
    C : float or None — inverse regularisation; None = chosen by cross-validation in `C_grid`.
    class_weight : "balanced" or None.
    lexical : add TF-IDF word + character features of the texts (needs texts in fit/predict);
        "auto" (default) keeps them only when cross-validation says they help.
    lexical_weight : scale of the lexical block relative to the embedding block.
    self_training : add confidently predicted unlabeled answers (given to `fit` as
        `unlabeled_X`) to the training set, once.
    n_neighbours : size of the nearest-coded-answers vote (0 = off).
    centre_languages : remove each language's mean vector (needs `languages` in fit and
        predict); "auto" (default) keeps it only when cross-validation says it helps.
    min_confidence : `predict` abstains ("") below this calibrated probability.
    seed : seeds the cross-validation folds.

    Learned: classes_, C_, temperature_, model_, use_words_, use_centring_, centring_,
    cv_scores_ ((centred, words, C) -> macro-F1).
    """

    def __init__(self, C: float | None = None, C_grid: Sequence[float] = DEFAULT_C_GRID, class_weight: str | None = "balanced",
                 lexical: bool | str = "auto", lexical_weight: float = 0.5, self_training: bool = False, self_training_share: float = 0.5,
                 n_neighbours: int = 10, centre_languages: bool | str = "auto",
                 min_confidence: float = 0.0, cv_folds: int = 5, seed: int = 0):
        self.C = C
        self.C_grid = C_grid
        self.class_weight = class_weight
        self.lexical = lexical
        self.lexical_weight = lexical_weight
        self.self_training = self_training
        self.self_training_share = self_training_share
        self.min_confidence = min_confidence
        self.cv_folds = cv_folds
        self.seed = seed
        self.n_neighbours = n_neighbours
        self.centre_languages = centre_languages

    # ----------------------------------------------------------------- features
    def _features(self, X: np.ndarray, texts: Sequence[str] | None, words: bool | None = None):
        X = np.asarray(X, dtype=np.float64)
        if not (self.use_words_ if words is None else words):
            return X
        if texts is None:
            raise ValueError("this model uses words: pass the answer texts to predict")
        from scipy import sparse

        return sparse.hstack([sparse.csr_matrix(X), self.lexical_weight * self.lexicon_.transform(texts)]).tocsr()

    def _model(self, C: float):
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=C, class_weight=self.class_weight, max_iter=2000, random_state=self.seed)

    def _folds(self, y_index: np.ndarray) -> int:
        counts = np.bincount(y_index)
        smallest = counts[counts > 1].min() if (counts > 1).any() else 2
        return int(max(2, min(self.cv_folds, smallest)))

    def _neighbour_votes(self, X: np.ndarray, reference: np.ndarray, reference_index: np.ndarray) -> np.ndarray:
        """Share of each code among the n_neighbours most similar coded answers (cosine)."""
        votes = np.zeros((len(X), len(self.classes_)))
        k = int(min(self.n_neighbours, len(reference)))
        if k == 0 or len(X) == 0:
            return votes
        for start in range(0, len(X), 2048):
            sims = unit_rows(X[start:start + 2048]) @ unit_rows(reference).T
            nearest = np.argsort(-sims, axis=1, kind="stable")[:, :k]
            rows = np.repeat(np.arange(len(nearest)), k)
            np.add.at(votes[start:start + 2048], (rows, reference_index[nearest].ravel()), 1.0 / k)
        return votes

    def _out_of_fold(self, F, y_index: np.ndarray, C: float) -> np.ndarray:
        from sklearn.model_selection import StratifiedKFold

        proba = np.zeros((len(y_index), len(self.classes_)))
        import warnings

        folds = StratifiedKFold(n_splits=self._folds(y_index), shuffle=True, random_state=self.seed)
        with warnings.catch_warnings():  # codes with a single example cannot be in every fold; fine
            warnings.filterwarnings("ignore", message="The least populated class")
            splits = list(folds.split(np.zeros(len(y_index)), y_index))
        for train, test in splits:
            model = self._model(C).fit(F[train], y_index[train])
            proba[np.ix_(test, model.classes_)] = model.predict_proba(F[test])
            if self.n_neighbours:
                self._oof_votes_[test] = self._neighbour_votes(self._X_sorted[test], self._X_sorted[train], y_index[train])
        return proba

    # ---------------------------------------------------------------------- fit
    def fit(self, X: np.ndarray, y: Sequence[str], texts: Sequence[str] | None = None,
            unlabeled_X: np.ndarray | None = None, unlabeled_texts: Sequence[str] | None = None,
            prior=None, unlabeled_prior=None, languages: Sequence[str] | None = None,
            unlabeled_languages: Sequence[str] | None = None) -> "LearnedAssigner":
        """`prior` / `unlabeled_prior`: optional DataFrames of codebook (zero-shot)
        probabilities for the training / unlabeled answers, one column per code. Their
        weight is chosen on out-of-fold predictions (0 when they do not help)."""
        from threadpoolctl import threadpool_limits

        # Many small solver calls: one BLAS thread is as fast and never oversubscribes cores.
        with threadpool_limits(limits=1, user_api="blas"):
            return self._fit(X, y, texts, unlabeled_X, unlabeled_texts, prior, unlabeled_prior, languages, unlabeled_languages)

    def _prior_logits(self, prior) -> np.ndarray | None:
        """Log of the prior probabilities aligned to classes_ (codes it lacks get a floor)."""
        if prior is None:
            return None
        aligned = np.full((len(prior), len(self.classes_)), 1e-6)
        for k, code in enumerate(self.classes_):
            if code in prior.columns:
                aligned[:, k] = np.clip(np.asarray(prior[code], dtype=float), 1e-6, 1.0)
        aligned /= aligned.sum(axis=1, keepdims=True)
        return np.log(aligned)

    def _centring_options(self, languages, unlabeled_X, unlabeled_languages) -> tuple[bool, ...]:
        if languages is None or (unlabeled_X is not None and len(unlabeled_X) and unlabeled_languages is None):
            if self.centre_languages is True:
                raise ValueError("centre_languages=True needs the languages of the coded answers (and of unlabeled_X)")
            return (False,)
        return {"auto": (False, True), True: (True,), False: (False,)}[self.centre_languages]

    def _fit(self, X, y, texts, unlabeled_X, unlabeled_texts, prior, unlabeled_prior, languages, unlabeled_languages) -> "LearnedAssigner":
        from sklearn.metrics import f1_score

        y = np.asarray([str(v) for v in y], dtype=object)
        X = np.asarray(X, dtype=np.float64)
        if len(X) != len(y):
            raise ValueError(f"{len(X)} vectors but {len(y)} labels")
        texts = [str(t) for t in texts] if texts is not None else None
        # Canonical order: the same examples in any order give the same model.
        keys = [(label, texts[i] if texts else "", tuple(np.round(X[i, :4], 6))) for i, label in enumerate(y)]
        order = sorted(range(len(y)), key=lambda i: keys[i])
        X, y = X[order], y[order]
        texts = [texts[i] for i in order] if texts is not None else None
        languages = [str(languages[i]) for i in order] if languages is not None else None
        prior = prior.iloc[order].reset_index(drop=True) if prior is not None else None
        self.classes_ = np.array(sorted(set(y)), dtype=object)
        if len(self.classes_) < 2:
            raise ValueError("learning needs at least two different codes among the coded answers")
        y_index = np.searchsorted(self.classes_, y)
        if self.lexical is True and texts is None:
            raise ValueError("lexical features need the answer texts in fit and predict (or lexical=False)")
        # Words help when there are enough coded answers in each language; cross-validation
        # decides (with "auto"), together with C.
        options = {"auto": (False, True), True: (True,), False: (False,)}[self.lexical] if texts is not None else (False,)
        if True in options:
            corpus = list(texts) + [str(t) for t in (unlabeled_texts or [])]
            self.lexicon_ = LexicalFeatures().fit(corpus)
        # Language centring: the means come from every answer at hand (coded and to code).
        centrings = self._centring_options(languages, unlabeled_X, unlabeled_languages)
        self.centring_ = None
        if True in centrings:
            from criteria_nlp.vectors import LanguageCentring

            if unlabeled_X is not None and len(unlabeled_X):
                X_all = np.vstack([X, np.asarray(unlabeled_X, dtype=np.float64)])
                languages_all = languages + [str(v) for v in unlabeled_languages]
                # Texts only let duplicates count once; without all of them, rows count.
                texts_all = texts + [str(t) for t in unlabeled_texts] if texts is not None and unlabeled_texts is not None else None
            else:
                X_all, languages_all, texts_all = X, languages, texts
            self.centring_ = LanguageCentring().fit(X_all, languages_all, texts_all)
        vectors = {centred: (self.centring_.transform(X, languages) if centred else X) for centred in centrings}

        grid = [self.C] if self.C is not None else list(self.C_grid)
        self.cv_scores_, oof_by_choice, votes_by_centring = {}, {}, {}
        for centred in centrings:
            self._X_sorted, self._oof_votes_ = vectors[centred], np.zeros((len(X), len(self.classes_)))
            for words in options:
                F = self._features(vectors[centred], texts, words)
                for C in grid:
                    oof = self._out_of_fold(F, y_index, C)
                    oof_by_choice[(centred, words, C)] = oof
                    self.cv_scores_[(centred, words, C)] = round(float(f1_score(y_index, oof.argmax(axis=1), average="macro")), 4)
            votes_by_centring[centred] = self._oof_votes_
        # Ties go to the simpler model: no centring, no words, the smaller C.
        self.use_centring_, self.use_words_, self.C_ = max(
            self.cv_scores_, key=lambda choice: (self.cv_scores_[choice], not choice[0], not choice[1], -choice[2]))
        X = vectors[self.use_centring_]
        self._oof_votes_ = votes_by_centring[self.use_centring_]
        F = self._features(X, texts, self.use_words_)
        oof = oof_by_choice[(self.use_centring_, self.use_words_, self.C_)]
        logits = np.log(np.clip(oof, 1e-9, 1.0))
        # The codebook's own opinion (zero-shot), weighted by what it adds on held-out answers.
        self.prior_weight_ = 0.0
        prior_logits = self._prior_logits(prior)
        if prior_logits is not None:
            weights = (0.0, 0.25, 0.5, 1.0, 2.0)
            scores = {w: f1_score(y_index, (logits + w * prior_logits).argmax(axis=1), average="macro") for w in weights}
            self.prior_weight_ = max(weights, key=lambda w: (round(scores[w], 4), -w))
            logits = logits + self.prior_weight_ * prior_logits
        # Agreement with the nearest coded answers (a second, local opinion) and one
        # temperature, chosen together by the out-of-fold log-loss: calibrated confidences
        # that rank answers well for semi-automatic coding.
        temperatures = np.geomspace(0.05, 3.0, 61)
        vote_logits = np.log(self._oof_votes_ + _VOTE_FLOOR)
        best = None
        for weight in ((0.0, 0.5, 1.0, 2.0) if self.n_neighbours else (0.0,)):
            combined = logits + weight * vote_logits
            losses = [_log_loss(softmax(combined, t), y_index) for t in temperatures]
            i = int(np.argmin(losses))
            if best is None or losses[i] < best[0] - 1e-9:
                best = (losses[i], weight, float(temperatures[i]))
        _, self.vote_weight_, self.temperature_ = best
        self.model_ = self._model(self.C_).fit(F, y_index)
        self.train_vectors_, self.train_index_ = X, y_index
        del self._X_sorted, self._oof_votes_

        if self.self_training and unlabeled_X is not None and len(unlabeled_X):
            UX = self._represent(unlabeled_X, unlabeled_languages)
            U = self._features(UX, unlabeled_texts)
            proba = self._calibrated(self.model_.predict_proba(U), unlabeled_prior, UX)
            confidence, guess = proba.max(axis=1), proba.argmax(axis=1)
            # Per code, keep its most confident unlabeled answers (a share of what it got),
            # so frequent codes do not swamp rare ones.
            keep = np.zeros(len(guess), dtype=bool)
            for k in range(len(self.classes_)):
                rows = np.flatnonzero(guess == k)
                if len(rows):
                    top = rows[np.lexsort((rows, -confidence[rows]))][: int(np.ceil(self.self_training_share * len(rows)))]
                    keep[top] = True
            from scipy import sparse

            stack = sparse.vstack if sparse.issparse(F) else np.vstack
            self.n_self_trained_ = int(keep.sum())
            self.model_ = self._model(self.C_).fit(stack([F, U[keep]]), np.r_[y_index, guess[keep]])
        else:
            self.n_self_trained_ = 0
        return self

    # ------------------------------------------------------------------ predict
    def _represent(self, X: np.ndarray, languages: Sequence[str] | None) -> np.ndarray:
        """The vectors as the model sees them (language means removed when CV kept that)."""
        X = np.asarray(X, dtype=np.float64)
        if not self.use_centring_:
            return X
        if languages is None:
            raise ValueError("this model removes each language's mean vector: pass the answers' languages")
        return self.centring_.transform(X, [str(v) for v in languages])

    def _calibrated(self, proba: np.ndarray, prior=None, X: np.ndarray | None = None) -> np.ndarray:
        full = np.zeros((len(proba), len(self.classes_)))
        full[:, self.model_.classes_] = proba
        logits = np.log(np.clip(full, 1e-9, 1.0))
        if self.vote_weight_ and X is not None:
            logits = logits + self.vote_weight_ * np.log(self._neighbour_votes(X, self.train_vectors_, self.train_index_) + _VOTE_FLOOR)
        if prior is not None and self.prior_weight_:
            logits = logits + self.prior_weight_ * self._prior_logits(prior)
        return softmax(logits, self.temperature_)

    def predict_proba(self, X: np.ndarray, texts: Sequence[str] | None = None, prior=None,
                      languages: Sequence[str] | None = None) -> np.ndarray:
        """Calibrated probabilities; pass the same kind of `prior` as in fit when one was used,
        and the answers' languages when the model centres them (`use_centring_`)."""
        if len(X) == 0:
            return np.zeros((0, len(self.classes_)))
        from threadpoolctl import threadpool_limits

        X = self._represent(X, languages)
        with threadpool_limits(limits=1, user_api="blas"):
            return self._calibrated(self.model_.predict_proba(self._features(X, texts)), prior, X)

    def predict(self, X: np.ndarray, texts: Sequence[str] | None = None, prior=None,
                languages: Sequence[str] | None = None) -> np.ndarray:
        proba = self.predict_proba(X, texts, prior, languages)
        best = proba.argmax(axis=1)
        labels = self.classes_[best].astype(object)
        labels[proba[np.arange(len(best)), best] < self.min_confidence] = ""
        return labels


def learned_assign(vectors: np.ndarray, training: "pd.DataFrame", training_vectors: np.ndarray, *, codebook=None,
                   embedder=None, texts: Sequence[str] | None = None, languages: Sequence[str] | None = None,
                   min_confidence: float = 0.0, top_k: int = 1, seed: int = 0):
    """Fit a LearnedAssigner on the coded answers (the answers to code are its unlabeled data)
    and assign every answer: (table code/code_label/confidence[, code_2...], assigner).

    With a codebook (and the embedder) whose codes are the training codes, the codebook's
    zero-shot probabilities join as a prior, weighted by cross-validation."""
    import pandas as pd

    from criteria_nlp.assign.base import assignment_table

    lexical = "auto" if texts is not None else False
    prior = unlabeled_prior = None
    if codebook is not None and embedder is not None and set(training["code"]) & {c.code for c in codebook.codable()}:
        from criteria_nlp.assign.zero_shot import zero_shot_assign

        # Zero-shot probabilities from the codebook, fitted on the answers to code (transductive).
        _, zero_shot = zero_shot_assign(vectors, codebook, embedder, min_confidence=0.0, languages=languages, texts=texts)
        unlabeled_prior = pd.DataFrame(zero_shot.predict_proba(vectors, languages), columns=zero_shot.classes_)
        prior = pd.DataFrame(zero_shot.predict_proba(training_vectors, training["language"].tolist()), columns=zero_shot.classes_)
    assigner = LearnedAssigner(lexical=lexical, min_confidence=min_confidence, seed=seed).fit(
        training_vectors, training["code"].tolist(), texts=training["text"].tolist() if texts is not None else None,
        unlabeled_X=vectors, unlabeled_texts=list(texts) if texts is not None else None, prior=prior, unlabeled_prior=unlabeled_prior,
        languages=training["language"].tolist() if "language" in training and languages is not None else None,
        unlabeled_languages=list(languages) if languages is not None else None)
    proba = assigner.predict_proba(vectors, list(texts) if texts is not None else None, unlabeled_prior, languages)
    table = assignment_table(proba, assigner.classes_, codebook, min_confidence, languages, top_k)
    for column in [c for c in table.columns if c.startswith("code_label")]:
        code_column = column.replace("code_label", "code")
        table[column] = [label or code for label, code in zip(table[column], table[code_column])]
    return table, assigner

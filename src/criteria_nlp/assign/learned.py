"""Assignment learned from answers the analysts already coded.

`LearnedAssigner` is a scikit-learn style classifier on answer vectors. Its **plain** form is
a multinomial logistic regression with class-balanced weights (macro-F1 counts every code
equally, and survey codebooks are very unbalanced) whose C is chosen by cross-validation.
Each refinement below is kept only when repeated cross-validation on the coded answers shows
that it helps, by more than the noise of that estimate (see "the rule" below):

- **language centring**: each language's mean vector removed (means over the coded answers
  and the answers to code): what tells codes apart should not be the language;
- **word features**: a second logistic regression on TF-IDF word (1-2) and character (2-5)
  n-grams, whose log-probabilities are added with a weight: analysts' codes often hinge on a
  domain word ("Ampel", "éclairage") that a small sentence model blurs;
- **neighbour vote**: the share of each code among the 10 most similar coded answers;
- **codebook prior**: the codebook's zero-shot probabilities (when a codebook is given);
- **self-training**: the most confident answers to code join the training set once.

The rule. The coded answers are split into `cv_folds` stratified folds, `cv_repeats` times
with different shuffles; near-duplicates (repeats, paraphrases, translations:
`vectors.near_duplicate_groups`) stay in one fold, or a model would be scored on copies of
what it learned. Every model is scored by macro-F1 on each held-out fold; weights of
the added parts are chosen on the other folds of the same repeat (nested, so the score of a
refinement includes the luck of choosing its weight). Refinements are added greedily, the
best first, while the mean gain over the current model exceeds one standard error of the
gain, corrected for the overlap of cross-validation training sets (Nadeau & Bengio 2003):
on 130 coded answers a single best fold score is mostly noise. Otherwise the plain model
stays. `decisions_` records every gain, its standard error and the verdict.

Probabilities are calibrated by one temperature fitted on out-of-fold predictions, so that
`min_confidence` means what it says (semi-automatic coding). Everything is deterministic:
training rows are put in a canonical order (code, text) before fitting, and every solver
and fold split is seeded."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import pandas as pd

from criteria_nlp.assign.base import softmax
from criteria_nlp.vectors import NEAR_DUPLICATE_COSINE, near_duplicate_groups, unit_rows

# The same grid as the plain baseline of the benchmark (logistic regression, C tuned by CV).
DEFAULT_C_GRID = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)
WORDS_C = 10.0  # the word model's C (TF-IDF rows have length 1; not worth a grid)
WEIGHTS = (0.25, 0.5, 1.0)  # weights tried for each added part (calibrated log-probabilities)
_VOTE_FLOOR = 0.05  # a code none of the neighbours has is unlikely, not impossible
PARTS = ("language_centring", "word_features", "neighbour_vote", "codebook_prior", "self_training")


def _log_loss(proba: np.ndarray, target: np.ndarray) -> float:
    return float(-np.log(proba[np.arange(len(target)), target] + 1e-12).mean())


def macro_f1(target: np.ndarray, predicted: np.ndarray, n_classes: int) -> float:
    """Macro-F1 over the codes present in the target or the prediction (as scikit-learn's)."""
    cm = np.bincount(target * n_classes + predicted, minlength=n_classes * n_classes).reshape(n_classes, n_classes)
    true, guessed = cm.sum(axis=1), cm.sum(axis=0)
    present = (true + guessed) > 0
    return float((2.0 * np.diag(cm)[present] / (true + guessed)[present]).mean()) if present.any() else 0.0


def corrected_se(differences: np.ndarray, test_share: float) -> float:
    """Standard error of the mean of paired fold differences from repeated k-fold CV, with
    Nadeau & Bengio's correction (1/J + n_test/n_train) for overlapping training sets."""
    differences = np.asarray(differences, dtype=float)
    if len(differences) < 2:
        return float("inf")
    return float(np.sqrt((1.0 / len(differences) + test_share / (1.0 - test_share)) * differences.var(ddof=1)))


TEMPERATURES = np.geomspace(0.05, 5.0, 41)
MIN_FOLD_SCORES = 10  # held-out fold scores behind every decision (more repeats when folds are few)


def calibrated_log_proba(logits: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, float]:
    """Log-probabilities of softmax(logits / T) with the T of least log-loss on `target`,
    and T: parts of a model put on one scale before they are weighted and added."""
    flat = logits.reshape(-1, logits.shape[-1])
    target = np.tile(target, flat.shape[0] // len(target))
    losses = [_log_loss(softmax(flat, t), target) for t in TEMPERATURES]
    t = float(TEMPERATURES[int(np.argmin(losses))])
    z = logits / t
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True)), t


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
    lexical, centre_languages, neighbour_vote, codebook_prior, self_training : "auto" (the
        default: cross-validation decides, see the module doc), True (always, its weight
        chosen by cross-validation) or False (never). Words need the texts in fit and
        predict, centring the languages, the prior a `prior` in fit, self-training `unlabeled_X`.
    n_neighbours : size of the nearest-coded-answers vote (0 = no vote).
    self_training_share : share of the answers each code wins that join its examples.
    min_confidence : `predict` abstains ("") below this calibrated probability.
    cv_folds, cv_repeats : the repeated stratified k-fold behind every decision.
    min_gain_se : a refinement is kept when its mean cross-validated gain exceeds this many
        (corrected) standard errors of that gain.
    near_duplicates : cosine (language means removed) from which coded answers count as
        near-duplicates and share a cross-validation fold (`vectors.near_duplicate_groups`);
        None = every answer on its own.
    seed : seeds the folds and the solvers.

    Learned: classes_, C_, temperature_, model_, use_centring_, use_words_, word_weight_,
    vote_weight_, prior_weight_, n_self_trained_, centring_, cv_scores_ ((centred, C) ->
    mean fold macro-F1 of the logistic regression), decisions_ (one entry per refinement:
    kept, gain, se, reason), cv_ (folds, repeats, plain and chosen macro-F1).
    """

    def __init__(self, C: float | None = None, C_grid: Sequence[float] = DEFAULT_C_GRID, class_weight: str | None = "balanced",
                 lexical: bool | str = "auto", self_training: bool | str = "auto", self_training_share: float = 0.5,
                 n_neighbours: int = 10, neighbour_vote: bool | str = "auto", codebook_prior: bool | str = "auto",
                 centre_languages: bool | str = "auto", min_confidence: float = 0.0, cv_folds: int = 5, cv_repeats: int = 2,
                 min_gain_se: float = 1.0, near_duplicates: float | None = NEAR_DUPLICATE_COSINE, seed: int = 0):
        self.C = C
        self.C_grid = C_grid
        self.class_weight = class_weight
        self.lexical = lexical
        self.self_training = self_training
        self.self_training_share = self_training_share
        self.n_neighbours = n_neighbours
        self.neighbour_vote = neighbour_vote
        self.codebook_prior = codebook_prior
        self.centre_languages = centre_languages
        self.min_confidence = min_confidence
        self.cv_folds = cv_folds
        self.cv_repeats = cv_repeats
        self.min_gain_se = min_gain_se
        self.near_duplicates = near_duplicates
        self.seed = seed

    # ----------------------------------------------------------------- pieces
    def _model(self, C: float, class_weight: str | None = "default"):
        from sklearn.linear_model import LogisticRegression

        weight = self.class_weight if class_weight == "default" else class_weight
        return LogisticRegression(C=C, class_weight=weight, max_iter=2000, random_state=self.seed)

    def _proba(self, model, F) -> np.ndarray:
        """predict_proba aligned to classes_ (a code missing from a fold gets 0)."""
        out = np.zeros((F.shape[0], len(self.classes_)))
        out[:, model.classes_] = model.predict_proba(F)
        return out

    def _splits(self, y_index: np.ndarray, groups: np.ndarray | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
        """`cv_repeats` stratified k-fold splits; repeat r is shuffled with seed + r, so the
        first is a plain `StratifiedKFold(shuffle=True, random_state=seed)`, except that each
        group of near-duplicates then joins the fold of its first member. Moving only the
        grouped answers keeps the folds those of the plain method where there are few."""
        import warnings

        from sklearn.model_selection import StratifiedKFold

        counts = np.bincount(y_index)
        smallest = counts[counts > 1].min() if (counts > 1).any() else 2
        n_units = len(np.unique(groups)) if groups is not None else len(y_index)
        self._n_folds = int(max(2, min(self.cv_folds, smallest, n_units // 2)))
        # At least MIN_FOLD_SCORES held-out scores: with 2 folds (a code with 2 examples), 2
        # repeats give 4 differences, too few to estimate the standard error the rule needs.
        self._n_repeats = int(max(1, self.cv_repeats, -(-MIN_FOLD_SCORES // self._n_folds)))
        splits = []
        with warnings.catch_warnings():  # codes with a single example cannot be in every fold; fine
            warnings.filterwarnings("ignore", message="The least populated class")
            for r in range(self._n_repeats):
                folds = StratifiedKFold(n_splits=self._n_folds, shuffle=True, random_state=self.seed + r)
                fold_of = np.empty(len(y_index), dtype=int)
                for f, (_, test) in enumerate(folds.split(np.zeros(len(y_index)), y_index)):
                    fold_of[test] = f
                if groups is not None:
                    plain = fold_of
                    _, first, group_of = np.unique(groups, return_index=True, return_inverse=True)
                    fold_of = fold_of[first][np.ravel(group_of)]
                    # A fold left empty, or training on one code only: the plain folds.
                    if any(len(np.unique(fold_of)) < self._n_folds or len(np.unique(y_index[fold_of != f])) < 2
                           for f in range(self._n_folds)):
                        fold_of = plain
                splits += [(np.flatnonzero(fold_of != f), np.flatnonzero(fold_of == f)) for f in range(self._n_folds)]
        return splits

    def _out_of_fold(self, fit_predict, n: int) -> np.ndarray:
        """(repeats, n, classes) out-of-fold outputs of `fit_predict(train, test)`."""
        out = np.zeros((self._n_repeats, n, len(self.classes_)))
        for j, (train, test) in enumerate(self._splits_):
            out[j // self._n_folds, test] = fit_predict(train, test)
        return out

    def _regularisation_path(self, F: np.ndarray, y_index: np.ndarray, grid: Sequence[float]) -> dict:
        """Out-of-fold log-probabilities for each C. Every fit starts from zero, as a plain
        grid search's: warm starts along the path were twice as fast but moved the
        cross-validated scores by a few thousandths, enough to pick another C than the plain
        method on 250 answers."""
        out = {C: np.zeros((self._n_repeats, len(y_index), len(self.classes_))) for C in grid}
        for j, (train, test) in enumerate(self._splits_):
            for C in grid:
                out[C][j // self._n_folds, test] = self._proba(self._model(C).fit(F[train], y_index[train]), F[test])
        return {C: np.log(np.clip(proba, 1e-9, 1.0)) for C, proba in out.items()}

    def _neighbour_votes(self, X: np.ndarray, reference: np.ndarray, reference_index: np.ndarray) -> np.ndarray:
        """Log-score of each code among the n_neighbours most similar coded answers (cosine):
        its share of the neighbours over its share of the coded answers (class-balanced, as
        the regression), floored."""
        votes = np.zeros((len(X), len(self.classes_)))
        k = int(min(self.n_neighbours, len(reference)))
        if k == 0 or len(X) == 0:
            return votes
        reference = unit_rows(reference)
        for start in range(0, len(X), 2048):
            sims = unit_rows(X[start:start + 2048]) @ reference.T
            nearest = np.argsort(-sims, axis=1, kind="stable")[:, :k]
            rows = np.repeat(np.arange(len(nearest)), k)
            np.add.at(votes[start:start + 2048], (rows, reference_index[nearest].ravel()), 1.0 / k)
        share = np.bincount(reference_index, minlength=len(self.classes_)) / len(reference_index)
        return np.log(votes / np.maximum(share, 1e-9) + _VOTE_FLOOR)

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

    def _pseudo_labels(self, proba: np.ndarray) -> np.ndarray:
        """Rows of `proba` (unlabeled answers) to add, per code its most confident share of
        the answers it wins (so frequent codes do not swamp rare ones), at most as many as
        there are coded answers."""
        confidence, guess = proba.max(axis=1), proba.argmax(axis=1)
        keep = []
        for k in range(len(self.classes_)):
            rows = np.flatnonzero(guess == k)
            keep.append(rows[np.lexsort((rows, -confidence[rows]))][: int(np.ceil(self.self_training_share * len(rows)))])
        keep = np.sort(np.concatenate(keep)) if keep else np.zeros(0, dtype=int)
        if len(keep) > self._n_coded:
            keep = np.sort(keep[np.lexsort((keep, -confidence[keep]))][: self._n_coded])
        return keep

    # ----------------------------------------------------------------- the rule
    def _fold_scores(self, logits: np.ndarray, y_index: np.ndarray) -> np.ndarray:
        """Macro-F1 of each held-out fold; logits (repeats, n, classes)."""
        k = len(self.classes_)
        return np.array([macro_f1(y_index[test], logits[j // self._n_folds, test].argmax(axis=1), k)
                         for j, (_, test) in enumerate(self._splits_)])

    def _evaluate(self, base: np.ndarray, parts: list[np.ndarray], y_index: np.ndarray,
                  grids: list[tuple[float, ...]]) -> tuple[np.ndarray, tuple[float, ...]]:
        """Fold scores of base + sum of weighted parts, each fold's weights chosen on the other
        folds of its repeat (nested); and the weights chosen on all folds."""
        if not parts:
            return self._fold_scores(base, y_index), ()
        k = len(self.classes_)
        combos = list(itertools.product(*grids))
        predictions = np.stack([(base + sum(w * p for w, p in zip(combo, parts))).argmax(axis=2) for combo in combos])
        # Each fold's score for each combination.
        table = np.array([[macro_f1(y_index[test], predictions[c, j // self._n_folds, test], k) for c in range(len(combos))]
                          for j, (_, test) in enumerate(self._splits_)])
        scores = np.empty(len(self._splits_))
        for j in range(len(self._splits_)):
            r = j // self._n_folds
            others = [i for i in range(r * self._n_folds, (r + 1) * self._n_folds) if i != j]
            # Ties go to the first combination (the smallest weights).
            scores[j] = table[j, int(np.argmax(table[others].mean(axis=0)))]
        return scores, combos[int(np.argmax(table.mean(axis=0)))]

    def _choice(self, state: dict, y_index) -> tuple[np.ndarray, tuple[float, ...]]:
        parts = [self._parts_[state["base"]][name] for name in state["parts"]]
        return self._evaluate(self._base_logits_[state["base"]], parts, y_index, [WEIGHTS] * len(parts))

    # ---------------------------------------------------------------------- fit
    def fit(self, X: np.ndarray, y: Sequence[str], texts: Sequence[str] | None = None,
            unlabeled_X: np.ndarray | None = None, unlabeled_texts: Sequence[str] | None = None,
            prior=None, unlabeled_prior=None, languages: Sequence[str] | None = None,
            unlabeled_languages: Sequence[str] | None = None) -> "LearnedAssigner":
        """`prior` / `unlabeled_prior`: optional DataFrames of codebook (zero-shot)
        probabilities for the training / unlabeled answers, one column per code."""
        import warnings

        from threadpoolctl import threadpool_limits

        # Many small solver calls: one BLAS thread is as fast and never oversubscribes cores.
        with threadpool_limits(limits=1, user_api="blas"), warnings.catch_warnings():
            # Many codes and few coded answers is this tool's normal case, not a regression problem.
            warnings.filterwarnings("ignore", message="The number of unique classes is greater than 50%")
            return self._fit(X, y, texts, unlabeled_X, unlabeled_texts, prior, unlabeled_prior, languages, unlabeled_languages)

    def _centring_options(self, languages, unlabeled_X, unlabeled_languages) -> tuple[bool, ...]:
        if languages is None or (unlabeled_X is not None and len(unlabeled_X) and unlabeled_languages is None):
            if self.centre_languages is True:
                raise ValueError("centre_languages=True needs the languages of the coded answers (and of unlabeled_X)")
            return (False,)
        if self.centre_languages == "auto" and len(set(map(str, languages)) | set(map(str, unlabeled_languages or []))) < 2:
            return (False,)  # one language: its mean is every answer's, nothing to remove
        return {"auto": (False, True), True: (False, True), False: (False,)}[self.centre_languages]

    def _fit(self, X, y, texts, unlabeled_X, unlabeled_texts, prior, unlabeled_prior, languages, unlabeled_languages) -> "LearnedAssigner":
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
        n = len(y)
        self._n_coded = n
        if self.lexical is True and texts is None:
            raise ValueError("lexical features need the answer texts in fit and predict (or lexical=False)")
        has_unlabeled = unlabeled_X is not None and len(unlabeled_X) > 0
        if self.self_training is True and not has_unlabeled:
            raise ValueError("self_training=True needs the answers to code (unlabeled_X)")
        groups = None
        if self.near_duplicates is not None:
            reference = (np.asarray(unlabeled_X, dtype=np.float64), unlabeled_languages) if has_unlabeled else None
            groups = near_duplicate_groups(X, languages, self.near_duplicates, reference=reference)
            # A group holding more than half of a code's examples is that code, not a copy
            # that leaks: its answers are split like any others.
            spread = np.bincount(groups)[groups] > 0.5 * np.bincount(y_index)[y_index]
            groups = np.where(spread, groups.max() + 1 + np.arange(n), groups)
        self._splits_ = self._splits(y_index, groups)
        test_share = 1.0 / self._n_folds

        # Representations: the vectors as given, and (maybe) with language means removed.
        centrings = self._centring_options(languages, unlabeled_X, unlabeled_languages)
        self.centring_ = None
        if True in centrings:
            from criteria_nlp.vectors import LanguageCentring

            if has_unlabeled:
                X_all = np.vstack([X, np.asarray(unlabeled_X, dtype=np.float64)])
                languages_all = languages + [str(v) for v in unlabeled_languages]
                # Texts only let duplicates count once; without all of them, rows count.
                texts_all = texts + [str(t) for t in unlabeled_texts] if texts is not None and unlabeled_texts is not None else None
            else:
                X_all, languages_all, texts_all = X, languages, texts
            self.centring_ = LanguageCentring().fit(X_all, languages_all, texts_all)
        vectors = {centred: (self.centring_.transform(X, languages) if centred else X) for centred in centrings}

        # The logistic regression for each representation and C: out-of-fold probabilities.
        grid = [self.C] if self.C is not None else list(self.C_grid)
        self.cv_scores_, self._base_logits_, best_C, scales = {}, {}, {}, {}
        for centred in centrings:
            F = vectors[centred]
            by_C = self._regularisation_path(F, y_index, grid)
            for C, logits in by_C.items():
                # C as the plain method chooses it: the mean macro-F1 over the folds of the
                # first repeat (one k-fold cross-validation); ties go to the smaller C.
                self.cv_scores_[(centred, C)] = round(float(self._fold_scores(logits, y_index)[: self._n_folds].mean()), 10)
            best_C[centred] = max(grid, key=lambda C: (self.cv_scores_[(centred, C)], -C))
            self._base_logits_[centred], scales[("model", centred)] = calibrated_log_proba(by_C[best_C[centred]], y_index)

        # The parts that can be added, as calibrated out-of-fold log-probabilities
        # (repeats, n, classes): each on the same scale before it is weighted.
        modes = {"word_features": self.lexical if texts is not None else False,
                 "neighbour_vote": self.neighbour_vote if self.n_neighbours else False,
                 "codebook_prior": self.codebook_prior if prior is not None else False}
        self._parts_ = {centred: {} for centred in centrings}
        if modes["word_features"] is not False:
            corpus = list(texts) + [str(t) for t in (unlabeled_texts or [])]
            self.lexicon_ = LexicalFeatures().fit(corpus)
            W = self.lexicon_.transform(texts)
            oof = self._out_of_fold(lambda train, test: self._proba(self._model(WORDS_C).fit(W[train], y_index[train]), W[test]), n)
            words, scales["word_features"] = calibrated_log_proba(np.log(np.clip(oof, 1e-9, 1.0)), y_index)
            for centred in centrings:
                self._parts_[centred]["word_features"] = words
        if modes["neighbour_vote"] is not False:
            for centred in centrings:
                F = vectors[centred]
                oof = self._out_of_fold(lambda train, test: self._neighbour_votes(F[test], F[train], y_index[train]), n)
                self._parts_[centred]["neighbour_vote"], scales[("neighbour_vote", centred)] = calibrated_log_proba(oof, y_index)
        if modes["codebook_prior"] is not False:
            prior_logits, scales["codebook_prior"] = calibrated_log_proba(self._prior_logits(prior)[None], y_index)
            for centred in centrings:
                self._parts_[centred]["codebook_prior"] = np.broadcast_to(prior_logits, (self._n_repeats, n, len(self.classes_)))

        # Greedy: the plain model, then the refinement that gains most, while the gain
        # exceeds one (corrected) standard error; parts set to True are always in.
        state = {"base": bool(self.centre_languages is True and True in centrings),
                 "parts": [name for name, mode in modes.items() if mode is True]}
        plain_scores, _ = self._choice({"base": False, "parts": []}, y_index)
        current, _ = self._choice(state, y_index)
        options = [name for name, mode in modes.items() if mode == "auto"]
        if self.centre_languages == "auto" and True in centrings:
            options.insert(0, "language_centring")
        self.decisions_ = {}
        while options:
            trials = {}
            for name in options:
                trial = ({"base": True, "parts": state["parts"]} if name == "language_centring"
                         else {"base": state["base"], "parts": state["parts"] + [name]})
                trials[name] = (trial, self._choice(trial, y_index)[0])
            name = max(options, key=lambda o: (trials[o][1].mean(), -options.index(o)))
            for other in options:
                gain = trials[other][1] - current
                self.decisions_[other] = {"kept": False, "gain": round(float(gain.mean()), 4), "se": round(corrected_se(gain, test_share), 4)}
            gain = trials[name][1] - current
            if not (gain.mean() > 0 and gain.mean() > self.min_gain_se * corrected_se(gain, test_share)):
                break
            self.decisions_[name]["kept"] = True
            state, current = trials[name]
            options.remove(name)

        # Self-training, last: the chosen model with its logistic regression retrained on
        # the coded answers plus the answers to code it is most sure of.
        self.n_self_trained_ = 0
        use_self_training = False
        if self.self_training is not False and has_unlabeled:
            UF = self.centring_.transform(unlabeled_X, unlabeled_languages) if state["base"] else np.asarray(unlabeled_X, dtype=np.float64)
            F, C = vectors[state["base"]], best_C[state["base"]]

            def self_trained(train, test):
                model = self._model(C).fit(F[train], y_index[train])
                proba = self._proba(model, UF)
                keep = self._pseudo_labels(proba)
                return self._proba(self._model(C).fit(np.vstack([F[train], UF[keep]]), np.r_[y_index[train], proba[keep].argmax(axis=1)]), F[test])

            key = ("self-trained", state["base"])
            oof = np.log(np.clip(self._out_of_fold(self_trained, n), 1e-9, 1.0))
            self._base_logits_[key], scales[("model", key)] = calibrated_log_proba(oof, y_index)
            self._parts_[key] = self._parts_[state["base"]]
            trial = {"base": key, "parts": state["parts"]}
            scores = self._choice(trial, y_index)[0]
            gain = scores - current
            mean, se = float(gain.mean()), corrected_se(gain, test_share)
            use_self_training = self.self_training is True or (mean > 0 and mean > self.min_gain_se * se)
            self.decisions_["self_training"] = {"kept": bool(use_self_training), "gain": round(mean, 4), "se": round(se, 4)}
            if use_self_training:
                state, current = trial, scores
        for name in PARTS:
            forced = (name == "language_centring" and self.centre_languages is True and True in centrings) or modes.get(name) is True \
                or (name == "self_training" and self.self_training is True)
            if forced:
                self.decisions_[name] = {**self.decisions_.get(name, {}), "kept": True, "reason": "set to True"}
            elif name not in self.decisions_:
                self.decisions_[name] = {"kept": False, "reason": "not available or switched off"}
            else:
                self.decisions_[name]["reason"] = ("kept: cross-validated gain above one standard error" if self.decisions_[name]["kept"]
                                                   else "dropped: cross-validated gain not above one standard error")

        # The final weights (on every fold), then one temperature on the out-of-fold log-loss.
        _, weights = self._choice(state, y_index)
        weight_of = dict(zip(state["parts"], weights))
        centred = state["base"] if not isinstance(state["base"], tuple) else state["base"][1]
        self.use_centring_ = bool(centred)
        self.use_words_ = "word_features" in weight_of
        self.word_weight_ = float(weight_of.get("word_features", 0.0))
        self.vote_weight_ = float(weight_of.get("neighbour_vote", 0.0))
        self.prior_weight_ = float(weight_of.get("codebook_prior", 0.0))
        self.C_ = best_C[centred]
        self.scales_ = {"model": scales[("model", state["base"])], "word_features": scales.get("word_features", 1.0),
                        "neighbour_vote": scales.get(("neighbour_vote", centred), 1.0), "codebook_prior": scales.get("codebook_prior", 1.0)}
        combined = self._base_logits_[state["base"]] + sum(weight_of[name] * self._parts_[state["base"]][name] for name in state["parts"])
        _, self.temperature_ = calibrated_log_proba(combined, y_index)
        self.cv_ = {"folds": self._n_folds, "repeats": self._n_repeats, "coded_answers": n,
                    "near_duplicate_groups": int(len(np.unique(groups))) if groups is not None else n,
                    "plain_macro_f1": round(float(plain_scores.mean()), 4), "chosen_macro_f1": round(float(current.mean()), 4)}

        # The final models, on every coded answer.
        F = vectors[centred]
        self.model_ = self._model(self.C_).fit(F, y_index)
        self.train_vectors_, self.train_index_ = F, y_index
        if self.use_words_:
            self.words_model_ = self._model(WORDS_C).fit(self.lexicon_.transform(texts), y_index)
        if use_self_training:
            UF = self.centring_.transform(unlabeled_X, unlabeled_languages) if centred else np.asarray(unlabeled_X, dtype=np.float64)
            proba = self._proba(self.model_, UF)
            keep = self._pseudo_labels(proba)
            self.n_self_trained_ = int(len(keep))
            self.model_ = self._model(self.C_).fit(np.vstack([F, UF[keep]]), np.r_[y_index, proba[keep].argmax(axis=1)])
        del self._splits_, self._base_logits_, self._parts_
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

    def predict_proba(self, X: np.ndarray, texts: Sequence[str] | None = None, prior=None,
                      languages: Sequence[str] | None = None) -> np.ndarray:
        """Calibrated probabilities; pass the texts when the model uses words (`use_words_`),
        the same kind of `prior` as in fit when one was used, and the answers' languages when
        the model centres them (`use_centring_`)."""
        if len(X) == 0:
            return np.zeros((0, len(self.classes_)))
        from threadpoolctl import threadpool_limits

        if self.use_words_ and texts is None:
            raise ValueError("this model uses words: pass the answer texts to predict")
        X = self._represent(X, languages)

        def scaled(logits, part):  # log-softmax(logits / T_part), as in fit
            z = logits / self.scales_[part]
            z = z - z.max(axis=1, keepdims=True)
            return z - np.log(np.exp(z).sum(axis=1, keepdims=True))

        with threadpool_limits(limits=1, user_api="blas"):
            logits = scaled(np.log(np.clip(self._proba(self.model_, X), 1e-9, 1.0)), "model")
            if self.use_words_:
                words = np.log(np.clip(self._proba(self.words_model_, self.lexicon_.transform(texts)), 1e-9, 1.0))
                logits += self.word_weight_ * scaled(words, "word_features")
            if self.vote_weight_:
                logits += self.vote_weight_ * scaled(self._neighbour_votes(X, self.train_vectors_, self.train_index_), "neighbour_vote")
            if prior is not None and self.prior_weight_:
                logits += self.prior_weight_ * scaled(self._prior_logits(prior), "codebook_prior")
        return softmax(logits, self.temperature_)

    def predict(self, X: np.ndarray, texts: Sequence[str] | None = None, prior=None,
                languages: Sequence[str] | None = None) -> np.ndarray:
        proba = self.predict_proba(X, texts, prior, languages)
        best = proba.argmax(axis=1)
        labels = self.classes_[best].astype(object)
        labels[proba[np.arange(len(best)), best] < self.min_confidence] = ""
        return labels

    def summary(self) -> dict:
        """What the manifest says about the model: every refinement and why."""
        return {"C": self.C_, "temperature": round(self.temperature_, 4), "cross_validation": dict(self.cv_),
                "refinements": {name: dict(self.decisions_[name]) for name in PARTS},
                "word_weight": self.word_weight_, "neighbour_vote_weight": self.vote_weight_,
                "codebook_prior_weight": self.prior_weight_, "self_trained_answers": self.n_self_trained_,
                "word_features": self.use_words_, "language_centring": self.use_centring_}


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

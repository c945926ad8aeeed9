"""Assigning answers to codebook codes, with calibrated confidence and abstention.

Zero-shot assignment compares each answer with code prototypes built from every label
(all languages), the description and the examples of each code. e5 cosines sit in a narrow
band (unrelated ~0.82, translations ~0.92), so a fixed cosine cut-off means nothing: the
similarities go through a softmax whose temperature is fitted on the codebook's own
examples (leave-one-out), and abstention is a threshold on that calibrated probability.

`ZeroShotAssigner` starts from the plain method, the nearest prototype (cosine to the mean
of each code's texts), and adds general steps, measured in evaluation/results/quality.md:

- **centring**: answers lose their language's mean vector and codebook texts the mean of the
  codebook texts, so that what remains is what distinguishes one answer (or code) from the
  others rather than the shared "e5 direction" or the language;
- **transductive refinement**: the corpus itself (never its gold labels) re-centres each
  code's prototype on the answers most confidently assigned to it, anchored to the
  codebook's own prototype (a few rounds of anchored k-means): with a terse codebook (tag
  names only) the confident answers say more about a code than its two or three words;
- **code shares**: each code's share of the corpus is estimated on the way (EM), so a tag
  that covers a third of the answers is not forced to hand them to tags that cover a few;
- **shots**: a few coded answers per code (`shots`) join the codebook's texts;
- **the guard**: without labels nothing proves the refined model right, so it is compared
  with the plain one on the corpus and dropped (the plain model answers) when it makes a
  code vanish or disagrees with most of the plain model's confident answers. `summary()`
  (in manifest.json under "assignment") reports the measures and the decision.

Learned assignment from many coded answers lives in `learned.py`; the softmax and its
calibration grid, shared by both, in `base.py`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from criteria_nlp.assign.base import (
    DEFAULT_CENTRED_TEMPERATURE,
    TEMPERATURES,
    assignment_table,
    softmax,
)
from criteria_nlp.codebook.model import Codebook
from criteria_nlp.config import DEFAULT_MIN_CONFIDENCE
from criteria_nlp.vectors import LanguageCentring, item_sums, unit_rows


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
        X = unit_rows(np.asarray(X, dtype=np.float64))
        y = np.asarray(y, dtype=object)
        self.classes_ = np.array(list(dict.fromkeys(y)), dtype=object)
        index = {c: i for i, c in enumerate(self.classes_)}
        member = np.array([index[c] for c in y])
        sums = np.zeros((len(self.classes_), X.shape[1]))
        np.add.at(sums, member, X)
        counts = np.bincount(member, minlength=len(self.classes_)).astype(float)
        self.prototypes_ = unit_rows(sums / counts[:, None])
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
            protos[own] = unit_rows(((sums[own] - X[i]) / (counts[own] - 1))[None, :])[0]
            scores[k] = protos @ X[i]
        target = member[rows]
        losses = [-np.log(softmax(scores, t)[np.arange(len(rows)), target] + 1e-12).mean() for t in TEMPERATURES]
        return float(TEMPERATURES[int(np.argmin(losses))])

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        return unit_rows(np.asarray(X, dtype=np.float64)) @ self.prototypes_.T

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return softmax(self.decision_function(X), self.temperature_)

    def predict(self, X: np.ndarray) -> np.ndarray:
        proba = self.predict_proba(X)
        best = proba.argmax(axis=1)
        labels = self.classes_[best].astype(object)
        labels[proba[np.arange(len(best)), best] < self.min_confidence] = ""
        return labels


class ZeroShotAssigner:
    """Codebook prototypes in a centred space, refined transductively on the corpus, kept only
    when an unsupervised guard finds nothing wrong with them; otherwise the plain nearest
    prototype.

    fit(reference_vectors, reference_codes, X=corpus vectors, languages=, texts=,
    shot_vectors=, shot_codes=) learns `classes_`, `prototypes_` (refined), `anchors_`
    (from the codebook and shots only), `log_prior_` (each code's share of the corpus,
    estimated by EM, relative to equal shares), `temperature_`, `centring_`, `plain_` (the
    nearest-prototype fallback), `mode_` ("refined" or "plain") and `guard_` (what the guard
    measured and decided); `predict_proba(X, languages)` never refits, so fit-then-predict
    on the corpus gives the fitted answers.

    The guard (labels are unknown, so it compares the refined model with the plain one on
    the corpus): the refined model is dropped when it collapses a code (one the plain model
    gives at least `max(5, 1 %)` of the answers gets none) or when it disagrees with the
    plain model on most of the plain model's confident answers (the quarter with the widest
    margin between the two nearest prototypes; agreement below `min_agreement`). Measured
    on the benchmark corpora, shrinking a code is usually right (the plain model over-gives
    small codes), so only a code that vanishes counts as collapsed.
    """

    def __init__(self, min_confidence: float = DEFAULT_MIN_CONFIDENCE, refine: bool = True, n_iter: int = 10,
                 anchor: float = 0.5, share: float = 0.5, temperature: float | None = None, class_shares: bool = True,
                 guard: bool = True, min_agreement: float = 0.5):
        self.min_confidence = min_confidence
        self.refine = refine
        self.n_iter = n_iter
        self.anchor = anchor
        self.share = share
        self.temperature = temperature
        self.class_shares = class_shares
        self.guard = guard
        self.min_agreement = min_agreement

    def fit(self, reference_vectors: np.ndarray, reference_codes: Sequence[str], X: np.ndarray | None = None,
            languages: Sequence[str] | None = None, texts: Sequence[str] | None = None,
            reference_kinds: Sequence[str] | None = None, shot_vectors: np.ndarray | None = None,
            shot_codes: Sequence[str] | None = None, shot_languages: Sequence[str] | None = None) -> "ZeroShotAssigner":
        from criteria_nlp.vectors import unique_items

        R = unit_rows(np.asarray(reference_vectors, dtype=np.float64))
        codes = np.asarray([str(c) for c in reference_codes], dtype=object)
        self.classes_ = np.array(list(dict.fromkeys(codes)), dtype=object)
        index = {c: i for i, c in enumerate(self.classes_)}
        member = np.array([index[c] for c in codes])
        kinds = np.asarray(reference_kinds) if reference_kinds is not None else np.array(["label"] * len(R))
        # Codebook texts are centred on their own mean: short labels and descriptions
        # share a direction that says "label", not "which code".
        Rc = unit_rows(R - R.mean(axis=0)) if len(R) > 1 else R
        sums = np.zeros((len(self.classes_), R.shape[1]))
        np.add.at(sums, member, Rc)
        anchors = unit_rows(sums)
        have_corpus = X is not None and len(X) > 0
        self.centring_ = LanguageCentring().fit(X if have_corpus else np.zeros((0, R.shape[1])), languages, texts)
        shots = None
        plain_vectors, plain_codes, plain_examples = R, codes, kinds == "example"
        if shot_vectors is not None and len(shot_vectors):
            shot_codes = np.asarray([str(c) for c in shot_codes], dtype=object)
            known = np.isin(shot_codes, self.classes_)
            S = self.centring_.transform(np.asarray(shot_vectors)[known], None if shot_languages is None else np.asarray(shot_languages)[known])
            shot_member = np.array([index[c] for c in shot_codes[known]], dtype=int)
            shot_sums = np.zeros_like(sums)
            np.add.at(shot_sums, shot_member, S)
            has = np.bincount(shot_member, minlength=len(self.classes_)) > 0
            # Equal say for the codebook's words and the analysts' examples.
            anchors[has] = unit_rows(anchors[has] + unit_rows(shot_sums[has]))
            shots = (S, shot_member)
            plain_vectors = np.vstack([R, unit_rows(np.asarray(shot_vectors, dtype=np.float64)[known])])
            plain_codes = np.r_[codes, shot_codes[known]]
            plain_examples = np.r_[plain_examples, np.ones(int(known.sum()), dtype=bool)]
        # The plain method, and the fallback: the nearest prototype of the codebook's texts
        # (and shots), no centring, no corpus.
        self.plain_ = PrototypeAssigner(min_confidence=0.0, temperature=self.temperature).fit(plain_vectors, plain_codes, plain_examples)
        self.anchors_ = anchors
        self.prototypes_ = anchors.copy()
        self.log_prior_ = np.zeros(len(self.classes_))
        self.mode_, self.guard_ = "refined", {"decision": "refined", "reason": "no corpus to check against"}
        U = None
        if have_corpus:
            keys, item_of_row = unique_items(texts, len(X), [f"{i:09d}" for i in range(len(X))] if texts is None else None)
            Z = self.centring_.transform(X, languages)
            U = unit_rows(item_sums(Z, item_of_row, len(keys)), copy=False)
            del Z  # 100,000 answers: each float64 copy is 200-300 MB
            if self.refine:
                self.prototypes_, self.log_prior_ = self._refine(U, anchors)
        self.temperature_ = self.temperature or self._calibrate(Rc, member, kinds == "example", shots)
        if have_corpus and self.guard:
            plain_scores = unit_rows(item_sums(np.asarray(X, dtype=np.float64), item_of_row, len(keys)), copy=False) @ self.plain_.prototypes_.T
            self._check(plain_scores, self._scores(U))
        return self

    def _scores(self, U: np.ndarray) -> np.ndarray:
        """Centred cosines to the prototypes, shifted by each code's estimated share."""
        return U @ self.prototypes_.T + self._prior_temperature() * self.log_prior_

    def _prior_temperature(self) -> float:
        return self.temperature or DEFAULT_CENTRED_TEMPERATURE

    def _refine(self, U: np.ndarray, anchors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Anchored k-means: each code's prototype moves to the mean of its most confident
        answers (a share of those it wins), mixed with its codebook anchor. With
        `class_shares`, each code's share of the corpus is estimated on the way (EM over the
        softmax posteriors, Saerens et al. 2002): a code that covers a third of the answers is
        not forced to give them to codes that cover a few."""
        prototypes, log_prior = anchors.copy(), np.zeros(len(anchors))
        t = self._prior_temperature()
        for _ in range(self.n_iter):
            scores = U @ prototypes.T
            if self.class_shares and len(anchors) > 1:
                shares = np.clip(softmax(scores / t + log_prior, 1.0).mean(axis=0), 1e-3, None)
                log_prior = np.log(shares / shares.sum() * len(anchors))
            best = (scores / t + log_prior).argmax(axis=1)
            top2 = np.sort(scores, axis=1)[:, -2:] if scores.shape[1] > 1 else np.c_[scores, scores]
            margin = top2[:, 1] - top2[:, 0]
            new = anchors.copy()
            for k in range(len(anchors)):
                rows = np.flatnonzero(best == k)
                if not len(rows):
                    continue
                keep = rows[np.lexsort((rows, -margin[rows]))][: int(np.ceil(self.share * len(rows)))]
                mean = unit_rows(U[keep].mean(axis=0, keepdims=True))[0]
                new[k] = self.anchor * anchors[k] + (1 - self.anchor) * mean
            new = unit_rows(new)
            if np.allclose(new, prototypes, atol=1e-10):
                break
            prototypes = new
        return prototypes, log_prior

    def _check(self, plain_scores: np.ndarray, scores: np.ndarray) -> None:
        """The guard (see the class doc): keep the refined model or fall back to the plain one."""
        plain, refined = plain_scores.argmax(axis=1), scores.argmax(axis=1)
        k = len(self.classes_)
        top2 = np.sort(plain_scores, axis=1)[:, -2:] if k > 1 else np.c_[plain_scores, plain_scores]
        margin = top2[:, 1] - top2[:, 0]
        confident = margin >= np.quantile(margin, 0.75)
        agreement = float((plain == refined).mean())
        on_confident = float((plain[confident] == refined[confident]).mean())
        before, after = np.bincount(plain, minlength=k), np.bincount(refined, minlength=k)
        collapsed = [str(c) for c, b, a in zip(self.classes_, before, after) if b >= max(5, 0.01 * len(plain)) and a == 0]
        problems = []
        if collapsed:
            problems.append(f"collapses {len(collapsed)} code(s)")
        if on_confident < self.min_agreement:
            problems.append(f"agrees with the nearest prototype on only {on_confident:.0%} of its confident answers")
        self.mode_ = "plain" if problems else "refined"
        self.guard_ = {"decision": self.mode_, "agreement": round(agreement, 4), "agreement_on_confident": round(on_confident, 4),
                       "collapsed_codes": collapsed, "codes_used_plain": int((before > 0).sum()), "codes_used_refined": int((after > 0).sum()),
                       "reason": ("refined model dropped: it " + " and ".join(problems)) if problems else
                       "refined model kept: no code collapses and it agrees with the nearest prototype on its confident answers"}

    def _calibrate(self, Rc, member, is_example, shots) -> float:
        """Temperature minimising the log-loss of held-out examples (codebook examples and
        shots, each scored against prototypes that do not contain it); a default without."""
        vectors, targets = [], []
        if is_example.any():
            vectors.append(Rc[is_example]), targets.append(member[is_example])
        if shots is not None:
            vectors.append(shots[0]), targets.append(shots[1])
        if not vectors:
            return DEFAULT_CENTRED_TEMPERATURE
        V, target = np.vstack(vectors), np.concatenate(targets)
        if len(V) < 5:
            return DEFAULT_CENTRED_TEMPERATURE
        scores = V @ self.prototypes_.T
        # Remove each example's own pull on its code (approximately: one example among many).
        losses = [-np.log(softmax(scores, t)[np.arange(len(V)), target] + 1e-12).mean() for t in TEMPERATURES]
        return float(max(TEMPERATURES[int(np.argmin(losses))], 0.01))

    def decision_function(self, X: np.ndarray, languages: Sequence[str] | None = None) -> np.ndarray:
        if self.mode_ == "plain":
            return self.plain_.decision_function(X)
        return self._scores(self.centring_.transform(X, languages))

    def predict_proba(self, X: np.ndarray, languages: Sequence[str] | None = None) -> np.ndarray:
        if len(X) == 0:
            return np.zeros((0, len(self.classes_)))
        temperature = self.plain_.temperature_ if self.mode_ == "plain" else self.temperature_
        return softmax(self.decision_function(X, languages), temperature)

    def summary(self) -> dict:
        """What the manifest says about the model: the guard's measures and decision."""
        shares = np.exp(self.log_prior_) / len(self.classes_)
        return {"model": "centred prototypes refined on the corpus" if self.mode_ == "refined" else "nearest prototype (plain)",
                "refinement": bool(self.refine), "guard": dict(self.guard_),
                "estimated_code_shares": {str(c): round(float(v), 4) for c, v in zip(self.classes_, shares)} if self.refine and self.class_shares else {}}

    def predict(self, X: np.ndarray, languages: Sequence[str] | None = None) -> np.ndarray:
        proba = self.predict_proba(X, languages)
        best = proba.argmax(axis=1)
        labels = self.classes_[best].astype(object)
        labels[proba[np.arange(len(best)), best] < self.min_confidence] = ""
        return labels


def zero_shot_assign(
    vectors: np.ndarray,
    codebook: Codebook,
    embedder,
    *,
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
    languages: Sequence[str] | None = None,
    top_k: int = 1,
    texts: Sequence[str] | None = None,
    refine: bool = True,
    shots: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, ZeroShotAssigner]:
    """Assign answer vectors to the codebook's codable codes without training a classifier.

    `texts` (the answers) let duplicates count once in the corpus statistics; `shots` is an
    optional table of coded answers (columns text, code, optional language) used as extra
    examples; `refine=False` turns the transductive step off.
    """
    reference = codebook_reference(codebook)
    reference_vectors = embedder.embed(reference.texts)
    shot_vectors = shot_codes = shot_languages = None
    if shots is not None and len(shots):
        shot_vectors = embedder.embed(shots["text"].astype(str).tolist())
        shot_codes = shots["code"].astype(str).tolist()
        shot_languages = shots["language"].astype(str).tolist() if "language" in shots else None
    assigner = ZeroShotAssigner(min_confidence=min_confidence, refine=refine).fit(
        reference_vectors, reference.codes, X=vectors, languages=languages, texts=texts,
        reference_kinds=reference.kinds, shot_vectors=shot_vectors, shot_codes=shot_codes, shot_languages=shot_languages,
    )
    proba = assigner.predict_proba(vectors, languages)
    table = assignment_table(proba, assigner.classes_, codebook, min_confidence, languages, top_k)
    return table, assigner

"""Language identification of short answers, with the group's languages as a prior.

Post-its are often one or two words ("solitude", "werk"), where any detector hesitates.
The people of one SPIRAL group write in one or two languages, so a short answer's language
is decided by combining the detector's probabilities with the language shares among the
group's confidently detected answers (a Bayesian prior). Each choice is recorded in
`language_source`: column, detected, group_prior, group_majority or undetermined.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from criteria_nlp.config import DEFAULT_LANGUAGES

CONFIDENT = 0.7  # detector probability above which an answer informs its group's prior


_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)


def normalise_language_code(value: str) -> str | None:
    """'FR', 'fra', 'French', 'fr-BE', 'français'? -> 'fr' (None when not recognised)."""
    from lingua import Language

    value = (value or "").strip().lower()
    if not value:
        return None
    head = re.split(r"[-_/ ]", value)[0]
    for language in Language.all():
        iso1 = language.iso_code_639_1.name.lower()
        if head in (iso1, language.iso_code_639_3.name.lower(), language.name.lower()):
            return iso1
    return None


class LanguageIdentifier:
    """lingua restricted to the configured languages (fewer candidates, fewer mistakes)."""

    def __init__(self, languages: Sequence[str] = DEFAULT_LANGUAGES, show_progress: bool = False):
        self.languages = tuple(languages)
        self.show_progress = show_progress  # a bar with ETA on stderr (long corpora)

    def _detector(self):
        if not hasattr(self, "_detector_"):
            from lingua import IsoCode639_1, LanguageDetectorBuilder

            try:
                codes = [getattr(IsoCode639_1, code.upper()) for code in self.languages]
            except AttributeError as exc:
                from criteria_nlp.errors import InputError

                raise InputError(f"unknown language code {exc.name!r} in --languages; use ISO 639-1 codes such as fr, nl, lv") from None
            self._detector_ = LanguageDetectorBuilder.from_iso_codes_639_1(*codes).build()
        return self._detector_

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """(n, n_languages) matrix of detector probabilities, columns in self.languages order."""
        out = np.zeros((len(texts), len(self.languages)), dtype=np.float64)
        if not len(texts):
            return out
        from criteria_nlp.progress import progress_bar

        index = {code: j for j, code in enumerate(self.languages)}
        texts = list(texts)
        chunk = 5000  # progress granularity; lingua parallelises inside each chunk
        with progress_bar(len(texts), "language identification", self.show_progress and len(texts) > chunk) as advance:
            for start in range(0, len(texts), chunk):
                results = self._detector().compute_language_confidence_values_in_parallel(texts[start : start + chunk])
                for i, values in enumerate(results, start):
                    for value in values:
                        j = index.get(value.language.iso_code_639_1.name.lower())
                        if j is not None:
                            out[i, j] = value.value
                advance(len(results))
        return out


def identify_languages(
    answers: pd.DataFrame,
    identifier: LanguageIdentifier | None = None,
    group_columns: Sequence[str] = ("city", "group"),
) -> pd.DataFrame:
    """Return a frame with `language`, `language_source`, `language_confidence` per answer.

    A `language` column in `answers` wins where it holds a recognised code; the other
    answers are detected, short or hesitant ones with their group's languages as prior.
    """
    identifier = identifier or LanguageIdentifier()
    n = len(answers)
    language = pd.Series([None] * n, index=answers.index, dtype=object)
    source = pd.Series(["undetermined"] * n, index=answers.index, dtype=object)
    confidence = pd.Series(np.zeros(n), index=answers.index)

    if "language" in answers.columns:
        given = answers["language"].map(normalise_language_code)
        has = given.notna()
        language[has] = given[has]
        source[has] = "column"
        confidence[has] = 1.0
    todo = language.isna()
    texts = answers.loc[todo, "text"].astype(str)
    has_letters = texts.map(lambda t: bool(_LETTER.search(t)))
    to_detect = texts[has_letters]
    probs = identifier.probabilities(to_detect.tolist())
    codes = np.array(identifier.languages)

    keys = _group_keys(answers, group_columns)
    # Prior counts from everything we already trust: given languages and confident detections.
    top = probs.max(axis=1) if len(probs) else np.zeros(0)
    confident_idx = to_detect.index[top >= CONFIDENT]
    trusted = pd.concat([
        language[language.notna()],
        pd.Series(codes[probs[top >= CONFIDENT].argmax(axis=1)] if len(confident_idx) else [], index=confident_idx, dtype=object),
    ])
    prior_counts = pd.crosstab(keys[trusted.index], trusted).reindex(columns=codes, fill_value=0) if len(trusted) else None
    corpus_counts = trusted.value_counts().reindex(codes, fill_value=0).to_numpy(dtype=float) if len(trusted) else np.zeros(len(codes))

    def prior_for(key) -> np.ndarray:
        counts = corpus_counts
        if prior_counts is not None and key in prior_counts.index:
            counts = prior_counts.loc[key].to_numpy(dtype=float)
        # Additive smoothing keeps every language possible when the text is unambiguous.
        return (counts + 0.5) / (counts.sum() + 0.5 * len(codes))

    for row, idx in enumerate(to_detect.index):
        p = probs[row]
        if p.max() >= CONFIDENT:
            language[idx], source[idx], confidence[idx] = codes[p.argmax()], "detected", p.max()
            continue
        posterior = p * prior_for(keys[idx])
        if posterior.sum() == 0:
            posterior = prior_for(keys[idx])
        posterior = posterior / posterior.sum()
        choice = posterior.argmax()
        language[idx] = codes[choice]
        source[idx] = "detected" if choice == p.argmax() and p.max() >= 0.5 else "group_prior"
        confidence[idx] = posterior[choice]

    # Answers without letters ("-", "123", "?"): the group's most common language.
    for idx in texts[~has_letters].index:
        prior = prior_for(keys[idx])
        if corpus_counts.sum() or (prior_counts is not None and keys[idx] in prior_counts.index):
            language[idx], source[idx], confidence[idx] = codes[prior.argmax()], "group_majority", prior.max()

    return pd.DataFrame({"language": language, "language_source": source, "language_confidence": confidence.round(3)})


def _group_keys(answers: pd.DataFrame, group_columns: Sequence[str]) -> pd.Series:
    present = [c for c in group_columns if c in answers.columns]
    if not present:
        return pd.Series(["(all)"] * len(answers), index=answers.index)
    return answers[present].astype(str).agg(" / ".join, axis=1)

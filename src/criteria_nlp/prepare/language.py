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


# The writing system of each language (Latin unless listed), and the languages a script
# suggests, for answers written in a script that none of the configured languages uses.
LANGUAGE_SCRIPT = {
    "el": "GREEK", "ru": "CYRILLIC", "uk": "CYRILLIC", "bg": "CYRILLIC", "sr": "CYRILLIC", "mk": "CYRILLIC", "be": "CYRILLIC",
    "kk": "CYRILLIC", "mn": "CYRILLIC", "ar": "ARABIC", "fa": "ARABIC", "ur": "ARABIC", "he": "HEBREW", "hi": "DEVANAGARI",
    "mr": "DEVANAGARI", "zh": "CJK", "ja": "CJK", "ko": "HANGUL", "th": "THAI", "ka": "GEORGIAN", "hy": "ARMENIAN",
    "bn": "BENGALI", "ta": "TAMIL", "te": "TELUGU", "gu": "GUJARATI", "pa": "GURMUKHI",
}


SCRIPT_LANGUAGES = {
    "THAI": ("th",), "HANGUL": ("ko",), "HIRAGANA": ("ja",), "KATAKANA": ("ja",), "CJK": ("zh", "ja"), "ARABIC": ("ar", "fa", "ur"),
    "HEBREW": ("he",), "DEVANAGARI": ("hi", "mr"), "CYRILLIC": ("ru", "uk", "bg", "sr", "mk", "be", "kk", "mn"), "GREEK": ("el",),
    "GEORGIAN": ("ka",), "ARMENIAN": ("hy",), "BENGALI": ("bn",), "TAMIL": ("ta",), "TELUGU": ("te",), "GUJARATI": ("gu",),
    "GURMUKHI": ("pa",), "LATIN": (),
}


_BEYOND_LATIN = re.compile(r"[^\x00-\u036f\u1e00-\u1eff\u2000-\u206f]")


UNSUPPORTED = "unsupported"  # language_source of answers in a language outside the configured list


def _script(ch: str) -> str | None:
    if ch.isascii():
        return "LATIN" if ch.isalpha() else None
    if not ch.isalpha():
        return None
    import unicodedata

    head = unicodedata.name(ch, "").split(" ", 1)[0]
    head = "LATIN" if head == "FULLWIDTH" else head
    return head if head in SCRIPT_LANGUAGES else None


def dominant_foreign_script(text: str, supported: frozenset[str]) -> str | None:
    """The script of most of the text's letters when it is one that no configured language
    is written in (Chinese, Thai, Arabic... among Latin-script languages), else None."""
    if text.isascii():
        return None if "LATIN" in supported else ("LATIN" if any(c.isalpha() for c in text) else None)
    if "LATIN" in supported and not _BEYOND_LATIN.search(text):
        return None  # accents, punctuation, combining marks: the common case, decided at C speed
    counts: dict[str, int] = {}
    for ch in text:
        script = _script(ch)
        if script is not None:
            counts[script] = counts.get(script, 0) + 1
    inside = sum(n for script, n in counts.items() if script in supported)
    outside = {script: n for script, n in counts.items() if script not in supported}
    if not outside or sum(outside.values()) <= inside:
        return None
    if "HIRAGANA" in outside or "KATAKANA" in outside:
        return "HIRAGANA"  # kana: Japanese, even when most characters are kanji
    return max(outside, key=outside.get)


def _foreign_languages(texts: pd.Series, languages: Sequence[str]) -> pd.Series:
    """For each text in a script the configured languages do not use: its language when the
    script (and lingua, among that script's languages) tells it, else 'und'; None otherwise."""
    supported = frozenset(LANGUAGE_SCRIPT.get(code, "LATIN") for code in languages)
    scripts = texts.map(lambda t: dominant_foreign_script(str(t), supported))
    out = pd.Series([None] * len(texts), index=texts.index, dtype=object)
    for script in scripts.dropna().unique():
        rows = scripts.index[scripts == script]
        candidates = SCRIPT_LANGUAGES.get(script, ())
        if len(candidates) == 1:
            out[rows] = candidates[0]
        elif not candidates:
            out[rows] = "und"
        else:
            detector = LanguageIdentifier(candidates)
            probs = detector.probabilities(texts[rows].astype(str).tolist())
            best = probs.argmax(axis=1)
            out[rows] = [candidates[b] if p[b] > 0 else "und" for b, p in zip(best, probs)]
    return out


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


MAX_DETECT_CHARS = 240  # a long answer's language is read from its first sentences (cut at a space)
# From this length on, lingua's low-accuracy mode (trigrams only) is used: as accurate on long
# texts (2,000 answers of 120+ characters in 6 languages: all right in both modes) and faster.
LOW_ACCURACY_FROM = 120


def detection_prefix(text: str, max_chars: int = MAX_DETECT_CHARS) -> str:
    """The normalised start of a text that language detection reads: lingua's accuracy no
    longer improves after a few sentences, while its time grows with the length."""
    from criteria_nlp.prepare.text import normalise_text

    text = normalise_text(text)
    if len(text) <= max_chars:
        return text
    cut = text.rfind(" ", max_chars // 2, max_chars + 1)
    return text[: cut if cut > 0 else max_chars]


def detector_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("lingua-language-detector")
    except metadata.PackageNotFoundError:
        return "unknown"


class LanguageIdentifier:
    """lingua restricted to the configured languages (fewer candidates, fewer mistakes).

    Reads each text's first `max_chars` characters. With a `cache_dir`, each text's
    probabilities are kept in the content cache (keyed by the prefix, the languages and
    lingua's version): a re-run detects only new texts."""

    def __init__(self, languages: Sequence[str] = DEFAULT_LANGUAGES, show_progress: bool = False,
                 max_chars: int = MAX_DETECT_CHARS, cache_dir=None, use_cache: bool = False):
        if max_chars < 20:
            raise ValueError("max_chars must be >= 20")
        self.languages = tuple(languages)
        self.show_progress = show_progress  # a bar with ETA on stderr (long corpora)
        self.max_chars = max_chars
        self.cache_dir = cache_dir
        self.use_cache = use_cache
        self.stats: dict = {}

    @property
    def cache_namespace(self) -> str:
        return (f"language:lingua-{detector_version()}:{','.join(self.languages)}:prefix{self.max_chars}"
                f":low{LOW_ACCURACY_FROM}")

    def _store(self):
        if not self.use_cache:
            return None
        if not hasattr(self, "_store_"):
            from criteria_nlp.io.content_cache import ContentCache
            from criteria_nlp.io.paths import analyses_dir

            self._store_ = ContentCache(analyses_dir(self.cache_dir), self.cache_namespace)
        return self._store_

    def _detector(self, low_accuracy: bool = False):
        attribute = "_low_detector_" if low_accuracy else "_detector_"
        if not hasattr(self, attribute):
            from lingua import IsoCode639_1, LanguageDetectorBuilder

            try:
                codes = [getattr(IsoCode639_1, code.upper()) for code in self.languages]
            except AttributeError as exc:
                from criteria_nlp.errors import InputError

                raise InputError(f"unknown language code {exc.name!r} in --languages; use ISO 639-1 codes such as fr, nl, lv") from None
            builder = LanguageDetectorBuilder.from_iso_codes_639_1(*codes)
            setattr(self, attribute, (builder.with_low_accuracy_mode() if low_accuracy else builder).build())
        return getattr(self, attribute)

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """(n, n_languages) matrix of detector probabilities, columns in self.languages order."""
        out = np.zeros((len(texts), len(self.languages)), dtype=np.float64)
        if not len(texts):
            return out
        prefixes = [detection_prefix(str(t), self.max_chars) for t in texts]
        unique = list(dict.fromkeys(prefixes))
        store = self._store()
        known = store.get_many(unique) if store is not None else {}
        width = len(self.languages)
        rows = {p: np.frombuffer(v, dtype="<f4") for p, v in known.items() if len(v) == 4 * width}
        todo = [p for p in unique if p not in rows]
        computed = self._detect(todo)
        if store is not None and todo:
            store.put_many((p, computed[i].astype("<f4").tobytes()) for i, p in enumerate(todo))
        rows.update(zip(todo, computed))
        self.stats = {"texts": len(texts), "unique": len(unique), "cache_hits": len(unique) - len(todo), "detected": len(todo)}
        for i, p in enumerate(prefixes):
            out[i] = rows[p]
        return out

    def _detect(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), len(self.languages)), dtype=np.float64)
        if not texts:
            return out
        from criteria_nlp.progress import progress_bar

        index = {code: j for j, code in enumerate(self.languages)}
        chunk = 5000  # progress granularity; lingua parallelises inside each chunk
        rows = {False: [i for i, t in enumerate(texts) if len(t) < LOW_ACCURACY_FROM],
                True: [i for i, t in enumerate(texts) if len(t) >= LOW_ACCURACY_FROM]}
        with progress_bar(len(texts), "language identification", self.show_progress and len(texts) > chunk) as advance:
            for low_accuracy, positions in rows.items():
                for start in range(0, len(positions), chunk):
                    part = positions[start : start + chunk]
                    results = self._detector(low_accuracy).compute_language_confidence_values_in_parallel([texts[i] for i in part])
                    for i, values in zip(part, results):
                        for value in values:
                            j = index.get(value.language.iso_code_639_1.name.lower())
                            if j is not None:
                                out[i, j] = value.value
                    advance(len(results))
        # Stored as float32: the same values whether they come from the cache or not.
        return out.astype(np.float32).astype(np.float64)


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
    # Answers in a script none of the configured languages uses are never forced into one
    # of them (the group prior would label Chinese answers 'fr'): their own language or 'und'.
    pending = answers.loc[language.isna(), "text"].astype(str)
    foreign = _foreign_languages(pending, identifier.languages).dropna()
    language[foreign.index] = foreign
    source[foreign.index] = UNSUPPORTED
    confidence[foreign.index] = 1.0
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
    trusted = trusted[source[trusted.index] != UNSUPPORTED]
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

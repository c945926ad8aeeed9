"""Drafting = choose, then adapt: each criteria group gets the indicator of the library that
best fits its answers, its name narrowed to a variant when the group is about one part of
it, and the group's own answers quoted under the level each one describes.

How a group is matched, and why:

1. **Every answer against the library in its own language.** Each answer is compared with
   the name, the five situations and the variants of every indicator, written in the
   answer's language (English for languages the library lacks); an indicator's fit to the
   answer is its best-matching sentence, its fit to the group the mean over the group's most
   central answers. Parallel wording means no language is favoured.
2. **The group's code narrows the choice.** A group coded to a component chooses among that
   component's indicators; uncoded groups, and codes the library does not cover, among all.
3. **A calibrated "nothing fits".** An indicator's *support* in a group is the share of its
   answers that rank it among their five best-fitting indicators. The group's indicator must
   have more support than the best indicator of `null_quantile` of random groups of the
   run's own answers, of the same size: otherwise the group is `draft-unmatched` and gets its
   best answers instead of an indicator. The thresholds are reported in the manifest.
   And at least half of its answers must fit the library as well as the 5 % least fitting
   of the SPIRAL codebook's own example answers fit theirs: a group of texts that are not
   about well-being criteria (news, encyclopedic sentences) is unmatched, however coherent.
   A group whose answers point far more clearly (`SWITCH_MARGIN` in z-score) to an indicator
   of another component than its code's gets that indicator, and the draft says so.
4. **Quotes under their level.** Only answers that rank the chosen indicator among their
   best five are quoted. An answer's valence (`valence.py`; answers to "what I do" count as
   well-being) says which end of the scale it illustrates: ill-being answers go to level 2
   (obstacles) unless they fit level 1 (impossible) clearly better, well-being answers to
   level 4 (quality) unless they fit level 5 (lasting) clearly better.

Everything is a DRAFT for analysts and the citizen group to validate; wording not checked by a
native speaker is marked so.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from criteria_nlp.describe.keyphrases import GroupDescription
from criteria_nlp.describe.library import IndicatorLibrary
from criteria_nlp.describe.library_vectors import embed_sentences
from criteria_nlp.describe.valence import (
    NEGATIVE,
    POSITIVE,
    ValenceClassifier,
    library_valence_texts,
)
from criteria_nlp.i18n import gettext_noop as N_
from criteria_nlp.vectors import unit_rows

LEVELS = (1, 2, 3, 4, 5)
INDICATOR_COLUMNS = (
    ["cluster", "code", "language", "indicator_id", "variant", "name"]
    + [f"level_{k}" for k in LEVELS] + [f"quotes_{k}" for k in LEVELS] + [f"level_{k}_ids" for k in LEVELS]
    + ["status", "match", "verified", "note"]
)
# Notes stored in English in indicators.csv; the report and the workbook show them translated.
DRAFT_NOTE = N_("DRAFT: chosen from the indicator library, to validate with the citizen group before any use")
UNMATCHED_NOTE = N_("no indicator of the library fits this group well enough: its most central answer stands in for a name "
                    "and its best answers are quoted instead of levels")
UNVERIFIED_NOTE = N_("this wording has not been checked by a native speaker yet")
ANALYST_NAME_NOTE = N_("name given by an analyst")
STATUS_NAMES = {"draft": N_("draft"), "draft-unmatched": N_("no fitting indicator")}  # each status as a person reads it
FALLBACK_LANGUAGE = "en"
MATCH_SAMPLE = 40          # most central answers of a group that decide its indicator
MAX_QUOTED = 3             # answers quoted per level
VARIANT_MARGIN = 0.03      # a variant's name must fit the group this much better than the indicator's own
LEVEL_MARGIN = 0.02        # an answer goes to the outer level (1 or 5) only when it fits it this much better
TOP_SUPPORT = 5            # an answer supports the indicators among its five best-fitting
SWITCH_MARGIN = 1.5        # z-score by which another component's indicator must beat the code's
FLOOR_QUANTILE = 0.05      # the codebook examples' fit below which an answer is not about a known criterion
IN_DOMAIN_SHARE = 0.5      # share of a group's answers that must be about a criterion the library knows


@dataclass(frozen=True)
class _Units:
    """The library's sentences in one language, embedded, grouped by indicator."""

    indicators: list[str]      # indicator ids, in the order of `starts`
    starts: np.ndarray         # first unit row of each indicator (for np.maximum.reduceat)
    kinds: list[tuple[str, str, str]]  # (indicator, kind: name | level | variant, key)
    vectors: np.ndarray


@dataclass(frozen=True)
class _Choice:
    position: int     # the indicator's position in the library
    matched: bool
    z: float          # how much it stands out from the library for this group
    support: float    # share of the group's answers that rank it among their best five
    switched: bool    # chosen outside the group's code's component


class IndicatorDrafter:
    """Chooses and adapts library indicators for criteria groups (scikit-learn manners:
    parameters in `__init__`, `fit` embeds the library and learns valence, `draft` never refits).

    `analyst_language`: the language every draft is written in; `all_languages`: also one row
    per language of the group's answers that the library has."""

    def __init__(self, library: IndicatorLibrary, analyst_language: str, *, all_languages: bool = False,
                 null_quantile: float = 0.9, n_null: int = 200, seed: int = 0):
        self.library = library
        self.analyst_language = analyst_language
        self.all_languages = all_languages
        self.null_quantile = null_quantile
        self.n_null = n_null
        self.seed = seed

    # ------------------------------------------------------------------------------ fit
    def fit(self, embedder, languages: Sequence[str] = ()) -> "IndicatorDrafter":
        """Embed the library in the languages needed (the answers', the analyst's, English)
        and train the valence classifier on its situations."""
        wanted = {self.analyst_language, FALLBACK_LANGUAGE, *languages}
        self.languages_ = tuple(sorted(lang for lang in wanted if lang in self.library.languages))
        if not self.languages_:
            raise ValueError("the indicator library has none of the languages needed")
        texts, owners = [], []
        for language in self.languages_:
            for indicator in self.library:
                wording = indicator.texts[language]
                sentences = [("name", "", wording.name)] + [("level", str(k), s) for k, s in zip(LEVELS, wording.levels)]
                sentences += [("variant", slug, name) for slug, name in sorted(wording.variants.items())]
                for kind, key, sentence in sentences:
                    texts.append(sentence)
                    owners.append((language, indicator.id, kind, key))
        vectors = unit_rows(np.asarray(embed_sentences(embedder, texts), dtype=np.float64))
        self.units_ = {}
        for language in self.languages_:
            rows = [n for n, owner in enumerate(owners) if owner[0] == language]
            kinds = [owners[n][1:] for n in rows]
            ids = [k[0] for k in kinds]
            starts = np.array([n for n in range(len(ids)) if n == 0 or ids[n] != ids[n - 1]])
            self.units_[language] = _Units([ids[s] for s in starts], starts, kinds, vectors[rows])
        self.fit_floor_ = self._fit_floor(embedder)
        valence_texts, labels = library_valence_texts(self.library, self.languages_)
        text_row = {t: n for n, t in enumerate(texts)}
        self.valence_ = ValenceClassifier(seed=self.seed).fit(vectors[[text_row[t] for t in valence_texts]], labels)
        return self

    def _fit_floor(self, embedder) -> float:
        """How well an answer fits the library when it is about a criterion the library knows:
        the `FLOOR_QUANTILE` of the fit of the SPIRAL codebook's own example answers to the
        best indicator of their component (-inf when too few examples are covered)."""
        from criteria_nlp.codebook.loaders import load_codebook

        covered = self.library.components()
        # Only examples in a language the library is embedded in: each is compared with the
        # library in its own language, as the answers are.
        examples = [(code.code, language, text) for code in load_codebook("spiral").codable() if code.code in covered
                    for language, texts in code.examples.items() if language in self.units_ for text in texts]
        if len(examples) < 30:
            return float("-inf")
        vectors = unit_rows(np.asarray(embedder.embed([t for _, _, t in examples]), dtype=np.float64))
        scores = self.indicator_scores(vectors, [language for _, language, _ in examples])
        order = list(self.library.indicators)
        component = np.array([self.library[i].component for i in order])
        own = [scores[n, component == code].max() for n, (code, _, _) in enumerate(examples)]
        return float(np.quantile(own, FLOOR_QUANTILE))

    # ---------------------------------------------------------------------------- scoring
    def _language_of(self, language: str) -> str:
        return language if language in self.units_ else FALLBACK_LANGUAGE if FALLBACK_LANGUAGE in self.units_ else self.languages_[0]

    def _similarities(self, vectors: np.ndarray, languages: Sequence[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """language -> (row positions, similarities of those rows to that language's units)."""
        out = {}
        langs = np.array([self._language_of(str(lang)) for lang in languages])
        for language in sorted(set(langs.tolist())):
            rows = np.flatnonzero(langs == language)
            out[language] = (rows, vectors[rows] @ self.units_[language].vectors.T)
        return out

    def indicator_scores(self, vectors: np.ndarray, languages: Sequence[str]) -> np.ndarray:
        """Per answer, its fit to every indicator (best-matching sentence), columns in library order."""
        order = list(self.library.indicators)
        scores = np.zeros((len(vectors), len(order)))
        for language, (rows, sims) in self._similarities(vectors, languages).items():
            units = self.units_[language]
            best = np.maximum.reduceat(sims, units.starts, axis=1)
            position = [order.index(i) for i in units.indicators]
            scores[np.ix_(rows, position)] = best
        return scores

    @staticmethod
    def _support(top: np.ndarray, n_indicators: int) -> np.ndarray:
        """Share of the rows whose best-fitting indicators (`top`, one row each) include each indicator."""
        return np.bincount(top.ravel(), minlength=n_indicators) / max(len(top), 1)

    def calibrate(self, top: np.ndarray, sizes: Sequence[int], n_indicators: int) -> dict[int, float]:
        """Group size -> the support a group's indicator must reach: the `null_quantile` of the
        best support in `n_null` random groups of that size drawn from the run's answers."""
        rng = np.random.default_rng(self.seed)
        thresholds = {}
        for size in sorted(set(int(s) for s in sizes if s > 0)):
            if size >= len(top):
                thresholds[size] = 0.0
                continue
            best = [self._support(top[rng.choice(len(top), size=size, replace=False)], n_indicators).max() for _ in range(self.n_null)]
            thresholds[size] = float(np.quantile(best, self.null_quantile))
        return thresholds

    # ------------------------------------------------------------------------------ draft
    def valence(self, vectors: np.ndarray, questions: Sequence[str] | None = None) -> np.ndarray:
        """P(well-being) of each answer."""
        return self.valence_.predict_proba(unit_rows(np.asarray(vectors, dtype=np.float64)), questions)

    def draft(self, rows: pd.DataFrame, vectors: np.ndarray, descriptions: list[GroupDescription], *,
              names: dict | None = None) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
        """(indicators table, per-row [valence, indicator_id] aligned to `rows`, what the manifest says)."""
        rows = rows.reset_index(drop=True)
        vectors = unit_rows(np.asarray(vectors, dtype=np.float64))
        languages = rows["language"].astype(str).replace("", "und").tolist() if "language" in rows else ["und"] * len(rows)
        questions = rows["question"].astype(str).tolist() if "question" in rows else None
        p_positive = self.valence(vectors, questions)
        scores = self.indicator_scores(vectors, languages)
        order = list(self.library.indicators)
        top = np.argsort(-scores, axis=1, kind="stable")[:, :TOP_SUPPORT]
        samples = {d.key: d.by_centrality(d.members)[:MATCH_SAMPLE] for d in descriptions}
        thresholds = self.calibrate(top, [len(s) for s in samples.values()], len(order))
        covered = self.library.components()
        indicator_of_row = [""] * len(rows)
        table, statuses = [], Counter()
        for desc in descriptions:
            sample = samples[desc.key]
            choice = self._choose(desc, sample, scores, top, thresholds, order, covered)
            indicator = self.library[order[choice.position]] if choice.matched else None
            if indicator is not None:
                for r in desc.members:
                    indicator_of_row[r] = indicator.id
            variant = self._variant(indicator, vectors[sample], [languages[r] for r in sample]) if indicator else ""
            supporters = set(np.flatnonzero((top == choice.position).any(axis=1)).tolist())
            levels = self._levels(indicator, desc, vectors, languages, p_positive, supporters) if indicator else {}
            for language in self._output_languages(desc):
                row = self._row(desc, indicator, variant, levels, language, rows, choice, names)
                statuses[row["status"]] += 1
                table.append(row)
        valence = pd.DataFrame({"valence": np.where(p_positive >= 0.5, POSITIVE, NEGATIVE), "indicator_id": indicator_of_row})
        info = {"library": self.library.source, "indicators_in_library": len(self.library), "analyst_language": str(self.analyst_language),
                "library_languages_used": [str(x) for x in self.languages_],
                "unmatched_rule": f"support below the {self.null_quantile:.0%} quantile of random groups of the same size",
                "support_threshold_by_group_size": {str(k): round(v, 3) for k, v in sorted(thresholds.items())},
                "fit_floor": round(self.fit_floor_, 4),
                "fit_rule": f"at least {IN_DOMAIN_SHARE:.0%} of a group's answers fit the library as well as the "
                            f"{FLOOR_QUANTILE:.0%} least fitting of the SPIRAL codebook's own examples",
                "drafts": dict(statuses)}
        return pd.DataFrame(table, columns=INDICATOR_COLUMNS), valence, info

    def _choose(self, desc, sample, scores, top, thresholds, order, covered) -> "_Choice":
        """The group's indicator: the best fit among its code's indicators, or another
        component's when the answers point there far more clearly; matched when supported."""
        if not sample:
            return _Choice(0, False, 0.0, 0.0, False)
        mean = scores[sample].mean(axis=0)
        spread = mean.std()
        z = (mean - mean.mean()) / (spread if spread > 0 else 1.0)
        support = self._support(top[sample], len(order))
        threshold = thresholds.get(len(sample), 0.0)
        everywhere = list(range(len(order)))
        own = [n for n, i in enumerate(order) if self.library[i].component == desc.code] if desc.code in covered else everywhere
        best = max(own, key=lambda n: (z[n], -n))
        elsewhere = max(everywhere, key=lambda n: (z[n], -n))
        switched = (elsewhere not in own and z[elsewhere] >= z[best] + SWITCH_MARGIN and support[elsewhere] >= threshold)
        if switched:
            best = elsewhere
        in_domain = float((scores[sample].max(axis=1) >= self.fit_floor_).mean())
        matched = bool(support[best] >= threshold and in_domain >= IN_DOMAIN_SHARE)
        return _Choice(best, matched, float(z[best]), float(support[best]), switched)

    def _output_languages(self, desc: GroupDescription) -> list[str]:
        languages = [self.analyst_language]
        if self.all_languages:
            languages += [lang for lang, _ in desc.languages.most_common() if lang in self.library.languages and lang not in languages]
        return languages

    def _variant(self, indicator, vectors: np.ndarray, languages: list[str]) -> str:
        """The variant whose name fits the group's answers better than the indicator's own name."""
        fit: dict[str, list[float]] = {}
        for language, (rows, sims) in self._similarities(vectors, languages).items():
            units = self.units_[language]
            for column, (owner, kind, key) in enumerate(units.kinds):
                if owner == indicator.id and kind in ("name", "variant"):
                    fit.setdefault(key if kind == "variant" else "", []).extend(sims[:, column].tolist())
        if not fit:
            return ""
        mean = {key: float(np.mean(values)) for key, values in fit.items()}
        own = mean.pop("", -1.0)
        if not mean:
            return ""
        slug = max(sorted(mean), key=lambda k: mean[k])
        return slug if mean[slug] > own + VARIANT_MARGIN else ""

    def _levels(self, indicator, desc: GroupDescription, vectors, languages, p_positive, supporters) -> dict[int, list[int]]:
        """Level -> the group's answers quoted under it (most fitting first). Only answers that
        rank the indicator among their best five are quoted (a mixed group's other half is
        not); an ill-being answer goes to level 2 (obstacles) unless it says the good is
        impossible (level 1), a well-being answer to level 4 unless it speaks of lasting (5)."""
        placed: dict[int, list[tuple[float, int]]] = {k: [] for k in LEVELS}
        members = [r for r in desc.by_centrality(desc.members)[: 4 * MATCH_SAMPLE] if r in supporters]
        for language, (rows, sims) in self._similarities(vectors[members], [languages[r] for r in members]).items():
            units = self.units_[language]
            level_columns = [c for c, (owner, kind, _) in enumerate(units.kinds) if owner == indicator.id and kind == "level"]
            for position, row_sims in zip(rows, sims[:, level_columns]):
                r = members[position]
                low, high = (2, 1) if p_positive[r] < 0.5 else (4, 5)
                level = high if row_sims[high - 1] > row_sims[low - 1] + LEVEL_MARGIN else low
                placed[level].append((float(row_sims[level - 1]), r))
        return {k: [r for _, r in sorted(v, key=lambda x: (-x[0], x[1]))[:MAX_QUOTED]] for k, v in placed.items()}

    def _row(self, desc, indicator, variant, levels, language, rows, choice: _Choice, names) -> dict:
        texts = rows["text"].astype(str).tolist()
        ids = rows["id"].astype(str).tolist()
        answer_languages = rows["language"].astype(str).tolist() if "language" in rows else [""] * len(rows)
        row = {"cluster": desc.key, "code": desc.code, "language": language, "match": round(choice.support, 3)}
        analyst_name = _analyst_name((names or {}).get(desc.key, ""), language)
        if indicator is None:
            best = desc.by_centrality(desc.members)[:5]
            # No made-up sentence: the group's most central answer (in this language if it has one) stands in.
            own = [r for r in desc.by_centrality(desc.members) if answer_languages[r] == language] or best
            row.update({"indicator_id": "", "variant": "", "name": analyst_name or f"“{texts[own[0]]}”", "status": "draft-unmatched", "verified": "",
                        "quotes_1": " ; ".join(_quote(texts[r], answer_languages[r], ids[r]) for r in best),
                        "note": UNMATCHED_NOTE})
            return row
        wording = indicator.texts[language]
        row.update({"indicator_id": indicator.id, "variant": variant,
                    "name": analyst_name or (wording.variants.get(variant) if variant else None) or wording.name,
                    "status": "draft", "verified": "yes" if wording.verified else "no"})
        for k in LEVELS:
            row[f"level_{k}"] = wording.levels[k - 1]
            quoted = levels.get(k, [])
            row[f"quotes_{k}"] = " ; ".join(_quote(texts[r], answer_languages[r], ids[r]) for r in quoted)
            row[f"level_{k}_ids"] = " ".join(ids[r] for r in quoted)
        notes = [DRAFT_NOTE] + ([UNVERIFIED_NOTE] if not wording.verified else []) + ([ANALYST_NAME_NOTE] if analyst_name else [])
        if choice.switched:
            notes.append(f"the answers point to component {indicator.component} rather than to the group's code {desc.code}: check the code")
        row["note"] = "; ".join(notes)
        return row


def _quote(text: str, language: str, answer_id: str) -> str:
    """An answer as quoted in a draft: its own words, its language and id."""
    return f"“{text}” ({language or 'und'}, {answer_id})"


def parse_names(value: str) -> dict[str, str]:
    """An analyst's name for a group: "Logement" (every language) or
    "fr: Accès au logement | nl: Betaalbaar wonen" (per language; "*" = the others)."""
    value = str(value or "").strip()
    if not value:
        return {}
    parts = [p.strip() for p in value.split("|")]
    matches = [re.match(r"^([a-z]{2,3}|\*)\s*:\s*(.+)$", part) for part in parts]
    if all(matches):
        return {m.group(1): m.group(2).strip() for m in matches}
    return {"*": value}


def _analyst_name(value: str, language: str) -> str:
    named = parse_names(value)
    return named.get(language) or named.get("*", "")


def draft_indicators(rows: pd.DataFrame, vectors: np.ndarray, descriptions: list[GroupDescription], embedder, *,
                     library: IndicatorLibrary | None = None, analyst_language: str | None = None,
                     all_languages: bool = False, names: dict | None = None, seed: int = 0):
    """Draft indicators for described groups in one call: (indicators, per-row valence and
    indicator_id, manifest info). `analyst_language` defaults to the answers' majority language."""
    from criteria_nlp.describe.library import load_library

    library = library if library is not None else load_library()
    present = rows["language"].astype(str).tolist() if "language" in rows else []
    language = analyst_language or majority_language(present, library)
    drafter = IndicatorDrafter(library, language, all_languages=all_languages, seed=seed).fit(embedder, sorted(set(present)))
    return drafter.draft(rows, vectors, descriptions, names=names)


def majority_language(languages: Sequence[str], library: IndicatorLibrary) -> str:
    """The most common language of the answers that the library is written in ('en' when none is)."""
    counts = Counter(lang for lang in languages if lang in library.languages)
    return counts.most_common(1)[0][0] if counts else FALLBACK_LANGUAGE

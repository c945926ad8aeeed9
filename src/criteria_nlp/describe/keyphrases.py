"""Describe criteria groups and codes: who answered, keyphrases per language, and
representative answers that are central yet diverse.

Keyphrases are class-based TF-IDF (BERTopic's c-TF-IDF) over lemmas, computed inside one
language at a time: the classes are the groups' answers in that language, so a French list
never mixes Dutch words. Representatives are chosen per language by maximal marginal
relevance (Carbonell & Goldstein 1998) on language-centred vectors: close to the group's
centre, but not near-duplicates of each other.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from criteria_nlp.prepare.text import duplicate_key

MIN_REPRESENTATIVES = 3


MAX_REPRESENTATIVES = 7


N_KEYPHRASES = 6


@dataclass
class GroupDescription:
    """What one criteria group (or code) holds. Row positions refer to the described frame."""

    key: object                                   # cluster id or code
    code: str
    members: list[int]
    languages: Counter
    cities: Counter
    groups: Counter
    questions: Counter
    centrality: dict[int, float] = field(default_factory=dict)      # row -> similarity to the centre
    keyphrases: dict[str, list[str]] = field(default_factory=dict)  # language -> phrases
    term_weights: dict[str, dict[str, float]] = field(default_factory=dict)
    representatives: dict[str, list[int]] = field(default_factory=dict)  # language -> rows

    @property
    def size(self) -> int:
        return len(self.members)

    @property
    def main_language(self) -> str:
        return self.languages.most_common(1)[0][0] if self.languages else ""

    def by_centrality(self, rows) -> list[int]:
        return sorted(rows, key=lambda r: (-self.centrality.get(r, 0.0), r))


def _terms(lemmas: list[str]) -> list[str]:
    """Unigrams and bigrams of adjacent content lemmas."""
    return lemmas + [f"{a} {b}" for a, b in zip(lemmas, lemmas[1:]) if a != b]


def class_tfidf(classes: dict[object, list[list[str]]]) -> dict[object, dict[str, tuple[float, int]]]:
    """c-TF-IDF: W(t, c) = tf(t, c) / |c| * log(1 + A / f(t)), where A is the average number of
    terms per class and f(t) the frequency of t over all classes. Returns, per class,
    term -> (weight, number of documents of the class that contain it)."""
    counts = {key: Counter(t for doc in docs for t in _terms(doc)) for key, docs in classes.items()}
    doc_freq = {key: Counter(t for doc in docs for t in set(_terms(doc))) for key, docs in classes.items()}
    total = Counter()
    for c in counts.values():
        total.update(c)
    sizes = {key: sum(c.values()) for key, c in counts.items()}
    nonempty = [s for s in sizes.values() if s]
    average = float(np.mean(nonempty)) if nonempty else 0.0
    out = {}
    for key, c in counts.items():
        out[key] = {
            term: (n / sizes[key] * float(np.log1p(average / total[term])), doc_freq[key][term])
            for term, n in c.items()
        }
    return out


def as_written(terms: list[str], docs: list[list[tuple[str, str]]]) -> list[str]:
    """Each lemma term as the answers wrote it: the lemma itself where it occurs as written,
    else its commonest written form. A lookup lemmatiser's slips ("prise" -> "priser",
    "stéréotypes" -> "stéréotyper") then never reach a reader. `docs`: (lemma, written) pairs
    of each answer's content words, in order."""
    wanted = set(terms)
    forms: dict[str, Counter] = {t: Counter() for t in terms}
    for words in docs:
        grams = list(words) + [(f"{a} {b}", f"{x} {y}") for (a, x), (b, y) in zip(words, words[1:]) if a != b]
        for lemma, written in grams:
            if lemma in wanted:
                forms[lemma][written] += 1
    out = []
    for term in terms:
        seen = forms[term]
        out.append(term if term in seen or not seen else min(seen, key=lambda w: (-seen[w], w)))
    return out


def top_keyphrases(weights: dict[str, tuple[float, int]], n_docs: int, k: int = N_KEYPHRASES) -> list[str]:
    """Best terms; a term used once is kept only in small classes, and a term whose words are
    all covered by terms already chosen adds nothing."""
    min_docs = 2 if n_docs >= 4 else 1
    ranked = sorted(weights.items(), key=lambda item: (-item[1][0], item[0]))
    chosen: list[str] = []
    covered: set[str] = set()
    for term, (_, docs) in ranked:
        if docs < min_docs:
            continue
        words = set(term.split())
        if words <= covered:
            continue
        chosen.append(term)
        covered |= words
        if len(chosen) == k:
            break
    return chosen


def mmr(vectors: np.ndarray, centre: np.ndarray, k: int, diversity: float = 0.3) -> list[int]:
    """Maximal marginal relevance: positions (into `vectors`) of k rows close to `centre` and
    far from the rows already picked."""
    if len(vectors) == 0 or k <= 0:
        return []
    relevance = vectors @ centre
    picked = [int(np.argmax(relevance))]
    while len(picked) < min(k, len(vectors)):
        redundancy = (vectors @ vectors[picked].T).max(axis=1)
        score = (1 - diversity) * relevance - diversity * redundancy
        score[picked] = -np.inf
        picked.append(int(np.argmax(score)))
    return picked


def n_representatives(n: int) -> int:
    """3 to 7 examples, growing with the square root of the number of answers."""
    return int(min(n, np.clip(round(np.sqrt(n)), MIN_REPRESENTATIVES, MAX_REPRESENTATIVES)))


def _column(answers: pd.DataFrame, name: str) -> pd.Series:
    return answers[name].astype(str) if name in answers.columns else pd.Series([""] * len(answers), index=answers.index)


def describe(answers: pd.DataFrame, vectors: np.ndarray, by: str = "cluster", analyser=None) -> list[GroupDescription]:
    """One description per value of `by` ("cluster" or "code"); rows whose value is -1 or ""
    (unassigned, non-answers) are left out. `answers` and `vectors` are aligned row by row;
    `analyser` (a run's `Analyser`) keeps the token analyses for the next description."""
    from criteria_nlp.describe.analyser import content_words
    from criteria_nlp.vectors import centre_by_language

    answers = answers.reset_index(drop=True)
    vectors = np.asarray(vectors)  # centring makes the one float64 copy
    if len(answers) != len(vectors):
        raise ValueError(f"describe: {len(answers)} answers but {len(vectors)} vectors")
    languages = _column(answers, "language").replace("", "und")
    centred = centre_by_language(vectors, languages.tolist()) if len(vectors) else vectors
    keys = answers[by]
    valid = ~keys.astype(str).isin(["-1", "", "nan"])
    codes = _column(answers, "code")

    descriptions: dict[object, GroupDescription] = {}
    for key in sorted(keys[valid].unique(), key=lambda v: (str(type(v)), v)):
        rows = np.flatnonzero((keys == key).to_numpy() & valid.to_numpy()).tolist()
        member_codes = Counter(c for c in codes.iloc[rows] if c)
        centre = centred[rows].mean(axis=0)
        norm = np.linalg.norm(centre)
        centre = centre / norm if norm else centre
        descriptions[key] = GroupDescription(
            key=key.item() if hasattr(key, "item") else key,
            code=str(key) if by == "code" else (member_codes.most_common(1)[0][0] if member_codes else ""),
            members=rows,
            languages=Counter(languages.iloc[rows]),
            cities=Counter(c for c in _column(answers, "city").iloc[rows] if c),
            groups=Counter(g for g in _column(answers, "group").iloc[rows] if g),
            questions=Counter(q for q in _column(answers, "question").iloc[rows] if q),
            centrality={r: float(centred[r] @ centre) for r in rows},
        )

    texts = answers["text"].astype(str).tolist()
    for language in sorted(set(languages[valid])):
        rows_in_language = np.flatnonzero(valid.to_numpy() & (languages == language).to_numpy()).tolist()
        words = dict(zip(rows_in_language, content_words([texts[r] for r in rows_in_language], language, analyser)))
        lemmas = {r: [lemma for lemma, _ in w] for r, w in words.items()}
        classes = {}
        for key, desc in descriptions.items():
            rows = [r for r in desc.members if r in lemmas]
            if rows:
                classes[key] = [lemmas[r] for r in rows]
        weights = class_tfidf(classes)
        for key, desc in descriptions.items():
            if key not in classes:
                continue
            desc.term_weights[language] = {t: w for t, (w, _) in weights[key].items()}
            desc.keyphrases[language] = as_written(top_keyphrases(weights[key], len(classes[key])),
                                                   [words[r] for r in desc.members if r in words])
            # Representatives among distinct texts (duplicates would only repeat one example).
            rows = []
            seen = set()
            for r in desc.by_centrality([r for r in desc.members if r in lemmas]):
                dup = duplicate_key(texts[r])
                if dup not in seen:
                    seen.add(dup)
                    rows.append(r)
            centre = centred[desc.members].mean(axis=0)
            centre = centre / (np.linalg.norm(centre) or 1.0)
            picked = mmr(centred[rows], centre, n_representatives(len(rows)))
            desc.representatives[language] = [rows[i] for i in picked]
    return list(descriptions.values())


def _counts(counter: Counter) -> str:
    return "; ".join(f"{k}:{v}" for k, v in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))


def descriptions_table(descriptions: list[GroupDescription], answers: pd.DataFrame, by: str = "cluster",
                       labels: dict | None = None) -> pd.DataFrame:
    """The clusters.csv / codes.csv table: one row per group, languages kept apart
    ("fr: logement, loyer | nl: woning")."""
    answers = answers.reset_index(drop=True)
    texts = answers["text"].astype(str).tolist()
    ids = answers["id"].astype(str).tolist()
    rows = []
    for desc in descriptions:
        ordered_languages = [lang for lang, _ in desc.languages.most_common()]
        central = desc.by_centrality(desc.members)
        label = (labels or {}).get(desc.key) or (texts[central[0]] if central else "")
        row = {by: desc.key}
        if by == "cluster":
            row["cluster_label"] = label
            row["code"] = desc.code
        else:
            row["code_label"] = label
        row.update({
            "size": desc.size,
            "languages": _counts(desc.languages),
            "cities": _counts(desc.cities),
            "groups": _counts(desc.groups),
            "questions": _counts(desc.questions),
            "keyphrases": " | ".join(f"{lang}: {', '.join(desc.keyphrases[lang])}" for lang in ordered_languages if desc.keyphrases.get(lang)),
            "representatives": " | ".join(
                f"{lang}: " + " ; ".join(texts[r] for r in desc.representatives[lang])
                for lang in ordered_languages if desc.representatives.get(lang)
            ),
            "representative_ids": " ".join(ids[r] for lang in ordered_languages for r in desc.representatives.get(lang, [])),
        })
        rows.append(row)
    columns = [by, "cluster_label", "code"] if by == "cluster" else [by, "code_label"]
    columns += ["size", "languages", "cities", "groups", "questions", "keyphrases", "representatives", "representative_ids"]
    return pd.DataFrame(rows, columns=columns)

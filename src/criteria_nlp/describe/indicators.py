"""Draft SPIRAL indicators for criteria groups, in the language of their answers.

For each group and each language of its answers: a short name built from the group's own
words (its most characteristic noun phrase, e.g. « Accès au logement »), and the five-level
scale drafted from the answers. Ill-being answers feed the bottom levels (1 possibility,
2 attainment, worded negatively), well-being answers the top (3 attainment, 4 quality,
5 sustainability, worded positively); each level cites the ids of the answers it was drawn
from. The wording templates are data (data/indicator_templates.yaml). Languages without
templates fall back to English and say so. Everything here is a DRAFT for analysts to
validate with the citizen groups.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import pandas as pd

from criteria_nlp.describe.keyphrases import GroupDescription
from criteria_nlp.prepare.text import duplicate_key

LEVELS = (1, 2, 3, 4, 5)


INDICATOR_COLUMNS = (
    ["indicator_id", "cluster", "code", "language", "name"]
    + [f"level_{k}" for k in LEVELS] + [f"level_{k}_ids" for k in LEVELS]
    + ["status", "note"]
)


DRAFT_NOTE = "DRAFT: machine-drafted wording, to validate with the citizen group before any use"


MAX_QUOTED = 3


# A name is read from the group's most central answers; beyond a few hundred the phrase search
# (each candidate phrase checked against every answer) only costs time.
MAX_NAMING_TEXTS = 200


@lru_cache(maxsize=None)
def _load_templates(path: str | None) -> dict:
    import yaml

    if path is None:
        text = resources.files("criteria_nlp.data").joinpath("indicator_templates.yaml").read_text(encoding="utf-8")
    else:
        text = Path(path).read_text(encoding="utf-8")
    return yaml.safe_load(text)


@dataclass(frozen=True)
class Wording:
    """The templates of one language (or of the fallback language, with `fallback_for`)."""

    language: str
    spec: dict
    fallback_for: str = ""

    def cue_level(self, text: str, kind: str) -> int:
        """Level (1-5) of one answer from its kind (positive / negative / action) and cues."""
        cues = self.spec.get("cues", {})
        if kind == "negative":
            return 1 if _has_cue(text, cues.get("possibility", [])) else 2
        if _has_cue(text, cues.get("sustainability", [])):
            return 5
        if _has_cue(text, cues.get("quality", [])):
            return 4
        if _has_cue(text, cues.get("attainment", [])):
            return 3
        return 5 if kind == "action" else 4

    def fill(self, template: str, x: str) -> str:
        text = template.replace("{x}", x)
        for pattern, replacement in self.spec.get("contractions", []) or []:
            text = re.sub(pattern, replacement, text)
        return text

    def quote(self, text: str) -> str:
        left, right = (self.spec.get("quotes") or ["“", "”"])[:2]
        return f"{left}{text}{right}"


def wording_for(language: str, templates: dict | None = None) -> Wording:
    templates = templates or _load_templates(None)
    languages = templates["languages"]
    if language in languages:
        return Wording(language, languages[language])
    fallback = templates.get("fallback", "en")
    return Wording(fallback, languages[fallback], fallback_for=language or "und")


@lru_cache(maxsize=4096)
def _cue_pattern(cue: str) -> re.Pattern:
    return re.compile(r"(?<!\w)" + re.escape(cue.casefold()))


def _has_cue(text: str, cues) -> bool:
    padded = f" {text.casefold()} "
    return any(_cue_pattern(c).search(padded) for c in cues)


def answer_kind(question: str, text: str, wording: Wording, templates: dict | None = None) -> str:
    """positive (well-being), negative (ill-being) or action, from the question when it is
    known, else from negative cue words of the answer's language."""
    templates = templates or _load_templates(None)
    kind = (templates.get("questions") or {}).get(str(question).strip().casefold())
    if kind:
        return kind
    return "negative" if _has_cue(text, wording.spec.get("negative", [])) else "positive"


def _spans(tokens, tagged: bool) -> list[tuple[int, int]]:
    """Candidate noun-phrase spans [start, end) of one answer. With part-of-speech tags
    (French): noun + adjectives, optionally + de/à + noun complement; without: runs of
    up to three content words."""
    spans = []
    if tagged:
        for i, tok in enumerate(tokens):
            if tok.pos not in ("NOUN", "PROPN") or not tok.is_word:
                continue
            start = i
            while start > 0 and tokens[start - 1].pos == "ADJ":
                start -= 1
            end = i + 1
            while end < len(tokens) and tokens[end].pos == "ADJ":
                end += 1
            spans.append((start, end))
            # complement: "solitude des personnes âgées", "accès aux soins"
            j = end
            if j < len(tokens) and tokens[j].pos == "ADP":
                j += 1
                if j < len(tokens) and tokens[j].pos == "DET":
                    j += 1
                if j < len(tokens) and tokens[j].pos in ("NOUN", "PROPN"):
                    j += 1
                    while j < len(tokens) and tokens[j].pos == "ADJ":
                        j += 1
                    spans.append((start, j))
        return spans
    run: list[int] = []
    for i, tok in enumerate([*tokens, None]):
        if tok is not None and tok.is_content:
            run.append(i)
            continue
        for a in range(len(run)):
            for b in range(a + 1, min(a + 3, len(run)) + 1):
                spans.append((run[a], run[b - 1] + 1))
        run = []
    return spans


def object_phrase(texts: list[str], language: str, weights: dict[str, float], articles=()) -> tuple[str, str]:
    """The group's object in its own words: (phrase as found, phrase with its article).

    `texts` are the group's answers in `language`, most central first. Each candidate phrase
    scores (answers containing all its content lemmas) x (sum of their c-TF-IDF weights);
    its surface form is taken from the most central answer that has it."""
    from criteria_nlp.describe.analyser import analyse, spacy_pipeline

    if not texts:
        return "", ""
    tagged = spacy_pipeline(language)[1]
    analysed = analyse(texts, language)
    lemma_sets = [{t.lemma for t in tokens if t.is_content} for tokens in analysed]
    articles = {a.casefold() for a in articles}
    best = None
    for position, tokens in enumerate(analysed):
        for start, end in _spans(tokens, tagged):
            lemmas = tuple(t.lemma for t in tokens[start:end] if t.is_content)
            if not lemmas:
                continue
            support = sum(1 for s in lemma_sets if set(lemmas) <= s)
            weight = sum(weights.get(l, 0.0) for l in set(lemmas))
            score = (support * weight, support, -position, -(end - start))
            if best is None or score > best[0]:
                best = (score, tokens, start, end)
    if best is None:
        text = texts[0].strip()
        return text, text
    _, tokens, start, end = best
    phrase = _join(tokens[start:end])
    wanted = tuple(t.lemma for t in tokens[start:end])
    # Prefer the most central occurrence that opens with an article ("un logement").
    for other in analysed:
        for s in range(1, len(other)):
            if tuple(t.lemma for t in other[s:s + len(wanted)]) == wanted and other[s - 1].text.casefold() in articles:
                return _join(other[s:s + len(wanted)]), _join(other[s - 1:s + len(wanted)])
    if tagged and language == "fr":
        return phrase, _french_article(tokens[start:end]) + phrase
    return phrase, phrase


def _join(tokens) -> str:
    out = ""
    for tok in tokens:
        if out and not out.endswith(("'", "’")):
            out += " "
        out += tok.text
    return out.strip()


def _french_article(span) -> str:
    head = next((t for t in span if t.pos in ("NOUN", "PROPN")), span[0])
    if "Plur" in head.number:
        return "les "
    if head.text[:1].casefold() in "aeiouyéèêàâîôûh":
        return "l'"
    return "la " if "Fem" in head.gender else "le "


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


def draft_indicators(answers: pd.DataFrame, descriptions: list[GroupDescription], codebook=None,
                     names: dict | None = None, templates: dict | None = None) -> pd.DataFrame:
    """indicators.csv: one row per (group, language of its answers). `answers` is the frame
    the descriptions were computed on; `names` maps a group key to an analyst's name."""
    templates = templates or _load_templates(None)
    answers = answers.reset_index(drop=True)
    texts = answers["text"].astype(str).tolist()
    ids = answers["id"].astype(str).tolist()
    languages = answers["language"].astype(str).replace("", "und").tolist() if "language" in answers else ["und"] * len(answers)
    questions = answers["question"].astype(str).tolist() if "question" in answers else [""] * len(answers)
    rows = []
    for desc in descriptions:
        family = ""
        if desc.code and codebook is not None and desc.code in codebook:
            family = codebook.root(desc.code)
        elif desc.code:
            family = desc.code[:1]
        analyst_names = parse_names((names or {}).get(desc.key, ""))
        for language, _ in sorted(desc.languages.items(), key=lambda kv: (-kv[1], kv[0])):
            rows.append(_indicator(desc, language, family, analyst_names, texts, ids, languages, questions, templates))
    return pd.DataFrame(rows, columns=INDICATOR_COLUMNS)


def _indicator(desc, language, family, analyst_names, texts, ids, languages, questions, templates) -> dict:
    wording = wording_for(language, templates)
    members = desc.by_centrality([r for r in desc.members if languages[r] == language])
    kinds = {r: answer_kind(questions[r], texts[r], wording, templates) for r in members}
    positive = [r for r in members if kinds[r] != "negative"]
    # Names come from well-being answers (« un logement décent », not « loyer trop cher »)
    # unless they are too few to speak for the group.
    pool = positive if len(positive) >= max(2, len(members) / 3) else members
    phrase, with_article = object_phrase(
        [texts[r] for r in pool[:MAX_NAMING_TEXTS]], language, desc.term_weights.get(language, {}),
        articles=wording.spec.get("articles", []) if not wording.fallback_for else (),
    )
    name_spec = wording.spec.get("name", {})
    pattern = (name_spec.get("families") or {}).get(family) or name_spec.get("default", "{x}")
    if pool is not positive:
        # "Accès à ..." around words taken from ill-being answers reads wrong (« Accès au chômage »).
        pattern = name_spec.get("default", "{x}")
    notes = [DRAFT_NOTE + f" ({wording.spec.get('draft', '')})" if wording.spec.get("draft") else DRAFT_NOTE]
    if wording.fallback_for:
        pattern = "{x}"  # the English pattern would wrap foreign words in English grammar
        notes.append(f"no wording templates for '{language}': levels drafted in English around the group's own words")
    name = analyst_names.get(language) or analyst_names.get("*")
    if name:
        notes.append("name given by an analyst")
    else:
        name = wording.fill(pattern, with_article if pattern != "{x}" else phrase)
        name = name[:1].upper() + name[1:]

    by_level: dict[int, list[int]] = {k: [] for k in LEVELS}
    for r in members:
        by_level[wording.cue_level(texts[r], kinds[r])].append(r)
    row = {
        "indicator_id": f"{desc.key}-{language}",
        "cluster": desc.key,
        "code": desc.code,
        "language": language,
        "name": name,
    }
    empty = []
    for k in LEVELS:
        text = wording.fill(str(wording.spec["levels"][k]), with_article)
        cited = by_level[k]
        if cited:
            distinct = list(dict.fromkeys(duplicate_key(texts[r]) for r in cited))[:MAX_QUOTED]
            first = {}
            for r in cited:
                first.setdefault(duplicate_key(texts[r]), texts[r])
            quoted = " ; ".join(wording.quote(first[key]) for key in distinct)
            text += f" — {wording.spec.get('evidence', 'from')} {quoted}"
        else:
            empty.append(str(k))
        row[f"level_{k}"] = text
        row[f"level_{k}_ids"] = " ".join(ids[r] for r in cited)
    if empty:
        notes.append(f"no answer for level(s) {', '.join(empty)}: template wording only")
    row["status"] = "draft"
    row["note"] = "; ".join(notes)
    return row

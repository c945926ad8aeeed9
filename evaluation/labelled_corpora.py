"""Loaders for the labelled corpora the quality benchmark scores against.

Each loader returns a DataFrame with columns id, text, language, gold (one label per row) and,
where the data has it, pair (the key shared by translations of one sentence). The external
corpora are read in place from ../shared/corpora_external (never copied into the project).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
EXTERNAL = ROOT.parent / "shared" / "corpora_external"
SIB_LANGUAGES = {"fra_Latn": "fr", "nld_Latn": "nl", "deu_Latn": "de", "eng_Latn": "en", "spa_Latn": "es", "ita_Latn": "it"}


def load_cycling(root: Path = EXTERNAL) -> pd.DataFrame:
    """Cycling Dialogues (German): title + body as the answer, the level-1 topic as gold."""
    path = root / "cycling_dialogues_de" / "data" / "Cycling-Dialogues" / "dataset.csv"
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    text = [f"{t.strip()}\n{b.strip()}".strip() for t, b in zip(raw["title"], raw["text"])]
    gold = raw["main_category_level1"].str.replace("level1_", "", regex=False)
    return pd.DataFrame({"id": raw["ID"], "text": text, "language": "de", "gold": gold})


def load_sib(root: Path = EXTERNAL, splits=("train", "dev")) -> pd.DataFrame:
    """SIB-200 in six languages together: translations share `pair` (the index_id)."""
    frames = []
    for folder, language in SIB_LANGUAGES.items():
        for split in splits:
            path = root / "sib200_topics" / "data" / "annotated" / folder / f"{split}.tsv"
            raw = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, quoting=3)
            frames.append(pd.DataFrame({
                "id": [f"{language}-{i}" for i in raw["index_id"]],
                "text": raw["text"], "language": language, "gold": raw["category"], "pair": raw["index_id"],
            }))
    return pd.concat(frames, ignore_index=True)


def load_demo(root: Path = ROOT) -> pd.DataFrame:
    """The project's demo corpus (constructed): SPIRAL component codes as gold."""
    raw = pd.read_csv(root / "corpora" / "demo" / "answers.csv", dtype=str, keep_default_na=False)
    return pd.DataFrame({
        "id": raw["id"], "text": raw["text"], "language": raw["gold_language"], "gold": raw["manual_code"],
        "gold_2": raw["manual_code_2"],
    })


CONSULTATION = ("consultation_an_egalite_fr", "exploitation", "crowdsource_resultat_analyses.csv")
# The four open questions, each named by a terse label of its theme (the question's own words).
CONSULTATION_THEMES = {"2": "place des femmes dans les médias", "3": "partage des responsabilités parentales",
                       "4": "impayés de pensions alimentaires", "5": "violences conjugales"}
# The crowd's contribution types (the flags of crowdsource_resultat_analyses.csv), as terse
# 2-4 word tags; "pour 1 mesure" is never chosen and is left out.
CONSULTATION_TYPES = {"analyse ou proposit°": "analyse ou proposition générale", "nouvelles mesures": "nouvelles mesures",
                      "description pb": "description d'un problème", "XP personnelle": "expérience personnelle",
                      "contre 1 mesure": "contre une mesure existante", "analyse des causes": "analyse des causes",
                      "questions": "questions ou demandes"}


def _consultation(root: Path) -> pd.DataFrame:
    raw = pd.read_csv(root.joinpath(*CONSULTATION), dtype=str, keep_default_na=False)
    raw = raw[raw["text"].str.strip() != ""]
    return raw.reset_index(drop=True)


def load_consultation_theme(root: Path = EXTERNAL) -> pd.DataFrame:
    """French National Assembly consultation (2016): 787 long real answers; gold = which of the
    four open questions (themes) they answer; "other coding": the contribution type (below)."""
    raw = _consultation(root)
    return pd.DataFrame({"id": raw["document_id"], "text": raw["text"], "language": "fr",
                         "gold": _consultation_themes(raw), "other coding": _consultation_types(raw)})


def load_consultation_type(root: Path = EXTERNAL) -> pd.DataFrame:
    """The same answers with the crowd's contribution type as gold: the type most of an answer's
    volunteers chose (about 4.8 per answer); answers whose top types tie, or with no type, are
    left out (602 of 787 remain; 7 tags from 219 answers down to 10). "other coding": the theme."""
    raw = _consultation(root)
    return pd.DataFrame({"id": raw["document_id"], "text": raw["text"], "language": "fr",
                         "gold": _consultation_types(raw), "other coding": _consultation_themes(raw)})


def _consultation_themes(raw: pd.DataFrame) -> pd.Series:
    return raw["theme"].map(CONSULTATION_THEMES).fillna("")


def _consultation_types(raw: pd.DataFrame) -> pd.Series:
    shares = raw[list(CONSULTATION_TYPES)].astype(float)
    top = shares.max(axis=1)
    unique = (shares.eq(top, axis=0).sum(axis=1) == 1) & (top > 0)
    return shares.idxmax(axis=1).map(CONSULTATION_TYPES).where(unique, "")


LOADERS = {"cycling_dialogues_de": load_cycling, "sib200": load_sib, "demo": load_demo,
           "consultation_theme": load_consultation_theme, "consultation_type": load_consultation_type}

"""Reading the analysts' coded answers to learn from, and picking a few per code as shots."""

from __future__ import annotations

import pandas as pd


# ------------------------------------------------------------------ file-level helpers
def read_training(path, *, label_col: str = "code", text_col: str = "text", id_col: str | None = None,
                  lang_col: str | None = None, languages=None) -> "pd.DataFrame":
    """Coded answers to learn from: DataFrame(id, text, code, language).

    Rows without a code, and non-answers, are dropped. The label column may be any column of
    the file (a column named like an output column is read as `input_<name>`)."""
    from criteria_nlp.io.corpus import read_answers

    corpus = read_answers(path, text_col=text_col, id_col=id_col, lang_col=lang_col)
    return training_from_corpus(corpus, label_col=label_col, languages=languages)


def training_from_corpus(corpus, *, label_col: str = "code", languages=None) -> "pd.DataFrame":
    """The coded answers of an already-read corpus (a file's or a DataFrame's), as `read_training`."""
    import pandas as pd

    from criteria_nlp.errors import InputError
    from criteria_nlp.prepare.answers import prepare_answers

    frame = corpus.answers
    column = label_col if label_col in frame.columns else f"input_{label_col}"
    if column not in frame.columns:
        raise InputError(f"{corpus.source.name}: no column '{label_col}' with the manual codes; "
                         f"pass --label-col (columns: {', '.join(map(str, corpus.extra_columns))})")
    answers = prepare_answers(corpus, languages) if languages is not None else prepare_answers(corpus)
    codes = answers[column].astype(str).str.strip()
    keep = (codes != "") & (answers["status"] == "answer")
    out = pd.DataFrame({"id": answers["id"], "text": answers["text"], "code": codes, "language": answers["language"]})[keep]
    if out["code"].nunique() < 2:
        raise InputError(f"{corpus.source.name}: column '{label_col}' needs at least two different codes to learn from "
                         f"(found {out['code'].nunique()} among {len(out)} coded answers)")
    return out.reset_index(drop=True)


def pick_shots(training: "pd.DataFrame", shots: int, seed: int = 0) -> "pd.DataFrame":
    """`shots` coded answers per code, chosen reproducibly (row order does not matter)."""
    import pandas as pd

    picked = []
    for code in sorted(set(training["code"])):
        rows = training[training["code"] == code].sort_values(["text", "id"])
        picked.append(rows.sample(n=min(shots, len(rows)), random_state=seed) if len(rows) > shots else rows)
    return pd.concat(picked).reset_index(drop=True)

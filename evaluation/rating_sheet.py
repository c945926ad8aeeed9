"""Blind rating of draft indicators by a reader who did not write them.

    python evaluation/rating_sheet.py sample RUN_DIR [RUN_DIR ...] -o SHEET_DIR [--per-language 6]
    python evaluation/rating_sheet.py summary SHEET_DIR/rated.csv -o evaluation/results/indicators_rating.md

`sample` draws drafts stratified by language (matched drafts only: unmatched groups are not
indicators) from one or more runs and writes, in SHEET_DIR, `sheet.csv` (one row per draft:
a blind id, the language, five of the group's answers, the name and the five levels with the
answers quoted under them; empty rating columns), `rubric.md` (what the reader needs, and
nothing about how the drafts were made) and `key.csv` (blind id -> run, group, indicator).
The reader fills `name_score`, `levels_score` (1-5), `language_ok` (yes/no), `verdict`
(keep / edit / rewrite) and `comment`, and saves the sheet as `rated.csv`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

RUBRIC = """# Rating draft well-being indicators (SPIRAL method)

You are a facilitator of the Council of Europe's SPIRAL method. Citizens in homogeneous groups
wrote short answers ("criteria") to: what is well-being for you, what is ill-being, what do
you do about it. Each row of `sheet.csv` is a DRAFT indicator proposed for one group of such
answers: a name and five situations, from 1 (very unsatisfactory) to 5 (ideal). Under each
situation, some of the group's answers are quoted (in their own language, with an id).

SPIRAL's logic for the five situations: the steps between them are possibility (1 -> 2),
attainment (2 -> 3), quality (3 -> 4) and sustainability (4 -> 5). Levels 1-2 are worded
negatively (the good is impossible, or possible but not attained, with concrete obstacles),
level 3 is a real average situation (attained but limited), levels 4-5 are worded positively
(quality and choice; quality that lasts, for me and others). Ill-being answers illustrate the
bottom of the scale, well-being answers the top.

Rate every row (you may read the answers in column `answers` to see what the group says):

- `name_score` 1-5: 5 = names the criterion the group's answers share, as a short, natural
  noun phrase a citizen would understand; 3 = related but too broad, too narrow or clumsy;
  1 = wrong, a fragment of one answer, or names the problem as if it were the good.
- `levels_score` 1-5: 5 = five distinct situations on one scale following SPIRAL's logic,
  fitting this group, each quoted answer under the right level; 3 = usable with edits (a
  level vague or misplaced, a quote under the wrong level); 1 = not an indicator for this group.
- `language_ok`: yes if all of the draft's own text (name and levels, not the quotes) is in
  the language of column `language` and reads as written by a careful native speaker; no
  otherwise (wrong language, mixed languages, translation-ese, grammar errors).
- `verdict`: keep (usable as is for the validation meeting), edit (small changes), rewrite.
- `comment`: one line, especially for edit / rewrite: what is wrong.
"""

RATING_COLUMNS = ["name_score", "levels_score", "language_ok", "verdict", "comment"]


def sample(runs: list[Path], out: Path, per_language: int, seed: int) -> pd.DataFrame:
    drafts = []
    for run in runs:
        indicators = pd.read_csv(run / "indicators.csv", dtype=str, keep_default_na=False)
        clusters = pd.read_csv(run / "clusters.csv", dtype=str, keep_default_na=False).set_index("cluster")
        indicators = indicators[indicators["status"] == "draft"].copy()
        indicators["run"] = run.name
        indicators["answers"] = indicators["cluster"].map(lambda c: clusters["representatives"].get(c, ""))
        drafts.append(indicators)
    table = pd.concat(drafts, ignore_index=True)
    chosen = [group.sample(n=min(per_language, len(group)), random_state=seed) for _, group in table.groupby("language")]
    picked = pd.concat(chosen).sample(frac=1.0, random_state=seed).reset_index(drop=True)
    picked["blind_id"] = [f"D{n + 1:03d}" for n in range(len(picked))]
    sheet = pd.DataFrame({"blind_id": picked["blind_id"], "language": picked["language"], "answers": picked["answers"],
                          "name": picked["name"]})
    for k in range(1, 6):
        sheet[f"level_{k}"] = picked[f"level_{k}"]
        sheet[f"quoted_under_{k}"] = picked[f"quotes_{k}"]
    for column in RATING_COLUMNS:
        sheet[column] = ""
    out.mkdir(parents=True, exist_ok=True)
    sheet.to_csv(out / "sheet.csv", index=False)
    (out / "rubric.md").write_text(RUBRIC, encoding="utf-8")
    picked[["blind_id", "run", "cluster", "code", "language", "indicator_id", "variant"]].to_csv(out / "key.csv", index=False)
    return sheet


def summary(rated: Path) -> str:
    table = pd.read_csv(rated, dtype=str, keep_default_na=False)
    key_path = rated.parent / "key.csv"
    if key_path.exists():
        table = table.merge(pd.read_csv(key_path, dtype=str, keep_default_na=False)[["blind_id", "run"]], on="blind_id")
    else:
        table["run"] = ""
    for column in ("name_score", "levels_score"):
        table[column] = pd.to_numeric(table[column], errors="coerce")
    table["language_ok"] = table["language_ok"].str.strip().str.lower().isin(["yes", "y", "oui", "true", "1"])
    table["verdict"] = table["verdict"].str.strip().str.lower()

    def block(frame: pd.DataFrame) -> dict:
        verdicts = frame["verdict"].value_counts(normalize=True)
        return {"drafts": len(frame), "name": round(frame["name_score"].mean(), 2), "levels": round(frame["levels_score"].mean(), 2),
                "language_ok": f"{frame['language_ok'].mean():.0%}", "keep": f"{verdicts.get('keep', 0):.0%}",
                "edit": f"{verdicts.get('edit', 0):.0%}", "rewrite": f"{verdicts.get('rewrite', 0):.0%}"}

    rows = [{"scope": "all", **block(table)}]
    rows += [{"scope": f"run {run}", **block(group)} for run, group in table.groupby("run") if run]
    rows += [{"scope": f"language {lang}", **block(group)} for lang, group in table.groupby("language")]
    frame = pd.DataFrame(rows)
    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    comments = table[table["verdict"] != "keep"][["blind_id", "language", "verdict", "comment"]]
    lines += ["", "Comments on drafts not kept as they are:", ""]
    lines += [f"- {r.blind_id} ({r.language}, {r.verdict}): {r.comment}" for r in comments.itertuples()]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Blind rating sheets for draft indicators.")
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("sample")
    make.add_argument("runs", nargs="+", type=Path)
    make.add_argument("-o", "--out", type=Path, required=True)
    make.add_argument("--per-language", type=int, default=6)
    make.add_argument("--seed", type=int, default=0)
    summarise = commands.add_parser("summary")
    summarise.add_argument("rated", type=Path)
    summarise.add_argument("-o", "--out", type=Path)
    args = parser.parse_args(argv)
    if args.command == "sample":
        sheet = sample(args.runs, args.out, args.per_language, args.seed)
        print(f"{len(sheet)} drafts -> {args.out / 'sheet.csv'}")
    else:
        text = summary(args.rated)
        if args.out:
            args.out.write_text(text, encoding="utf-8")
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Measures of the draft indicators (issue 12), written to evaluation/results/indicators.md.

    python evaluation/bench_indicators.py [--quick]

- language purity: the drafts' own sentences (quotes removed), detected with lingua among
  every language it knows, in the draft's language; on the demo run by default and with
  --analyst-language nl;
- valence: accuracy on the demo's well-being / ill-being answers with the question column
  removed, against a two-prototype zero-shot baseline (nearest of the mean positive and the
  mean negative library situation), and with the question as a hint;
- translation agreement: SIB-200's parallel sentences (6 languages, one `run` over all of
  them): the share of sentences whose translations all got the same indicator_id;
- names against human names: `describe --group-col` on labelled public data; how often a
  group's name is closer (e5 cosine) to its own human label than to the others', against
  class-based TF-IDF top words (BERTopic's names) and the group's most central answer.
The blind rating has its own script (rating_sheet.py) and results (indicators_rating.md).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "corpora_external"
DEMO = ROOT / "corpora" / "demo" / "answers.csv"
RESULTS = ROOT / "evaluation" / "results"
WORK = Path("/tmp/criteria-nlp-bench-indicators")


def _run(input_path: Path, outdir: Path, **options):
    from criteria_nlp.config import RunConfig
    from criteria_nlp.pipeline.run import run_pipeline

    return run_pipeline(RunConfig(input=input_path, outdir=outdir, show_progress=False, **options))


# ------------------------------------------------------------------------------ purity
def language_purity(indicators: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per draft language: sentences (name + five levels, quotes excluded) detected in it."""
    from lingua import LanguageDetectorBuilder

    detector = LanguageDetectorBuilder.from_all_languages().with_preloaded_language_models().build()
    rows = []
    for draft in indicators[indicators["status"] == "draft"].itertuples():
        for sentence in [draft.name] + [getattr(draft, f"level_{k}") for k in range(1, 6)]:
            found = detector.detect_language_of(str(sentence))
            code = found.iso_code_639_1.name.lower() if found is not None else "und"
            rows.append({"language": draft.language, "ok": code == draft.language, "detected": code, "sentence": sentence})
    table = pd.DataFrame(rows, columns=["language", "ok", "detected", "sentence"])
    return table.groupby("language").agg(sentences=("ok", "size"), in_language=("ok", "mean")).reset_index(), table


# ------------------------------------------------------------------------------ valence
def valence_accuracy(embedder) -> dict:
    from criteria_nlp.describe.drafting import IndicatorDrafter
    from criteria_nlp.describe.library import load_library
    from criteria_nlp.describe.library_vectors import embed_sentences
    from criteria_nlp.describe.valence import library_valence_texts
    from criteria_nlp.vectors import unit_rows

    demo = pd.read_csv(DEMO, dtype=str, keep_default_na=False)
    demo = demo[demo["question"].isin(["wellbeing", "illbeing"])].reset_index(drop=True)
    gold = np.where(demo["question"] == "wellbeing", "positive", "negative")
    languages = demo["gold_language"].tolist()
    library = load_library()
    drafter = IndicatorDrafter(library, "en").fit(embedder, sorted(set(languages)))
    vectors = unit_rows(np.asarray(embedder.embed(demo["text"].tolist()), dtype=np.float64))
    predicted = drafter.valence_.predict(vectors)
    hinted = drafter.valence_.predict(vectors, demo["question"].tolist())
    texts, labels = library_valence_texts(library, drafter.languages_)
    library_vectors = unit_rows(np.asarray(embed_sentences(embedder, texts), dtype=np.float64))
    positive, negative = (unit_rows(library_vectors[labels == k].mean(axis=0, keepdims=True))[0] for k in (1, 0))
    baseline = np.where(vectors @ positive >= vectors @ negative, "positive", "negative")
    by_language = pd.DataFrame({"language": languages, "ok": predicted == gold}).groupby("language")["ok"].mean()
    return {"answers": len(demo), "accuracy": float((predicted == gold).mean()),
            "two_prototype_baseline": float((baseline == gold).mean()),
            "with_question_hint": float((hinted == gold).mean()),
            "by_language": {k: round(float(v), 3) for k, v in by_language.items()}}


# ------------------------------------------------------------------------------ translation
def sib_parallel(limit: int | None = None) -> pd.DataFrame:
    folder = SHARED / "sib200_topics" / "data" / "annotated"
    frames = []
    for code, language in [("fra_Latn", "fr"), ("nld_Latn", "nl"), ("deu_Latn", "de"), ("eng_Latn", "en"),
                           ("spa_Latn", "es"), ("ita_Latn", "it")]:
        for split in ("train", "dev"):
            frame = pd.read_csv(folder / code / f"{split}.tsv", sep="\t", dtype=str, keep_default_na=False)
            frames.append(frame.assign(language=language))
    table = pd.concat(frames, ignore_index=True)
    if limit:
        keep = sorted(table["index_id"].unique(), key=int)[:limit]
        table = table[table["index_id"].isin(keep)]
    table["id"] = table["language"] + "-" + table["index_id"]
    return table[["id", "index_id", "text", "language", "category"]].reset_index(drop=True)


def translation_agreement(limit: int | None) -> dict:
    table = sib_parallel(limit)
    path = WORK / "sib_parallel.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(path, index=False)
    result = _run(path, WORK / "sib_run", embedder="e5", analyst_language="en")
    answers = table[["id", "index_id"]].merge(result.answers[["id", "language", "indicator_id"]], on="id")
    with_indicator = answers[answers["indicator_id"] != ""]
    per_sentence = answers.groupby("index_id")["indicator_id"].agg(lambda s: len(set(s)) == 1 and s.iloc[0] != "")
    covered = answers.groupby("index_id")["indicator_id"].agg(lambda s: (s != "").all())
    agree_when_covered = per_sentence[covered].mean() if covered.any() else float("nan")
    return {"sentences": int(answers["index_id"].nunique()), "languages": int(answers["language"].nunique()),
            "answers_with_an_indicator": round(len(with_indicator) / max(len(answers), 1), 3),
            "all_translations_same_indicator": round(float(per_sentence.mean()), 3),
            "same_indicator_when_all_have_one": round(float(agree_when_covered), 3),
            "manifest_drafts": result.manifest["indicators"]["drafts"]}


def mixed_public_corpus(seed: int = 0) -> pd.DataFrame:
    """A second multilingual corpus from the public data, for the blind rating: German cycling
    contributions, French consultation answers, and SIB-200 sentences in nl, it, es, en
    (distinct sentences per language, so no translation pairs)."""
    cycling = pd.read_csv(SHARED / "cycling_dialogues_de" / "data" / "Cycling-Dialogues" / "dataset.csv", dtype=str,
                          keep_default_na=False).sample(n=250, random_state=seed)
    cycling = pd.DataFrame({"id": "de-" + cycling["ID"], "text": (cycling["title"] + ". " + cycling["text"]).str.strip(". "),
                            "language": "de"})
    consult = pd.read_csv(SHARED / "consultation_an_egalite_fr" / "exploitation" / "crowdsource_resultat_syntheses.csv",
                          dtype=str, keep_default_na=False).drop_duplicates("document_id").sample(n=250, random_state=seed)
    consult = pd.DataFrame({"id": "fr-" + consult["document_id"], "text": consult["text"].str.strip(), "language": "fr"})
    sib = sib_parallel()
    ids = sorted(sib["index_id"].unique(), key=int)
    rng = np.random.default_rng(seed)
    rng.shuffle(ids)
    parts = [cycling, consult]
    for n, language in enumerate(["nl", "it", "es", "en"]):
        chosen = set(ids[n * 150:(n + 1) * 150])
        rows = sib[(sib["language"] == language) & sib["index_id"].isin(chosen)]
        parts.append(rows[["id", "text", "language"]])
    return pd.concat(parts, ignore_index=True)


# ------------------------------------------------------------------------------ names
def labelled_sets(quick: bool) -> dict[str, tuple[pd.DataFrame, str, dict]]:
    """name -> (answers with id, text, gold; analyst language; gold -> human-readable label)."""
    sets = {}
    sib = sib_parallel()
    fr = sib[sib["language"] == "fr"].rename(columns={"category": "gold"})
    sets["SIB-200 fr (7 topics)"] = (fr, "fr", {g: g.replace("/", " and ") for g in fr["gold"].unique()})
    cycling = pd.read_csv(SHARED / "cycling_dialogues_de" / "data" / "Cycling-Dialogues" / "dataset.csv", dtype=str, keep_default_na=False)
    cycling["text"] = (cycling["title"] + ". " + cycling["text"]).str.strip(". ")
    cycling = cycling.rename(columns={"ID": "id", "main_category_level1": "gold"})[["id", "text", "gold"]]
    if quick:
        cycling = cycling.groupby("gold", group_keys=False).head(60)
    sets["Cycling dialogues de (8 topics)"] = (cycling, "de", {g: g.replace("_", " ") for g in cycling["gold"].unique()})
    synth = pd.read_csv(SHARED / "consultation_an_egalite_fr" / "exploitation" / "crowdsource_resultat_syntheses.csv", dtype=str,
                        keep_default_na=False)
    themes = {"2": "la place et l'image des femmes dans les médias", "3": "les violences faites aux femmes",
              "4": "l'égalité professionnelle entre femmes et hommes", "5": "la parité en politique"}
    consult = synth.drop_duplicates("document_id").rename(columns={"document_id": "id", "theme": "gold"})[["id", "text", "gold"]]
    consult = consult[consult["gold"].isin(themes)]
    sets["Consultation égalité fr (4 themes)"] = (consult, "fr", themes)
    return sets


def names_against_labels(embedder, quick: bool) -> pd.DataFrame:
    from criteria_nlp.pipeline.commands import describe_file
    from criteria_nlp.vectors import unit_rows

    rows = []
    for name, (frame, language, readable) in labelled_sets(quick).items():
        path = WORK / (name.split()[0].lower() + ".csv")
        frame.to_csv(path, index=False)
        outdir = WORK / ("describe_" + path.stem)
        describe_file(path, outdir, group_col="gold", analyst_language=language, embedder="e5", show_progress=False)
        clusters = pd.read_csv(outdir / "clusters.csv", dtype=str, keep_default_na=False)
        golds = sorted(readable)
        label_vectors = unit_rows(np.asarray(embedder.embed([readable[g] for g in golds]), dtype=np.float64))
        candidates = {
            "criteria-nlp name": clusters["cluster_label"].tolist(),
            "c-TF-IDF top words": [k.split(": ", 1)[-1].split(" | ")[0] if k else "" for k in clusters["keyphrases"]],
            "most central answer": [r.split(": ", 1)[-1].split(" ; ")[0] if r else "" for r in clusters["representatives"]],
        }
        for method, names in candidates.items():
            vectors = unit_rows(np.asarray(embedder.embed([n or "-" for n in names]), dtype=np.float64))
            nearest = [golds[i] for i in np.argmax(vectors @ label_vectors.T, axis=1)]
            hit = np.mean([n == g for n, g in zip(nearest, clusters["cluster"])])
            rows.append({"corpus": name, "method": method, "groups": len(clusters), "own label nearest": round(float(hit), 3)})
        rows.append({"corpus": name, "method": "(drafts unmatched)", "groups": len(clusters),
                     "own label nearest": int((clusters["draft_status"] == "draft-unmatched").sum())})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------ main
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small subsets (a smoke test, not the published numbers)")
    parser.add_argument("--write-mixed", type=Path, help="only write the mixed public corpus (for the blind rating) to this CSV")
    args = parser.parse_args(argv)
    if args.write_mixed:
        mixed_public_corpus().to_csv(args.write_mixed, index=False)
        print(args.write_mixed)
        return 0
    from criteria_nlp.embed import get_embedder
    from criteria_nlp.evaluate import markdown_table

    embedder = get_embedder("e5")
    started = time.time()
    lines = ["# Draft indicators: measures (issue 12)", "",
             f"Command: `python evaluation/bench_indicators.py{' --quick' if args.quick else ''}` (e5, seed 0).", ""]

    lines += ["## Language purity of the drafts (quotes removed)", ""]
    for label, options in [("demo, default language", {}), ("demo, --analyst-language nl", {"analyst_language": "nl"}),
                           ("demo, --all-languages", {"all_languages": True})]:
        result = _run(DEMO, WORK / ("demo_" + str(len(lines))), embedder="e5", **options)
        summary, detail = language_purity(result.indicators)
        lines += [f"**{label}** ({len(detail)} sentences in {len(summary)} language(s); "
                  f"drafts {json.dumps(result.manifest['indicators']['drafts'])}):", "",
                  markdown_table(summary), ""]
        wrong = detail[~detail["ok"]].head(8)
        if len(wrong):
            lines += ["Sentences detected in another language:", "",
                      markdown_table(wrong[["language", "detected", "sentence"]]), ""]

    lines += ["## Valence (well-being / ill-being) on the demo, question column removed", ""]
    valence = valence_accuracy(embedder)
    lines += [f"- answers: {valence['answers']}; accuracy **{valence['accuracy']:.3f}**; two-prototype baseline "
              f"{valence['two_prototype_baseline']:.3f}; with the question as a hint {valence['with_question_hint']:.3f}",
              f"- by language: {valence['by_language']}", ""]

    lines += ["## Translation agreement on SIB-200 (parallel sentences, 6 languages, one run)", ""]
    agreement = translation_agreement(60 if args.quick else None)
    lines += [f"- {k}: {v}" for k, v in agreement.items()] + [""]

    lines += ["## Names against human labels (`describe --group-col gold`)", "",
              markdown_table(names_against_labels(embedder, args.quick)), ""]
    lines += [f"Total time: {time.time() - started:.0f} s.", ""]
    out = RESULTS / ("indicators-quick.md" if args.quick else "indicators.md")
    out.write_text("\n".join(lines), encoding="utf-8")
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

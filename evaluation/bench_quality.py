"""Quality benchmark: criteria-nlp against its peers on labelled corpora no one here wrote.

Usage (from the project root):
    python evaluation/bench_quality.py                      # everything, writes evaluation/results/quality.md
    python evaluation/bench_quality.py --corpora demo --no-bertopic --limit 300 --output /tmp/q.md

Every method gets the same e5 vectors (multilingual-e5-small, "query: " prefix, cached).
See evaluation/README.md for what each row means and how the splits are made.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

# Many small BLAS calls on a shared 2-core machine: threads only fight (50x slower measured).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from labelled_corpora import LOADERS  # noqa: E402

from criteria_nlp.assign.learned import LearnedAssigner, learned_assign
from criteria_nlp.assign.zero_shot import PrototypeAssigner, zero_shot_assign
from criteria_nlp.codebook.loaders import load_codebook
from criteria_nlp.codebook.model import Code, Codebook
from criteria_nlp.discover.discoverer import Discoverer
from criteria_nlp.evaluate import (
    cluster_metrics,
    code_metrics,
    consistency_by_language,
    coverage_at_accuracy,
    cross_lingual_consistency,
    markdown_table,
)
from criteria_nlp.prepare.text import answer_status

CORPORA = ("cycling_dialogues_de", "sib200", "demo")


# ----------------------------------------------------------------------------- data
def topic_codebook(names) -> Codebook:
    """A codebook made of a corpus's topic names only ("cycle_path_quality" -> "cycle path quality")."""
    return Codebook("topics", [Code(code=n, labels={"en": n.replace("_", " ").replace("/", " and ")}) for n in sorted(set(names))])


def load_corpus(name: str, limit: int | None, seed: int) -> pd.DataFrame:
    frame = LOADERS[name]()
    frame = frame[(frame["gold"] != "") & (answer_status(frame["text"]) == "answer")]
    if limit and len(frame) > limit:
        if "pair" in frame:  # keep whole translation groups
            pairs = sorted(set(frame["pair"]))
            keep = set(np.random.RandomState(seed).choice(pairs, size=max(1, limit // 6), replace=False))
            frame = frame[frame["pair"].isin(keep)]
        else:
            frame = frame.sample(n=limit, random_state=seed).sort_index()
    return frame.reset_index(drop=True)


def split_half(frame: pd.DataFrame, seed: int) -> np.ndarray:
    """Boolean train mask: half of the coded answers, stratified by code; translations of one
    sentence stay on the same side (otherwise a model could look up the test sentence's
    translation). Codes with a single answer go to training."""
    from sklearn.model_selection import train_test_split

    key = "pair" if "pair" in frame else "id"
    units = frame.drop_duplicates(key)[[key, "gold"]]
    counts = units["gold"].value_counts()
    single = units["gold"].map(counts) < 2
    train_units, _ = train_test_split(units.loc[~single, key], test_size=0.5, stratify=units.loc[~single, "gold"], random_state=seed)
    return frame[key].isin(set(train_units) | set(units.loc[single, key])).to_numpy()


# ------------------------------------------------------------------------ discovery
def run_discovery(frame, vectors, seeds, use_bertopic) -> list[dict]:
    """Each seed-dependent method runs once per seed; the table shows the mean over seeds
    (and the AMI's standard deviation): one lucky or unlucky seed decides nothing."""
    from sklearn.cluster import KMeans
    from sklearn.feature_extraction.text import TfidfVectorizer

    gold, languages = frame["gold"].to_numpy(), frame["language"].tolist()
    ids, texts = frame["id"].tolist(), frame["text"].tolist()
    k = len(set(gold))
    tfidf = TfidfVectorizer(sublinear_tf=True, min_df=2).fit_transform(frame["text"].str.lower())

    def ours(**kwargs):
        def run(seed):
            model = Discoverer(seed=seed, **kwargs).fit(vectors, languages, ids, texts)
            return model.labels_, f"K={model.n_clusters_}"
        return run

    methods = [
        ("criteria-nlp discover (K chosen)", ours()),
        (f"criteria-nlp discover (K={k} given)", ours(n_clusters=k)),
        (f"e5 + KMeans (true K={k})", lambda seed: (KMeans(k, random_state=seed, n_init="auto").fit_predict(vectors), "")),
        (f"TF-IDF + KMeans (true K={k})", lambda seed: (KMeans(k, random_state=seed, n_init="auto").fit_predict(tfidf), "")),
    ]
    if use_bertopic:
        methods += [
            ("BERTopic defaults", lambda seed: (bertopic_topics(texts, vectors, seed, None), "")),
            (f"BERTopic nr_topics={k}", lambda seed: (bertopic_topics(texts, vectors, seed, k), "")),
        ]
    if "pair" in frame:
        methods += [
            ("criteria-nlp discover, no language centring", ours(centre_languages=False)),
            ("criteria-nlp discover, no neighbour agreement", ours(vote=0)),
        ]
    rows = []
    for method, run in methods:
        per_seed, notes, seconds = [], [], []
        for seed in seeds:
            start = time.perf_counter()
            labels, note = run(seed)
            seconds.append(time.perf_counter() - start)
            labels = np.asarray(labels, dtype=int)
            scores = cluster_metrics(gold, labels)
            row = {"clusters": scores["n_clusters"], "unassigned": scores["unassigned"], "AMI": scores["ami"],
                   "AMI (unassigned excluded)": scores["excluded"]["ami"], "NMI": scores["nmi"], "ARI": scores["ari"],
                   "V": scores["v_measure"], "homog.": scores["homogeneity"], "compl.": scores["completeness"],
                   "purity": scores["purity"]}
            if "pair" in frame:
                row["consistency"] = cross_lingual_consistency(labels, frame["pair"], languages)
            per_seed.append(row)
            notes.append(note)
        table = pd.DataFrame(per_seed)
        summary = {"method": method, **table.mean().to_dict(), "AMI sd": float(table["AMI"].std(ddof=0)),
                   "AMI by seed": " / ".join(f"{v:.3f}" for v in table["AMI"]), "seconds": float(np.mean(seconds)),
                   "note": ", ".join(n for n in notes if n)}
        rows.append(summary)
    return rows


def bertopic_topics(texts, vectors, seed, nr_topics):
    """BERTopic as a new user runs it on precomputed embeddings; only UMAP's seed is fixed."""
    from bertopic import BERTopic
    from umap import UMAP

    umap_model = UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine", random_state=seed)
    topics, _ = BERTopic(umap_model=umap_model, nr_topics=nr_topics).fit_transform(texts, np.asarray(vectors, dtype=np.float32))
    return np.asarray(topics)


def language_neutrality(frame, vectors, seed) -> pd.DataFrame:
    """Per-language consistency with and without centring, and a small language: one
    language cut to 30 sentences while the others keep theirs."""
    languages = frame["language"].tolist()
    rows = []
    for centre in (False, True):
        labels = Discoverer(seed=seed, centre_languages=centre).fit(vectors, languages, frame["id"].tolist(), frame["text"].tolist()).labels_
        table = consistency_by_language(labels, frame["pair"], languages)
        for _, r in table.iterrows():
            rows.append({"setting": "all languages", "centring": centre, "language": r["language"], "pairs": r["pairs"], "consistency": r["consistency"]})
    small = sorted(set(languages))[-1]  # deterministic choice of the language to shrink
    rng = np.random.RandomState(seed)
    in_small = np.flatnonzero(frame["language"].to_numpy() == small)
    drop = set(in_small) - set(rng.choice(in_small, size=min(30, len(in_small)), replace=False))
    keep = np.array([i not in drop for i in range(len(frame))])
    sub, sub_vectors = frame[keep].reset_index(drop=True), vectors[keep]
    for centre in (False, True):
        labels = Discoverer(seed=seed, centre_languages=centre).fit(sub_vectors, sub["language"].tolist(), sub["id"].tolist(), sub["text"].tolist()).labels_
        table = consistency_by_language(labels, sub["pair"], sub["language"])
        r = table[table["language"] == small].iloc[0]
        rows.append({"setting": f"{small} cut to 30 sentences", "centring": centre, "language": small, "pairs": r["pairs"], "consistency": r["consistency"]})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------ zero-shot
def run_zero_shot(name, frame, vectors, embedder, train, seed) -> list[dict]:
    codebook = load_codebook("spiral") if name == "demo" else topic_codebook(frame["gold"])
    gold, languages, texts = frame["gold"].to_numpy(), frame["language"].tolist(), frame["text"].tolist()
    rows = []

    def add(method, pred, scored=None, note=""):
        scored = np.ones(len(gold), dtype=bool) if scored is None else scored
        m = code_metrics(gold[scored], np.asarray(pred)[scored] if len(pred) == len(gold) else pred)
        rows.append({"method": method, "answers": int(scored.sum()), "accuracy": m["accuracy"], "macro-F1": m["macro_f1"],
                     "kappa": m["cohen_kappa"], "note": note})

    codes = [c.code for c in codebook.codable()]
    labels = [c.label("en") for c in codebook.codable()]
    nearest = PrototypeAssigner(min_confidence=0.0, temperature=0.02).fit(embedder.embed(labels), codes)
    add("nearest English label (baseline)", nearest.predict(vectors))
    table, _ = zero_shot_assign(vectors, codebook, embedder, min_confidence=0.0, languages=languages, texts=texts, refine=False)
    add("criteria-nlp zero-shot, no refinement", table["code"].to_numpy())
    table, _ = zero_shot_assign(vectors, codebook, embedder, min_confidence=0.0, languages=languages, texts=texts)
    add("criteria-nlp zero-shot (centred + transductive refinement)", table["code"].to_numpy())
    test = ~train
    for shots_per_code in (5,):
        pool = frame[train]
        picked = []
        for code, group in pool.groupby("gold", sort=True):
            picked.append(group.sample(n=min(shots_per_code, len(group)), random_state=seed))
        shots = pd.concat(picked).rename(columns={"gold": "code"})
        sub = test
        t_shots, _ = zero_shot_assign(vectors[sub], codebook, embedder, min_confidence=0.0, languages=list(np.asarray(languages)[sub]),
                                      texts=list(np.asarray(texts, dtype=object)[sub]), shots=shots)
        t_plain, _ = zero_shot_assign(vectors[sub], codebook, embedder, min_confidence=0.0, languages=list(np.asarray(languages)[sub]),
                                      texts=list(np.asarray(texts, dtype=object)[sub]))
        pred_plain = np.full(len(gold), "", dtype=object)
        pred_plain[sub] = t_plain["code"].to_numpy()
        pred_shots = np.full(len(gold), "", dtype=object)
        pred_shots[sub] = t_shots["code"].to_numpy()
        add("criteria-nlp zero-shot, test half", pred_plain, sub, "same answers as the shots row")
        add(f"criteria-nlp zero-shot + {shots_per_code} shots per code, test half", pred_shots, sub,
            f"{len(shots)} coded answers from the training half")
    return rows


# -------------------------------------------------------------------------- learned
def run_learned(name, frame, vectors, embedder, train, seed) -> tuple[list[dict], pd.DataFrame]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from threadpoolctl import threadpool_limits

    gold, texts = frame["gold"].to_numpy(), np.asarray(frame["text"].tolist(), dtype=object)
    test = ~train
    rows, curves = [], []

    def add(method, pred, confidence, seconds, note=""):
        m = code_metrics(gold[test], pred, frame["language"].to_numpy()[test])
        cover = coverage_at_accuracy(gold[test], pred, confidence, 0.9)
        rows.append({"method": method, "train": int(train.sum()), "test": int(test.sum()), "accuracy": m["accuracy"],
                     "macro-F1": m["macro_f1"], "kappa": m["cohen_kappa"], "alpha": m["krippendorff_alpha"],
                     "auto-coded at >=90% acc.": cover["coverage"], "seconds": seconds, "note": note})

    smallest = int(pd.Series(gold[train]).value_counts().min())
    folds = StratifiedKFold(n_splits=max(2, min(5, smallest)), shuffle=True, random_state=seed)
    start = time.perf_counter()
    with threadpool_limits(limits=1, user_api="blas"):
        baseline = GridSearchCV(LogisticRegression(max_iter=2000), {"C": [0.1, 0.3, 1, 3, 10, 30, 100]}, cv=folds,
                                scoring="f1_macro").fit(vectors[train], gold[train])
        proba = baseline.predict_proba(vectors[test])
    pred = baseline.classes_[proba.argmax(axis=1)]
    add("logistic regression on e5 (C tuned by CV, baseline)", pred, proba.max(axis=1), time.perf_counter() - start,
        f"C={baseline.best_params_['C']}")
    start = time.perf_counter()
    codebook = load_codebook("spiral") if name == "demo" else topic_codebook(frame["gold"])
    training = pd.DataFrame({"text": texts[train], "code": gold[train], "language": frame["language"].to_numpy()[train]})
    table, ours = learned_assign(vectors[test], training, vectors[train], codebook=codebook, embedder=embedder,
                                 texts=list(texts[test]), languages=list(frame["language"].to_numpy()[test]), seed=seed)
    pred, confidence = table["code"].to_numpy(), table["confidence"].to_numpy()
    add("criteria-nlp learned assigner (`assign --train`)", pred, confidence, time.perf_counter() - start,
        f"words {'kept' if ours.use_words_ else 'dropped'} and language centring {'kept' if ours.use_centring_ else 'dropped'} by CV, C={ours.C_}, T={ours.temperature_:.2f}, "
        f"vote weight {ours.vote_weight_}, codebook prior weight {ours.prior_weight_}")
    from criteria_nlp.evaluate import coverage_curve

    curve = coverage_curve(gold[test], pred, confidence, thresholds=[0.0, 0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95])
    for kwargs, label in ((dict(lexical=False, n_neighbours=0), "class-balanced LR on e5 only"),
                          (dict(lexical=True, n_neighbours=0), "+ words always, no neighbour vote, no codebook prior"),
                          (dict(), "+ words if CV keeps them + neighbour vote, no codebook prior"),
                          (dict(self_training=True), "+ self-training, no codebook prior")):
        start = time.perf_counter()
        ablation = LearnedAssigner(seed=seed, **kwargs).fit(vectors[train], gold[train], texts=list(texts[train]),
                                                            unlabeled_X=vectors[test], unlabeled_texts=list(texts[test]))
        proba = ablation.predict_proba(vectors[test], list(texts[test]))
        add(f"criteria-nlp learned ({label})", ablation.classes_[proba.argmax(axis=1)], proba.max(axis=1), time.perf_counter() - start)
    return rows, curve


# --------------------------------------------------------------------------- report
def fmt(frame: pd.DataFrame) -> str:
    return markdown_table(frame)


def main(argv=None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpora", default=",".join(CORPORA), help="comma-separated: " + ", ".join(CORPORA))
    parser.add_argument("--embedder", default="e5")
    parser.add_argument("--seed", type=int, default=0, help="seed of the splits and of everything but discovery")
    parser.add_argument("--seeds", default="0,1,2", help="discovery runs once per seed and reports the mean")
    parser.add_argument("--limit", type=int, default=None, help="at most this many answers per corpus (for quick checks)")
    parser.add_argument("--no-bertopic", action="store_true", help="skip BERTopic (installed with the eval extra)")
    parser.add_argument("--output", default=str(HERE / "results" / "quality.md"))
    args = parser.parse_args(argv)

    from criteria_nlp.embed import get_embedder

    use_bertopic = not args.no_bertopic
    if use_bertopic:
        try:
            import bertopic  # noqa: F401
        except ImportError:
            print("BERTopic is not installed (pip install -e '.[eval]'); skipping it", file=sys.stderr)
            use_bertopic = False
    embedder = get_embedder(args.embedder, seed=args.seed)
    started = time.perf_counter()
    sections = []
    for name in args.corpora.split(","):
        frame = load_corpus(name, args.limit, args.seed)
        if getattr(embedder, "needs_fit", False):
            embedder.fit(frame["text"].tolist())
        vectors = embedder.embed(frame["text"].tolist()).astype(np.float64)
        train = split_half(frame, args.seed)
        lines = [f"## {name}", "",
                 f"{len(frame)} answers with a gold label, {frame['gold'].nunique()} labels, "
                 f"{frame['language'].nunique()} language(s); learned/shots split: {int(train.sum())} train / {int((~train).sum())} test.", ""]
        discovery = pd.DataFrame(run_discovery(frame, vectors, [int(x) for x in args.seeds.split(",")], use_bertopic))
        lines += [f"### Discovery (scored against the gold labels; mean over seeds {args.seeds})", "", fmt(discovery), ""]
        if "pair" in frame:
            lines += ["### Language neutrality (cross-lingual consistency per language)", "",
                      fmt(language_neutrality(frame, vectors, args.seed)), ""]
        lines += ["### Zero-shot assignment", "", fmt(pd.DataFrame(run_zero_shot(name, frame, vectors, embedder, train, args.seed))), ""]
        learned, curve = run_learned(name, frame, vectors, embedder, train, args.seed)
        lines += ["### Assignment learned from half of the coded answers (scored on the other half)", "", fmt(pd.DataFrame(learned)), "",
                  "Semi-automatic coding with the learned assigner (auto-code at or above the confidence):", "", fmt(curve), ""]
        sections.append("\n".join(lines))
        print(sections[-1], flush=True)
    header = [
        "# Quality benchmark", "",
        f"Command: `python evaluation/bench_quality.py{'' if argv is None else ' ' + ' '.join(argv)}`  ",
        f"Embedder: `{embedder.model_id}` (the same vectors for every method); seed {args.seed}; "
        f"total {time.perf_counter() - started:.0f} s on this machine. Regenerated by the script; see evaluation/README.md.", "",
    ]
    report = "\n".join(header + sections)
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(report, encoding="utf-8")
    return report


if __name__ == "__main__":
    main()

"""Quality benchmark: criteria-nlp against the plain baselines, in settings that look like real use.

Usage (from the project root):
    python evaluation/bench_quality.py                      # everything, writes evaluation/results/quality.md
    python evaluation/bench_quality.py --corpora demo --seeds 0 --sizes 100,all --no-bertopic --output /tmp/q.md

Every method gets the same e5 vectors (multilingual-e5-small, "query: " prefix, cached).
Each row compares the project with the plain baseline it must never fall below, on the same
answers, over several seeds (each seed draws its own split / subsample): the project's mean,
the baseline's mean, the mean difference and its standard deviation over the seeds.

- zero-shot (accuracy): `zero_shot_assign` vs the nearest label (cosine to each code's label);
- learned (macro-F1), learning curves at 100, 250, 500, 1,000 and all coded answers:
  `learned_assign` (`assign --train`) vs a class-balanced logistic regression whose C is
  tuned by 5-fold cross-validation on macro-F1;
- discovery (AMI against the gold codes): `Discoverer` with K chosen vs the best of
  e5 + KMeans (true K), TF-IDF + KMeans (true K) and BERTopic defaults (when installed).

Settings: all answers; an imbalanced subsample (the largest code about 40 %, the others
shrinking geometrically); the long answers (over 500 characters, where a corpus has enough);
small sets of 300 answers for discovery; terse codebooks (the gold tag names only, and for
the demo the SPIRAL labels without descriptions or examples). See evaluation/README.md.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

# Many small BLAS calls on a shared 2-core machine: threads only fight (50x slower measured).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
# As the CLI does: OpenMP threads that spin while waiting steal a busy machine's cores (k-means).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from labelled_corpora import LOADERS  # noqa: E402

from criteria_nlp.assign.learned import learned_assign  # noqa: E402
from criteria_nlp.assign.zero_shot import PrototypeAssigner, zero_shot_assign  # noqa: E402
from criteria_nlp.codebook.loaders import load_codebook  # noqa: E402
from criteria_nlp.codebook.model import Code, Codebook  # noqa: E402
from criteria_nlp.discover.discoverer import Discoverer  # noqa: E402
from criteria_nlp.evaluate import (  # noqa: E402
    cluster_metrics,
    code_metrics,
    consistency_by_language,
    cross_lingual_consistency,
    markdown_table,
)
from criteria_nlp.prepare.text import answer_status  # noqa: E402

CORPORA = ("cycling_dialogues_de", "sib200", "demo", "consultation_theme", "consultation_type")
SIZES = "100,250,500,1000,all"
C_GRID = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)
LONG_CHARS = 500  # a "long answer" has more characters than this (about 120 e5 tokens)
MIN_LONG = 150  # answers needed for a long-answer setting
SMALL_SET = 300  # answers in the small discovery sets
TRUE_K = "project given the true K"
OTHER_CODING = "the other human coding of these answers"
LABEL_LANGUAGE = {"consultation_theme": "fr", "consultation_type": "fr"}


# ----------------------------------------------------------------------------- data
def topic_codebook(names, language: str = "en") -> Codebook:
    """A terse codebook: the gold tag names only ("cycle_path_quality" -> "cycle path quality")."""
    return Codebook("tags", [Code(code=n, labels={language: n.replace("_", " ").replace("/", " and ")}) for n in sorted(set(names))])


def labels_only(book: Codebook) -> Codebook:
    """The codebook cut to its English labels (no translations, descriptions or examples)."""
    return Codebook(f"{book.name}-labels", [Code(code=c.code, labels={"en": c.label("en")}) for c in book.codable()])


def codebooks(name: str, frame: pd.DataFrame) -> dict[str, Codebook]:
    if name == "demo":
        spiral = load_codebook("spiral")
        return {"SPIRAL (labels, descriptions, examples)": spiral, "SPIRAL labels only": labels_only(spiral)}
    return {"tag names only": topic_codebook(frame["gold"], LABEL_LANGUAGE.get(name, "en"))}


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


def units(frame: pd.DataFrame) -> pd.Series:
    """The unit of sampling: a translation group on SIB (translations stay together), else the answer."""
    return frame["pair"] if "pair" in frame else frame["id"]


def imbalanced(frame: pd.DataFrame, seed: int, ratio: float = 0.6, floor: int = 8) -> np.ndarray:
    """Row mask of a subsample where the codes, largest first, keep shares proportional to
    1, ratio, ratio^2, ... (with 7-8 codes the largest has about 40 %), at least `floor` units
    each (or all they have)."""
    rng = np.random.RandomState(seed)
    key = units(frame)
    table = frame.assign(_unit=key).drop_duplicates("_unit")
    counts = table["gold"].value_counts()
    weights = ratio ** np.arange(len(counts))
    scale = (counts.to_numpy() / weights).min()
    keep = []
    for (code, available), weight in zip(counts.items(), weights):
        n = int(min(available, max(floor, round(scale * weight))))
        candidates = np.sort(table.loc[table["gold"] == code, "_unit"].to_numpy())
        keep += list(rng.choice(candidates, size=n, replace=False))
    return key.isin(set(keep)).to_numpy()


def split_half(frame: pd.DataFrame, seed: int) -> np.ndarray:
    """Boolean train mask: half of the answers, stratified by code; translations of one
    sentence stay on the same side. Codes with a single unit go to training."""
    from sklearn.model_selection import train_test_split

    key = units(frame)
    table = frame.assign(_unit=key).drop_duplicates("_unit")[["_unit", "gold"]]
    counts = table["gold"].value_counts()
    single = table["gold"].map(counts) < 2
    train_units, _ = train_test_split(table.loc[~single, "_unit"], test_size=0.5, stratify=table.loc[~single, "gold"], random_state=seed)
    return key.isin(set(train_units) | set(table.loc[single, "_unit"])).to_numpy()


def subsample(frame: pd.DataFrame, pool: np.ndarray, size: int | None, seed: int) -> np.ndarray:
    """`size` rows of the pool (all when None or more): one unit of every code first (when
    there is room), the rest at random; whole translation groups."""
    if size is None or size >= pool.sum():
        return pool.copy()
    rng = np.random.RandomState(seed)
    key = units(frame)
    table = frame[pool].assign(_unit=key[pool]).drop_duplicates("_unit")
    per_unit = pool.sum() / len(table)
    wanted = max(1, int(round(size / per_unit)))
    first = [rng.choice(group["_unit"].to_numpy()) for _, group in table.groupby("gold", sort=True)] if wanted >= table["gold"].nunique() else []
    rest = [u for u in rng.permutation(table["_unit"].to_numpy()) if u not in set(first)]
    chosen = set(first + rest[: max(0, wanted - len(first))])
    return (pool & key.isin(chosen)).to_numpy()


def settings(name: str, frame: pd.DataFrame) -> dict[str, callable]:
    """Setting name -> function(seed) giving the row mask of the answers it covers."""
    out = {"all answers": lambda seed: np.ones(len(frame), dtype=bool),
           "imbalanced subsample": lambda seed: imbalanced(frame, seed)}
    long = frame["text"].str.len().to_numpy() > LONG_CHARS
    if long.sum() >= MIN_LONG and "pair" not in frame:
        out[f"long answers (> {LONG_CHARS} characters)"] = lambda seed: long
    return out


# ------------------------------------------------------------------------------ runs
def nearest_label(book: Codebook, embedder, vectors, language: str = "en") -> np.ndarray:
    codes = [c.code for c in book.codable()]
    labels = [c.label(language) for c in book.codable()]
    return PrototypeAssigner(min_confidence=0.0, temperature=0.02).fit(embedder.embed(labels), codes).predict(vectors)


def zero_shot_rows(name, frame, vectors, embedder, book_name, book, setting, mask_of, seeds) -> list[dict]:
    """Zero-shot on the test half of each seed's split (transductive: the half is the corpus)."""
    out = []
    for seed in seeds:
        rows = mask_of(seed)
        sub = frame[rows].reset_index(drop=True)
        test = ~split_half(sub, seed)
        V, gold = vectors[rows][test], sub["gold"].to_numpy()[test]
        languages, texts = sub["language"].to_numpy()[test].tolist(), sub["text"].to_numpy()[test].tolist()
        table, assigner = zero_shot_assign(V, book, embedder, min_confidence=0.0, languages=languages, texts=texts)
        ours = code_metrics(gold, table["code"].to_numpy())["accuracy"]
        base = code_metrics(gold, nearest_label(book, embedder, V, LABEL_LANGUAGE.get(name, "en")))["accuracy"]
        out.append({"seed": seed, "answers": len(gold), "project": ours, "baseline": base, "kept": assigner.mode_ == "refined"})
    return out


def baseline_lr(X, y, seed):
    """Class-balanced logistic regression, C tuned by 5-fold CV on macro-F1 (the plain method)."""
    import warnings

    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, StratifiedKFold

    counts = pd.Series(y).value_counts()
    smallest = counts[counts > 1].min() if (counts > 1).any() else 2
    folds = StratifiedKFold(n_splits=int(max(2, min(5, smallest, len(y) // 2))), shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore")
        return GridSearchCV(LogisticRegression(class_weight="balanced", max_iter=2000, random_state=seed), {"C": list(C_GRID)},
                            cv=folds, scoring="f1_macro").fit(X, y)


def learned_rows(name, frame, vectors, embedder, book, mask_of, sizes, seeds) -> dict:
    """Learning curve: per seed, half of the answers are the pool of coded answers (of which
    `size` are drawn), the other half is coded and scored."""
    from threadpoolctl import threadpool_limits

    out: dict = {}
    for seed in seeds:
        rows = mask_of(seed)
        sub = frame[rows].reset_index(drop=True)
        V = vectors[rows]
        pool = split_half(sub, seed)
        test = ~pool
        gold = sub["gold"].to_numpy()
        for size in sizes:
            if size is not None and size >= pool.sum():
                continue
            train = subsample(sub, pool, size, seed)
            if sub.loc[train, "gold"].nunique() < 2:
                continue
            label = "all" if size is None else str(size)
            # The baseline sees the coded answers in the order the project puts them in (code,
            # text): its cross-validation folds are then the project's first repeat, so the two
            # differ only where the project keeps a refinement (common random numbers).
            rows_in_order = sorted(np.flatnonzero(train), key=lambda i: (gold[i], sub["text"].iat[i], tuple(np.round(V[i, :4], 6))))
            start = time.perf_counter()
            with threadpool_limits(limits=1, user_api="blas"):
                base = baseline_lr(V[rows_in_order], gold[rows_in_order], seed)
                base_pred = base.predict(V[test])
            base_seconds = time.perf_counter() - start
            training = pd.DataFrame({"text": sub["text"].to_numpy()[train], "code": gold[train], "language": sub["language"].to_numpy()[train]})
            start = time.perf_counter()
            table, model = learned_assign(V[test], training, V[train], codebook=book, embedder=embedder,
                                          texts=sub["text"].to_numpy()[test].tolist(), languages=sub["language"].to_numpy()[test].tolist(), seed=seed)
            seconds = time.perf_counter() - start
            kept = [part for part, d in model.decisions_.items() if d["kept"]]
            out.setdefault(label, []).append({
                "seed": seed, "train": int(train.sum()), "test": int(test.sum()),
                "project": code_metrics(gold[test], table["code"].to_numpy())["macro_f1"],
                "baseline": code_metrics(gold[test], base_pred)["macro_f1"],
                "kept": "+".join(sorted(kept)) or "plain", "seconds": seconds, "baseline_seconds": base_seconds})
    return out


def discovery_rows(frame, vectors, mask_of, seeds, use_bertopic, small: bool, bertopic_cache: Path | None = None) -> list[dict]:
    """Per seed: the answers of the setting (a random `SMALL_SET` of them when `small`)."""
    from sklearn.cluster import KMeans
    from sklearn.feature_extraction.text import TfidfVectorizer

    out = []
    for seed in seeds:
        rows = mask_of(seed)
        if small and rows.sum() > SMALL_SET:
            chosen = np.random.RandomState(seed).choice(np.flatnonzero(rows), size=SMALL_SET, replace=False)
            rows = np.zeros(len(frame), dtype=bool)
            rows[chosen] = True
        sub, V = frame[rows].reset_index(drop=True), vectors[rows]
        gold, k = sub["gold"].to_numpy(), sub["gold"].nunique()
        start = time.perf_counter()
        model = Discoverer(seed=seed).fit(V, sub["language"].tolist(), sub["id"].tolist(), sub["text"].tolist())
        seconds = time.perf_counter() - start
        ours = cluster_metrics(gold, model.labels_)
        row = {"seed": seed, "answers": len(sub), "true K": k, "K": model.n_clusters_, "words": model.word_weight_, "unassigned": ours["unassigned"],
               "project": ours["ami"], "seconds": seconds}
        if "pair" in sub:
            row["consistency"] = cross_lingual_consistency(model.labels_, sub["pair"], sub["language"].tolist())
        tfidf = TfidfVectorizer(sublinear_tf=True, min_df=2).fit_transform(sub["text"].str.lower())
        baselines = {"e5 + KMeans (true K)": KMeans(k, random_state=seed, n_init="auto").fit_predict(V),
                     "TF-IDF + KMeans (true K)": KMeans(k, random_state=seed, n_init="auto").fit_predict(tfidf)}
        if use_bertopic:
            baselines["BERTopic defaults"] = bertopic_topics(sub["text"].tolist(), V, seed, None, bertopic_cache)
        for method, labels in baselines.items():
            row[method] = cluster_metrics(gold, np.asarray(labels, dtype=int))["ami"]
        # References, not peers: the project told the true K the peers get (does a gap come from
        # the choice of K or from the groups?), and, where the same answers carry a second human
        # coding, how that coding itself scores (a discovery cannot match both when they disagree).
        row[TRUE_K] = cluster_metrics(gold, Discoverer(seed=seed, n_clusters=k).fit(
            V, sub["language"].tolist(), sub["id"].tolist(), sub["text"].tolist()).labels_)["ami"]
        if "other coding" in sub:
            coded = (sub["other coding"] != "").to_numpy()
            row[OTHER_CODING] = cluster_metrics(gold[coded], pd.factorize(sub["other coding"][coded])[0])["ami"]
        out.append(row)
    return out


def bertopic_topics(texts, vectors, seed, nr_topics, cache: Path | None = None):
    """BERTopic as a new user runs it on precomputed embeddings; only UMAP's seed is fixed.

    With `cache` (a folder), the topics are stored under a hash of the texts, the vectors, the
    seed and the BERTopic version: BERTopic does not depend on this project's code, so a run
    can reuse the topics an earlier run computed (it takes 10-40 s a fit on 2 cores)."""
    import hashlib

    import bertopic
    from bertopic import BERTopic
    from umap import UMAP

    vectors = np.asarray(vectors, dtype=np.float32)
    key = hashlib.sha256("\x1f".join([bertopic.__version__, str(seed), str(nr_topics), *texts]).encode("utf-8"))
    key.update(np.ascontiguousarray(vectors).tobytes())
    path = Path(cache) / f"{key.hexdigest()[:32]}.npy" if cache else None
    if path is not None and path.exists():
        return np.load(path)
    umap_model = UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine", random_state=seed)
    topics, _ = BERTopic(umap_model=umap_model, nr_topics=nr_topics).fit_transform(texts, vectors)
    topics = np.asarray(topics, dtype=int)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, topics)
    return topics


def language_neutrality(frame, vectors, seed) -> pd.DataFrame:
    """Per-language consistency with and without centring (SIB)."""
    languages = frame["language"].tolist()
    rows = []
    for centre in (False, True):
        labels = Discoverer(seed=seed, centre_languages=centre).fit(vectors, languages, frame["id"].tolist(), frame["text"].tolist()).labels_
        table = consistency_by_language(labels, frame["pair"], languages)
        for _, r in table.iterrows():
            rows.append({"centring": centre, "language": r["language"], "pairs": r["pairs"], "consistency": r["consistency"]})
    return pd.DataFrame(rows)


# -------------------------------------------------------------------- long answers
SENTENCE_END = re.compile(r"(?<=[.!?…;])\s+|\s*\n+\s*")


def sentences(text: str) -> list[str]:
    return [part.strip() for part in SENTENCE_END.split(str(text)) if part and part.strip()] or [str(text)]


def windows(text: str, max_chars: int = 400) -> list[str]:
    """Consecutive sentences packed into windows of at most `max_chars` characters (about 100
    e5 tokens; a longer sentence is a window of its own)."""
    out, current = [], ""
    for sentence in sentences(text):
        if current and len(current) + 1 + len(sentence) > max_chars:
            out.append(current)
            current = sentence
        else:
            current = f"{current} {sentence}".strip()
    return out + ([current] if current else [])


def representation_rows(name, frame, vectors, embedder, book, seeds) -> pd.DataFrame:
    """On the long answers: the whole text (truncated by e5 at 256 tokens), sentence windows
    averaged, sentences averaged, and (assignment only) the best sentence, for every method."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    from criteria_nlp.vectors import unit_rows

    long = frame["text"].str.len().to_numpy() > LONG_CHARS
    sub, whole = frame[long].reset_index(drop=True), vectors[long]
    pieces = {"sentence windows, averaged": [windows(t) for t in sub["text"]], "sentences, averaged": [sentences(t) for t in sub["text"]]}
    texts = sorted({p for parts in pieces.values() for ps in parts for p in ps})
    vector_of = dict(zip(texts, embedder.embed(texts).astype(np.float64)))
    reps = {"whole text": whole}
    for rep, parts in pieces.items():
        reps[rep] = unit_rows(np.array([np.mean([vector_of[p] for p in ps], axis=0) for ps in parts]))
    gold, languages, answer_texts = sub["gold"].to_numpy(), sub["language"].tolist(), sub["text"].tolist()
    codes = [c.code for c in book.codable()]
    label_vectors = unit_rows(embedder.embed([c.label(LABEL_LANGUAGE.get(name, "en")) for c in book.codable()]).astype(np.float64))
    rows = []
    for rep, X in reps.items():
        _, assigner = zero_shot_assign(X, book, embedder, min_confidence=0.0, languages=languages, texts=answer_texts)
        proba = cross_val_predict(LogisticRegression(C=10.0, class_weight="balanced", max_iter=2000), X, gold,
                                  cv=StratifiedKFold(n_splits=5, shuffle=True, random_state=seeds[0]), method="predict_proba")
        rows.append({"representation": rep,
                     "nearest label (accuracy)": float(np.mean(np.asarray(codes)[(X @ label_vectors.T).argmax(axis=1)] == gold)),
                     "zero-shot (accuracy)": float(np.mean(assigner.predict(X, languages) == gold)),
                     "logistic regression, 5-fold (macro-F1)": code_metrics(gold, np.unique(gold)[proba.argmax(axis=1)])["macro_f1"],
                     "discovery (AMI)": float(np.mean([cluster_metrics(gold, Discoverer(seed=s).fit(X, languages, sub["id"].tolist(), answer_texts).labels_)["ami"] for s in seeds]))})
    # The best sentence: each code's score is the answer's highest over its sentences.
    best = {"nearest label (accuracy)": [], "zero-shot (accuracy)": []}
    _, assigner = zero_shot_assign(whole, book, embedder, min_confidence=0.0, languages=languages, texts=answer_texts)
    for parts, language in zip(pieces["sentences, averaged"], languages):
        S = np.array([vector_of[p] for p in parts])
        best["nearest label (accuracy)"].append(codes[int((S @ label_vectors.T).max(axis=0).argmax())])
        best["zero-shot (accuracy)"].append(assigner.classes_[int(assigner.decision_function(S, [language] * len(S)).max(axis=0).argmax())])
    rows.append({"representation": "best sentence (max over sentences)", **{k: float(np.mean(np.asarray(v) == gold)) for k, v in best.items()}})
    return pd.DataFrame(rows), int(long.sum())


# --------------------------------------------------------------------------- report
def summarise(block: str, corpus: str, setting: str, runs: list[dict], best_of: list[str] | None = None) -> dict:
    table = pd.DataFrame(runs)
    if best_of:  # discovery: the baseline is, per seed, the best of the peers
        table["baseline"] = table[best_of].max(axis=1)
    diff = table["project"] - table["baseline"]
    row = {"block": block, "corpus": corpus, "setting": setting, "seeds": len(table), "project": table["project"].mean(),
           "baseline": table["baseline"].mean(), "difference": diff.mean(), "sd": diff.std(ddof=1) if len(table) > 1 else 0.0,
           "worst seed": diff.min()}
    if best_of:
        row["best baseline"] = max(best_of, key=lambda m: table[m].mean())
        row["unassigned"] = table["unassigned"].mean()
    if "kept" in table:
        values = list(table["kept"])
        row["kept"] = (f"refined {sum(values)} of {len(values)}" if all(isinstance(v, (bool, np.bool_)) for v in values)
                       else " / ".join(str(v) for v in values))
    return row


def verdicts(summary: pd.DataFrame) -> list[str]:
    lines = ["## Targets", ""]
    targets = {"zero-shot (accuracy)": (-0.01, 0.05), "learned (macro-F1)": (-0.01, 0.03), "discovery (AMI)": (0.0, 0.05)}
    for block, (floor, average) in targets.items():
        rows = summary[summary["block"] == block]
        if not len(rows):
            continue
        misses = rows[rows["difference"] < floor]
        mean = rows["difference"].mean()
        lines.append(f"- **{block}**: never below the baseline" + (f" by more than {-floor:.2f}" if floor else "") + ": "
                     + ("**met** on all %d rows" % len(rows) if not len(misses) else
                        f"**missed** on {len(misses)} of {len(rows)} rows ("
                        + "; ".join(f"{r.corpus} / {r.setting}: {r.difference:+.3f}" for r in misses.itertuples()) + ")")
                     + f"; average difference {mean:+.3f} (target ≥ +{average:.2f}: {'**met**' if mean >= average else '**missed**'}).")
        if block == "discovery (AMI)":
            worst = rows["unassigned"].max()
            lines.append(f"- **discovery unassigned** ≤ 10 %: {'**met**' if worst <= 0.10 else '**missed**'} (largest {worst:.1%}).")
    return lines + [""]


def main(argv=None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpora", default=",".join(CORPORA), help="comma-separated: " + ", ".join(CORPORA))
    parser.add_argument("--embedder", default="e5")
    parser.add_argument("--seeds", default="0,1,2,3,4", help="each seed draws its own splits and subsamples")
    parser.add_argument("--sizes", default=SIZES, help="learning-curve points (coded answers; 'all' = the whole training half)")
    parser.add_argument("--curve-seeds", default=None, help="seeds for the learning-curve points other than 'all' (default: --seeds)")
    parser.add_argument("--blocks", default="zero-shot,learned,discovery,long",
                        help="zero-shot, learned, discovery, long (representations of long answers)")
    parser.add_argument("--limit", type=int, default=None, help="at most this many answers per corpus (for quick checks)")
    parser.add_argument("--no-bertopic", action="store_true", help="skip BERTopic (installed with the eval extra)")
    parser.add_argument("--bertopic-cache", type=Path, default=None,
                        help="folder where BERTopic's topics are kept and reused (they do not depend on this project's code)")
    parser.add_argument("--output", default=str(HERE / "results" / "quality.md"))
    parser.add_argument("--merge", default=None, help="comma-separated JSON files of earlier runs: join them into --output, run nothing")
    args = parser.parse_args(argv)
    if args.merge:
        return merge(args.merge.split(","), args.output)

    from criteria_nlp.embed import get_embedder

    use_bertopic = not args.no_bertopic
    if use_bertopic:
        try:
            import bertopic  # noqa: F401
        except ImportError:
            print("BERTopic is not installed (pip install -e '.[eval]'); skipping it", file=sys.stderr)
            use_bertopic = False
    seeds = [int(x) for x in args.seeds.split(",")]
    curve_seeds = [int(x) for x in args.curve_seeds.split(",")] if args.curve_seeds else seeds
    sizes = [None if s == "all" else int(s) for s in args.sizes.split(",")]
    blocks = set(args.blocks.split(","))
    embedder = get_embedder(args.embedder, seed=seeds[0])
    started = time.perf_counter()
    summary, sections, report = [], [], ""
    for name in args.corpora.split(","):
        frame = load_corpus(name, args.limit, seeds[0])
        if getattr(embedder, "needs_fit", False):
            embedder.fit(frame["text"].tolist())
        vectors = embedder.embed(frame["text"].tolist()).astype(np.float64)
        lines = [f"## {name}", "", f"{len(frame)} answers with a gold code, {frame['gold'].nunique()} codes, "
                 f"{frame['language'].nunique()} language(s), median {int(frame['text'].str.len().median())} characters.", ""]
        corpus_settings = settings(name, frame)
        books = codebooks(name, frame)
        if "zero-shot" in blocks:
            for book_name, book in books.items():
                for setting, mask_of in corpus_settings.items():
                    runs = zero_shot_rows(name, frame, vectors, embedder, book_name, book, setting, mask_of, seeds)
                    summary.append(summarise("zero-shot (accuracy)", name, f"{setting}; {book_name}", runs))
        if "learned" in blocks:
            book = next(iter(books.values()))
            curve_rows = []
            for setting, mask_of in corpus_settings.items():
                points = sizes if setting == "all answers" else [None]
                by_size = {}
                if setting == "all answers" and curve_seeds != seeds:
                    by_size.update(learned_rows(name, frame, vectors, embedder, book, mask_of, [s for s in points if s is not None], curve_seeds))
                    by_size.update(learned_rows(name, frame, vectors, embedder, book, mask_of, [None], seeds))
                else:
                    by_size = learned_rows(name, frame, vectors, embedder, book, mask_of, points, seeds)
                for size, runs in by_size.items():
                    summary.append(summarise("learned (macro-F1)", name, f"{setting}; {size} coded", runs))
                    table = pd.DataFrame(runs)
                    curve_rows.append({"setting": setting, "coded answers": size, "train (mean)": table["train"].mean(),
                                       "seconds (project)": table["seconds"].mean(), "seconds (baseline)": table["baseline_seconds"].mean(),
                                       "refinements kept, by seed": " / ".join(table["kept"])})
            lines += ["### Learned assignment: what cross-validation kept, and the cost", "", markdown_table(pd.DataFrame(curve_rows)), ""]
        if "discovery" in blocks:
            peers = ["e5 + KMeans (true K)", "TF-IDF + KMeans (true K)"] + (["BERTopic defaults"] if use_bertopic else [])
            detail = []
            for setting, mask_of in list(corpus_settings.items()) + [(f"{SMALL_SET} answers", corpus_settings["all answers"])]:
                small = setting == f"{SMALL_SET} answers"
                if small and len(frame) <= SMALL_SET:
                    continue
                runs = discovery_rows(frame, vectors, mask_of, seeds, use_bertopic, small, args.bertopic_cache)
                summary.append(summarise("discovery (AMI)", name, setting, runs, peers))
                table = pd.DataFrame(runs)
                detail.append({"setting": setting, "answers": table["answers"].mean(), "true K": table["true K"].mean(),
                               "K chosen (by seed)": " / ".join(str(v) for v in table["K"]),
                               "words x (by seed)": " / ".join(f"{v:g}" for v in table["words"]),
                               "project AMI": table["project"].mean(),
                               **{m: table[m].mean() for m in peers},
                               **{m: table[m].mean() for m in (TRUE_K, OTHER_CODING) if m in table},
                               "unassigned": table["unassigned"].mean(),
                               **({"consistency": table["consistency"].mean()} if "consistency" in table else {}),
                               "seconds": table["seconds"].mean()})
            lines += ["### Discovery, every method (mean over seeds)", "", markdown_table(pd.DataFrame(detail)), ""]
            if "pair" in frame:
                lines += ["### Language neutrality (SIB; cross-lingual consistency per language, seed 0)", "",
                          markdown_table(language_neutrality(frame, vectors, seeds[0])), ""]
        if "long" in blocks and any(k.startswith("long answers") for k in corpus_settings):
            table, count = representation_rows(name, frame, vectors, embedder, next(iter(books.values())), seeds)
            lines += [f"### Long answers: how to represent them ({count} answers over {LONG_CHARS} characters)", "",
                      markdown_table(table), ""]
        sections.append("\n".join(lines))
        print(sections[-1], flush=True)
        # Written after every corpus: a run stopped half-way still leaves what it measured.
        run = {"command": " ".join(["python evaluation/bench_quality.py", *(sys.argv[1:] if argv is None else argv)]),
               "embedder": embedder.model_id, "seeds": args.seeds, "curve_seeds": args.curve_seeds, "bertopic": use_bertopic,
               "seconds": time.perf_counter() - started, "corpora": args.corpora.split(","), "summary": summary, "sections": sections}
        report = write_report([run], args.output)
    return report


BLOCK_ORDER = ("zero-shot (accuracy)", "learned (macro-F1)", "discovery (AMI)")


def joined(runs: list[dict]) -> tuple[list[dict], list[str]]:
    """The rows and per-corpus sections of several runs, as one run would give them: runs of
    different blocks on the same corpora (run in parallel) give one section per corpus, and
    rows ordered by corpus, then block."""
    summary = [row for run in runs for row in run["summary"]]
    corpora = list(dict.fromkeys(row["corpus"] for row in summary))
    summary = sorted(summary, key=lambda row: (corpora.index(row["corpus"]), BLOCK_ORDER.index(row["block"]) if row["block"] in BLOCK_ORDER else len(BLOCK_ORDER)))
    by_heading: dict[str, list[str]] = {}
    for section in (section for run in runs for section in run["sections"]):
        lines = section.split("\n")
        if lines[0] in by_heading:  # the same corpus: heading and description once
            by_heading[lines[0]] += lines[4:]
        else:
            by_heading[lines[0]] = lines
    return summary, ["\n".join(lines) for lines in by_heading.values()]


def write_report(runs: list[dict], output) -> str:
    """quality.md from one or more runs (each also kept as JSON next to the report, so runs on
    different corpora, e.g. in parallel processes, can be joined with --merge)."""
    import json

    summary, sections = joined(runs)
    done = sum(len(run["sections"]) for run in runs)
    planned = sum(len(run["corpora"]) for run in runs)
    table = pd.DataFrame(summary)
    first = runs[0]
    header = [
        "# Quality benchmark", "",
        "Command: " + "; ".join(f"`{run['command']}`" for run in runs) + "  ",
        f"Embedder: `{first['embedder']}` (the same vectors for every method); seeds {first['seeds']}"
        + (f" (learning-curve points below 'all': {curve})" if (curve := next((run["curve_seeds"] for run in runs if run["curve_seeds"]), None)) else "")
        + f"; BERTopic {'included' if any(run['bertopic'] for run in runs) else 'not run'}; "
        + " + ".join(f"{run['seconds']:.0f} s" for run in runs) + " on this machine"
        + ("" if done == planned else f"; **partial: {done} of {planned} corpora**") + ". "
        "Regenerated by the script; see evaluation/README.md.", "",
        "Each row: the project and its plain baseline on the same answers, the mean over seeds, the mean "
        "difference, its standard deviation over the seeds (sd) and the worst seed.", "",
    ]
    report = "\n".join(header + (verdicts(table) if len(table) else []) + ["## Every row", "", markdown_table(table) if len(table) else "", ""] + sections)
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(report, encoding="utf-8")
    if len(runs) == 1:
        output.with_suffix(".json").write_text(json.dumps(first, default=float, indent=1), encoding="utf-8")
    return report


def merge(paths: list[str], output) -> str:
    """One report from the JSON of several runs (`--merge a.json,b.json`)."""
    import json

    return write_report([json.loads(Path(p).read_text(encoding="utf-8")) for p in paths], output)


if __name__ == "__main__":
    main()

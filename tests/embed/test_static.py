"""The static embedder: distilled offline from the local e5 with model2vec, cached, fast.

Distilling the full vocabulary takes minutes, so the model test distils a tiny vocabulary
(the tokens of a few answers) through the same code path."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from criteria_nlp.embed import StaticEmbedder, get_embedder
from criteria_nlp.embed.model_folder import MANIFEST
from criteria_nlp.embed.static import DEFAULT_SCRIPTS, script_filter, static_folder_name

SRC = str(Path(__file__).resolve().parents[2] / "src")
ROOT = Path(__file__).resolve().parents[2]

SENTENCES = [
    "avoir un logement décent",
    "un logement décent et pas trop cher",
    "la solitude des personnes âgées",
    "les personnes âgées se sentent seules",
    "pas assez de bus le soir",
    "een fatsoenlijke woning hebben",
    "eenzaamheid van ouderen",
]


def test_script_filter_keeps_european_scripts_only():
    keep = script_filter(DEFAULT_SCRIPTS)
    for token in ["▁logement", "▁σπίτι", "▁дом", "▁Rīga", "▁ევროპა", "▁سكن", ",", "2024", "▁", "ʼ"]:
        assert keep(token), token
    for token in ["▁東京", "▁서울", "▁नमस्ते", "ไทย"]:
        assert not keep(token), token


def test_construction_is_cheap_and_never_cached(tmp_path):
    code = (
        "import sys\n"
        "from criteria_nlp.embed import get_embedder\n"
        f"e = get_embedder('static', cache_dir={str(tmp_path)!r})\n"
        "print(type(e).__name__, e.model_id, e.dim)\n"
        "heavy = [m for m in ('torch', 'model2vec', 'onnxruntime') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, "PYTHONPATH": SRC})
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("StaticEmbedder ") and "+m2v1-pca256-eu+max512 256" in done.stdout
    assert StaticEmbedder(tmp_path, scripts=None).model_id != StaticEmbedder(tmp_path).model_id
    assert static_folder_name(None).endswith("-all") and static_folder_name().endswith("-eu")


# ------------------------------------------------------------------ with the model


@pytest.fixture(scope="module")
def tiny_static(e5_embedder):
    """A static model distilled (for real) on the tokens of SENTENCES and a few hundred demo
    answers, stored under the default folder name of the session's cache."""
    import pandas as pd
    from transformers import AutoTokenizer

    from criteria_nlp.embed import static

    demo = pd.read_csv(ROOT / "corpora/demo/answers.csv", dtype=str, keep_default_na=False)["text"][:150].tolist()
    tokenizer = AutoTokenizer.from_pretrained(str(e5_embedder.model_path))
    vocabulary = {t for text in SENTENCES + demo for t in tokenizer.tokenize(text)}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(static, "script_filter", lambda scripts: vocabulary.__contains__)
        embedder = StaticEmbedder(cache_dir=e5_embedder.cache_dir, show_progress=False)
        embedder.load()
    return embedder


@pytest.mark.model
def test_distilled_model_embeds_fast_unit_vectors_that_keep_meaning(tiny_static):
    vectors = tiny_static.embed(SENTENCES)
    assert vectors.shape == (len(SENTENCES), 256) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    sims = vectors @ vectors.T
    assert sims[0, 1] > sims[0, 2] and sims[0, 1] > sims[0, 4]  # housing ~ housing
    assert sims[2, 3] > sims[2, 0] and sims[2, 3] > sims[2, 4]  # elderly ~ elderly
    np.testing.assert_array_equal(tiny_static.embed(SENTENCES), vectors)  # deterministic
    # A script outside the vocabulary gives no signal (a zero vector), not an error.
    assert np.allclose(tiny_static.embed(["東京"]), 0)


@pytest.mark.model
def test_distilled_folder_is_cached_with_a_manifest(tiny_static):
    folder = tiny_static.model_path  # verified, not rebuilt
    manifest = json.loads((folder / MANIFEST).read_text())
    assert manifest["format"] == 1 and manifest["pca_dims"] == 256 and manifest["scripts"] == list(DEFAULT_SCRIPTS)
    assert manifest["tokens"] > 256 and {"model.safetensors", "tokenizer.json", "config.json"} <= set(manifest["files"])
    assert not [p for p in folder.rglob("*.onnx")]  # the ONNX scratch export is gone
    again = get_embedder("static", cache_dir=tiny_static.cache_dir)
    np.testing.assert_array_equal(again.embed(SENTENCES[:2]), tiny_static.embed(SENTENCES[:2]))

"""The ONNX Runtime e5 backend: exported offline from the converted folder, faithful to the
torch vectors (fp32 and int8), cached with an integrity manifest."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from criteria_nlp.embed import CachedEmbedder, OnnxE5Embedder, get_embedder
from criteria_nlp.embed.e5_convert import MANIFEST
from criteria_nlp.embed.onnx import (
    MODEL_FILE,
    ensure_onnx_model,
    mean_pool,
    onnx_folder_name,
)

SRC = str(Path(__file__).resolve().parents[2] / "src")

TEXTS = [
    "avoir un logement décent",
    "een fatsoenlijke woning hebben",
    "having decent housing",
    "pas assez de bus le soir",
    "Τα παιδιά έπαιζαν στα πάρκα",
    "mai multe spații verzi în cartier",
    "Drošība uz ielas naktī",
    "Ich fühle mich einsam, seit meine Kinder weggezogen sind, und niemand besucht mich.",
    "km² ﬁn du mois\u00a0difficile ",
]


def test_construction_loads_nothing_and_ids_name_the_variant(tmp_path):
    code = (
        "import sys\n"
        "from criteria_nlp.embed import get_embedder\n"
        f"e = get_embedder('e5-onnx', cache_dir={str(tmp_path)!r})\n"
        "print(e.model_id, e.dim)\n"
        "heavy = [m for m in ('torch', 'onnxruntime', 'transformers') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, "PYTHONPATH": SRC})
    assert done.returncode == 0, done.stderr
    assert "+onnx1-int8pc+query+max256 384" in done.stdout
    assert not (tmp_path / "models").exists() or not any((tmp_path / "models").iterdir())
    int8, fp32 = OnnxE5Embedder(tmp_path), OnnxE5Embedder(tmp_path, quantized=False)
    e5 = get_embedder("e5", cache_dir=tmp_path, use_cache=False)
    assert len({int8.model_id, fp32.model_id, e5.model_id}) == 3  # separate cache namespaces
    assert (int8.name, fp32.name) == ("e5-onnx", "e5-onnx-fp32")


def test_get_embedder_caches_onnx_vectors(tmp_path):
    embedder = get_embedder("e5-onnx-fp32", cache_dir=tmp_path, batch_size=4)
    assert isinstance(embedder, CachedEmbedder) and embedder.inner.batch_size == 4
    assert not embedder.inner.quantized and embedder.model_id.endswith("fp32+query+max256")


def test_mean_pool_ignores_padding():
    tokens = np.array([[[1.0, 0.0], [3.0, 2.0], [100.0, 100.0]]], dtype=np.float32)
    mask = np.array([[1, 1, 0]])
    np.testing.assert_allclose(mean_pool(tokens, mask), [[2.0, 1.0]])


# ------------------------------------------------------------------ with the model


@pytest.fixture(scope="module")
def torch_vectors(e5_embedder):
    return e5_embedder.embed(TEXTS)


@pytest.mark.model
@pytest.mark.parametrize("quantized, mean_floor, min_floor", [(False, 0.9999, 0.999), (True, 0.99, 0.98)])
def test_vectors_match_the_torch_model(e5_embedder, torch_vectors, quantized, mean_floor, min_floor):
    embedder = OnnxE5Embedder(cache_dir=e5_embedder.cache_dir, quantized=quantized, batch_size=4)
    vectors = embedder.embed(TEXTS)
    assert vectors.shape == (len(TEXTS), 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    cosines = (vectors * torch_vectors).sum(axis=1)
    assert cosines.mean() >= mean_floor and cosines.min() >= min_floor, cosines
    # Still cross-lingual: the translations are each other's nearest neighbours.
    sims = vectors[:3] @ vectors[:3].T
    assert sims[0, 1] > (vectors[0] @ vectors[3]) and sims[0, 2] > (vectors[0] @ vectors[3])
    # Input order is kept whatever the batch order.
    np.testing.assert_allclose(embedder.embed(TEXTS[::-1])[::-1], vectors, atol=1e-5)


@pytest.mark.model
def test_exported_folder_has_a_manifest_and_only_the_int8_model(e5_embedder):
    from criteria_nlp.io.paths import models_dir

    folder = ensure_onnx_model(models_dir(e5_embedder.cache_dir), quantized=True)
    assert folder.name == onnx_folder_name(True)
    manifest = json.loads((folder / MANIFEST).read_text())
    assert manifest["quantized"] is True and manifest["source"].startswith("multilingual-e5-small")
    assert sorted(manifest["files"]) == ["model.onnx", "tokenizer.json"]
    assert (folder / MODEL_FILE).stat().st_size < 200e6  # int8 (~118 MB), the fp32 scratch is gone

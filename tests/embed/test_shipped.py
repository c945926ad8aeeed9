"""Shipped vectors are a read-only layer under the embedding cache: texts of the package (the
SPIRAL codebook's reference texts) are not embedded again by a model with the same id; other
texts and other models are embedded as usual."""

import numpy as np

from criteria_nlp.assign.reference_vectors import reference_texts
from criteria_nlp.embed.base import Embedder
from criteria_nlp.embed.cache import CachedEmbedder, EmbeddingCache
from criteria_nlp.embed.shipped import (
    CODEBOOK_VECTORS,
    find_shipped,
    read_shipped,
    write_shipped,
)


class Recording(Embedder):
    """A stand-in model that records what it is asked to embed."""

    name = "recording"

    def __init__(self, model_id: str):
        self._model_id = model_id
        self.asked: list[str] = []

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def dim(self) -> int:
        return 384

    def _encode(self, texts):
        self.asked += list(texts)
        rng = np.random.default_rng(len(self.asked))
        vectors = rng.normal(size=(len(texts), 384)).astype(np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_a_codebook_text_is_read_from_the_package_not_embedded(tmp_path):
    shipped = read_shipped(CODEBOOK_VECTORS)
    label = reference_texts()[0]
    inner = Recording(shipped.model_id)
    embedder = CachedEmbedder(inner, EmbeddingCache(tmp_path, shipped.model_id))
    vectors = embedder.embed([label, "une réponse que personne n'a jamais écrite"])
    assert inner.asked == ["une réponse que personne n'a jamais écrite"]
    row = shipped.index[EmbeddingCache.key(shipped.model_id, label)]
    np.testing.assert_allclose(vectors[0], shipped.vectors[row].astype(np.float32))
    assert embedder.stats["shipped"] == 1 and embedder.stats["embedded"] == 1 and embedder.stats["cache_hits"] == 0


def test_another_model_embeds_the_codebook_texts_itself(tmp_path):
    label = reference_texts()[0]
    inner = Recording("another-model@1")
    CachedEmbedder(inner, EmbeddingCache(tmp_path, "another-model@1")).embed([label])
    assert inner.asked == [label]


def test_write_then_find_round_trip(tmp_path, monkeypatch):
    keys = [EmbeddingCache.key("m@1", t) for t in ("a", "b")]
    vectors = np.eye(2, 384, dtype=np.float32)
    path = tmp_path / "v.npz"
    assert write_shipped(path, "m@1", keys, vectors) == 2
    monkeypatch.setattr("criteria_nlp.embed.shipped.resources.files", lambda _: tmp_path)
    read_shipped.cache_clear()
    try:
        found = find_shipped("m@1", [keys[1], "absent", keys[0]], files=("v.npz",))
        assert sorted(found) == [0, 2]
        np.testing.assert_array_equal(found[0], vectors[1])
        assert find_shipped("other@1", keys, files=("v.npz",)) == {}
    finally:
        read_shipped.cache_clear()


def test_each_shipped_file_is_for_the_model_it_is_built_with_and_covers_the_same_texts():
    from criteria_nlp.embed import get_embedder
    from criteria_nlp.embed.shipped import BUILT_WITH, SHIPPED_FILES, shipped_model_id

    for name in SHIPPED_FILES:
        # A model id change (new weights, quantisation, prompt) needs the file rebuilt.
        assert shipped_model_id(name) == get_embedder(BUILT_WITH[name], use_cache=False).model_id, name
    for e5_file, onnx_file in ((SHIPPED_FILES[0], SHIPPED_FILES[2]), (SHIPPED_FILES[1], SHIPPED_FILES[3])):
        assert len(read_shipped(onnx_file).index) == len(read_shipped(e5_file).index) > 700


def test_a_file_of_another_model_is_not_loaded(monkeypatch):
    from criteria_nlp.embed import shipped

    loaded = []
    monkeypatch.setattr(shipped, "read_shipped", lambda name: loaded.append(name))
    assert find_shipped("another-model@1", ["a key"]) == {}
    assert loaded == []

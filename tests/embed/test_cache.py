"""The embedding cache, the cached embedder, the base class contract and cache locations."""

import hashlib
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from criteria_nlp.embed.base import Embedder, normalise_for_cache
from criteria_nlp.embed.cache import CachedEmbedder, EmbeddingCache
from criteria_nlp.io.paths import cache_root, embeddings_dir, models_dir


class FakeEmbedder(Embedder):
    """Deterministic vectors from a hash of the text; records every text it encodes."""

    name = "fake"
    batch_size = 3

    def __init__(self, fail_after_calls=None):
        self.encoded: list[str] = []
        self.calls = 0
        self.fail_after_calls = fail_after_calls

    @property
    def model_id(self):
        return "fake@1"

    @property
    def dim(self):
        return 8

    def _encode(self, texts):
        if self.fail_after_calls is not None and self.calls >= self.fail_after_calls:
            raise KeyboardInterrupt("simulated kill")
        self.calls += 1
        self.encoded.extend(texts)
        return np.stack([vector_for(t) for t in texts])


def vector_for(text):
    seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little")
    return np.random.default_rng(seed).normal(size=8) * 3  # not normalised on purpose


def unit(v):
    return (v / np.linalg.norm(v)).astype(np.float32)


TEXTS = [f"answer number {i}" for i in range(20)]


def make_cached(tmp_path, inner=None, batch_size=4):
    inner = inner or FakeEmbedder()
    return CachedEmbedder(inner, EmbeddingCache(tmp_path, inner.model_id), batch_size=batch_size)


# --------------------------------------------------------------------- keys


def test_normalise_for_cache_nfc_whitespace_and_case():
    assert normalise_for_cache("  avoir\u00a0un \t logement\n décent  ") == "avoir un logement décent"
    assert normalise_for_cache("e\u0301cole") == "\u00e9cole"  # decomposed -> composed
    assert normalise_for_cache("Bus") != normalise_for_cache("bus")


def test_key_depends_on_normalised_text_and_model_id():
    key = EmbeddingCache.key
    assert key("m", "  Avoir un\u00a0logement ") == key("m", "Avoir un logement")
    assert key("m", "e\u0301cole") == key("m", "\u00e9cole")
    assert key("m", "Avoir") != key("m", "avoir")
    assert key("m1", "avoir") != key("m2", "avoir")
    expected = hashlib.sha256("m\x00avoir un logement".encode()).hexdigest()
    assert key("m", " avoir  un logement") == expected


# ---------------------------------------------------------------- the cache


def test_put_get_round_trip_survives_reopening(tmp_path):
    vectors = np.stack([unit(vector_for(t)) for t in TEXTS[:5]])
    cache = EmbeddingCache(tmp_path, "fake@1")
    cache.put_many(TEXTS[:5], vectors)
    cache.close()

    reopened = EmbeddingCache(tmp_path, "fake@1")
    assert len(reopened) == 5
    hits = reopened.get_many([TEXTS[3], "never stored", TEXTS[0], TEXTS[3]])
    assert sorted(hits) == [0, 2, 3]
    np.testing.assert_array_equal(hits[0], vectors[3])
    np.testing.assert_array_equal(hits[2], vectors[0])
    np.testing.assert_array_equal(hits[3], vectors[3])
    assert hits[0].dtype == np.float32


def test_one_sqlite_file_per_model_id_in_wal_mode(tmp_path):
    a = EmbeddingCache(tmp_path, "model-a@1")
    b = EmbeddingCache(tmp_path, "model-b@1")
    a.put_many(["x"], np.ones((1, 4)))
    assert a.path == tmp_path / (hashlib.sha1(b"model-a@1").hexdigest() + ".sqlite")
    assert a.path != b.path
    assert len(b) == 0 and b.get_many(["x"]) == {}
    mode = sqlite3.connect(a.path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_put_many_is_visible_to_another_connection_immediately(tmp_path):
    writer = EmbeddingCache(tmp_path, "fake@1")
    reader = EmbeddingCache(tmp_path, "fake@1")
    writer.put_many(["committed"], np.ones((1, 8)))
    assert list(reader.get_many(["committed"])) == [0]


def test_put_many_rejects_mismatched_lengths(tmp_path):
    with pytest.raises(ValueError):
        EmbeddingCache(tmp_path, "fake@1").put_many(["a", "b"], np.ones((1, 8)))


# ---------------------------------------------------------- cached embedder


def test_resume_embeds_only_the_missing_half(tmp_path):
    first = make_cached(tmp_path)
    first.embed(TEXTS[:10])
    assert first.stats == {"requested": 10, "unique": 10, "cache_hits": 0, "shipped": 0, "embedded": 10}

    inner = FakeEmbedder()
    second = make_cached(tmp_path, inner)  # a new run, same cache folder
    result = second.embed(TEXTS)
    assert sorted(inner.encoded) == sorted(TEXTS[10:])
    assert second.stats == {"requested": 20, "unique": 20, "cache_hits": 10, "shipped": 0, "embedded": 10}
    np.testing.assert_allclose(result, np.stack([unit(vector_for(t)) for t in TEXTS]), atol=1e-6)


def test_killed_run_keeps_every_chunk_stored_before_the_kill(tmp_path):
    # batch_size 4 per stored chunk; inner batches of 3 -> 2 calls per chunk.
    dying = make_cached(tmp_path, FakeEmbedder(fail_after_calls=4), batch_size=4)
    with pytest.raises(KeyboardInterrupt):
        dying.embed(TEXTS)
    stored = len(EmbeddingCache(tmp_path, "fake@1"))
    assert stored == 8  # chunks 1 and 2 committed; chunk 3 died on its first call

    inner = FakeEmbedder()
    make_cached(tmp_path, inner).embed(TEXTS)
    assert len(inner.encoded) == 12


def test_order_preserved_with_duplicates_and_variants(tmp_path):
    texts = ["b bus", "a logement", "b  bus ", "c vélo", "a logement", "b\u00a0bus"]
    inner = FakeEmbedder()
    embedder = make_cached(tmp_path, inner)
    result = embedder.embed(texts)

    assert sorted(inner.encoded) == ["a logement", "b bus", "c vélo"]  # each once, normalised
    assert embedder.stats == {"requested": 6, "unique": 3, "cache_hits": 0, "shipped": 0, "embedded": 3}
    expected = np.stack([unit(vector_for(normalise_for_cache(t))) for t in texts])
    np.testing.assert_allclose(result, expected, atol=1e-6)
    assert result.dtype == np.float32 and result.shape == (6, 8)


def test_cached_vectors_equal_fresh_ones(tmp_path):
    fresh = make_cached(tmp_path).embed(TEXTS)
    again = make_cached(tmp_path)
    cached = again.embed(list(reversed(TEXTS)))
    assert again.stats["cache_hits"] == 20 and again.stats["embedded"] == 0
    np.testing.assert_array_equal(cached, fresh[::-1])


def test_empty_input(tmp_path):
    inner = FakeEmbedder()
    result = make_cached(tmp_path, inner).embed([])
    assert result.shape == (0, 8) and result.dtype == np.float32
    assert inner.calls == 0


def test_progress_bar_does_not_change_results(tmp_path, capsys):
    plain = make_cached(tmp_path / "a").embed(TEXTS)
    shown = make_cached(tmp_path / "b").embed(TEXTS, show_progress=True)
    np.testing.assert_array_equal(plain, shown)
    assert capsys.readouterr().out == ""  # the bar goes to stderr


def test_cached_embedder_refuses_fitted_backends_and_foreign_caches(tmp_path):
    class Fitted(FakeEmbedder):
        needs_fit = True

    with pytest.raises(ValueError, match="fitted"):
        CachedEmbedder(Fitted(), EmbeddingCache(tmp_path, "fake@1"))
    with pytest.raises(ValueError, match="cache is for"):
        CachedEmbedder(FakeEmbedder(), EmbeddingCache(tmp_path, "other@2"))


# ------------------------------------------------------------- base contract


def test_base_embed_normalises_batches_and_keeps_order():
    inner = FakeEmbedder()
    result = inner.embed(TEXTS[:7])
    assert inner.calls == 3  # batch_size 3
    np.testing.assert_allclose(np.linalg.norm(result, axis=1), 1, atol=1e-6)
    np.testing.assert_allclose(result, np.stack([unit(vector_for(t)) for t in TEXTS[:7]]), atol=1e-6)


def test_base_embed_restores_order_after_custom_batch_order():
    class LengthSorted(FakeEmbedder):
        def _batch_order(self, texts):
            return np.argsort([-len(t) for t in texts], kind="stable")

    texts = ["a", "ccc ccc", "bb", "dddd dddd dd", "e"]
    result = LengthSorted().embed(texts)
    np.testing.assert_allclose(result, FakeEmbedder().embed(texts), atol=1e-6)


def test_embed_refuses_a_bare_string_and_non_strings():
    with pytest.raises(TypeError, match="single str"):
        FakeEmbedder().embed("one answer")
    with pytest.raises(TypeError, match="#1"):
        FakeEmbedder().embed(["ok", float("nan")])


# ------------------------------------------------------------------ locations


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    monkeypatch.delenv("CRITERIA_NLP_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    return tmp_path


def test_cache_root_defaults_to_xdg_cache_home(clean_env):
    root = cache_root()
    assert root == clean_env / "xdg" / "criteria-nlp"
    assert root.is_dir()


def test_env_var_beats_xdg(clean_env, monkeypatch):
    monkeypatch.setenv("CRITERIA_NLP_CACHE_DIR", str(clean_env / "env"))
    assert cache_root() == clean_env / "env"


def test_override_beats_env(clean_env, monkeypatch):
    monkeypatch.setenv("CRITERIA_NLP_CACHE_DIR", str(clean_env / "env"))
    assert cache_root(clean_env / "opt") == clean_env / "opt"
    assert cache_root(str(clean_env / "opt2")) == clean_env / "opt2"
    assert not (clean_env / "xdg").exists()


def test_models_and_embeddings_dirs_live_under_the_root(clean_env):
    assert models_dir(clean_env / "r") == clean_env / "r" / "models"
    assert embeddings_dir(clean_env / "r") == clean_env / "r" / "embeddings"
    assert (clean_env / "r" / "models").is_dir() and (clean_env / "r" / "embeddings").is_dir()


def test_unwritable_cache_root_is_a_clear_error(clean_env):
    from criteria_nlp.errors import OutputError

    blocker = clean_env / "file"
    blocker.write_text("not a folder")
    with pytest.raises(OutputError, match="CRITERIA_NLP_CACHE_DIR"):
        cache_root(Path(blocker) / "sub")


def test_damaged_cache_file_is_a_clear_error(tmp_path):
    from criteria_nlp.errors import OutputError

    path = EmbeddingCache(tmp_path, "fake@1").path
    path.write_bytes(b"this is not a database" * 100)
    for suffix in ("-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    with pytest.raises(OutputError, match="delete that file"):
        EmbeddingCache(tmp_path, "fake@1")


def test_warm_up_loads_the_model_only_when_a_text_is_not_stored(tmp_path):
    class Loading(FakeEmbedder):
        loads = 0

        def load(self):
            self.loads += 1

    make_cached(tmp_path).embed(TEXTS[:10])
    inner = Loading()
    cached = make_cached(tmp_path, inner)
    cached.warm_up(TEXTS[:10])  # every vector stored: a re-run loads nothing
    assert inner.loads == 0
    cached.warm_up(TEXTS[5:15])
    assert inner.loads == 1
    FakeEmbedder().warm_up(TEXTS)  # a backend without a model: nothing to load, no error

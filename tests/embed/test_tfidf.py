"""The TF-IDF + SVD baseline."""

import numpy as np
import pytest

from criteria_nlp.embed import get_embedder
from criteria_nlp.embed.cache import CachedEmbedder, EmbeddingCache
from criteria_nlp.embed.tfidf import TfidfEmbedder
from criteria_nlp.errors import InputError

CORPUS = [
    "pas assez de bus le soir",
    "plus de bus le soir et le week-end",
    "les bus passent trop rarement le soir",
    "avoir un logement décent",
    "un logement décent et pas trop cher",
    "trouver un logement abordable",
    "des espaces verts près de chez moi",
    "plus de parcs et d'espaces verts",
    "la sécurité dans le quartier la nuit",
    "se sentir en sécurité le soir dans la rue",
    "een fatsoenlijke woning hebben",
    "meer bussen 's avonds",
]


def test_same_seed_gives_identical_vectors():
    a = TfidfEmbedder(seed=3).fit(CORPUS).embed(CORPUS)
    b = TfidfEmbedder(seed=3).fit(CORPUS).embed(CORPUS)
    np.testing.assert_array_equal(a, b)


def test_shape_dtype_and_normalisation():
    embedder = TfidfEmbedder().fit(CORPUS)
    vectors = embedder.embed(CORPUS)
    # small corpus: at most n_samples - 1 components
    assert embedder.dim == len(CORPUS) - 1
    assert vectors.shape == (len(CORPUS), len(CORPUS) - 1) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)


def test_n_components_is_respected_when_the_corpus_allows_it():
    embedder = TfidfEmbedder(n_components=4).fit(CORPUS)
    assert embedder.embed(CORPUS[:3]).shape == (3, 4)


def test_embedding_does_not_refit():
    embedder = TfidfEmbedder(n_components=5).fit(CORPUS)
    whole = embedder.embed(CORPUS)
    np.testing.assert_allclose(embedder.embed(CORPUS[3:6]), whole[3:6], atol=1e-6)
    assert embedder.embed([]).shape == (0, 5)


def test_paraphrases_are_nearer_than_unrelated_answers():
    v = TfidfEmbedder(n_components=8).fit(CORPUS).embed(CORPUS)
    bus, bus2, housing = v[0], v[1], v[3]
    assert bus @ bus2 > bus @ housing


def test_embed_before_fit_is_a_clear_error():
    with pytest.raises(RuntimeError, match="fit"):
        TfidfEmbedder().embed(["un texte"])


def test_fit_needs_two_answers_with_text():
    with pytest.raises(InputError):
        TfidfEmbedder().fit(["seul"])
    with pytest.raises(InputError):
        TfidfEmbedder().fit(["", " "])


def test_factory_and_never_cached(tmp_path):
    embedder = get_embedder("tfidf", seed=7, cache_dir=tmp_path)
    assert isinstance(embedder, TfidfEmbedder) and embedder.needs_fit and embedder.seed == 7
    embedder.fit(CORPUS)
    with pytest.raises(ValueError, match="fitted"):
        CachedEmbedder(embedder, EmbeddingCache(tmp_path, embedder.model_id))

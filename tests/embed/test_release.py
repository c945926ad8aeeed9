"""An embedder frees its model on request and loads it again when next needed, with the
same vectors (what a 100,000-answer run does after its embed stage)."""

import numpy as np


def test_release_frees_the_model_and_the_next_call_reloads_it(e5_embedder):
    from criteria_nlp.embed import get_embedder

    texts = ["un logement trop cher", "werk vinden in de buurt"]
    before = e5_embedder.embed(texts)
    e5_embedder.release()
    assert e5_embedder._model is None
    np.testing.assert_allclose(e5_embedder.embed(texts), before, atol=1e-5)
    assert e5_embedder._model is not None
    # Through the cache layer the inner embedder is released too.
    cached = get_embedder("e5", cache_dir=e5_embedder.cache_dir, use_cache=True)
    cached.embed(texts[:1])
    cached.release()
    assert getattr(cached, "inner", cached)._model is None

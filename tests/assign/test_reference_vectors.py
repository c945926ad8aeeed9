"""The SPIRAL codebook's reference texts ship with their e5 vectors (data/spiral_vectors.npz),
so a first run does not embed them: the file must cover every reference text, for the model
id e5 has today (rebuild: `python -m criteria_nlp.assign.reference_vectors`)."""

from criteria_nlp.assign.reference_vectors import reference_texts
from criteria_nlp.embed.cache import EmbeddingCache
from criteria_nlp.embed.e5 import E5Embedder
from criteria_nlp.embed.shipped import CODEBOOK_VECTORS, read_shipped


def test_the_shipped_vectors_cover_every_reference_text_of_the_spiral_codebook():
    shipped = read_shipped(CODEBOOK_VECTORS)
    assert shipped is not None
    assert shipped.model_id == E5Embedder(device="cpu").model_id
    texts = reference_texts()
    missing = [t for t in texts if EmbeddingCache.key(shipped.model_id, t) not in shipped.index]
    assert not missing, f"{len(missing)} reference texts have no shipped vector, e.g. {missing[:3]}"
    assert shipped.vectors.shape == (len(texts), 384)

"""Rebuilding the shipped-vectors files (`embed.shipped`): the maintenance step after editing
the package's own texts (`python -m criteria_nlp.assign.reference_vectors`,
`python -m criteria_nlp.describe.library_vectors`). Apart from `shipped` because it needs the
embedding cache's keys, and the cache itself reads the shipped files."""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from criteria_nlp.embed.shipped import BUILT_WITH, write_shipped


def rebuild(names: Sequence[str], texts: Sequence[str]) -> list[tuple[Path, int]]:
    """Embed `texts` with the embedder each shipped file of `names` is built with (BUILT_WITH)
    and write those package files: the maintenance step after editing the package's own
    texts. Returns each file's path and row count."""
    from criteria_nlp.embed import get_embedder
    from criteria_nlp.embed.cache import EmbeddingCache

    written = []
    for name in names:
        embedder = get_embedder(BUILT_WITH[name])
        path = Path(str(resources.files("criteria_nlp.data").joinpath(name)))
        vectors = embedder.embed(texts, show_progress=True)
        written.append((path, write_shipped(path, embedder.model_id, [EmbeddingCache.key(embedder.model_id, t) for t in texts], vectors)))
    return written

"""A light, corpus-fitted baseline: TF-IDF on character and word n-grams reduced by SVD (LSA).

No model, instant, deterministic for a seed; not cross-lingual (answers in different languages
share few n-grams), so it is a fallback and a yardstick for e5, not a replacement.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from criteria_nlp.embed.base import Embedder, as_text_list
from criteria_nlp.errors import InputError


class TfidfEmbedder(Embedder):
    name = "tfidf"
    needs_fit = True
    batch_size = 4096  # sparse and cheap: batching only bounds memory

    def __init__(self, n_components: int = 256, seed: int = 0):
        if n_components < 1:
            raise ValueError("n_components must be >= 1")
        self.n_components = n_components
        self.seed = seed
        self.vectorizers_: list | None = None
        self.svd_ = None

    @property
    def model_id(self) -> str:
        import sklearn

        return (
            f"tfidf-char2-5+word1-2-svd{self.n_components}"
            f"@sklearn-{sklearn.__version__}+seed{self.seed}"
        )

    @property
    def dim(self) -> int:
        # Known only after fit: the SVD may keep fewer components on a small corpus.
        return self._fitted_svd().n_components

    def fit(self, texts: Sequence[str]) -> "TfidfEmbedder":
        from sklearn.decomposition import TruncatedSVD
        from sklearn.feature_extraction.text import TfidfVectorizer

        # Sorted: the learned vocabulary and SVD do not depend on the order of the rows.
        texts = sorted(as_text_list(texts))
        if len(texts) < 2:
            raise InputError(f"tf-idf needs at least 2 answers to learn from, got {len(texts)}")
        # Character n-grams within word boundaries survive typos, inflection and compounds;
        # word uni/bigrams add whole-word and phrase evidence. Sublinear tf damps repetition.
        vectorizers = [
            TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, dtype=np.float32),
            TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True, dtype=np.float32),
        ]
        blocks = []
        for vectorizer in vectorizers:
            try:
                blocks.append(vectorizer.fit_transform(texts))
            except ValueError:  # empty vocabulary, e.g. only one-letter words
                blocks.append(None)
        if blocks[0] is None:
            raise InputError("tf-idf found no text to learn from: the answers are empty")
        self.vectorizers_ = [v for v, b in zip(vectorizers, blocks) if b is not None]
        matrix = _hstack([b for b in blocks if b is not None])
        k = min(self.n_components, matrix.shape[0] - 1, matrix.shape[1] - 1)
        if k < 1:
            raise InputError("tf-idf needs at least 2 answers with some text to learn from")
        import warnings

        with warnings.catch_warnings():
            # Identical answers: no variance to explain (0/0 in explained_variance_ratio_), harmless.
            warnings.simplefilter("ignore", RuntimeWarning)
            self.svd_ = TruncatedSVD(n_components=k, random_state=self.seed).fit(matrix)
        return self

    def _encode(self, texts: list[str]) -> np.ndarray:
        svd = self._fitted_svd()
        matrix = _hstack([v.transform(texts) for v in self.vectorizers_])
        return svd.transform(matrix).astype(np.float32)

    def _fitted_svd(self):
        if self.svd_ is None:
            raise RuntimeError("TfidfEmbedder is not fitted: call fit(texts) on the corpus before embed()")
        return self.svd_


def _hstack(blocks):
    from scipy.sparse import hstack

    return hstack(blocks, format="csr")

"""Shared fixtures. Expensive models load once per session; tests needing them are marked."""

import pytest


@pytest.fixture(scope="session")
def e5_embedder(tmp_path_factory):
    """The real e5 embedder (uncached), converted once per session into a temporary cache
    folder so tests never touch the user's cache. Its ``cache_dir`` can be reused."""
    from criteria_nlp.embed.e5 import E5Embedder

    embedder = E5Embedder(cache_dir=tmp_path_factory.mktemp("criteria-nlp-cache"))
    embedder.load()
    return embedder


@pytest.fixture(autouse=True)
def _english_terminal(monkeypatch):
    """Terminal messages follow the locale: tests see the English ones, whatever the machine's
    locale (tests of other languages set LANG themselves)."""
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")


@pytest.fixture(scope="session", autouse=True)
def isolated_result_cache(tmp_path_factory):
    """Cached vectors and text analyses of the tests go to a temporary cache root, never the
    user's; the converted models (slow to rebuild) are shared through a link."""
    import os

    from criteria_nlp.io.paths import CACHE_ENV_VAR, models_dir

    if os.environ.get("CRITERIA_NLP_TESTS_USE_REAL_CACHE"):
        yield None
        return
    root = tmp_path_factory.mktemp("criteria-nlp-results-cache")
    (root / "models").symlink_to(models_dir(), target_is_directory=True)
    patch = pytest.MonkeyPatch()
    patch.setenv(CACHE_ENV_VAR, str(root))
    yield root
    patch.undo()

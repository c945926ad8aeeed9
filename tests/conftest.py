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

"""The prepare stage (language identification) and the lemma analysis in a second process,
while the run's own process loads the embedding model and embeds.

Why a process and not a thread: loading the model (importing torch, reading the weights) and
lingua's detection both hold the GIL, so in two threads they took as long as one after the
other (9.0 s against 8.9 s on 3,000 answers). The model load uses one core for about 7 s;
on a 2-core machine the other core sat idle while the language stage waited its turn.
In a second process, language identification (2-3 s at 3,000 long answers) and then the
lemma analysis run on that core, and lingua's models never enter the run's own memory.

Results are the same as in-process: the child runs the same functions on the same inputs
(`prepare_answers`, `Analyser.packed_words`), and fills the same content caches."""

from __future__ import annotations

import time

from criteria_nlp.describe.analyser import Analyser
from criteria_nlp.io.corpus import Corpus
from criteria_nlp.pipeline.state import RunState
from criteria_nlp.prepare.answers import prepare_answers, texts_by_language
from criteria_nlp.processes import CHILD_START_ERRORS, child_process, result_or_here

# Answers from which the prepare stage runs in its own process: below, detection takes well
# under a second and starting a Python process (about 1 s of CPU) would cost more than it hides.
SIDE_PROCESS_FROM = 1000

# What the child prepared, kept for the analysis that follows it in the same process.
_prepared = None


def _prepare_in_child(corpus: Corpus, languages, cache_dir, use_cache: bool):
    global _prepared
    start = time.perf_counter()
    _prepared = prepare_answers(corpus, languages, show_progress=False, cache_dir=cache_dir, use_cache=use_cache)
    return _prepared, time.perf_counter() - start


def _analyse_in_child(cache_dir, use_cache: bool) -> tuple[dict[str, tuple[list[str], list[tuple[str, ...]]]], float, dict]:
    """Each language's distinct texts and their content words (`Analyser.packed_words`), the
    seconds it took and the analyser's cache statistics."""
    start = time.perf_counter()
    analyser = Analyser(cache_dir=cache_dir, use_cache=use_cache)
    out = {}
    try:
        for language, texts in texts_by_language(RunState.from_answers(_prepared).rows).items():
            unique = list(dict.fromkeys(texts))
            out[language] = (unique, analyser.packed_words(unique, language))
    finally:
        analyser.close()
    return out, time.perf_counter() - start, dict(analyser.stats)


class SidePrepare:
    """`prepare_answers` (and, with `analyse`, the answers' lemma analysis) started in a
    spawned process; `answers()` waits for the prepared answers, `fill(analyser)` hands the
    analyses to the run's analyser. Where the process cannot start or dies, the same work is
    done in the run's process: nothing is lost but the overlap."""

    def __init__(self, corpus: Corpus, languages, *, cache_dir=None, use_cache: bool = False, analyse: bool = True):
        self._inline = (corpus, languages, cache_dir, use_cache)
        self._broken = False
        self.seconds: dict[str, float] = {}
        # The lowest CPU priority: the child takes the cores the run's process leaves idle (the
        # model load is single-threaded; the embedder waits between batches) and little else.
        self._pool = child_process(low_priority=True)
        self._prepared = self._pool.submit(_prepare_in_child, corpus, languages, cache_dir, use_cache)
        self._analysed = self._pool.submit(_analyse_in_child, cache_dir, use_cache) if analyse else None
        # The child ends with its last task: its memory (lingua's models, the lemma tables) is
        # not kept beside the run's later stages.
        (self._analysed or self._prepared).add_done_callback(lambda _: self.close())

    @classmethod
    def start(cls, corpus: Corpus, languages, **options) -> "SidePrepare | None":
        """A side process for a corpus large enough to gain from it; None otherwise, or where
        no process can be started (the caller then prepares in its own process)."""
        if len(corpus.answers) < SIDE_PROCESS_FROM:
            return None
        try:
            return cls(corpus, languages, **options)
        except CHILD_START_ERRORS:
            return None

    def _prepare_here(self):
        self._broken = True
        self.close()
        corpus, languages, cache_dir, use_cache = self._inline
        return prepare_answers(corpus, languages, cache_dir=cache_dir, use_cache=use_cache), None

    def answers(self):
        answers, seconds = result_or_here(self._prepared, self._prepare_here)
        if seconds is not None:  # prepared in the child: its time is reported as the side's
            self.seconds["language"] = round(seconds, 3)
        return answers

    @property
    def analyses_started(self) -> bool:
        return self._analysed is not None and not self._broken

    def fill(self, analyser: Analyser) -> None:
        """Put the child's analyses in `analyser` (those missing are analysed there later)."""
        if self._analysed is None:
            return
        try:
            analyses, seconds, stats = self._analysed.result()
        except Exception:  # noqa: BLE001 - the run's analyser redoes what is missing, and reports its own errors
            return
        finally:
            self.close()
        self.seconds["analysis"] = round(seconds, 3)
        for language, (texts, packed) in analyses.items():
            analyser.add(language, texts, packed)
        for name, count in stats.items():  # analysed there, or read from the cache there
            analyser.stats[name] = analyser.stats.get(name, 0) + count

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

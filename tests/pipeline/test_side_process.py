"""The prepare stage and the lemma analysis in a side process give what the run's own process
would, and a side process that dies costs nothing but the overlap."""

import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from criteria_nlp.config import DEFAULT_LANGUAGES
from criteria_nlp.describe.analyser import Analyser
from criteria_nlp.io.corpus import read_answers
from criteria_nlp.pipeline.side_process import SIDE_PROCESS_FROM, SidePrepare
from criteria_nlp.pipeline.state import RunState
from criteria_nlp.prepare.answers import likely_answer_texts, prepare_answers, texts_by_language

DEMO = Path(__file__).resolve().parents[2] / "corpora" / "demo" / "answers.csv"


@pytest.fixture(scope="module")
def corpus():
    return read_answers(DEMO)


def test_side_process_prepares_and_analyses_as_the_run_would(corpus, tmp_path):
    side = SidePrepare(corpus, DEFAULT_LANGUAGES, cache_dir=tmp_path, use_cache=True)
    try:
        answers = side.answers()
        analyser = Analyser()
        side.fill(analyser)
    finally:
        side.close()
    expected = prepare_answers(corpus, DEFAULT_LANGUAGES)
    pd.testing.assert_frame_equal(answers, expected)
    assert set(side.seconds) == {"language", "analysis"}
    # The child's cache statistics: every text analysed there, none read from a cache.
    assert analyser.stats == {"analysed": sum(len(set(t)) for t in texts_by_language(RunState.from_answers(expected).rows).values()),
                              "cache_hits": 0}
    # The analyses arrived: describe reads them without analysing anything itself.
    by_language = texts_by_language(RunState.from_answers(expected).rows)
    analysed = analyser.stats["analysed"]
    for language, texts in by_language.items():
        assert analyser.content_words(texts, language) == Analyser().content_words(texts, language)
    assert analyser.stats["analysed"] == analysed
    # And the side process filled the content cache like the run's own process does.
    warm = Analyser(cache_dir=tmp_path, use_cache=True)
    language, texts = next(iter(by_language.items()))
    warm.content_words(texts, language)
    assert warm.stats["analysed"] == 0 and warm.stats["cache_hits"] == len(set(texts))


def test_a_side_process_that_dies_is_replaced_by_the_run_itself(corpus):
    side = SidePrepare(corpus, DEFAULT_LANGUAGES)
    for process in list(side._pool._processes.values()):  # killed before it could answer
        process.kill()
    try:
        answers = side.answers()
        assert not side.analyses_started  # describe analyses in the run's process instead
        analyser = Analyser()
        side.fill(analyser)
        assert analyser.stats["analysed"] == 0
    finally:
        side.close()
    pd.testing.assert_frame_equal(answers, prepare_answers(corpus, DEFAULT_LANGUAGES))


def test_small_corpora_stay_in_the_run_process(corpus):
    small = read_answers(DEMO)
    small.answers = small.answers.head(SIDE_PROCESS_FROM - 1)
    assert SidePrepare.start(small, DEFAULT_LANGUAGES) is None


def test_likely_answer_texts_are_what_prepare_keeps(corpus):
    prepared = prepare_answers(corpus, DEFAULT_LANGUAGES)
    kept = prepared.loc[prepared["status"] == "answer", "text"].tolist()
    assert likely_answer_texts(corpus.answers, DEFAULT_LANGUAGES) == kept
    answers = pd.DataFrame({"text": ["rien", "-", "我们需要更多的公园和绿地", "Plus de pistes cyclables"]})
    assert likely_answer_texts(answers, DEFAULT_LANGUAGES) == ["Plus de pistes cyclables"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's")
def test_the_side_process_ends_when_the_run_is_killed():
    code = ("import time; from criteria_nlp.config import DEFAULT_LANGUAGES; from criteria_nlp.io.corpus import read_answers; "
            "from criteria_nlp.pipeline.side_process import SidePrepare; "
            f"side = SidePrepare(read_answers({str(DEMO)!r}), DEFAULT_LANGUAGES); "
            "print(*side._pool._processes, flush=True); time.sleep(120)")
    run = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        child = int(run.stdout.readline())
        time.sleep(1.0)  # the child has started its work
    finally:
        run.kill()
        run.wait()
    deadline = time.monotonic() + 15
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _alive(child)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state not in ("Z", "X")  # a zombie has ended; only its parent's wait is missing

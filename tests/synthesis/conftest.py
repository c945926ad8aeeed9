"""A Synthesis fitted once per session on part of the demo corpus (tfidf: no model to load),
and the demo's second wave."""

from pathlib import Path

import pandas as pd
import pytest

DEMO = Path(__file__).resolve().parents[2] / "corpora" / "demo"


def read_demo(name: str) -> pd.DataFrame:
    return pd.read_csv(DEMO / name, dtype=str, keep_default_na=False)


@pytest.fixture(scope="session")
def demo_sample() -> pd.DataFrame:
    """Every third demo answer: every city, language and question, a third of the time."""
    return read_demo("answers.csv").iloc[::3].reset_index(drop=True)


@pytest.fixture(scope="session")
def second_wave() -> pd.DataFrame:
    return read_demo("extra_answers.csv")


@pytest.fixture(scope="session")
def fitted(demo_sample):
    from criteria_nlp.synthesis import Synthesis

    return Synthesis(embedder="tfidf", seed=0).fit(demo_sample)


@pytest.fixture(scope="session")
def saved_model(fitted, tmp_path_factory) -> Path:
    return fitted.save(tmp_path_factory.mktemp("synthesis") / "model")

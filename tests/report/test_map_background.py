"""The report's map laid out in a background thread: the same layout as in the foreground,
its errors raised where the foreground would raise them, and BLAS left as it was."""

import numpy as np
import pytest

from criteria_nlp.report.outdir import MapInBackground, map_coordinates


def _vectors(n=60, dim=12, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(3, dim))
    return np.array([centres[i % 3] + 0.2 * rng.normal(size=dim) for i in range(n)])


def test_background_layout_equals_the_foreground_one():
    vectors = _vectors()
    ids = [f"a{i}" for i in range(len(vectors))]
    languages = ["fr" if i % 2 else "nl" for i in range(len(vectors))]
    front, note = map_coordinates(ids, vectors, languages, seed=3)
    back, back_note = MapInBackground(ids, vectors, languages, seed=3).result()
    assert note == back_note and note.startswith("t-SNE")
    assert back["id"].tolist() == ids
    np.testing.assert_allclose(back[["x", "y"]].to_numpy(), front[["x", "y"]].to_numpy(), atol=1e-9)


def test_background_error_is_raised_by_result():
    layout = MapInBackground(["a", "b"], np.zeros((3, 4)), ["fr", "fr", "fr"])  # 2 ids for 3 vectors
    with pytest.raises(ValueError):
        layout.result()


def test_background_layout_leaves_the_process_blas_threads_alone():
    from threadpoolctl import threadpool_info

    before = [(p["user_api"], p["num_threads"]) for p in threadpool_info() if p["user_api"] == "blas"]
    MapInBackground([f"a{i}" for i in range(40)], _vectors(40), ["fr"] * 40).result()
    after = [(p["user_api"], p["num_threads"]) for p in threadpool_info() if p["user_api"] == "blas"]
    assert after == before

"""2-D map coordinates: deterministic, scaled, meaning over language."""

import numpy as np
import pytest

from criteria_nlp.report.projection import project_2d


def _vectors():
    """Two topics in two 'languages': each language adds its own offset to every vector."""
    rng = np.random.RandomState(0)
    topics = rng.randn(2, 40) * 3
    language_shift = {"fr": rng.randn(40) * 6, "lv": rng.randn(40) * 6}
    rows, topic_of, languages = [], [], []
    for language in ("fr", "lv"):
        for topic in (0, 1):
            for _ in range(15):
                rows.append(topics[topic] + language_shift[language] + rng.randn(40) * 0.5)
                topic_of.append(topic)
                languages.append(language)
    return np.array(rows), np.array(topic_of), languages


@pytest.mark.parametrize("method", ["tsne", "pca"])
def test_projection_is_seeded_scaled_and_groups_meaning(method):
    vectors, topics, languages = _vectors()
    coords, note = project_2d(vectors, languages, method=method, seed=3)
    again, _ = project_2d(vectors, languages, method=method, seed=3)
    assert coords.shape == (60, 2) and np.array_equal(coords, again)
    assert coords.min() == 0 and coords.max() == 1
    assert note
    # After removing each language's mean, answers of the same topic sit together across languages.
    centres = np.array([coords[topics == t].mean(axis=0) for t in (0, 1)])
    within = np.mean([np.linalg.norm(coords[topics == t] - centres[t], axis=1).mean() for t in (0, 1)])
    assert np.linalg.norm(centres[0] - centres[1]) > 2 * within


def test_tiny_inputs():
    assert project_2d(np.zeros((0, 4)))[0].shape == (0, 2)
    coords, _ = project_2d(np.eye(2, 4))
    assert coords.shape == (2, 2)
    with pytest.raises(ValueError):
        project_2d(np.eye(5, 4), method="umap")


def test_large_maps_lay_out_a_sample_and_place_the_rest_among_their_neighbours():
    vectors, topics, languages = _vectors()
    coords, note = project_2d(vectors, languages, seed=1, tsne_sample=20)
    again, _ = project_2d(vectors, languages, seed=1, tsne_sample=20)
    assert coords.shape == (60, 2) and np.array_equal(coords, again)
    assert "sample of 20" in note
    centres = np.array([coords[topics == t].mean(axis=0) for t in (0, 1)])
    within = np.mean([np.linalg.norm(coords[topics == t] - centres[t], axis=1).mean() for t in (0, 1)])
    assert np.linalg.norm(centres[0] - centres[1]) > 2 * within


def test_the_report_map_is_cached_by_content(tmp_path, monkeypatch):
    from criteria_nlp.report import outdir, projection

    vectors, _, languages = _vectors()
    ids = [f"a{i}" for i in range(len(vectors))]
    first, note = outdir.map_coordinates(ids, vectors, languages, seed=2, cache_dir=tmp_path, use_cache=True)

    def must_not_run(*args, **kwargs):
        raise AssertionError("laid out again")

    monkeypatch.setattr(projection, "project_2d", must_not_run)
    again, again_note = outdir.map_coordinates(ids, vectors, languages, seed=2, cache_dir=tmp_path, use_cache=True)
    assert again.equals(first) and again_note == note
    with pytest.raises(AssertionError, match="laid out again"):  # another seed is another map
        outdir.map_coordinates(ids, vectors, languages, seed=3, cache_dir=tmp_path, use_cache=True)

"""The notebook figures: plotly figures of the map, the city × code heatmap and the
codebook coverage; a clear error without plotly."""

import sys

import numpy as np
import pytest

go = pytest.importorskip("plotly.graph_objects")


def test_map_has_one_point_per_coded_answer_with_its_text(fitted):
    figure = fitted.plot_map()
    assert isinstance(figure, go.Figure)
    points = sum(len(trace.x) for trace in figure.data)
    assert points == int((fitted.answers_["status"] == "answer").sum())
    first = fitted.answers_[fitted.answers_["status"] == "answer"]["text"].iloc[0]
    assert any(text.startswith(first[:40]) for trace in figure.data for text in trace.text)


def test_heatmap_is_cities_by_codes_with_shares(fitted):
    figure = fitted.plot_heatmap(by="city")
    heatmap = figure.data[0]
    assert set(heatmap.x) == set(fitted.answers_["city"])
    shares = fitted.compare(by="city", level="code")
    assert len(heatmap.y) == shares["item"].nunique()
    assert 0 <= float(np.nanmax(np.asarray(heatmap.z, dtype=float))) <= 1


def test_coverage_counts_every_codable_code(fitted):
    figure = fitted.plot_coverage()
    bars = figure.data[0]
    assert len(bars.y) == len(fitted.codebook_.codable()) + 1
    assert sum(bars.x) == int((fitted.answers_["status"] == "answer").sum())


def test_coverage_curve_against_manual_codes(fitted):
    figure = fitted.plot_coverage(gold="manual_code")
    curve = fitted.evaluate(gold="manual_code", table="coverage")
    assert [trace.name for trace in figure.data] == ["share auto-coded", "accuracy of those"]
    assert list(figure.data[0].y) == curve["coverage"].tolist()


def test_without_plotly_the_error_says_what_to_install(fitted, monkeypatch):
    from criteria_nlp.synthesis.figures import PlotlyMissingError

    monkeypatch.setitem(sys.modules, "plotly", None)
    monkeypatch.setitem(sys.modules, "plotly.graph_objects", None)
    with pytest.raises(PlotlyMissingError, match=r"criteria-nlp\[plot\]"):
        fitted.plot_coverage()

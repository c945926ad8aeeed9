"""The report's charts as interactive figures a notebook displays (plotly, the optional
`[plot]` extra, imported only when a figure is asked for). The HTML report keeps its own
self-contained SVG charts."""

from __future__ import annotations

import pandas as pd

from criteria_nlp.errors import CriteriaNLPError


class PlotlyMissingError(CriteriaNLPError):
    """plotly is not installed."""


def _plotly():
    try:
        import plotly.graph_objects as go
    except ImportError:
        raise PlotlyMissingError("figures need plotly: pip install 'criteria-nlp[plot]'") from None
    return go


def _short(text: str, width: int = 90) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def map_figure(fitted, codebook):
    """The answers on the report's 2-D map (language-centred t-SNE or PCA, same seed), one
    colour per code; hovering shows the answer, its code and group."""
    from criteria_nlp.report.outdir import map_coordinates

    go = _plotly()
    rows = fitted.state.rows
    coords, note = map_coordinates(rows["id"].tolist(), fitted.state.vectors, rows["language"].tolist(), seed=fitted.config.seed)
    frame = rows[["id", "text", "language", "code", "code_label", "cluster"]].reset_index(drop=True)
    frame[["x", "y"]] = coords[["x", "y"]].to_numpy()
    figure = go.Figure()
    for code, points in frame.groupby(frame["code"].replace("", "(no code)"), sort=True):
        label = codebook.label(code) if code in codebook else code
        figure.add_trace(go.Scattergl(
            x=points["x"], y=points["y"], mode="markers", name=_short(f"{code} {label}" if label != code else code, 40),
            text=[f"{_short(t)}<br>{c} · group {g} · {lang}" for t, c, g, lang in
                  zip(points["text"], points["code_label"], points["cluster"], points["language"])],
            hovertemplate="%{text}<extra></extra>", marker={"size": 6, "opacity": 0.8}))
    figure.update_layout(title=f"Map of the answers ({note})", xaxis={"visible": False}, yaxis={"visible": False},
                         legend={"title": "code"}, height=600)
    return figure


def heatmap_figure(comparison: pd.DataFrame, *, by: str = "city", level: str = "code"):
    """Share of each `by` value's answers per code (rows) and value (columns); distinctive
    cells (over / under at the adjusted p-value) are marked ▲ / ▼."""
    from criteria_nlp.report.compare import pivot_shares

    go = _plotly()
    shares = pivot_shares(comparison, by=by, level=level, values="share")
    if shares.empty:
        raise CriteriaNLPError(f"nothing to compare by {by}: it needs at least two values with answers")
    marks = pivot_shares(comparison, by=by, level=level, values="distinctive").fillna("")
    labels = comparison.drop_duplicates("item").set_index("item")["label"].reindex(shares.index).fillna("")
    text = [[f"{v:.0%}{' ▲' if m == 'over' else ' ▼' if m == 'under' else ''}" if pd.notna(v) else ""
             for v, m in zip(row_values, row_marks)] for row_values, row_marks in zip(shares.to_numpy(), marks.to_numpy())]
    rows = [_short(f"{item} {label}", 50) for item, label in zip(shares.index, labels)]
    figure = go.Figure(go.Heatmap(z=shares.to_numpy(), x=list(shares.columns), y=rows, text=text, texttemplate="%{text}",
                                  colorscale="Blues", colorbar={"title": "share", "tickformat": ".0%"},
                                  hovertemplate="%{y}<br>%{x}: %{text}<extra></extra>"))
    figure.update_layout(title=f"{level.capitalize()} by {by}: share of each {by}'s answers (▲ ▼ distinctive)",
                         yaxis={"autorange": "reversed"}, height=max(400, 22 * len(rows) + 150))
    return figure


def coverage_figure(answers: pd.DataFrame, codebook):
    """Codebook coverage: answers per codable code, including codes no answer received, and
    the answers left without a code."""
    go = _plotly()
    coded = answers[answers["status"] == "answer"] if "status" in answers.columns else answers
    counts = coded["code"].fillna("").astype(str).value_counts()
    codes = [c.code for c in codebook.codable()]
    values = [int(counts.get(code, 0)) for code in codes] + [int(counts.get("", 0))]
    names = [_short(f"{code} {codebook.label(code)}", 50) for code in codes] + ["(no code: left for review)"]
    figure = go.Figure(go.Bar(x=values, y=names, orientation="h", hovertemplate="%{y}: %{x} answers<extra></extra>"))
    unused = sum(1 for v in values[:-1] if v == 0)
    figure.update_layout(title=f"Codebook coverage: {len(codes) - unused} of {len(codes)} codes used",
                         yaxis={"autorange": "reversed"}, xaxis={"title": "answers"}, height=max(400, 18 * len(names) + 150))
    return figure


def coverage_curve_figure(curve: pd.DataFrame):
    """The semi-automatic coding curve: for each confidence threshold, the share of answers
    coded automatically and their accuracy against the manual codes."""
    go = _plotly()
    figure = go.Figure()
    figure.add_trace(go.Scatter(x=curve["threshold"], y=curve["coverage"], mode="lines+markers", name="share auto-coded"))
    figure.add_trace(go.Scatter(x=curve["threshold"], y=curve["accuracy"], mode="lines+markers", name="accuracy of those"))
    figure.update_layout(title="Semi-automatic coding: coverage and accuracy by confidence threshold",
                         xaxis={"title": "confidence threshold (min_confidence)"},
                         yaxis={"title": "share", "tickformat": ".0%", "range": [0, 1.02]})
    return figure

"""Static inline SVG charts for the HTML report.

Why SVG written here rather than plotly: the report must be one file an analyst can
e-mail, with no request to any network host. Inline plotly.js adds ~4.6 MB to every
report (mail servers commonly cap attachments at 10-25 MB) and runs a large script over
citizen text; static SVG weighs a few hundred kB, prints, opens in any browser with
scripts disabled, and SVG <title> elements give native hover tooltips (the answer text
on the map). Every string placed in the SVG goes through markupsafe.escape.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from markupsafe import Markup, escape

# Colour-blind-safe qualitative palette (Okabe-Ito, then Tol's muted) for code families.
FAMILY_COLOURS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#882255", "#117733",
                  "#999933", "#44AA99", "#AA4499", "#332288"]


GREY = "#9a9a9a"


FONT = "font-family:system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif"


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def diverging_colour(value: float, limit: float = 4.0) -> str:
    """Blue (negative) - white - orange-red (positive), clipped at ±limit; grey for NaN."""
    if value is None or not np.isfinite(value):
        return "#f0f0f0"
    t = max(-1.0, min(1.0, value / limit))
    end = (202, 0, 32) if t > 0 else (5, 113, 176)
    r, g, b = (round(255 + (c - 255) * abs(t)) for c in end)
    return f"#{r:02x}{g:02x}{b:02x}"


def sequential_colour(value: float, high: float) -> str:
    """White to dark blue for counts (confusion matrices)."""
    if not high or value is None or not np.isfinite(value) or value <= 0:
        return "#ffffff"
    t = min(1.0, value / high) ** 0.6
    r, g, b = (round(255 + (c - 255) * t) for c in (8, 48, 107))
    return f"#{r:02x}{g:02x}{b:02x}"


def text_colour(fill: str) -> str:
    r, g, b = (int(fill[i:i + 2], 16) for i in (1, 3, 5))
    return "#000" if (0.299 * r + 0.587 * g + 0.114 * b) > 140 else "#fff"


def shade(hex_colour: str, amount: float) -> str:
    """Lighten (amount > 0) or darken (amount < 0) a colour, amount in [-1, 1]."""
    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    target = 255 if amount > 0 else 0
    r, g, b = (round(c + (target - c) * abs(amount)) for c in (r, g, b))
    return f"#{r:02x}{g:02x}{b:02x}"


def heatmap(values: np.ndarray, row_labels: Sequence[str], col_labels: Sequence[str], *, cell_text: np.ndarray,
            cell_titles: np.ndarray, colours: np.ndarray, outlined: np.ndarray | None = None, label: str,
            cell: int = 30, col_width: int | None = None, row_label_width: int = 300, css_class: str = "heatmap",
            skip_empty: bool = False, legend: Sequence[tuple[str, str]] = ()) -> Markup:
    """Rows × columns of coloured cells with a short text each and a hover title.
    `skip_empty` leaves out cells with no text (sparse tables such as confusion matrices)."""
    n_rows, n_cols = np.asarray(values).shape if len(row_labels) and len(col_labels) else (0, 0)
    col_width = col_width or max(cell, 44)
    header = 130
    label_chars = int(row_label_width / 7.2)
    width = row_label_width + n_cols * col_width + 70  # room for the last rotated column label
    height = header + n_rows * cell + 10
    parts = [f'<svg class="{css_class}" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}" style="{FONT};font-size:12px">',
             f'<rect x="{row_label_width}" y="{header}" width="{n_cols * col_width}" height="{n_rows * cell}" fill="#fff" stroke="#ddd"/>']
    for k, (colour, text) in enumerate(legend):
        parts.append(f'<rect x="{10 + k * 44}" y="14" width="44" height="14" fill="{colour}" stroke="#ccc"/>'
                     f'<text x="{32 + k * 44}" y="42" text-anchor="middle" font-size="10">{escape(text)}</text>')
    for j, name in enumerate(col_labels):
        x = row_label_width + j * col_width + col_width / 2
        parts.append(f'<text x="{x:.1f}" y="{header - 6}" transform="rotate(-45 {x:.1f} {header - 6})">{escape(_short(name, 24))}'
                     f'<title>{escape(name)}</title></text>')
    for i, name in enumerate(row_labels):
        y = header + i * cell
        parts.append(f'<text x="{row_label_width - 6}" y="{y + cell / 2 + 4:.1f}" text-anchor="end">{escape(_short(name, label_chars))}'
                     f'<title>{escape(name)}</title></text>')
        for j in range(n_cols):
            x = row_label_width + j * col_width
            if skip_empty and not cell_text[i, j] and not (outlined is not None and outlined[i, j]):
                continue
            fill = colours[i, j]
            stroke = ' stroke="#000" stroke-width="2.5"' if outlined is not None and outlined[i, j] else ' stroke="#fff" stroke-width="1"'
            parts.append(f'<g class="cell"><rect x="{x}" y="{y}" width="{col_width}" height="{cell}" fill="{fill}"{stroke}>'
                         f'<title>{escape(cell_titles[i, j])}</title></rect>'
                         f'<text x="{x + col_width / 2:.1f}" y="{y + cell / 2 + 4:.1f}" text-anchor="middle" fill="{text_colour(fill)}" '
                         f'pointer-events="none">{escape(cell_text[i, j])}</text></g>')
    parts.append("</svg>")
    return Markup("".join(parts))


def diverging_bars(labels: Sequence[str], values: Sequence[float], *, titles: Sequence[str], strong: Sequence[bool],
                   label: str, limit: float | None = None, axis_label: str = "", label_width: int = 330,
                   bar_height: int = 20, width: int = 760, css_class: str = "bars",
                   number: Callable[[float], str] | None = None, not_significant: str = "n.s.") -> Markup:
    """Horizontal bars left/right of zero; `strong` bars are solid, the others pale (marked
    `not_significant`); `number` writes the values (the report's locale)."""
    number = number or _fmt
    values = [float(v) for v in values]
    limit = limit or max([abs(v) for v in values if np.isfinite(v)] + [1.0])
    gutter = 70  # room for the values of the longest negative bars
    plot = width - label_width - gutter - 90
    zero = label_width + gutter + plot / 2
    label_chars = int(label_width / 7.2)
    height = 30 + len(values) * bar_height + 24
    parts = [f'<svg class="{css_class}" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}" style="{FONT};font-size:12px">',
             f'<line x1="{zero:.1f}" y1="20" x2="{zero:.1f}" y2="{height - 22}" stroke="#444"/>']
    for i, (name, value, title, solid) in enumerate(zip(labels, values, titles, strong)):
        y = 24 + i * bar_height
        extent = (min(abs(value), limit) / limit) * plot / 2 if np.isfinite(value) else 0
        x = zero if value >= 0 else zero - extent
        colour = "#ca0020" if value >= 0 else "#0571b0"
        fill = colour if solid else shade(colour, 0.65)
        parts.append(f'<g class="bar"><text x="{label_width - 6}" y="{y + bar_height / 2 + 3:.1f}" text-anchor="end">'
                     f'{escape(_short(name, label_chars))}</text>'
                     f'<rect x="{x:.1f}" y="{y + 2}" width="{max(extent, 1):.1f}" height="{bar_height - 4}" fill="{fill}">'
                     f'<title>{escape(title)}</title></rect>'
                     f'<text x="{(x + extent + 4) if value >= 0 else (x - 4):.1f}" y="{y + bar_height / 2 + 3:.1f}" '
                     f'text-anchor="{"start" if value >= 0 else "end"}" fill="#333">{escape(number(value))}{"" if solid else escape(f" ({not_significant})")}</text></g>')
    parts.append(f'<text x="{zero:.1f}" y="{height - 6}" text-anchor="middle" fill="#333">{escape(axis_label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def share_bars(labels: Sequence[str], shares: Sequence[float], lows: Sequence[float], highs: Sequence[float], *,
               titles: Sequence[str], colours: Sequence[str], label: str, label_width: int = 300, bar_height: int = 16,
               width: int = 760, reference: float | None = None, css_class: str = "bars",
               percent: Callable[[float, int], str] | None = None) -> Markup:
    """Horizontal share bars (0-100 %) with their confidence interval as a whisker; `percent`
    writes the shares (the report's locale)."""
    percent = percent or (lambda value, digits: f"{value * 100:.{digits}f} %")
    top = max([h for h in highs if np.isfinite(h)] + [s for s in shares if np.isfinite(s)] + [0.01])
    if reference is not None:
        top = max(top, reference)
    plot = width - label_width - 60
    height = 14 + len(labels) * bar_height + 26
    parts = [f'<svg class="{css_class}" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}" style="{FONT};font-size:11px">']
    for i, (name, share, low, high, title, colour) in enumerate(zip(labels, shares, lows, highs, titles, colours)):
        y = 10 + i * bar_height
        w = share / top * plot if np.isfinite(share) else 0
        parts.append(f'<g class="bar"><text x="{label_width - 6}" y="{y + bar_height / 2 + 3:.1f}" text-anchor="end">'
                     f'{escape(_short(name, int(label_width / 6.6)))}</text><rect x="{label_width}" y="{y + 2}" width="{max(w, 0.5):.1f}" '
                     f'height="{bar_height - 4}" fill="{colour}"><title>{escape(title)}</title></rect>')
        if np.isfinite(low) and np.isfinite(high):
            x1, x2 = label_width + low / top * plot, label_width + high / top * plot
            ym = y + bar_height / 2
            parts.append(f'<line x1="{x1:.1f}" y1="{ym:.1f}" x2="{x2:.1f}" y2="{ym:.1f}" stroke="#222"/>')
        parts.append(f'<text x="{label_width + max(w, high / top * plot if np.isfinite(high) else 0) + 4:.1f}" '
                     f'y="{y + bar_height / 2 + 3:.1f}" fill="#333">{escape(percent(share, 1))}</text></g>')
    if reference is not None:
        x = label_width + reference / top * plot
        parts.append(f'<line x1="{x:.1f}" y1="6" x2="{x:.1f}" y2="{height - 20}" stroke="#666" stroke-dasharray="4 3"/>')
    parts.append(f'<text x="{label_width}" y="{height - 6}" fill="#333">{escape(percent(0.0, 0))}</text>'
                 f'<text x="{label_width + plot:.1f}" y="{height - 6}" text-anchor="end" fill="#333">{escape(percent(top, 0))}</text></svg>')
    return Markup("".join(parts))


def scatter(x: Sequence[float], y: Sequence[float], *, colours: Sequence[str], titles: Sequence[str], label: str,
            legend: Sequence[tuple[str, str]] = (), size: int = 640, radius: float = 3.2, css_class: str = "map") -> Markup:
    """Points in a square; each point's <title> is its hover text. `x`, `y` in [0, 1]."""
    legend_width = 260 if legend else 0
    pad = 12
    width, height = size + legend_width, max(size, 24 + 18 * len(legend))
    parts = [f'<svg class="{css_class}" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}" style="{FONT};font-size:12px">',
             f'<rect x="0.5" y="0.5" width="{size - 1}" height="{size - 1}" fill="#fff" stroke="#ccc"/>']
    span = size - 2 * pad
    for px, py, colour, title in zip(x, y, colours, titles):
        parts.append(f'<circle class="point" cx="{pad + px * span:.1f}" cy="{pad + (1 - py) * span:.1f}" r="{radius}" '
                     f'fill="{colour}" fill-opacity="0.8"><title>{escape(title)}</title></circle>')
    for i, (name, colour) in enumerate(legend):
        ly = 20 + i * 18
        parts.append(f'<circle cx="{size + 18}" cy="{ly - 4}" r="5" fill="{colour}"/>'
                     f'<text x="{size + 30}" y="{ly}">{escape(_short(name, 34))}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _short(text: str, limit: int) -> str:
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"

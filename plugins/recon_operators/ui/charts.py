"""Trend plots drawn on the server as inline SVG: no chart library, nothing fetched by the browser.

One function: a line chart of one or more series over the same runs (x) with a labelled y axis.
Every text in the SVG is escaped here, so callers may pass ledger text as labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from html import escape

PALETTE = ("#1f6fb2", "#d9480f", "#2b8a3e", "#862e9c", "#e67700", "#0b7285", "#c2255c", "#5c940d")
_LEFT, _RIGHT, _TOP, _BOTTOM = 64, 16, 28, 56


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | Decimal | None]  # one per x label; None leaves a gap


def _fmt(value: float) -> str:
    if value == int(value) and abs(value) < 1e12:
        return f"{int(value):,}"
    return f"{value:,.4g}" if abs(value) >= 1 else f"{value:.4g}"


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    if high == low:
        return [low]
    step = (high - low) / (count - 1)
    return [low + i * step for i in range(count)]


def line_chart(
    title: str,
    x_labels: Sequence[str],
    series: Sequence[Series],
    *,
    y_label: str = "",
    y_range: tuple[float, float] | None = None,
    width: int = 760,
    height: int = 280,
    suffix: str = "",
) -> str:
    """An SVG line chart; ``y_range`` fixes the axis (e.g. 0..100 for percentages)."""
    values = [float(v) for s in series for v in s.values if v is not None]
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" aria-label="{escape(title)}">'
        f'<text x="{_LEFT}" y="16" class="chart-title">{escape(title)}</text>'
    )
    if not values or not x_labels:
        return head + f'<text x="{_LEFT}" y="{height // 2}" class="chart-empty">no runs recorded yet</text></svg>'
    legend_rows = (len(series) + 3) // 4
    bottom = _BOTTOM + 14 * (legend_rows - 1)
    low, high = y_range if y_range else (min(0.0, *values), max(0.0, *values))
    if high == low:
        high = low + 1
    plot_w, plot_h = width - _LEFT - _RIGHT, height - _TOP - bottom

    def x_at(i: int) -> float:
        return _LEFT + (plot_w / 2 if len(x_labels) == 1 else plot_w * i / (len(x_labels) - 1))

    def y_at(v: float) -> float:
        return _TOP + plot_h * (1 - (v - low) / (high - low))

    parts = [
        head,
        f'<text x="12" y="{_TOP + plot_h / 2:.0f}" class="chart-axis" '
        f'transform="rotate(-90 12 {_TOP + plot_h / 2:.0f})" text-anchor="middle">{escape(y_label)}</text>',
    ]
    for tick in _ticks(low, high):
        y = y_at(tick)
        parts.append(
            f'<line x1="{_LEFT}" x2="{_LEFT + plot_w}" y1="{y:.1f}" y2="{y:.1f}" class="chart-grid"/>'
            f'<text x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" class="chart-tick">'
            f"{_fmt(tick)}{escape(suffix)}</text>"
        )
    for i, label in enumerate(x_labels):
        short = label if len(label) <= 18 else label[:8] + "…" + label[-8:]
        anchor = "start" if i == 0 and len(x_labels) > 1 else "end" if i == len(x_labels) - 1 and i else "middle"
        parts.append(
            f'<text x="{x_at(i):.1f}" y="{_TOP + plot_h + 16}" text-anchor="{anchor}" class="chart-tick">'
            f"<title>{escape(label)}</title>{escape(short)}</text>"
        )
    for n, one in enumerate(series):
        colour = PALETTE[n % len(PALETTE)]
        points = [(x_at(i), y_at(float(v)), v, x_labels[i]) for i, v in enumerate(one.values) if v is not None]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _, _ in points)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for x, y, v, label in points:
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{colour}" class="chart-point">'
                f"<title>{escape(one.name)} @ {escape(label)}: {_fmt(float(v))}{escape(suffix)}</title>"
                f"</circle>"
            )
        legend_x = _LEFT + (n % 4) * (plot_w / 4)
        legend_y = height - 14 * (legend_rows - n // 4) - 6
        parts.append(
            f'<rect x="{legend_x:.0f}" y="{legend_y - 9}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{legend_x + 14:.0f}" y="{legend_y}" class="chart-legend">{escape(one.name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)

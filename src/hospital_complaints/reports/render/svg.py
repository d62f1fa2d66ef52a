"""Charts as inline SVG, drawn here: no script, no font or file from anywhere else.

Every text that reaches a chart (a department's name, a root cause) is escaped. Each chart has
a ``<title>`` (screen readers) and fixed ``width``/``height`` attributes, so it has its size
before any style applies, in a browser and in print.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from ..build.model import Chart

PALETTE = ("#1f6fb2", "#d9822b", "#2e9e5b", "#b23a48", "#7a5ba6", "#5b7083", "#c2a20c",
           "#1b9aaa")
FONT = "font-family=\"'Noto Sans CJK SC','WenQuanYi Micro Hei','Microsoft YaHei','PingFang SC'," \
       "sans-serif\""


def _fmt(value: float, unit: str) -> str:
    if unit == "pct":
        return f"{value * 100:.0f}%"
    if abs(value) >= 100 or value == int(value):
        return f"{value:,.0f}"
    return f"{value:.1f}"


def nice_max(value: float, unit: str) -> float:
    """A round top for the axis (1 for shares up to 100 %)."""
    if unit == "pct":
        return 1.0 if value <= 1 else math.ceil(value * 10) / 10
    if value <= 0:
        return 1.0
    exp = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * exp:
            return float(step * exp)
    return float(10 * exp)


def _t(text: str) -> str:
    return escape(text, quote=True)


def _head(chart: Chart, width: int, height: int) -> list[str]:
    title = f"{chart.title.zh} {chart.title.en}"
    return [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" data-chart="{_t(chart.id)}" '
            f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
            f'aria-labelledby="c-{_t(chart.id)}-t" {FONT} font-size="11">',
            f'<title id="c-{_t(chart.id)}-t">{_t(title)}</title>',
            f'<text x="8" y="16" font-size="13" font-weight="bold">{_t(title)}</text>']


def _legend(chart: Chart, x: float, y: float) -> list[str]:
    out = []
    for i, s in enumerate(chart.series):
        color = PALETTE[i % len(PALETTE)]
        out.append(f'<rect x="{x:.1f}" y="{y + i * 16 - 9:.1f}" width="10" height="10" '
                   f'fill="{color}"/><text x="{x + 14:.1f}" y="{y + i * 16:.1f}">'
                   f'{_t(str(s.name))}</text>')
    return out


def line_chart(chart: Chart, width: int = 760, height: int = 280) -> str:
    left, right, top, bottom = 56, 190, 30, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for s in chart.series for v in s.values if v is not None]
    values += [r.value for r in chart.references]
    top_value = nice_max(max(values, default=0.0), chart.unit)
    n = max(1, len(chart.categories))

    def xy(i: int, v: float) -> tuple[float, float]:
        x = left + (plot_w * (i + 0.5) / n)
        y = top + plot_h - plot_h * (v / top_value if top_value else 0)
        return x, y

    out = _head(chart, width, height)
    for k in range(5):
        v = top_value * k / 4
        _, y = xy(0, v)
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" '
                   f'stroke="#ddd"/><text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">'
                   f'{_t(_fmt(v, chart.unit))}</text>')
    for i, cat in enumerate(chart.categories):
        x, _ = xy(i, 0)
        out.append(f'<text x="{x:.1f}" y="{top + plot_h + 16}" text-anchor="middle" '
                   f'font-size="9">{_t(cat)}</text>')
    for r in chart.references:
        _, y = xy(0, r.value)
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" '
                   f'stroke="#888" stroke-dasharray="5 4"/><text x="{left + plot_w + 4}" '
                   f'y="{y + 4:.1f}" font-size="10" fill="#555">{_t(str(r.label))}</text>')
    for si, s in enumerate(chart.series):
        color = PALETTE[si % len(PALETTE)]
        runs: list[list[tuple[float, float]]] = [[]]
        for i, value in enumerate(s.values):
            if value is None:
                runs.append([])
                continue
            runs[-1].append(xy(i, value))
        for run in runs:
            if len(run) > 1:
                pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in run)
                out.append(f'<polyline points="{pts}" fill="none" stroke="{color}" '
                           'stroke-width="2"/>')
            for x, y in run:
                out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.6" fill="{color}"/>')
    out.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" '
               f'y2="{top + plot_h}" stroke="#333"/>')
    out += _legend(chart, left + plot_w + 12, top + 10 + 16 * max(0, len(chart.references)))
    out.append("</svg>")
    return "".join(out)


def bar_chart(chart: Chart, width: int = 760) -> str:
    """Horizontal grouped bars: long zh/en category names stay readable."""
    label_w, right, top = 250, 60, 30
    k = max(1, len(chart.series))
    bar_h = 9
    group_h = k * bar_h + 8
    height = top + group_h * max(1, len(chart.categories)) + 16 * k + 20
    plot_w = width - label_w - right
    values = [v for s in chart.series for v in s.values if v is not None]
    top_value = nice_max(max(values, default=0.0), chart.unit)
    out = _head(chart, width, height)
    for ci, cat in enumerate(chart.categories):
        y0 = top + ci * group_h
        shown = cat if len(cat) <= 40 else cat[:39] + "…"
        out.append(f'<text x="{label_w - 6}" y="{y0 + group_h / 2 + 3:.1f}" '
                   f'text-anchor="end">{_t(shown)}</text>')
        for si, s in enumerate(chart.series):
            v = s.values[ci] if ci < len(s.values) else None
            color = PALETTE[si % len(PALETTE)]
            w = 0.0 if v is None or not top_value else plot_w * v / top_value
            y = y0 + si * bar_h + 4
            out.append(f'<rect x="{label_w}" y="{y:.1f}" width="{max(w, 0):.1f}" '
                       f'height="{bar_h - 1}" fill="{color}"/>')
            shown_v = "—" if v is None else _fmt(v, chart.unit)
            out.append(f'<text x="{label_w + max(w, 0) + 4:.1f}" y="{y + bar_h - 2:.1f}" '
                       f'font-size="9">{_t(shown_v)}</text>')
    base = top + group_h * max(1, len(chart.categories))
    out.append(f'<line x1="{label_w}" y1="{top}" x2="{label_w}" y2="{base}" stroke="#333"/>')
    out += _legend(chart, label_w, base + 16)
    out.append("</svg>")
    return "".join(out)


def chart_svg(chart: Chart) -> str:
    return line_chart(chart) if chart.kind == "line" else bar_chart(chart)


def sparkline(values: Sequence[float | int | None], unit: str, width: int = 120,
              height: int = 26) -> str:
    """A 12-month trend in a table cell; its numbers are in ``data-values``."""
    nums = [float(v) for v in values if v is not None]
    top = max(nums, default=0.0) or 1.0
    n = max(1, len(values))
    pts = []
    for i, v in enumerate(values):
        if v is None:
            continue
        x = 2 + (width - 4) * (i / max(1, n - 1))
        y = height - 3 - (height - 6) * (float(v) / top)
        pts.append(f"{x:.1f},{y:.1f}")
    data = ",".join("null" if v is None else repr(round(float(v), 6)) for v in values)
    label = ", ".join("—" if v is None else _fmt(float(v), unit) for v in values)
    line = f'<polyline points="{" ".join(pts)}" fill="none" stroke="#1f6fb2" ' \
           'stroke-width="1.5"/>' if len(pts) > 1 else ""
    dot = ""
    if pts:
        cx, cy = pts[-1].split(",")
        dot = f'<circle cx="{cx}" cy="{cy}" r="2" fill="#b23a48"/>'
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="spark" width="{width}" '
            f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
            f'data-values="[{data}]"><title>{_t(label)}</title>{line}{dot}</svg>')

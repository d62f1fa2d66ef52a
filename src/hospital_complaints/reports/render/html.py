"""HTML: one self-contained page that opens with no network at all.

Hospital intranets are closed, so the page loads nothing: styles are inline, charts are
inline SVG, there is no script, and a Content-Security-Policy forbids any fetch. Chinese
text uses the fonts of the reader's machine (a CJK font stack, no web font). A print
stylesheet keeps tables and charts whole on A4 pages. Every text that came from outside is
escaped.

Each table cell carries its value in ``data-value`` (the same as the JSON format's), and a
row's 12-month trend is one sparkline whose numbers are in ``data-values``.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from html import escape
from pathlib import Path

from ..build.model import Column, Report, Section, Table, Value
from .svg import chart_svg, sparkline

CSS = """
:root { color-scheme: light; }
body { font-family: 'Noto Sans CJK SC', 'WenQuanYi Micro Hei', 'Microsoft YaHei',
       'PingFang SC', 'Helvetica Neue', Arial, sans-serif; margin: 24px auto; max-width: 1180px;
       color: #1d2733; line-height: 1.45; padding: 0 16px; }
h1 { font-size: 24px; margin-bottom: 4px; }
h2 { font-size: 19px; border-bottom: 2px solid #1f6fb2; padding-bottom: 3px; margin-top: 34px; }
h3 { font-size: 15px; margin: 20px 0 6px; }
.meta { color: #52606d; font-size: 13px; }
.note { color: #52606d; font-size: 12px; margin: 4px 0; }
.unavailable { background: #fff6e0; border-left: 4px solid #d9822b; padding: 6px 10px; }
nav ol { columns: 2; font-size: 13px; }
table { border-collapse: collapse; font-size: 12px; margin: 6px 0 4px; }
th, td { border: 1px solid #c9d2dc; padding: 3px 6px; vertical-align: middle; }
th { background: #eef3f8; font-weight: 600; text-align: center; }
th .en { display: block; font-weight: 400; color: #52606d; font-size: 11px; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.none { color: #9aa5b1; text-align: center; }
.wrap { overflow-x: auto; }
svg.chart { display: block; margin: 10px 0; max-width: 100%; height: auto; }
svg.spark { display: block; }
@media print {
  @page { size: A4 landscape; margin: 12mm; }
  body { margin: 0; max-width: none; font-size: 11px; }
  nav { display: none; }
  h2 { page-break-before: auto; break-after: avoid; }
  table, svg.chart, figure { break-inside: avoid; page-break-inside: avoid; }
  .wrap { overflow: visible; }
  thead { display: table-header-group; }
}
"""
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _data_value(v: Value) -> str:
    if v is None:
        return "null"
    if isinstance(v, (datetime, date)):
        return json.dumps(v.isoformat())
    if isinstance(v, float):
        return repr(round(v, 6))
    if isinstance(v, bool):
        return json.dumps(v)
    if isinstance(v, int):
        return str(v)
    return json.dumps(v, ensure_ascii=False)


def shown(v: Value, column: Column) -> str:
    if v is None:
        return "—"
    if column.kind == "pct" and isinstance(v, (int, float)):
        return f"{v * 100:.1f}%"
    if isinstance(v, datetime):
        return v.strftime("%Y-%m-%d %H:%M")
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, bool):
        return "是 yes" if v else "否 no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:,.2f}".rstrip("0").rstrip(".") if v != int(v) else f"{v:,.0f}"
    return str(v)


def _th(column: Column) -> str:
    if column.title.zh == column.title.en:
        return f"<th>{_e(column.title.zh)}</th>"
    return f'<th>{_e(column.title.zh)}<span class="en">{_e(column.title.en)}</span></th>'


def table_html(table: Table) -> str:
    plain = [i for i, c in enumerate(table.columns) if c.group != "trend"]
    trend = [i for i, c in enumerate(table.columns) if c.group == "trend"]
    unit = table.columns[trend[0]].kind if trend else "int"
    head = "".join(_th(table.columns[i]) for i in plain)
    if trend:
        first, last = table.columns[trend[0]].key[1:], table.columns[trend[-1]].key[1:]
        head += (f'<th>12 个月趋势<span class="en">12-month trend ({_e(first)} – '
                 f'{_e(last)})</span></th>')
    rows = []
    for row in table.rows:
        cells = []
        for i in plain:
            v, c = row[i], table.columns[i]
            cls = "none" if v is None else ("num" if c.kind != "text" else "text")
            cells.append(f'<td class="{cls}" data-col="{_e(c.key)}" '
                         f'data-value="{_e(_data_value(v))}">{_e(shown(v, c))}</td>')
        if trend:
            values = [row[i] for i in trend]
            nums = [v if isinstance(v, (int, float)) else None for v in values]
            cells.append(f'<td class="trend" data-col="trend">{sparkline(nums, unit)}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    notes = "".join(f'<p class="note">{_e(n.zh)}<br>{_e(n.en)}</p>' for n in table.notes)
    chart = chart_svg(table.chart) if table.chart is not None and table.rows else ""
    empty = "" if table.rows else ('<p class="note">本期无数据。No data for this period.</p>')
    return (f'<section class="table" id="t-{_e(table.id)}" data-table="{_e(table.id)}">'
            f"<h3>{_e(table.title.zh)} · {_e(table.title.en)}</h3>{chart}"
            f'<div class="wrap"><table><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table></div>{empty}{notes}</section>")


def section_html(section: Section) -> str:
    notes = "".join(f'<p class="note{"" if section.available else " unavailable"}">'
                    f"{_e(n.zh)}<br>{_e(n.en)}</p>" for n in section.notes)
    charts = "".join(chart_svg(c) for c in section.charts)
    tables = "".join(table_html(t) for t in section.tables)
    return (f'<section class="section" id="s-{_e(section.id)}" data-section="{_e(section.id)}">'
            f"<h2>{_e(section.title.zh)} {_e(section.title.en)}</h2>{notes}{charts}{tables}"
            "</section>")


def report_html(report: Report) -> str:
    toc = "".join(f'<li><a href="#s-{_e(s.id)}">{_e(s.title.zh)} {_e(s.title.en)}</a></li>'
                  for s in report.sections)
    notes = "".join(f'<p class="note">{_e(n.zh)}<br>{_e(n.en)}</p>' for n in report.notes)
    meta = (f"{_e(report.period)} · {_e(report.scope)} · 截至 as of "
            f"{_e(report.as_of.strftime('%Y-%m-%d %H:%M'))} · 生成 generated "
            f"{_e(report.generated_at.strftime('%Y-%m-%d %H:%M'))}")
    body = "".join(section_html(s) for s in report.sections)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="zh-CN"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="generator" content="hospital-complaints report {_e(report.id)}">'
        f"<title>{_e(report.title.zh)} {_e(report.period)} · {_e(report.title.en)}</title>"
        f"<style>{CSS}</style></head><body>"
        f'<header><h1>{_e(report.title.zh)} · {_e(report.title.en)}</h1>'
        f'<p class="meta">{meta}</p>{notes}</header>'
        f'<nav><ol>{toc}</ol></nav><main data-report="{_e(report.id)}" '
        f'data-period="{_e(report.period)}">{body}</main></body></html>\n')


def write_html(report: Report, path: Path) -> None:
    path.write_text(report_html(report), encoding="utf-8")

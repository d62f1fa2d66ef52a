"""XLSX (openpyxl): a cover sheet, then one sheet per table, with native Excel charts.

Numbers are numbers, shares are numbers formatted as percent, dates and times are Excel
dates in the report's zone (Excel has no time zones; the cover sheet names the zone), and
text is Unicode, so a zh-CN Excel shows it as written.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.chart.series import SeriesLabel
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from ..build.model import Report, Table, Value

HEADER_FILL = PatternFill("solid", fgColor="EEF3F8")
FORMATS = {"pct": "0.0%", "float": "0.00", "int": "0", "date": "yyyy-mm-dd",
           "datetime": "yyyy-mm-dd hh:mm"}
MAX_SERIES = 8


def _cell_value(v: Value) -> int | float | str | date | datetime | None:
    """Excel has no time zones: a datetime is written as the report zone's wall time."""
    if isinstance(v, datetime):
        return v.replace(tzinfo=None)
    return v


def _sheet_name(table_id: str, used: set[str]) -> str:
    base = "".join(ch for ch in table_id if ch not in '[]:*?/\\')[:31] or "table"
    name, n = base, 2
    while name.lower() in used:
        suffix = f"~{n}"
        name, n = base[:31 - len(suffix)] + suffix, n + 1
    used.add(name.lower())
    return name


def _table_sheet(ws: Worksheet, table: Table) -> None:
    ws["A1"] = f"{table.title.zh} {table.title.en}"
    ws["A1"].font = Font(bold=True, size=13)
    header = 3
    for j, c in enumerate(table.columns, 1):
        cell = ws.cell(row=header, column=j, value=c.title.zh if c.title.zh == c.title.en
                       else f"{c.title.zh}\n{c.title.en}")
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, horizontal="center", vertical="center")
        width = 12 if c.group == "trend" else (34 if c.kind == "text" else 16)
        ws.column_dimensions[get_column_letter(j)].width = width
    ws.row_dimensions[header].height = 32
    for i, row in enumerate(table.rows, header + 1):
        for j, (v, c) in enumerate(zip(row, table.columns, strict=True), 1):
            cell = ws.cell(row=i, column=j, value=_cell_value(v))
            if c.kind in FORMATS and v is not None and not isinstance(v, str):
                cell.number_format = FORMATS[c.kind]
    ws.freeze_panes = f"B{header + 1}"
    last = header + len(table.rows)
    for k, note in enumerate(table.notes, last + 2):
        ws.cell(row=k, column=1, value=f"{note.zh} / {note.en}").alignment = Alignment(
            wrap_text=False)
    if table.chart is not None and table.rows:
        _chart(ws, table, header, last)


def _chart(ws: Worksheet, table: Table, header: int, last: int) -> None:
    chart = table.chart
    assert chart is not None
    trend = [j for j, c in enumerate(table.columns, 1) if c.group == "trend"]
    anchor = ws.cell(row=header, column=len(table.columns) + 2).coordinate
    title = f"{chart.title.zh} {chart.title.en}"
    rows = min(last, header + MAX_SERIES)
    if chart.kind == "line" and trend:
        line = LineChart()
        line.title = title
        line.height, line.width = 8, 18
        for r in range(header + 1, rows + 1):
            values = Reference(ws, min_col=trend[0], max_col=trend[-1], min_row=r, max_row=r)
            line.add_data(values, from_rows=True, titles_from_data=False)
            line.series[-1].tx = SeriesLabel(v=str(ws.cell(row=r, column=1).value))
        line.set_categories(Reference(ws, min_col=trend[0], max_col=trend[-1],
                                      min_row=header, max_row=header))
        if table.columns[trend[0]].kind == "pct":
            line.y_axis.number_format = "0%"
        ws.add_chart(line, anchor)
        return
    try:
        col = next(j for j, c in enumerate(table.columns, 1)
                   if c.key in ("current", "count", "cases", "response"))
    except StopIteration:
        return
    bar = BarChart()
    bar.type = "bar"
    bar.title = title
    bar.height, bar.width = max(6, 0.6 * len(table.rows) + 3), 18
    bar.add_data(Reference(ws, min_col=col, min_row=header, max_row=last),
                 titles_from_data=True)
    bar.set_categories(Reference(ws, min_col=1, min_row=header + 1, max_row=last))
    ws.add_chart(bar, anchor)


def write_xlsx(report: Report, path: Path) -> None:
    wb = Workbook()
    cover = wb.active
    assert cover is not None
    cover.title = "report"
    cover["A1"] = f"{report.title.zh} {report.title.en}"
    cover["A1"].font = Font(bold=True, size=15)
    lines: list[tuple[str, str | datetime]] = [
        ("期间 period", report.period), ("范围 scope", str(report.scope)),
        ("统计截至 as of", report.as_of.replace(tzinfo=None)),
        ("生成时间 generated", report.generated_at.replace(tzinfo=None)),
        ("时区 time zone", str(report.as_of.tzinfo))]
    for i, (k, v) in enumerate(lines, 3):
        cover.cell(row=i, column=1, value=k).font = Font(bold=True)
        cell = cover.cell(row=i, column=2, value=v)
        if isinstance(v, datetime):
            cell.number_format = "yyyy-mm-dd hh:mm"
    row = 3 + len(lines) + 1
    for note in report.notes:
        cover.cell(row=row, column=1, value=f"{note.zh} / {note.en}")
        row += 1
    row += 1
    cover.cell(row=row, column=1, value="工作表 sheets").font = Font(bold=True)
    used = {"report"}
    for section in report.sections:
        row += 1
        cover.cell(row=row, column=1, value=f"{section.title.zh} {section.title.en}").font = \
            Font(bold=True)
        for note in section.notes:
            row += 1
            cover.cell(row=row, column=2, value=f"{note.zh} / {note.en}")
        for table in section.tables:
            name = _sheet_name(table.id, used)
            ws = wb.create_sheet(name)
            _table_sheet(ws, table)
            row += 1
            link = cover.cell(row=row, column=2, value=f"{name}: {table.title.zh} "
                                                       f"{table.title.en}")
            link.hyperlink = f"#'{name}'!A1"
    cover.column_dimensions["A"].width = 34
    cover.column_dimensions["B"].width = 90
    wb.save(path)

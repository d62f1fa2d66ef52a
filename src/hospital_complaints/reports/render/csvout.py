"""CSV for Excel on a zh-CN PC: UTF-8 with a byte-order mark, one block per table.

Each block is the table's title row, its header row (Chinese and English), its rows, and an
empty line. Dates are ISO (``2026-11-30``), which Excel reads as dates; shares are written as
percentages (``53.2%``), which Excel reads as numbers formatted as percent.
"""

from __future__ import annotations

import csv
from datetime import date, datetime
from pathlib import Path

from ..build.model import Column, Report, Value

BOM = "\ufeff"


def cell(value: Value, column: Column) -> str:
    if value is None:
        return ""
    if column.kind == "pct" and isinstance(value, (int, float)):
        return f"{value * 100:.1f}%"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:g}" if abs(value) >= 1e-4 or value == 0 else f"{value:.6f}"
    return str(value)


def write_csv(report: Report, path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write(BOM)
        w = csv.writer(f, lineterminator="\r\n")
        w.writerow([f"{report.title.zh} {report.title.en}", report.period, str(report.scope),
                    f"as of {report.as_of.strftime('%Y-%m-%d %H:%M')}"])
        for note in report.notes:
            w.writerow([note.zh, note.en])
        w.writerow([])
        for section in report.sections:
            for note in section.notes:
                w.writerow([f"[{section.id}]", note.zh, note.en])
            for table in section.tables:
                w.writerow([f"[{table.id}]", table.title.zh, table.title.en])
                w.writerow([f"{c.title.zh} {c.title.en}" if c.title.zh != c.title.en
                            else c.title.zh for c in table.columns])
                for row in table.rows:
                    w.writerow([cell(v, c) for v, c in zip(row, table.columns, strict=True)])
                for note in table.notes:
                    w.writerow([note.zh, note.en])
                w.writerow([])

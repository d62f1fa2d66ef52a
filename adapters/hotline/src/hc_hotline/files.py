"""File exchange, for hospitals that download their work orders from the platform's web page
instead of calling its interface:

- :func:`import_orders`: the platform's exported work-order list (XLSX, or CSV in UTF-8,
  UTF-8 with BOM or GB18030 as Excel saves it), columns named by the mapping's
  ``[file.columns]``. Each row is registered once (the ticket is the idempotency key, the
  same one the poller uses), so importing the same list again, or a list that overlaps
  what the poller pulled, registers nothing twice. A row that cannot be used is kept
  (``hotline rejects``) and named with its row number; the others are imported.
- :func:`export_replies`: the replies of a period in the layout the platform imports
  (``[file.reply_columns]``), one row per ticket: a reply to merged orders answers each.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hospital_complaints.plugin_api import CaseFilter, read_text

from .errors import invalid
from .intake import CHANNEL, Taker, Tally
from .mapping import FileLayout, Mapping, code_text, format_time

if TYPE_CHECKING:
    from hospital_complaints.plugin_api import App

    from .settings import Connector

Progress = Callable[[int, int | None], None]


def _layout(m: Mapping, what: str) -> FileLayout:
    if m.file is None:
        raise invalid(what, "--mapping", m.id, "a mapping with a [file] table (the columns of "
                      "the platform's exported list)",
                      f"映射 {m.id} 没有 [file] 表（导出文件的列名）")
    return m.file


# -- reading the list --------------------------------------------------------------------------


def _cell(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        return value.strip()
    return value


def _xlsx_rows(path: Path, sheet: str | None) -> tuple[Iterator[tuple[Any, ...]], int | None]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, OSError, KeyError, ValueError) as exc:
        raise invalid(str(path), str(path), "(file not shown)",
                      f"an .xlsx workbook ({type(exc).__name__}: is it really XLSX?)",
                      f"{path.name} 不是有效的 .xlsx 工作簿") from None
    ws: Any
    if sheet is not None and sheet in book.sheetnames:
        ws = book[sheet]
    elif sheet is not None and len(book.sheetnames) > 1:
        names = ", ".join(book.sheetnames)
        raise invalid(str(path), "file.sheet", sheet, f"a sheet of the workbook: {names}",
                      f"工作簿中没有工作表 {sheet!r}（现有：{names}）")
    else:
        ws = book.worksheets[0]
    total = ws.max_row if isinstance(ws.max_row, int) else None
    return ws.iter_rows(values_only=True), total


def _csv_rows(path: Path, encoding: str | None) -> tuple[Iterator[tuple[Any, ...]], int | None]:
    text = read_text(path, encoding)
    rows = list(csv.reader(io.StringIO(text, newline="")))
    return iter(tuple(r) for r in rows), len(rows)


def read_rows(path: Path, layout: FileLayout, *, encoding: str | None = None,
              sheet: str | None = None) -> tuple[list[str], Iterator[tuple[int, dict[str, Any]]],
                                                 int | None]:
    """The header (our fields found) and the rows as ``(row number, {our field: value})``."""
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        rows, total = _xlsx_rows(path, sheet or layout.sheet)
    elif suffix in (".csv", ".txt"):
        rows, total = _csv_rows(path, encoding)
    else:
        raise invalid(str(path), "FILE", path.name, "an .xlsx or .csv file",
                      f"{path.name}：须为 .xlsx 或 .csv 文件")
    header: tuple[Any, ...] = ()
    for number, row in enumerate(rows, 1):
        if number == layout.header_row:
            header = tuple(code_text(h) if h is not None else "" for h in row)
            break
    positions: dict[str, int] = {}
    missing: list[tuple[str, str]] = []
    for ours, title in layout.columns.items():
        if title in header:
            positions[ours] = header.index(title)
        else:
            missing.append((ours, title))
    if missing:
        shown = ", ".join(f"{t!r} ({o})" for o, t in missing)
        found = ", ".join(repr(h) for h in header if h)[:300] or "(none)"
        raise invalid(path.name, f"row {layout.header_row} (header)", "(header)",
                      f"the columns {shown} named in file.columns; found: {found}",
                      f"第 {layout.header_row} 行缺少列："
                      + "、".join(f"「{t}」（file.columns.{o}）" for o, t in missing))

    def body() -> Iterator[tuple[int, dict[str, Any]]]:
        for number, row in enumerate(rows, layout.header_row + 1):
            if not any(v not in (None, "") for v in row):
                continue
            yield number, {ours: _cell(row[i]) if i < len(row) else None
                           for ours, i in positions.items()}

    rest = None if total is None else max(0, total - layout.header_row)
    return list(positions), body(), rest


@dataclass
class ImportReport:
    file: str
    rows: int
    tally: Tally

    def line(self) -> str:
        return f"{self.file}: {self.rows} rows: {self.tally.summary()}"


def import_orders(app: App, connector: Connector, path: Path, *, encoding: str | None = None,
                  sheet: str | None = None, progress: Progress | None = None,
                  progress_every: int = 500) -> ImportReport:
    """Register every row of the platform's exported list (see the module's doc)."""
    m = connector.mapping
    layout = _layout(m, path.name)
    _fields, rows, total = read_rows(path, layout, encoding=encoding, sheet=sheet)
    taker = Taker(app, connector)
    tally = Tally()
    formats = (layout.time_format, *m.time_formats)
    count = 0
    for number, values in rows:
        count += 1

        def get(field: str, _v: dict[str, Any] = values) -> tuple[Any, str]:
            return _v.get(field), layout.columns.get(field, field)

        taker.take(get, {"row": number, **{layout.columns[k]: v for k, v in values.items()}},
                   f"import:{path.name} row {number}", tally, default_meaning="dispatched",
                   time_formats=formats)
        if progress is not None and count % progress_every == 0:
            progress(count, total)
    if progress is not None:
        progress(count, count)
    return ImportReport(path.name, count, tally)


# -- writing the replies -----------------------------------------------------------------------


@dataclass(frozen=True)
class ReplyRow:
    ticket: str
    reference: str
    replied_at: datetime
    text: str
    method: str
    resolution: str
    outcome: str
    unit: str
    operator: str


def replies(app: App, m: Mapping, start: date, end: date) -> list[ReplyRow]:
    """Every reply (``work_order_replied``) recorded from ``start`` to ``end`` (inclusive,
    in the mapping's zone) on this platform's work orders, one row per ticket."""
    a = datetime.combine(start, time(0), m.zone)
    b = datetime.combine(end + timedelta(days=1), time(0), m.zone)
    out: list[ReplyRow] = []
    for case in app.complaints.iter_cases(filters=CaseFilter(channel=CHANNEL)):
        c = case.complaint
        if c.transferred_from != m.platform:
            continue
        for event in case.events:
            if event.type != "work_order_replied" or not a <= event.at < b:
                continue
            p = event.payload
            tickets = list(p.get("tickets") or []) or ([c.external_id] if c.external_id else [])
            outcome = p.get("outcome") or {}
            for ticket in tickets:
                out.append(ReplyRow(
                    ticket=ticket, reference=case.reference, replied_at=event.at,
                    text=str(p.get("text", "")),
                    method=m.codes.platform_code("method", str(p.get("method", "")))
                    or str(p.get("method", "")),
                    resolution=m.codes.platform_code("resolution", str(p.get("resolution", "")))
                    or str(p.get("resolution", "")),
                    outcome=str(outcome.get("kind", "")) if isinstance(outcome, dict) else "",
                    unit=c.department or "", operator=event.actor))
    out.sort(key=lambda r: (r.replied_at, r.ticket))
    return out


def _safe_cell(value: str) -> str:
    """A CSV cell a spreadsheet will not run as a formula (outside text: the reply). XLSX
    needs no such prefix: its cells are typed (see :func:`export_replies`)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def export_replies(app: App, connector: Connector, start: date, end: date, out: Path, *,
                   encoding: str = "utf-8-sig") -> int:
    """Write the replies of the period to ``out`` (.xlsx or .csv); returns the rows written.
    The file is written whole or not at all."""
    m = connector.mapping
    layout = _layout(m, out.name)
    if not layout.reply_columns:
        raise invalid(out.name, "file.reply_columns", "(none)", "the reply sheet's columns "
                      "(ticket = 工单编号 ...)", "映射未配置 file.reply_columns（答复表的列名）")
    if out.suffix.lower() not in (".xlsx", ".csv"):
        raise invalid(out.name, "OUT", out.name, "an .xlsx or .csv file name",
                      f"{out.name}：须为 .xlsx 或 .csv 文件")
    rows = replies(app, m, start, end)
    columns = list(layout.reply_columns.items())
    table: list[list[Any]] = [[title for _, title in columns]]
    for r in rows:
        line: list[Any] = []
        for source, _title in columns:
            value: Any = getattr(r, source)
            if isinstance(value, datetime):
                value = format_time(value, m, layout.time_format)
            line.append(str(value))
        table.append(line)
    tmp = out.with_name(out.name + ".part")
    try:
        if out.suffix.lower() == ".xlsx":
            from openpyxl import Workbook

            book = Workbook()
            ws = book.active
            assert ws is not None
            ws.title = (layout.sheet or "答复")[:31]
            for line in table:
                ws.append(line)
                for cell in ws[ws.max_row]:  # a reply that starts with "=" stays text
                    if isinstance(cell.value, str) and cell.value.startswith("="):
                        cell.data_type = "s"
            book.save(tmp)
        else:  # the text as written, except a leading formula character (CSV is untyped)
            with tmp.open("w", encoding=encoding, newline="") as f:
                csv.writer(f).writerows([[_safe_cell(c) for c in line] for line in table])
        tmp.replace(out)
    except (OSError, UnicodeEncodeError) as exc:
        tmp.unlink(missing_ok=True)
        raise invalid(out.name, "OUT", str(out), f"a writable file in {encoding} "
                      f"({type(exc).__name__})", f"无法写入 {out}") from None
    return len(rows)

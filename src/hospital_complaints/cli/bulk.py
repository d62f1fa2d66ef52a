"""Reading a bulk complaint file for ``register --many``: JSON lines or CSV (Excel's UTF-8
with BOM, or GB18030), one complaint per line, each read on its own so that a bad line is
reported and the rest go on.

CSV columns are the draft's field names; nested fields use dots (``complainant.name``,
``complainant.phone``, ``patient.patient_id``); ``categories`` and ``accession_numbers`` take
several values separated by ``;``; ``idempotency_key`` is the line's key (a retried import
stores nothing twice). Empty cells are left out. In JSON lines, ``idempotency_key`` may be a
field of the object.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from ..errors import FieldProblem, InvalidInput
from ..services.service import BulkRow

_TRUE = {"1", "true", "yes", "y", "是", "同意"}
_FALSE = {"0", "false", "no", "n", "否", "不同意"}
_BOOLEAN = {"consent_to_contact", "is_whistleblowing"}


def bulk_rows(text: str, name: str, *, csv_format: bool) -> Iterator[BulkRow]:
    """The complaints of a file's text, one :class:`BulkRow` per data line."""
    return _csv_rows(text, name) if csv_format else _jsonl_rows(text, name)


def _bad(line: int, field: str, value: str, allowed: str, zh: str) -> InvalidInput:
    return InvalidInput(f"line {line}", [FieldProblem(field, value, allowed)], [f"  - {zh}"])


def _jsonl_rows(text: str, name: str) -> Iterator[BulkRow]:
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            data = json.loads(raw)
        except (json.JSONDecodeError, RecursionError) as exc:
            yield BulkRow(number, None, error=_bad(
                number, "(line)", f"column {getattr(exc, 'colno', '?')}",
                "one JSON object per line", f"第 {number} 行不是有效的 JSON 对象"))
            continue
        if not isinstance(data, dict):
            yield BulkRow(number, None, error=_bad(
                number, "(line)", f"a JSON {type(data).__name__}", "one JSON object per line",
                f"第 {number} 行须为一个 JSON 对象"))
            continue
        key = data.pop("idempotency_key", None)
        yield BulkRow(number, data, str(key) if key not in (None, "") else None)


def _csv_rows(text: str, name: str) -> Iterator[BulkRow]:
    reader = csv.reader(io.StringIO(text))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        return
    for number, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > len(header):
            yield BulkRow(number, None, error=_bad(
                number, "(line)", f"{len(cells)} cells", f"at most {len(header)} (the header's)",
                f"第 {number} 行的列数（{len(cells)}）多于表头（{len(header)}）"))
            continue
        data: dict[str, Any] = {}
        key: str | None = None
        problem: InvalidInput | None = None
        for column, cell in zip(header, cells, strict=False):
            value = cell.strip()
            if not value or not column:
                continue
            if column == "idempotency_key":
                key = value
                continue
            leaf = column.rsplit(".", 1)[-1]
            converted: Any = value
            if leaf in _BOOLEAN:
                if value.lower() in _TRUE:
                    converted = True
                elif value.lower() in _FALSE:
                    converted = False
                else:
                    problem = _bad(number, column, value, "true or false (是/否, 1/0)",
                                   f"第 {number} 行 {column} 须为 是/否")
                    break
            if column == "categories":
                converted = [v.strip() for v in value.split(";") if v.strip()]
            if column == "accession_numbers":
                data["exam_links"] = [{"accession_number": v.strip()}
                                      for v in value.split(";") if v.strip()]
                continue
            target = data
            parts = column.split(".")
            for part in parts[:-1]:
                target = target.setdefault(part, {})
            target[parts[-1]] = converted
        yield BulkRow(number, None if problem else data, key, problem)

"""CSV and JSON importers for exams, equipment faults and roster shifts.

Each row is checked on its own: a wrong row is reported with its line number and column and
left out, the valid rows are stored (in batches, idempotently). Exams with missing or
out-of-order times are kept and flagged. The columns are documented in docs/correlation.md.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import TypeAdapter, ValidationError

from ..domain.complaint import DicomUID, ModalityCode
from ..domain.imaging import EquipmentFault, RosterShift
from ..errors import FieldProblem, InvalidInput
from .records import ExamRecord
from .repository import ImagingRecords

Kind = Literal["exams", "faults", "roster"]

#: exam CSV column -> ExamRecord attribute (one row per exam, one column per milestone)
EXAM_TIME_COLUMNS = {
    "ordered_at": "ordered_at", "scheduled_start": "scheduled_at", "arrived_at": "arrived_at",
    "started_at": "started_at", "completed_at": "completed_at",
    "preliminary_report_at": "preliminary_at", "final_report_at": "final_at",
    "corrected_report_at": "corrected_at", "cancelled_at": "cancelled_at",
    "no_show_at": "no_show_at",
}
EXAM_COLUMNS = ("accession_number", "study_instance_uid", "patient_id", "modality", "station",
                "room", *EXAM_TIME_COLUMNS)
FAULT_COLUMNS = ("fault_id", "device", "modality", "reported_at", "responder_on_site_at",
                 "restored_at", "urgent", "cause", "action", "acceptance")
ROSTER_COLUMNS = ("staff", "role", "start", "end", "device")
REQUIRED: dict[Kind, tuple[str, ...]] = {
    "exams": ("accession_number",), "faults": ("fault_id", "device", "reported_at"),
    "roster": ("staff", "role", "start", "end")}
COLUMNS: dict[Kind, tuple[str, ...]] = {"exams": EXAM_COLUMNS, "faults": FAULT_COLUMNS,
                                       "roster": ROSTER_COLUMNS}
_TRUE = {"1", "true", "yes", "y", "是", "urgent", "紧急"}
_FALSE = {"0", "false", "no", "n", "否", ""}
_UID = TypeAdapter(DicomUID)
_MOD = TypeAdapter(ModalityCode)


@dataclass(frozen=True)
class RowProblem:
    line: int
    column: str
    value: str
    reason: str

    def __str__(self) -> str:
        value = self.value if len(self.value) <= 60 else self.value[:57] + "..."
        return f"line {self.line}, column {self.column}: {value!r}: {self.reason}"


@dataclass
class ImportReport:
    kind: str
    read: int = 0
    imported: int = 0
    flagged: list[tuple[int, str, str]] = field(default_factory=list)  # line, accession, flags
    rejected: list[RowProblem] = field(default_factory=list)

    @property
    def rejected_rows(self) -> int:
        return len({p.line for p in self.rejected})


class _RowError(Exception):
    def __init__(self, problems: list[RowProblem]) -> None:
        self.problems = problems


def parse_time(value: str, tz: ZoneInfo | None) -> datetime:
    try:
        t = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError("expected an ISO 8601 date-time, e.g. 2026-11-16T08:21:00+08:00"
                         ) from None
    if t.tzinfo is None:
        if tz is None:
            raise ValueError("the time has no UTC offset; add one (+08:00) or pass --timezone")
        t = t.replace(tzinfo=tz)
    return t


def _cells(row: Mapping[str, Any]) -> dict[str, str]:
    return {k: ("" if v is None else str(v)).strip() for k, v in row.items() if k is not None}


def _exam(row: Mapping[str, Any], line: int, tz: ZoneInfo | None) -> ExamRecord:
    cells = _cells(row)
    problems: list[RowProblem] = []
    values: dict[str, Any] = {"accession_number": cells.get("accession_number", "")}
    for col, attr in EXAM_TIME_COLUMNS.items():
        if cells.get(col):
            try:
                values[attr] = parse_time(cells[col], tz)
            except ValueError as exc:
                problems.append(RowProblem(line, col, cells[col], str(exc)))
    for col, adapter in (("study_instance_uid", _UID), ("modality", _MOD)):
        if cells.get(col):
            try:
                values[col] = adapter.validate_python(cells[col])
            except ValidationError as exc:
                problems.append(RowProblem(line, col, cells[col],
                                           exc.errors()[0]["msg"].removeprefix("Value error, ")))
    for col in ("patient_id", "station", "room"):
        if cells.get(col):
            values[col] = cells[col][:200]
    if problems:
        raise _RowError(problems)
    return ExamRecord(**values)


def _model(cls: type[EquipmentFault] | type[RosterShift], row: Mapping[str, Any], line: int,
           tz: ZoneInfo | None, times: tuple[str, ...], source: str) -> Any:
    cells = _cells(row)
    problems: list[RowProblem] = []
    data: dict[str, Any] = {}
    extra: dict[str, str] = {}
    known = COLUMNS["faults" if cls is EquipmentFault else "roster"]
    for col, value in cells.items():
        if not value:
            continue
        if col not in known:
            extra[col] = value
        elif col in times:
            try:
                data[col] = parse_time(value, tz)
            except ValueError as exc:
                problems.append(RowProblem(line, col, value, str(exc)))
        elif col == "urgent":
            if value.lower() not in _TRUE | _FALSE:
                problems.append(RowProblem(line, col, value, "expected true/false (是/否)"))
            data[col] = value.lower() in _TRUE
        else:
            data[col] = value
    if cls is RosterShift and extra:
        data["extra"] = extra
    if cls is EquipmentFault:
        data["source"] = source
    if problems:
        raise _RowError(problems)
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        raise _RowError([RowProblem(line, str(e["loc"][0]) if e["loc"] else "-",
                                    str(cells.get(str(e["loc"][0]) if e["loc"] else "", "")),
                                    e["msg"].removeprefix("Value error, "))
                         for e in exc.errors()]) from None


def read_rows(path: Path, encoding: str | None = None
              ) -> tuple[list[str] | None, Iterator[tuple[int, dict[str, Any]]]]:
    """(CSV header or None, iterator of (line or record number, row)). The text encoding is
    ``encoding`` or detected (UTF-8 with or without BOM, GB18030: ``files.file_encoding``)."""
    from ..files import file_encoding, load_json

    suffix = path.suffix.lower()
    if suffix not in {".csv", ".jsonl", ".json"}:
        raise InvalidInput("import file", [FieldProblem(
            "file", str(path), "a .csv, .json (array of objects) or .jsonl file")],
            [f"  - 不支持的文件类型：{path.name}（请使用 .csv、.json 或 .jsonl）"])
    enc = file_encoding(path, encoding)
    if enc == "utf-8":
        enc = "utf-8-sig"  # harmless without a BOM
    if suffix == ".csv":
        f = path.open(newline="", encoding=enc)
        reader = csv.DictReader(f)
        header = list(reader.fieldnames or [])

        def rows() -> Iterator[tuple[int, dict[str, Any]]]:
            with f:
                for row in reader:
                    yield reader.line_num, row

        return header, rows()
    if suffix == ".jsonl":
        def lines() -> Iterator[tuple[int, dict[str, Any]]]:
            with path.open(encoding=enc) as f:
                for n, text in enumerate(f, 1):
                    if text.strip():
                        yield n, _object(load_json(text, f"{path.name} line {n}"), path, n)
        return None, lines()
    data = load_json(path.read_text(encoding=enc), path.name)
    if isinstance(data, dict):
        data = next((v for v in data.values() if isinstance(v, list)), [data])
    if not isinstance(data, list):
        raise InvalidInput("import file", [FieldProblem(str(path), type(data).__name__,
                                                        "a JSON array of objects")],
                           [f"  - {path.name}：须为 JSON 对象数组"])
    return None, ((i, _object(o, path, i)) for i, o in enumerate(data, 1))


def _object(o: Any, path: Path, n: int) -> dict[str, Any]:
    if not isinstance(o, dict):
        raise InvalidInput("import file", [FieldProblem(f"{path.name} record {n}",
                                                        type(o).__name__, "a JSON object")])
    return o


def import_file(repo: ImagingRecords, path: Path, kind: Kind, *, tz: ZoneInfo | None = None,
                source: str | None = None,
                on_progress: Callable[[int], None] | None = None,
                encoding: str | None = None) -> ImportReport:
    """Import one file; returns what was imported and every rejected row with its reason.

    CSV headers and JSON/JSONL records are checked the same way: a column or key that is not
    one of the kind's columns is refused (for rosters it is kept as an extra attribute), never
    dropped in silence."""
    if not path.is_file():
        raise InvalidInput("import file", [FieldProblem("file", str(path), "an existing file")],
                           [f"  - 找不到文件 {path}"])
    header, rows = read_rows(path, encoding)
    if header is not None:
        missing = [c for c in REQUIRED[kind] if c not in header]
        unknown = [c for c in header if c not in COLUMNS[kind]] if kind != "roster" else []
        if missing or unknown:
            raise InvalidInput(f"{kind} CSV header", [FieldProblem(
                "line 1", ",".join(header),
                f"columns {', '.join(COLUMNS[kind])} (required: {', '.join(REQUIRED[kind])})"
                + (f"; missing {', '.join(missing)}" if missing else "")
                + (f"; unknown {', '.join(unknown)}" if unknown else ""))],
                [f"表头错误：缺少 {', '.join(missing) or '-'}；未知列 {', '.join(unknown) or '-'}"])
    report = ImportReport(kind)
    src = source or path.name

    def valid() -> Iterator[Any]:
        for line, row in rows:
            report.read += 1
            if on_progress is not None and report.read % 200 == 0:
                on_progress(report.read)
            missing = [c for c in REQUIRED[kind] if not str(row.get(c) or "").strip()]
            unknown = [] if header is not None or kind == "roster" else \
                [str(k) for k in row if k not in COLUMNS[kind]]
            if missing or unknown:
                report.rejected += [RowProblem(line, c, "", "required") for c in missing]
                report.rejected += [RowProblem(
                    line, c, "(not shown)", f"unknown key; {kind} records have: "
                    f"{', '.join(COLUMNS[kind])}") for c in unknown[:10]]
                continue
            try:
                if kind == "exams":
                    rec = _exam(row, line, tz)
                    rec = replace(rec, source=src)
                    if rec.flags:
                        report.flagged.append((line, rec.accession_number, ",".join(rec.flags)))
                    item: Any = rec
                elif kind == "faults":
                    item = _model(EquipmentFault, row, line, tz,
                                  ("reported_at", "responder_on_site_at", "restored_at"), src)
                else:
                    item = _model(RosterShift, row, line, tz, ("start", "end"), src)
            except _RowError as err:
                report.rejected += err.problems
                continue
            report.imported += 1
            yield item

    if kind == "exams":
        repo.add_exams(valid())
    elif kind == "faults":
        repo.add_faults(valid())
    else:
        repo.add_shifts(valid())
    if on_progress is not None:
        on_progress(report.read)
    return report

"""CSV and JSON importers for exams, equipment faults and roster shifts.

Each row is checked on its own: a wrong row is reported with its line number, column and
value and left out, the valid rows are stored (in batches, idempotently). Exams with missing
or out-of-order times are kept and flagged. The columns are documented in
docs/correlation.md.

Files are read as hospitals have them: CSV saved by Excel (UTF-8 with a byte order mark, or
GB18030/GBK on a zh-CN PC; detected), column names in any case, ``station`` or its old name
``device``, times in ISO 8601 or as Excel writes them (``2026/11/16 8:21``). Exams go to the
store as plain rows (:mod:`.exam_rows`), without an object per exam: a SQL store loads them in
bulk (``ImagingRepository.add_exam_rows``).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import TypeAdapter, ValidationError

from ..domain.complaint import DicomUID, ModalityCode
from ..domain.imaging import EquipmentFault, RosterShift
from ..errors import FieldProblem, HospitalComplaintsError, InvalidInput
from .exam_rows import ExamRow, flags_of
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
FAULT_COLUMNS = ("fault_id", "station", "modality", "reported_at", "responder_on_site_at",
                 "restored_at", "urgent", "cause", "action", "acceptance")
ROSTER_COLUMNS = ("staff", "role", "start", "end", "station")
REQUIRED: dict[Kind, tuple[str, ...]] = {
    "exams": ("accession_number",), "faults": ("fault_id", "station", "reported_at"),
    "roster": ("staff", "role", "start", "end")}
COLUMNS: dict[Kind, tuple[str, ...]] = {"exams": EXAM_COLUMNS, "faults": FAULT_COLUMNS,
                                       "roster": ROSTER_COLUMNS}
#: old column / key names still read: old name -> the name used now
ALIASES = {"device": "station"}
_KNOWN = frozenset(EXAM_COLUMNS + FAULT_COLUMNS + ROSTER_COLUMNS)
#: rows between two progress reports
PROGRESS_EVERY = 2000
MAX_TEXT = 200
_TRUE = {"1", "true", "yes", "y", "是", "urgent", "紧急"}
_FALSE = {"0", "false", "no", "n", "否", ""}
_UID = TypeAdapter(DicomUID)
_MOD = TypeAdapter(ModalityCode)
#: the shape of a DICOM UID (domain.complaint.DicomUID); a value that does not match is
#: checked by the domain type itself, which gives the message (a test keeps them equal)
_UID_SHAPE = re.compile(r"(?=.{1,64}\Z)(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*")
#: a date and time as Excel writes it on a zh-CN PC: 2026/11/16 8:21[:05]
_EXCEL_TIME = re.compile(
    r"(\d{4})/(\d{1,2})/(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?\Z")
#: a time :class:`_ExamParser` reads without parsing once it has seen its day: ISO 8601 with
#: whole seconds and a UTC offset of hours and minutes, 'Z' or none
_USUAL_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
    r"(Z|[+-][0-9]{2}:[0-9]{2})?\Z")
_TIME_HELP = ("expected an ISO 8601 date-time, e.g. 2026-11-16T08:21:00+08:00 (or as Excel "
              "writes it, 2026/11/16 8:21)")
_NO_ZONE = "the time has no UTC offset; add one (+08:00) or pass --timezone"


#: the Chinese of a row problem's reason, by how the English one begins
_REASONS_ZH = (
    ("required", "必填，不能为空"),
    ("expected an ISO 8601 date-time", "时间格式应为 ISO 8601（如 2026-11-16T08:21:00+08:00）"
                                       "或 Excel 的 2026/11/16 8:21"),
    ("the time has no UTC offset", "时间缺少 UTC 偏移（如 +08:00）；请补上，"
                                   "或用 --timezone 指定时区"),
    ("expected a DICOM modality code", "检查类型应为 2-4 个字母的 DICOM 代码，如 CT、MR、DX、US"),
    ("expected a DICOM UID", "应为 DICOM UID：数字和点，最长 64 个字符"),
    (f"at most {MAX_TEXT} characters", f"最长 {MAX_TEXT} 个字符"),
    ("given twice", "重复：device 是 station 的旧名，请只保留一个"),
    ("unknown key", "未知字段（不会被静默丢弃）"),
    ("expected true/false", "应为 是/否（true/false）"),
)


@dataclass(frozen=True)
class RowProblem:
    """Why a row was left out: its line (record number in a JSON array), the column, the
    value as read, and the reason (English; :attr:`reason_zh` in Chinese)."""

    line: int
    column: str
    value: str
    reason: str

    @property
    def reason_zh(self) -> str:
        for en, zh in _REASONS_ZH:
            if self.reason.startswith(en):
                return zh
        return "取值无效"

    def __str__(self) -> str:
        value = self.value if len(self.value) <= 60 else self.value[:57] + "..."
        return (f"line {self.line}, column {self.column}: {value!r}: {self.reason} "
                f"(第 {self.line} 行 {self.column} 列：{self.reason_zh})")


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


def _excel_time(value: str) -> datetime:
    m = _EXCEL_TIME.match(value)
    if m is None:
        raise ValueError(_TIME_HELP)
    y, mo, d, h, mi, s = (int(x) if x else 0 for x in m.groups())
    try:
        return datetime(y, mo, d, h, mi, s)
    except ValueError:
        raise ValueError(_TIME_HELP) from None


def _day_base(day: str, tz: ZoneInfo | None) -> int | None:
    """Epoch seconds of 00:00:00 of ``day`` ('YYYY-MM-DDT' or 'YYYY-MM-DD ', then a UTC
    offset, 'Z' or nothing), such that a time 'HH:MM:SS' of that day is this + its seconds;
    None when that is not so: no offset and no zone, or a zone whose UTC offset changes on
    that day (those times are read one by one)."""
    offset = day[11:]
    t = datetime.fromisoformat(day[:11] + "00:00:00" + offset)
    if not 1 < t.year < 9999:  # far from datetime's limits (no OverflowError to miss)
        return None
    if t.tzinfo is None:
        if tz is None:
            return None
        folds = [datetime(t.year, t.month, t.day, h, m, s, fold=f, tzinfo=tz).utcoffset()
                 for h, m, s in [(h, 0, 0) for h in range(24)] + [(23, 59, 59)]
                 for f in (0, 1)]
        if any(o != folds[0] for o in folds):
            return None
        t = t.replace(tzinfo=tz)
    return int(t.timestamp())


def parse_time(value: str, tz: ZoneInfo | None) -> datetime:
    """An instant from ISO 8601 or Excel's ``2026/11/16 8:21``; a time without a UTC offset
    is read in ``tz``, and refused without one (zones are never guessed)."""
    text = value.strip()
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        t = _excel_time(text)
    if t.tzinfo is None:
        if tz is None:
            raise ValueError(_NO_ZONE)
        t = t.replace(tzinfo=tz)
    return t


def _cells(row: Mapping[str, Any]) -> dict[str, str]:
    return {k: ("" if v is None else str(v)).strip() for k, v in row.items() if k is not None}


def _canonical(name: str) -> str:
    """A column or key name as the importers know it: a known name (any case, or an old
    name in :data:`ALIASES`) as the importers spell it; any other name trimmed (a roster
    keeps it as an extra attribute)."""
    key = name.strip()
    low = ALIASES.get(key.lower(), key.lower())
    return low if low in _KNOWN else key


def _header_problem(kind: Kind, header: list[str], why_en: str, why_zh: str) -> InvalidInput:
    return InvalidInput(f"{kind} CSV header", [FieldProblem(
        "line 1", ",".join(header),
        f"columns {', '.join(COLUMNS[kind])} (required: {', '.join(REQUIRED[kind])}; "
        f"'device' is read as 'station'); {why_en}")], [f"表头错误：{why_zh}"])


def _check_header(kind: Kind, header: list[str]) -> list[str]:
    """The header's names made canonical; InvalidInput for a missing required column, an
    unknown one (rosters keep unknown columns as extra text), or two names of one column."""
    names = [_canonical(h) for h in header]
    twice = sorted({n for n in names if names.count(n) > 1})
    missing = [c for c in REQUIRED[kind] if c not in names]
    unknown = [h for h, n in zip(header, names, strict=True)
               if n not in COLUMNS[kind]] if kind != "roster" else []
    if twice:
        raise _header_problem(
            kind, header, f"{', '.join(twice)} given twice (device is the old name of "
            "station: keep one)",
            f"列 {', '.join(twice)} 重复（device 是 station 的旧名，请只保留一个）")
    if missing or unknown:
        raise _header_problem(
            kind, header, (f"missing {', '.join(missing)}" if missing else "")
            + ("; " if missing and unknown else "")
            + (f"unknown {', '.join(unknown)}" if unknown else ""),
            f"缺少 {', '.join(missing) or '-'}；未知列 {', '.join(unknown) or '-'}")
    return names


def _csv_error(path: Path, line: int, exc: csv.Error) -> InvalidInput:
    return InvalidInput("import file", [FieldProblem(
        f"{path.name} line {line}", "(text not shown)", f"a CSV row ({exc})")],
        [f"  - {path.name} 第 {line} 行：不是有效的 CSV（{exc}）"])


def _csv_lists(path: Path, f: Any, reader: Any) -> Iterator[tuple[int, list[str]]]:
    with f:
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise _csv_error(path, reader.line_num, exc) from None
            if row:
                yield reader.line_num, row


def read_rows(path: Path, encoding: str | None = None
              ) -> tuple[list[str] | None, Iterator[tuple[int, dict[str, Any]]]]:
    """(CSV header or None, iterator of (line or record number, row)). The text encoding is
    ``encoding`` or detected (UTF-8 with or without BOM, GB18030: ``files.file_encoding``).
    Column and key names are as in the file."""
    header, lists = read_lists(path, encoding)
    if header is not None:
        names = header

        def rows() -> Iterator[tuple[int, dict[str, Any]]]:
            for line, row in lists:
                yield line, dict(zip(names, row + [""] * (len(names) - len(row)),
                                     strict=False))
        return header, rows()
    return None, ((n, r) for n, r in _records(path, encoding))


def read_lists(path: Path, encoding: str | None = None
               ) -> tuple[list[str] | None, Iterator[tuple[int, list[str]]]]:
    """A CSV file's header and its rows as lists of cells (with line numbers); for JSON
    files (None, nothing): read them with :func:`read_rows`."""
    enc = _open_encoding(path, encoding)
    if path.suffix.lower() != ".csv":
        return None, iter(())
    f = path.open(newline="", encoding=enc)
    reader = csv.reader(f)
    try:
        header = next(reader, [])
    except csv.Error as exc:
        f.close()
        raise _csv_error(path, 1, exc) from None
    return header, _csv_lists(path, f, reader)


def _open_encoding(path: Path, encoding: str | None) -> str:
    from ..files import file_encoding

    if path.suffix.lower() not in {".csv", ".jsonl", ".json"}:
        raise InvalidInput("import file", [FieldProblem(
            "file", str(path), "a .csv, .json (array of objects) or .jsonl file")],
            [f"  - 不支持的文件类型：{path.name}（请使用 .csv、.json 或 .jsonl）"])
    enc = file_encoding(path, encoding)
    return "utf-8-sig" if enc == "utf-8" else enc  # harmless without a BOM


def _records(path: Path, encoding: str | None) -> Iterator[tuple[int, dict[str, Any]]]:
    from ..files import load_json

    enc = _open_encoding(path, encoding)
    if path.suffix.lower() == ".jsonl":
        with path.open(encoding=enc) as f:
            for n, text in enumerate(f, 1):
                if text.strip():
                    yield n, _object(load_json(text, f"{path.name} line {n}"), path, n)
        return
    data = load_json(path.read_text(encoding=enc), path.name)
    if isinstance(data, dict):
        data = next((v for v in data.values() if isinstance(v, list)), [data])
    if not isinstance(data, list):
        raise InvalidInput("import file", [FieldProblem(str(path), type(data).__name__,
                                                        "a JSON array of objects")],
                           [f"  - {path.name}：须为 JSON 对象数组"])
    for i, o in enumerate(data, 1):
        yield i, _object(o, path, i)


def _object(o: Any, path: Path, n: int) -> dict[str, Any]:
    if not isinstance(o, dict):
        raise InvalidInput("import file", [FieldProblem(f"{path.name} record {n}",
                                                        type(o).__name__, "a JSON object")])
    return o


def _estimate_rows(path: Path) -> int | None:
    """About how many rows a CSV or JSONL file has, from its size and its first 64 KiB
    (None for a JSON array)."""
    if path.suffix.lower() == ".json":
        return None
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            head = f.read(1 << 16)
    except OSError:
        return None
    lines = head.count(b"\n")
    return None if lines == 0 else int(size / (len(head) / lines))


# -- exams: plain rows ------------------------------------------------------------------------


class _ExamParser:
    """Exam cells (in :data:`EXAM_COLUMNS` order of ``positions``) -> :data:`ExamRow`, or the
    row's problems."""

    def __init__(self, positions: Mapping[str, int], tz: ZoneInfo | None, source: str) -> None:
        self.tz = tz
        self.source = source
        self.width = max(positions.values(), default=-1) + 1
        self.acc = positions["accession_number"]
        self.text_at = tuple(positions.get(c, -1) for c in (
            "study_instance_uid", "modality", "station", "room", "patient_id"))
        self.times = [(c, i, k) for k, c in enumerate(EXAM_TIME_COLUMNS)
                      if (i := positions.get(c, -1)) >= 0]
        self._modalities: dict[str, tuple[str | None, str | None]] = {}
        #: 'YYYY-MM-DDT' + offset -> epoch seconds of that day's 00:00:00 (see _day_base)
        self._days: dict[str, int] = {}
        #: 'HH:MM:SS' -> seconds since 00:00:00 (filled when a time of the usual shape is
        #: first read)
        self._clock: dict[str, int] = {}

    def epoch_seconds(self, v: str) -> int:
        """Whole UTC epoch seconds of a time cell (stripped, not empty), as
        :func:`parse_time` reads it (a fraction of a second dropped); ValueError or
        OverflowError with the reason. Remembers the day and the clock time of a time of the
        usual shape for :meth:`parse`, which then adds them without parsing."""
        try:
            t = datetime.fromisoformat(v)
        except ValueError:
            t = _excel_time(v)
        if t.tzinfo is None:
            if self.tz is None:
                raise ValueError(_NO_ZONE)
            t = t.replace(tzinfo=self.tz)
        s = int(t.timestamp())
        if _USUAL_TIME.match(v) and len(self._days) < 100_000:
            day = v[:11] + v[19:]
            if day not in self._days:
                base = _day_base(day, self.tz)
                if base is not None:
                    self._days[day] = base
            if not self._clock:  # every clock time of a day
                self._clock.update({f"{c // 3600:02d}:{c // 60 % 60:02d}:{c % 60:02d}": c
                                    for c in range(86400)})
        return s

    def modality(self, value: str) -> tuple[str | None, str | None]:
        """(code, None) or (None, why); remembered per value (a file has a few)."""
        got = self._modalities.get(value)
        if got is None:
            try:
                got = (_MOD.validate_python(value), None)
            except ValidationError as exc:
                got = (None, exc.errors()[0]["msg"].removeprefix("Value error, "))
            if len(self._modalities) < 10_000:
                self._modalities[value] = got
        return got

    @staticmethod
    def _text(line: int, col: str, cell: str) -> str | RowProblem | None:
        """A free text cell: None when empty, refused when too long (never stored cut)."""
        v = cell.strip()
        if len(v) > MAX_TEXT:
            return RowProblem(line, col, v, f"at most {MAX_TEXT} characters")
        return v or None

    def parse(self, line: int, row: list[str]) -> ExamRow:
        if len(row) < self.width:
            row = row + [""] * (self.width - len(row))
        problems: list[RowProblem] | None = None
        acc = row[self.acc].strip()
        if len(acc) > MAX_TEXT:
            problems = [RowProblem(line, "accession_number", acc,
                                   f"at most {MAX_TEXT} characters")]
        # one cell after another (in the order of their problems), without a loop
        u_at, m_at, s_at, r_at, p_at = self.text_at
        uid: str | None = row[u_at].strip() if u_at >= 0 else ""
        if not uid:
            uid = None
        elif not _UID_SHAPE.fullmatch(uid):
            try:
                uid = _UID.validate_python(uid)
            except ValidationError as exc:
                problems = (problems or []) + [RowProblem(
                    line, "study_instance_uid", uid,
                    exc.errors()[0]["msg"].removeprefix("Value error, "))]
        modality: str | None = row[m_at].strip() if m_at >= 0 else ""
        if not modality:
            modality = None
        else:
            code, why = self._modalities.get(modality) or self.modality(modality)
            if why is not None:
                problems = (problems or []) + [RowProblem(line, "modality", modality, why)]
            modality = code
        station = self._text(line, "station", row[s_at] if s_at >= 0 else "")
        if isinstance(station, RowProblem):
            problems, station = (problems or []) + [station], None
        room = self._text(line, "room", row[r_at] if r_at >= 0 else "")
        if isinstance(room, RowProblem):
            problems, room = (problems or []) + [room], None
        # only the keyed hash of the whole patient id is stored
        patient = (row[p_at].strip() or None) if p_at >= 0 else None
        times: list[int | None] = [None] * 10
        days, clock, seconds = self._days, self._clock, self.epoch_seconds
        for col, i, k in self.times:
            v = row[i]
            if not v or not (v := v.strip()):
                continue
            # the usual 'YYYY-MM-DDTHH:MM:SS[offset]': the day's epoch + the clock's seconds
            base = days.get(v[:11] + v[19:])
            if base is not None and (s := clock.get(v[11:19])) is not None:
                times[k] = base + s
                continue
            try:
                times[k] = seconds(v)
            except (ValueError, OverflowError) as exc:
                problems = (problems or []) + [RowProblem(line, col, v, str(exc))]
        if problems:
            raise _RowError(problems)
        return (acc, uid, modality, station, room, patient, self.source, *times)


def _exam_rows(path: Path, encoding: str | None, tz: ZoneInfo | None, source: str,
               report: ImportReport, on_progress: Callable[[int], None] | None
               ) -> Iterator[ExamRow]:
    """The valid exam rows of a file; every other row goes to ``report.rejected``."""
    header, lists = read_lists(path, encoding)
    if header is not None:
        positions = exam_positions(header)
        yield from checked_exam_rows(_ExamParser(positions, tz, source),
                                     positions["accession_number"], lists, report, on_progress)
        return
    parser = _ExamParser({c: i for i, c in enumerate(EXAM_COLUMNS)}, tz, source)
    for n, record in _records(path, encoding):
        report.read += 1
        if on_progress is not None and report.read % PROGRESS_EVERY == 0:
            on_progress(report.read)
        cells = _keyed_cells(record)
        if _rejected_keys("exams", n, record, cells, report):
            continue
        r = _parsed(parser, n, [cells.get(c, "") for c in EXAM_COLUMNS], report)
        if r is not None:
            yield r


def exam_positions(header: list[str]) -> dict[str, int]:
    """Each exam column's position in a CSV header (checked: InvalidInput otherwise)."""
    return {n: i for i, n in enumerate(_check_header("exams", header))}


def checked_exam_rows(parser: _ExamParser, acc_at: int,
                      lists: Iterable[tuple[int, list[str]]], report: ImportReport,
                      on_progress: Callable[[int], None] | None) -> Iterator[ExamRow]:
    """The valid rows of CSV ``lists`` (line, cells); the others go to ``report.rejected``,
    rows with missing or out-of-order times also to ``report.flagged``."""
    for line, row in lists:
        report.read += 1
        if on_progress is not None and report.read % PROGRESS_EVERY == 0:
            on_progress(report.read)
        if acc_at >= len(row) or not row[acc_at].strip():
            report.rejected.append(RowProblem(line, "accession_number", "", "required"))
            continue
        r = _parsed(parser, line, row, report)
        if r is not None:
            yield r


def _parsed(parser: _ExamParser, line: int, cells: list[str], report: ImportReport
            ) -> ExamRow | None:
    """One row's cells parsed and counted in ``report``: imported (and flagged when a time
    is missing or out of order), or rejected with its problems (None)."""
    try:
        r = parser.parse(line, cells)
    except _RowError as err:
        report.rejected += err.problems
        return None
    flags = flags_of(r[7:])
    if flags:
        report.flagged.append((line, r[0], flags))
    report.imported += 1
    return r


def _keyed_cells(record: Mapping[str, Any]) -> dict[str, str]:
    """A JSON record's values as trimmed text under canonical key names (see
    :func:`_canonical`); a key given under two names keeps both for
    :func:`_rejected_keys` to refuse."""
    return {_canonical(k): v for k, v in _cells(record).items()}


def _rejected_keys(kind: Kind, n: int, record: Mapping[str, Any], cells: Mapping[str, str],
                   report: ImportReport) -> bool:
    """Record the problems of a JSON record's keys (missing, unknown, given twice);
    True when there are any."""
    keys = [_canonical(k) for k in record]
    twice = sorted({k for k in keys if keys.count(k) > 1})
    missing = [c for c in REQUIRED[kind] if not cells.get(c)]
    unknown = [] if kind == "roster" else [str(k) for k, c in zip(record, keys, strict=True)
                                           if c not in COLUMNS[kind]]
    if not (missing or unknown or twice):
        return False
    report.rejected += [RowProblem(n, c, "", "required") for c in missing]
    report.rejected += [RowProblem(n, c, "(not shown)", "given twice (device is the old name "
                                   "of station: keep one)") for c in twice]
    report.rejected += [RowProblem(
        n, c, "(not shown)", f"unknown key; {kind} records have: "
        f"{', '.join(COLUMNS[kind])} ('device' is read as 'station')") for c in unknown[:10]]
    return True


# -- faults and roster shifts: domain models ------------------------------------------------


def _station_field(cls: type[EquipmentFault] | type[RosterShift]) -> str:
    """The model's field for the station (``device`` in models from before the rename)."""
    return "station" if "station" in cls.model_fields else "device"


def _model(cls: type[EquipmentFault] | type[RosterShift], cells: Mapping[str, str], line: int,
           tz: ZoneInfo | None, times: tuple[str, ...], source: str) -> Any:
    """One fault or shift from its cells (canonical column names)."""
    problems: list[RowProblem] = []
    data: dict[str, Any] = {}
    extra: dict[str, str] = {}
    known = COLUMNS["faults" if cls is EquipmentFault else "roster"]
    station = _station_field(cls)
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
        elif col == "station":
            data[station] = value
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
        out = []
        for e in exc.errors():
            col = str(e["loc"][0]) if e["loc"] else "-"
            col = "station" if col == station else col
            out.append(RowProblem(line, col, str(cells.get(col, "")),
                                  e["msg"].removeprefix("Value error, ")))
        raise _RowError(out) from None


def _models(path: Path, kind: Kind, encoding: str | None, tz: ZoneInfo | None, source: str,
            report: ImportReport, on_progress: Callable[[int], None] | None) -> Iterator[Any]:
    header, lists = read_lists(path, encoding)
    records: Iterable[tuple[int, dict[str, str]]]
    if header is not None:
        names = _check_header(kind, header)
        records = ((line, {n: v.strip() for n, v in zip(names, row, strict=False)})
                   for line, row in lists)
    else:
        records = ((n, r) for n, r in _records(path, encoding))
    for line, record in records:
        report.read += 1
        if on_progress is not None and report.read % PROGRESS_EVERY == 0:
            on_progress(report.read)
        cells = record if header is not None else _keyed_cells(record)
        if header is not None:
            missing = [c for c in REQUIRED[kind] if not cells.get(c)]
            if missing:
                report.rejected += [RowProblem(line, c, "", "required") for c in missing]
                continue
        elif _rejected_keys(kind, line, record, cells, report):
            continue
        try:
            if kind == "faults":
                item = _model(EquipmentFault, cells, line, tz,
                              ("reported_at", "responder_on_site_at", "restored_at"), source)
            else:
                item = _model(RosterShift, cells, line, tz, ("start", "end"), source)
        except _RowError as err:
            report.rejected += err.problems
            continue
        report.imported += 1
        yield item


def import_file(repo: ImagingRecords, path: Path, kind: Kind, *, tz: ZoneInfo | None = None,
                source: str | None = None,
                on_progress: Callable[[int], None] | None = None,
                encoding: str | None = None, workers: int | None = None) -> ImportReport:
    """Import one file; returns what was imported and every rejected row with its reason.

    CSV headers and JSON/JSONL records are checked the same way: a column or key that is not
    one of the kind's columns is refused (for rosters it is kept as an extra attribute), never
    dropped in silence. A header error stores nothing; otherwise the valid rows are stored
    in batches (each batch whole or not at all; a large SQLite load is one transaction, see
    ``storage.sql.imaging.bulk``).

    ``workers``: worker processes that parse and prepare a large exam CSV while the store
    writes (:mod:`.import_workers`; default: one per core, at most 8; 0 or 1: none)."""
    if not path.is_file():
        raise InvalidInput("import file", [FieldProblem("file", str(path), "an existing file")],
                           [f"  - 找不到文件 {path}"])
    report = ImportReport(kind)
    src = (source or path.name)[:MAX_TEXT]
    if kind == "exams":
        if _import_parallel(repo, path, encoding, tz, src, report, on_progress, workers):
            return report
        rows = _exam_rows(path, encoding, tz, src, report, on_progress)
        first = next(rows, None)  # the header is checked before anything is written
        if first is not None:
            repo.add_exam_rows(_chain(first, rows), expected=_estimate_rows(path))
    else:
        items = _models(path, kind, encoding, tz, src, report, on_progress)
        head = next(items, None)
        if head is not None:
            if kind == "faults":
                repo.add_faults(_chain(head, items))
            else:
                repo.add_shifts(_chain(head, items))
    if on_progress is not None:
        on_progress(report.read)
    return report


def _import_parallel(repo: ImagingRecords, path: Path, encoding: str | None,
                     tz: ZoneInfo | None, source: str, report: ImportReport,
                     on_progress: Callable[[int], None] | None, workers: int | None) -> bool:
    """Import a large exam CSV with worker processes (:mod:`.import_workers`) when the
    file, the store and ``workers`` allow; False (nothing done) when not."""
    from . import import_workers as iw  # multiprocessing, only when it may be used
    from .repository import PreparedExamRows

    if path.suffix.lower() != ".csv" or not isinstance(repo, PreparedExamRows):
        return False
    n = iw.default_workers() if workers is None else workers
    expected = _estimate_rows(path)
    if (n < 2 or expected is None or expected < iw.PARALLEL_MIN_ROWS
            or not iw.can_fork()):
        return False
    prepare = repo.exam_row_preparer()
    if prepare is None:
        return False
    enc = _open_encoding(path, encoding)
    batches = prepared_exam_batches(path, enc, tz, source, report, on_progress, prepare, n)
    first = next(batches, None)  # the header is checked before anything is written
    if first is not None:
        repo.add_prepared_exam_rows(_chain(first, batches), expected=expected)
    if on_progress is not None:
        on_progress(report.read)
    return True


#: a worker's answer for one chunk: its prepared rows, its report (lines of the chunk)
_Done = tuple[list[tuple[Any, ...]], ImportReport]
#: what a worker process was set up with (:func:`_worker_start`)
_worker: dict[str, Any] = {}


def _worker_start(positions: dict[str, int], tz: ZoneInfo | None, source: str,
                  prepare: Callable[[ExamRow], tuple[Any, ...]]) -> None:
    """A worker's set-up: the parser of this file's columns and the store's preparer."""
    _worker["parser"] = _ExamParser(positions, tz, source)
    _worker["acc_at"] = positions["accession_number"]
    _worker["prepare"] = prepare


def _worker_chunk(text: str) -> _Done:
    """In a worker: one chunk of whole CSV records, checked and prepared."""
    report = ImportReport("exams")
    reader = csv.reader(io.StringIO(text, newline=""))

    def lists() -> Iterator[tuple[int, list[str]]]:
        for row in reader:  # the main process read the same text without an error
            if row:
                yield reader.line_num, row

    rows = list(map(_worker["prepare"], checked_exam_rows(
        _worker["parser"], _worker["acc_at"], lists(), report, None)))
    return rows, report


def prepared_exam_batches(path: Path, encoding: str, tz: ZoneInfo | None, source: str,
                          report: ImportReport, on_progress: Callable[[int], None] | None,
                          prepare: Callable[[ExamRow], tuple[Any, ...]], workers: int
                          ) -> Iterator[list[tuple[Any, ...]]]:
    """The prepared rows of an exam CSV, a chunk at a time in the file's order, made by
    ``workers`` processes (:func:`.import_workers.in_order`); ``report`` is filled as each
    chunk comes back (line numbers of the file). The header is checked before the first
    worker starts."""
    from concurrent.futures.process import BrokenProcessPool  # with multiprocessing: here

    from . import import_workers as iw

    header, chunks = iw.csv_chunks(path, encoding,
                                   lambda line, exc: _csv_error(path, line, exc))
    positions = exam_positions(header)
    done = iw.in_order(_worker_chunk, chunks, workers, _worker_start,
                       (positions, tz, source, prepare))
    while True:
        try:
            before, (rows, part) = next(done)
        except StopIteration:
            return
        except BrokenProcessPool:  # a worker was killed (out of memory, a signal)
            raise HospitalComplaintsError(
                f"a worker process preparing {path.name} stopped unexpectedly (for example, "
                f"the machine ran out of memory) after line {report.read + 1}; run the "
                "import again with --workers 0 (one process): rows already stored are not "
                "stored twice",
                f"导入 {path.name} 时解析进程意外退出（例如内存不足），约在第 {report.read + 1} "
                "行之后；请加 --workers 0（单进程）重新导入，已存入的行不会重复") from None
        read = report.read
        report.read += part.read
        report.imported += part.imported
        report.rejected += [replace(p, line=p.line + before) for p in part.rejected]
        report.flagged += [(line + before, acc, flags) for line, acc, flags in part.flagged]
        if on_progress is not None and report.read // PROGRESS_EVERY > read // PROGRESS_EVERY:
            on_progress(report.read)
        if rows:
            yield rows


def _chain(first: Any, rest: Iterator[Any]) -> Iterator[Any]:
    yield first
    yield from rest

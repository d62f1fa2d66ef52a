"""Where imaging records live: the protocol, shared helpers and the in-memory implementation.

The SQL implementation is :class:`hospital_complaints.storage.sql.exams.ImagingRepository`;
:class:`InMemoryImagingRepository` is the real, small implementation unit tests use.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar, runtime_checkable
from zoneinfo import ZoneInfo

from ..domain.imaging import EquipmentFault, ExamEvent, RosterShift
from .exam_rows import ExamRow, record_of
from .records import (
    ExamRecord,
    PatientHasher,
    TimelineEntry,
    local_parts,
    merge_all,
    record_from_event,
    timeline_of,
)

DIMENSIONS = ("modality", "station", "weekday_hour", "month")
#: a fault reported this long before a visit is not looked at (an open fault that old is a
#: data problem; the bound keeps the overlap joins indexed); an open fault (no restored time)
#: counts as down for this long after its report in the department summary
MAX_OUTAGE = timedelta(days=7)
#: the department summary's fault impacts look at visits that began at most this long
#: before the fault was reported (a longer visit is a data problem; keeps the join indexed)
MAX_VISIT = timedelta(hours=24)
MAX_OUTAGE_S = int(MAX_OUTAGE.total_seconds())
MAX_VISIT_S = int(MAX_VISIT.total_seconds())
T = TypeVar("T", datetime, int)
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class ComplaintLink:
    """A complaint's link to one exam, as projected for analytics."""

    complaint_ref: str
    accession_number: str
    received_at: datetime


@dataclass(frozen=True)
class Rank:
    """How many exams of a distribution had a value <= the one looked at, out of n."""

    at_or_below: int
    n: int

    @property
    def percentile(self) -> float | None:
        return percentile(self.at_or_below, self.n)


def percentile(at_or_below: int, n: int) -> float | None:
    """The share of a distribution at or below a value, in percent to one decimal."""
    return None if n == 0 else round(100 * at_or_below / n, 1)


@dataclass(frozen=True)
class FaultImpact:
    fault: EquipmentFault
    exams_on_station: int
    exams_of_modality: int
    complaints: int

    @property
    def exams_on_device(self) -> int:
        """The old name of :attr:`exams_on_station` (deprecated)."""
        return self.exams_on_station


@dataclass(frozen=True)
class ComplaintMetrics:
    """The numbers of one complaint's evidence pack, computed for many complaints at once."""

    complaint_ref: str
    accession_number: str
    station: str | None
    modality: str | None
    minutes: dict[str, float | None]
    day_percentile: dict[str, float | None]
    device_percentile: dict[str, float | None]
    fault_ids: list[str]


@dataclass(frozen=True)
class ComplaintExamRow:
    complaint_ref: str
    received_at: datetime
    accession_number: str
    station: str | None
    modality: str | None
    wait_min: float | None
    report_min: float | None


@dataclass(frozen=True)
class SummaryCounts:
    """The counts of the department summary: exams and complaints per dimension, and per
    delay band of each metric ``{metric: {band: (exams, complaints)}}``."""

    exams: Counts
    complaints: Counts
    bands: dict[str, dict[int, tuple[int, int]]]


class ImagingRecords(Protocol):
    """What correlation needs from storage. Aggregates are computed by the store."""

    tz: ZoneInfo
    hasher: PatientHasher

    def add_exams(self, exams: Iterable[ExamRecord]) -> int: ...
    def add_exam_rows(self, rows: Iterable[ExamRow], *, expected: int | None = None) -> int: ...
    def add_exam_events(self, events: Iterable[ExamEvent]) -> int: ...
    def add_faults(self, faults: Iterable[EquipmentFault]) -> int: ...
    def add_shifts(self, shifts: Iterable[RosterShift]) -> int: ...
    def set_complaint_links(self, links: Iterable[ComplaintLink]) -> int: ...
    def exam(self, accession_number: str) -> ExamRecord | None: ...
    def exam_by_study(self, study_instance_uid: str) -> ExamRecord | None: ...
    def exams_since(self, milestone: str, since_s: int, limit: int = 1000,
                    after: str = "") -> list[ExamRecord]: ...
    def timeline(self, accession_number: str) -> list[TimelineEntry]: ...
    def exams_for_patient(self, patient_id: str, start: datetime,
                          end: datetime) -> list[ExamRecord]: ...
    def rank(self, metric: str, value: float, *, day_from: str, day_to: str,
             modality: str | None = None, station: str | None = None) -> Rank: ...
    def ranks(self, values: Mapping[str, float], *, day_from: str, day_to: str,
              modality: str | None = None, station: str | None = None) -> dict[str, Rank]: ...
    def faults_between(self, start: datetime, end: datetime) -> list[EquipmentFault]: ...
    def shifts_between(self, start: datetime, end: datetime) -> list[RosterShift]: ...
    def dimension_counts(self, day_from: str, day_to: str) -> tuple[Counts, Counts]: ...
    def band_counts(self, metric: str, edges: Sequence[float], day_from: str,
                    day_to: str) -> dict[int, tuple[int, int]]: ...
    def summary_counts(self, day_from: str, day_to: str,
                       band_edges: Mapping[str, Sequence[float]]) -> SummaryCounts: ...
    def fault_impacts(self, day_from: str, day_to: str) -> list[FaultImpact]: ...
    def complaint_exams(self, day_from: str, day_to: str) -> Iterator[ComplaintExamRow]: ...


def overlaps(start: T, end: T, since: T, until: T | None) -> bool:
    """Whether the visit ``start``-``end`` and the period ``since``-``until`` (an outage, a
    shift; ``until`` None: still going on) share an instant. Both are half-open, ``[start,
    end)``: a visit that begins the minute a device is restored, or ends the minute a fault
    is reported, did not overlap the fault. A visit known by one instant only (``start ==
    end``) is that instant: it overlaps when ``since <= start < until``. Instants or epoch
    seconds alike (docs/correlation.md, "Overlap")."""
    if until is not None and not start < until:
        return False
    return since < end or since == start


def outage_end(reported: T, restored: T | None) -> T:
    """When an outage ends: its restored time; an open fault (not restored yet, or its
    restoration not recorded) counts as down for :data:`MAX_OUTAGE` after its report."""
    if restored is not None:
        return restored
    if isinstance(reported, datetime):
        return reported + MAX_OUTAGE
    return reported + MAX_OUTAGE_S


#: dimension -> key -> count
Counts = dict[str, dict[str, int]]
#: (modality, station, weekday, hour, month)
CubeKey = tuple[str | None, str | None, int | None, int | None, str | None]


def rollup(rows: Iterable[tuple[CubeKey, int]]) -> Counts:
    """Counts grouped by (modality, station, weekday, hour, month), summed per dimension."""
    out: Counts = {d: {} for d in DIMENSIONS}
    for (modality, station, weekday, hour, month), n in rows:
        for d in DIMENSIONS:
            k = dimension_key(d, modality, station, weekday, hour, month)
            out[d][k] = out[d].get(k, 0) + n
    return out


def band_of(value: float, edges: Sequence[float]) -> int:
    """Index of the band: edges (15, 30, 60) give bands <15, 15-30, 30-60, >=60."""
    for i, edge in enumerate(edges):
        if value < edge:
            return i
    return len(edges)


def dimension_key(dimension: str, modality: str | None, station: str | None,
                  weekday: int | None, hour: int | None, month: str | None) -> str:
    if dimension == "modality":
        return modality or "?"
    if dimension == "station":
        return station or "?"
    if dimension == "weekday_hour":
        return f"{WEEKDAYS[weekday or 0]} {hour or 0:02d}:00"
    if dimension == "month":
        return month or "?"
    raise ValueError(f"unknown dimension {dimension!r}; one of {', '.join(DIMENSIONS)}")


@runtime_checkable
class PreparedExamRows(Protocol):
    """A store whose exam rows can be prepared in other processes (hashed, derived and
    sealed), so that a large import parses and prepares in parallel while the store writes
    (``correlation.import_workers``). Optional: an :class:`ImagingRecords` without it
    imports in one process."""

    def exam_row_preparer(self) -> Callable[[ExamRow], tuple[Any, ...]] | None:
        """A picklable function from a parsed row to the row the store writes; None when
        the store cannot take prepared rows now."""
        ...

    def add_prepared_exam_rows(self, batches: Iterable[Sequence[tuple[Any, ...]]], *,
                               expected: int | None = None) -> int:
        """Store or merge rows made by :meth:`exam_row_preparer`, batch by batch in the
        order given; returns how many rows were given."""
        ...


class InMemoryImagingRepository:
    """Imaging records in dictionaries: for unit tests and small tools."""

    def __init__(self, tz: ZoneInfo | str = "Asia/Shanghai",
                 secret: bytes = b"in-memory test secret") -> None:
        self.tz = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
        self.hasher = PatientHasher([secret])
        self._exams: dict[str, ExamRecord] = {}
        self._faults: dict[str, EquipmentFault] = {}
        self._shifts: dict[tuple[str, str, datetime, datetime], RosterShift] = {}
        self._links: dict[tuple[str, str], ComplaintLink] = {}

    # -- loading ---------------------------------------------------------------------------

    def add_exams(self, exams: Iterable[ExamRecord]) -> int:
        n = 0
        for acc, rec in merge_all(exams).items():
            if rec.patient_id is not None:
                rec = replace(rec, patient_id=None,
                              patient_hash=self.hasher.hash(rec.patient_id))
            old = self._exams.get(acc)
            self._exams[acc] = rec if old is None else old.merged(rec)
            n += 1
        return n

    def add_exam_rows(self, rows: Iterable[ExamRow], *, expected: int | None = None) -> int:
        """Exams as plain rows (a file import; :mod:`.exam_rows`)."""
        count = 0

        def records() -> Iterator[ExamRecord]:
            nonlocal count
            for r in rows:
                count += 1
                yield record_of(r, self.tz)

        self.add_exams(records())
        return count

    def add_exam_events(self, events: Iterable[ExamEvent]) -> int:
        return self.add_exams(record_from_event(e) for e in events)

    def add_faults(self, faults: Iterable[EquipmentFault]) -> int:
        n = 0
        for f in faults:
            self._faults[f.fault_id] = f
            n += 1
        return n

    def add_shifts(self, shifts: Iterable[RosterShift]) -> int:
        n = 0
        for s in shifts:
            self._shifts[(s.staff, s.role, s.start, s.end)] = s
            n += 1
        return n

    def set_complaint_links(self, links: Iterable[ComplaintLink]) -> int:
        n = 0
        for link in links:
            self._links[(link.complaint_ref, link.accession_number)] = link
            n += 1
        return n

    # -- lookups ---------------------------------------------------------------------------

    def exam(self, accession_number: str) -> ExamRecord | None:
        return self._exams.get(accession_number)

    def exam_by_study(self, study_instance_uid: str) -> ExamRecord | None:
        return next((e for e in self._exams.values()
                     if e.study_instance_uid == study_instance_uid), None)

    def timeline(self, accession_number: str) -> list[TimelineEntry]:
        exam = self.exam(accession_number)
        return [] if exam is None else timeline_of(exam)

    def exams_since(self, milestone: str, since_s: int, limit: int = 1000,
                    after: str = "") -> list[ExamRecord]:
        def at(e: ExamRecord) -> int | None:
            t: datetime | None = getattr(e, f"{milestone}_at")
            return int(t.timestamp()) if t is not None else None

        found = [(s, e.accession_number, e) for e in self._exams.values()
                 if (s := at(e)) is not None
                 and (s > since_s or (s == since_s and e.accession_number > after))]
        return [e for _s, _a, e in sorted(found, key=lambda x: (x[0], x[1]))[:limit]]

    def exams_for_patient(self, patient_id: str, start: datetime,
                          end: datetime) -> list[ExamRecord]:
        hashes = set(self.hasher.candidates(patient_id))
        return sorted((e for e in self._exams.values() if e.patient_hash in hashes
                       and (a := e.anchor) is not None and start <= a <= end),
                      key=lambda e: e.anchor or start)

    def _day(self, e: ExamRecord) -> str | None:
        a = e.anchor
        return None if a is None else local_parts(a, self.tz)[0]

    def _in_range(self, day_from: str, day_to: str) -> Iterator[ExamRecord]:
        for e in self._exams.values():
            d = self._day(e)
            if d is not None and day_from <= d <= day_to:
                yield e

    def rank(self, metric: str, value: float, *, day_from: str, day_to: str,
             modality: str | None = None, station: str | None = None) -> Rank:
        values = [v for e in self._in_range(day_from, day_to)
                  if (modality is None or e.modality == modality)
                  and (station is None or e.station == station)
                  and (v := e.minutes(metric)) is not None]
        return Rank(sum(1 for v in values if v <= value), len(values))

    def ranks(self, values: Mapping[str, float], *, day_from: str, day_to: str,
              modality: str | None = None, station: str | None = None) -> dict[str, Rank]:
        return {m: self.rank(m, v, day_from=day_from, day_to=day_to, modality=modality,
                             station=station) for m, v in values.items()}

    def faults_between(self, start: datetime, end: datetime) -> list[EquipmentFault]:
        """Faults whose outage overlaps the visit ``start``-``end`` (:func:`overlaps`,
        :func:`outage_end`), reported less than :data:`MAX_OUTAGE` before it began."""
        return sorted((f for f in self._faults.values() if f.reported_at > start - MAX_OUTAGE
                       and overlaps(start, end, f.reported_at,
                                    outage_end(f.reported_at, f.restored_at))),
                      key=lambda f: f.reported_at)

    def shifts_between(self, start: datetime, end: datetime) -> list[RosterShift]:
        """Shifts overlapping the visit ``start``-``end`` (:func:`overlaps`)."""
        return sorted((s for s in self._shifts.values() if overlaps(start, end, s.start, s.end)),
                      key=lambda s: (s.start, s.staff))

    # -- aggregates ------------------------------------------------------------------------

    def _cube(self, e: ExamRecord) -> CubeKey:
        a = e.anchor
        assert a is not None
        _, hour, weekday, month = local_parts(a, self.tz)
        return e.modality, e.station, weekday, hour, month

    def _linked(self, day_from: str, day_to: str) -> Iterator[tuple[ComplaintLink, ExamRecord]]:
        for link in self._links.values():
            e = self._exams.get(link.accession_number)
            d = None if e is None else self._day(e)
            if e is not None and d is not None and day_from <= d <= day_to:
                yield link, e

    def dimension_counts(self, day_from: str, day_to: str) -> tuple[Counts, Counts]:
        exams: dict[CubeKey, int] = {}
        for e in self._in_range(day_from, day_to):
            k = self._cube(e)
            exams[k] = exams.get(k, 0) + 1
        complaints: dict[CubeKey, int] = {}
        for _, e in self._linked(day_from, day_to):
            k = self._cube(e)
            complaints[k] = complaints.get(k, 0) + 1
        return rollup(exams.items()), rollup(complaints.items())

    def band_counts(self, metric: str, edges: Sequence[float], day_from: str,
                    day_to: str) -> dict[int, tuple[int, int]]:
        exams: dict[int, int] = {}
        complaints: dict[int, int] = {}
        for e in self._in_range(day_from, day_to):
            v = e.minutes(metric)
            if v is not None:
                b = band_of(v, edges)
                exams[b] = exams.get(b, 0) + 1
        for _, e in self._linked(day_from, day_to):
            v = e.minutes(metric)
            if v is not None:
                b = band_of(v, edges)
                complaints[b] = complaints.get(b, 0) + 1
        return {b: (exams.get(b, 0), complaints.get(b, 0)) for b in set(exams) | set(complaints)}

    def summary_counts(self, day_from: str, day_to: str,
                       band_edges: Mapping[str, Sequence[float]]) -> SummaryCounts:
        exams, complaints = self.dimension_counts(day_from, day_to)
        return SummaryCounts(exams, complaints, {
            m: self.band_counts(m, edges, day_from, day_to) for m, edges in band_edges.items()})

    def fault_impacts(self, day_from: str, day_to: str) -> list[FaultImpact]:
        out = []
        for f in sorted(self._faults.values(), key=lambda f: f.reported_at):
            day = local_parts(f.reported_at, self.tz)[0]
            if not day_from <= day <= day_to:
                continue
            affected = [e for e in self._exams.values() if _affected(e, f)]
            accs = {e.accession_number for e in affected}
            out.append(FaultImpact(
                f, sum(1 for e in affected if e.station == f.device), len(affected),
                sum(1 for link in self._links.values() if link.accession_number in accs)))
        return out

    def complaint_exams(self, day_from: str, day_to: str) -> Iterator[ComplaintExamRow]:
        rows = sorted(self._linked(day_from, day_to), key=lambda le: le[0].received_at)
        for link, e in rows:
            yield ComplaintExamRow(link.complaint_ref, link.received_at, e.accession_number,
                                   e.station, e.modality, e.minutes("wait"), e.minutes("report"))


def _affected(e: ExamRecord, f: EquipmentFault) -> bool:
    """The exam's visit overlaps the outage (:func:`overlaps`), on the device or on its
    modality, as the SQL summary counts it: a visit that began more than :data:`MAX_VISIT`
    before the report is not looked at."""
    w = e.window
    if w is None or not (e.station == f.device or (f.modality and e.modality == f.modality)):
        return False
    return w[0] >= f.reported_at - MAX_VISIT and overlaps(
        w[0], w[1], f.reported_at, outage_end(f.reported_at, f.restored_at))

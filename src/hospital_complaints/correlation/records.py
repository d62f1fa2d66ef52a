"""One imaging exam as stored: its milestones, derived delays and data-quality flags.

A RIS reports an exam as a series of milestone events (``ExamEvent``); storage keeps one row per
accession number with one column per milestone, so that department analytics are plain
set-based SQL over an indexed table. Loading the same event twice sets the same column to the
same value: imports are idempotent.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from ..domain.imaging import ExamEvent
from ..domain.taxonomy import ExamEventType

#: milestone event -> ExamRecord attribute
MILESTONES: dict[ExamEventType, str] = {
    ExamEventType.ORDERED: "ordered_at",
    ExamEventType.ARRIVED: "arrived_at",
    ExamEventType.STARTED: "started_at",
    ExamEventType.COMPLETED: "completed_at",
    ExamEventType.PRELIMINARY_REPORT: "preliminary_at",
    ExamEventType.FINAL_REPORT: "final_at",
    ExamEventType.CORRECTED_REPORT: "corrected_at",
    ExamEventType.CANCELLED: "cancelled_at",
    ExamEventType.NO_SHOW: "no_show_at",
}
#: milestones that must happen in this order (a later one earlier than a former is flagged)
CHAIN = ("ordered_at", "arrived_at", "started_at", "completed_at", "preliminary_at", "final_at")
METRICS = ("wait", "slip", "report")
METRIC_LABELS: dict[str, tuple[str, str]] = {
    "wait": ("候检等待（签到→开始检查）", "waiting time (arrived→started)"),
    "slip": ("预约延误（预约时间→开始检查）", "schedule slip (scheduled→started)"),
    "report": ("报告时长（检查完成→正式报告）", "report turnaround (completed→final report)"),
}


@dataclass(frozen=True)
class ExamRecord:
    """One exam (accession number) with its milestones. Times are timezone-aware.

    ``patient_id`` is input only: storage keeps its keyed hash (``patient_hash``), never the
    plain value, and records read back from storage have ``patient_id=None``.
    """

    accession_number: str
    study_instance_uid: str | None = None
    modality: str | None = None
    station: str | None = None
    room: str | None = None
    patient_id: str | None = field(default=None, repr=False)
    patient_hash: str | None = None
    ordered_at: datetime | None = None
    scheduled_at: datetime | None = None
    arrived_at: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    preliminary_at: datetime | None = None
    final_at: datetime | None = None
    corrected_at: datetime | None = None
    cancelled_at: datetime | None = None
    no_show_at: datetime | None = None
    source: str | None = None
    #: milestone fields (``started_at`` ...) whose value is a date without a time of day;
    #: input only, like ``patient_id``: storage keeps the time, and a merge keeps a stored
    #: time of the same day instead of such a value
    date_only: frozenset[str] = field(default=frozenset(), repr=False)

    # -- derived ---------------------------------------------------------------------------

    def minutes(self, metric: str) -> float | None:
        """wait / slip / report in minutes; None when a time is missing or out of order.
        Elapsed time, also across a change of the UTC offset (two times of one ``ZoneInfo``
        would subtract as wall-clock times)."""
        a, b = {"wait": (self.arrived_at, self.started_at),
                "slip": (self.scheduled_at, self.started_at),
                "report": (self.completed_at, self.final_at)}[metric]
        if a is None or b is None:
            return None
        value = (b.astimezone(UTC) - a.astimezone(UTC)).total_seconds() / 60
        if value < 0 and metric != "slip":  # starting early is fine; the rest is a data error
            return None
        return round(value, 2)

    @property
    def flags(self) -> tuple[str, ...]:
        """Data-quality problems: ``missing:<milestone>``, ``out_of_order:<a>><b>``."""
        found: list[str] = []
        present = [(n, getattr(self, n)) for n in CHAIN if getattr(self, n) is not None]
        for (n1, t1), (n2, t2) in itertools.pairwise(present):
            if t2 < t1:
                found.append(f"out_of_order:{n1.removesuffix('_at')}>{n2.removesuffix('_at')}")
        for later, needed in (("started_at", "arrived_at"), ("completed_at", "started_at"),
                              ("final_at", "completed_at")):
            if getattr(self, later) is not None and getattr(self, needed) is None:
                found.append(f"missing:{needed.removesuffix('_at')}")
        return tuple(found)

    @property
    def window(self) -> tuple[datetime, datetime] | None:
        """The visit, from the earlier of scheduled/arrived to the exam's end."""
        starts = [t for t in (self.scheduled_at, self.arrived_at, self.started_at) if t]
        if not starts:
            return None
        start = min(starts)
        ends = [t for t in (self.completed_at, self.started_at, self.arrived_at) if t]
        return start, max([start, *ends])

    @property
    def anchor(self) -> datetime | None:
        """The instant the exam is counted at (day, hour): started, else arrived, else
        scheduled, else ordered."""
        for t in (self.started_at, self.arrived_at, self.scheduled_at, self.ordered_at):
            if t is not None:
                return t
        return None

    def merged(self, newer: ExamRecord) -> ExamRecord:
        """This record with every value ``newer`` has (the newer feed wins per field)."""
        values = dict(vars(self))
        _update(values, newer)
        return ExamRecord(**values)


def _update(values: dict[str, object], newer: ExamRecord | dict[str, object]) -> None:
    """Set in ``values`` every field ``newer`` has (not None), except the accession; a
    date-only time never replaces a time of the same day (the more precise one stays)."""
    items = vars(newer) if isinstance(newer, ExamRecord) else newer
    coarse = items.get("date_only") or frozenset()
    assert isinstance(coarse, frozenset)
    kept: set[str] = set(values.get("date_only") or ())  # type: ignore[call-overload]
    for name, value in items.items():
        if value is None or name in ("accession_number", "date_only"):
            continue
        if name in coarse:
            old = values.get(name)
            if isinstance(old, datetime) and isinstance(value, datetime) \
                    and old.astimezone(value.tzinfo).date() == value.date():
                continue  # the stored time of that day is the more precise
            kept.add(name)
        else:
            kept.discard(name)
        values[name] = value
    values["date_only"] = frozenset(kept)


def _event_values(event: ExamEvent) -> dict[str, object]:
    """The fields one milestone event contributes to its exam record (None: not known)."""
    values: dict[str, object] = {
        "accession_number": event.accession_number,
        "study_instance_uid": event.study_instance_uid, "modality": event.modality,
        "station": event.station, "room": event.room, "patient_id": event.patient_id,
        "scheduled_at": event.scheduled_start, "source": event.source,
    }
    coarse: set[str] = set()
    if event.scheduled_start_date_only and event.scheduled_start is not None:
        coarse.add("scheduled_at")
    column = MILESTONES.get(event.event)
    if column is not None and event.occurred_at is not None:
        values[column] = event.occurred_at
        if event.occurred_at_date_only:
            coarse.add(column)
    if event.event is ExamEventType.SCHEDULED and event.scheduled_start is None:
        values["scheduled_at"] = event.occurred_at
        if event.occurred_at_date_only:
            coarse.add("scheduled_at")
    values["date_only"] = frozenset(coarse)
    return values


def record_from_event(event: ExamEvent) -> ExamRecord:
    """The partial record one milestone event contributes."""
    return ExamRecord(**_event_values(event))  # type: ignore[arg-type]


def merge_all(records: Iterable[ExamRecord]) -> dict[str, ExamRecord]:
    """Records of the same accession merged, in input order (the later wins per field)."""
    merged: dict[str, dict[str, object]] = {}
    for r in records:
        values = merged.get(r.accession_number)
        if values is None:
            merged[r.accession_number] = dict(vars(r))
        else:
            _update(values, r)
    return {acc: ExamRecord(**values) for acc, values in merged.items()}  # type: ignore[arg-type]


def merge_events(events: Iterable[ExamEvent]) -> dict[str, ExamRecord]:
    """:func:`merge_all` of the events' records, without a record per event (the HL7 feed's
    hot path: a batch holds several events per exam)."""
    merged: dict[str, dict[str, object]] = {}
    for event in events:
        new = _event_values(event)
        values = merged.get(event.accession_number)
        if values is None:
            merged[event.accession_number] = new
        else:
            _update(values, new)
    return {acc: ExamRecord(**values) for acc, values in merged.items()}  # type: ignore[arg-type]


@dataclass(frozen=True)
class TimelineEntry:
    event: ExamEventType
    at: datetime


def timeline_of(exam: ExamRecord) -> list[TimelineEntry]:
    """The exam's milestones in time order (scheduled start included)."""
    entries = [TimelineEntry(e, getattr(exam, col)) for e, col in MILESTONES.items()
               if getattr(exam, col) is not None]
    if exam.scheduled_at is not None:
        entries.append(TimelineEntry(ExamEventType.SCHEDULED, exam.scheduled_at))
    return sorted(entries, key=lambda e: e.at)


def hmac_sha256_hex(key: bytes) -> Callable[[bytes], str]:
    """HMAC-SHA256 hex digests under ``key``, for many messages (a bulk import makes a
    million): the keyed state made once and copied per message, the same digests as
    ``hmac.digest(key, message, "sha256").hex()``."""
    keyed = hmac.new(key, digestmod="sha256")

    def hexdigest(message: bytes) -> str:
        h = keyed.copy()
        h.update(message)
        return h.hexdigest()

    return hexdigest


class PatientHasher:
    """Keyed hash (HMAC-SHA256) of patient ids, so exams can be matched to a complaint's patient
    without storing the id. One secret per key of the store's key ring; the first hashes new
    records, all are tried when looking up, so a key rotation keeps old records findable."""

    def __init__(self, secrets: Iterable[bytes]) -> None:
        self._keys = [hashlib.sha256(b"hc-patient-id|" + s).digest() for s in secrets]
        if not self._keys:
            raise ValueError("PatientHasher needs at least one secret")

    def hash(self, patient_id: str) -> str:
        return hmac.digest(self._keys[0], patient_id.strip().encode("utf-8"), "sha256").hex()

    def fast(self) -> Callable[[str], str]:
        """:meth:`hash` for many ids (a bulk import hashes a million): see
        :func:`hmac_sha256_hex`."""
        mac = hmac_sha256_hex(self._keys[0])

        def hash_id(patient_id: str) -> str:
            return mac(patient_id.strip().encode("utf-8"))

        return hash_id

    def candidates(self, patient_id: str) -> list[str]:
        return [hmac.digest(k, patient_id.strip().encode("utf-8"), "sha256").hex()
                for k in self._keys]


def local_parts(at: datetime, tz: ZoneInfo) -> tuple[str, int, int, str]:
    """(day 'YYYY-MM-DD', hour, weekday 0=Mon, month 'YYYY-MM') in the department's zone."""
    t = at.astimezone(tz)
    return t.strftime("%Y-%m-%d"), t.hour, t.weekday(), t.strftime("%Y-%m")

"""The QIDO-RS sync: studies and series of a date range become exam milestones.

``hospital-complaints dicom sync [--since DATE]`` (and the exam source ``dicom:qido`` the worker
reads) asks the PACS, one study date at a time:

1. ``GET studies?StudyDate=D`` — AccessionNumber, StudyInstanceUID, StudyDate/Time,
   ModalitiesInStudy (paged with ``limit``/``offset``);
2. ``GET series?StudyDate=D&includefield=StationName&includefield=PerformedProcedureStep...``
   — Modality, StationName, PerformedProcedureStepStartDate/Time, SeriesDate/Time and
   TimezoneOffsetFromUTC, which a server returns at series level only when asked
   (``includefield``). A server that does not search all series is asked per study.

Each study with an accession number gives the exam its Study Instance UID, and fills its
modality, station and patient where the exam has none (the RIS names devices; the PACS
fills gaps). Its start comes from the first acquisition series' performed procedure step
start (``dicom:series-pps``), else its series date/time (``dicom:series-time``), else the
study date/time (``dicom:study-time``) — and is written only where MPPS did not give one and
no other source set one (:mod:`hc_dicom.provenance`).

Incremental: the last day synced is kept per server (``dicom_sync_state``) and the next sync
starts ``HC_DICOMWEB_LOOKBACK_DAYS`` (2) before it, because studies reach the PACS late and an
exam after midnight may carry the previous day's StudyDate. Re-reading is harmless: merging the
same milestone twice changes nothing.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

import sqlalchemy as sa
from hospital_complaints.plugin_api import ExamEvent, ExamEventType

from . import provenance
from ._core_gaps import exams_by_accession
from .errors import DicomWebError
from .events import make_event
from .provenance import Provenance, same_instant
from .qido import QidoClient
from .settings import DicomSettings, settings_of
from .studies import SERIES_FIELDS, SOURCE_MPPS, SOURCE_QIDO, STUDY_FIELDS, StudyInfo, read_study
from .tables import tables
from .times import da

log = logging.getLogger(__name__)
MAX_PROBLEMS = 50


@dataclass
class SyncReport:
    """What one sync read and did."""

    first_day: date
    last_day: date
    studies: int = 0
    series: int = 0
    without_accession: int = 0
    events: int = 0
    started_from: Counter[str] = field(default_factory=Counter)
    start_kept: Counter[str] = field(default_factory=Counter)
    mpps_matched: int = 0
    requests: int = 0
    problems: list[str] = field(default_factory=list)
    problem_count: int = 0

    def problem(self, text: str) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(text)

    def render(self) -> str:
        started = ", ".join(f"{k} {v}" for k, v in sorted(self.started_from.items())) or "none"
        kept = ", ".join(f"{k} {v}" for k, v in sorted(self.start_kept.items())) or "none"
        lines = [
            f"dicom sync {self.first_day.isoformat()} .. {self.last_day.isoformat()}: "
            f"{self.studies} studies, {self.series} series, {self.events} exam events "
            f"({self.requests} requests)",
            f"  start times written from: {started}",
            f"  start times left as they were (another source gave them): {kept}",
            f"  studies without accession number (not linked): {self.without_accession}",
            f"  MPPS waiting for their exam, now matched: {self.mpps_matched}",
        ]
        if self.problem_count:
            lines.append(f"  unusable values: {self.problem_count} (first: "
                         + "; ".join(self.problems[:3]) + ")")
        return "\n".join(lines)


@dataclass(frozen=True)
class Plan:
    events: list[ExamEvent]
    provenance: list[Provenance]


class QidoSync:
    """Reads a DICOMweb server into the exam table of ``app``.

    :param client: the QIDO client (default: from ``[plugins.dicom]``).
    """

    def __init__(self, app: Any, client: QidoClient | None = None,
                 settings: DicomSettings | None = None) -> None:
        self.app = app
        self.settings = settings or settings_of(app)
        self._client = client
        self.zone: tzinfo = self.settings.tz(app.settings.timezone)
        base = client.base_url if client is not None else self.settings.dicomweb_url
        self.source_id = f"dicomweb:{base}"
        self._per_study = False

    @property
    def client(self) -> QidoClient:
        """The QIDO client (built from the settings on first use)."""
        if self._client is None:
            self._client = QidoClient.from_settings(self.settings)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    # -- reading the PACS ---------------------------------------------------------------------

    def studies_of_day(self, day: date, report: SyncReport) -> list[StudyInfo]:
        """Every study of one StudyDate with its series."""
        when = da(day)
        found = list(self.client.search("studies", {"StudyDate": when}, STUDY_FIELDS))
        by_uid: dict[str, list[dict[str, Any]]] = {}
        if found and not self._per_study:
            try:
                for s in self.client.search("series", {"StudyDate": when}, SERIES_FIELDS):
                    uid = _uid(s)
                    if uid is not None:
                        by_uid.setdefault(uid, []).append(s)
            except DicomWebError as exc:
                if exc.status not in (400, 404, 405, 501):
                    raise
                log.info("%s does not search all series (HTTP %s): asking per study",
                         self.client.base_url, exc.status)
                self._per_study = True
        studies = []
        for obj in found:
            uid = _uid(obj)
            if uid is None:
                report.problem("a study result without StudyInstanceUID")
                continue
            series = by_uid.get(uid, [])
            if self._per_study:
                series = list(self.client.search(f"studies/{uid}/series", (), SERIES_FIELDS))
            info = read_study(obj, self.zone, series)
            if info is None:
                continue
            studies.append(info)
            report.studies += 1
            report.series += len(info.series)
            for p in info.problems:
                report.problem(p)
        return studies

    # -- deciding -------------------------------------------------------------------------------

    def plan(self, studies: list[StudyInfo], known: dict[tuple[str, str], Provenance],
             report: SyncReport) -> Plan:
        """The events (and provenance rows) for ``studies``, given the provenance already
        stored (``known``) and the exam rows as they are."""
        exams = exams_by_accession(self.app.imaging.repo,
                                   (s.accession for s in studies if s.accession))
        events: list[ExamEvent] = []
        rows: list[Provenance] = []
        for study in studies:
            acc = study.accession
            if acc is None:
                report.without_accession += 1
                continue
            exam = exams.get(acc)
            fill: dict[str, Any] = {}
            if exam is None or exam.study_instance_uid is None:
                fill["study_uid"] = study.study_uid
            if exam is None or exam.modality is None:
                fill["modality"] = study.modality
            if exam is None or exam.station is None:
                fill["station"] = study.station
            if exam is None or exam.patient_hash is None:
                fill["patient_id"] = study.patient_id
            started = study.started
            write_start = False
            if started is not None:
                mine = known.get((acc, "started"))
                current = exam.started_at if exam is not None else None
                if mine is not None and mine.source == SOURCE_MPPS:
                    report.start_kept[SOURCE_MPPS] += 1
                elif current is not None and not (mine is not None
                                                  and same_instant(mine.at, current)):
                    report.start_kept["other source"] += 1
                else:
                    write_start = True
            problems: list[str] = []
            if write_start and started is not None:
                at, source = started
                event = make_event(acc, ExamEventType.STARTED, source=source, occurred_at=at,
                                   problems=problems, **fill)
                if event is not None:
                    events.append(event)
                    rows.append(Provenance(acc, "started", source, at))
                    report.started_from[source] += 1
            elif any(v is not None for v in fill.values()):
                event = make_event(acc, ExamEventType.OTHER, source=SOURCE_QIDO,
                                   problems=problems, **fill)
                if event is not None:
                    events.append(event)
            for p in problems:
                report.problem(p)
        report.events += len(events)
        return Plan(events, rows)

    # -- the window -----------------------------------------------------------------------------

    def today(self) -> date:
        now: datetime = self.app.clock.now()
        return now.astimezone(self.zone).date()

    def watermark(self) -> date | None:
        if self.app.in_memory:
            return None
        t = tables(self.app.store.prefix, self.app.store.schema).sync_state
        with self.app.store.read() as conn:
            value = conn.execute(sa.select(t.c.watermark)
                                 .where(t.c.source_id == self.source_id)).scalar()
        return date.fromisoformat(value) if value else None

    def window(self, since: date | None, until: date | None) -> tuple[date, date]:
        last = until or self.today()
        if since is None:
            mark = self.watermark() or last
            since = mark - timedelta(days=self.settings.dicomweb_lookback_days)
        if since > last:
            from hospital_complaints.plugin_api import FieldProblem, InvalidInput

            raise InvalidInput("dicom sync", [FieldProblem(
                "--since", since.isoformat(), f"a day on or before {last.isoformat()}")],
                [f"  - --since：须不晚于 {last.isoformat()}"])
        return since, last

    def _save_watermark(self, conn: sa.Connection, report: SyncReport) -> None:
        t = tables(self.app.store.prefix, self.app.store.schema).sync_state
        conn.execute(sa.delete(t).where(t.c.source_id == self.source_id))
        conn.execute(sa.insert(t).values(
            source_id=self.source_id, watermark=report.last_day.isoformat(),
            last_run_at=provenance.iso(self.app.clock.now()),
            last_window=f"{report.first_day.isoformat()}..{report.last_day.isoformat()}",
            studies=report.studies, events=report.events))

    # -- running --------------------------------------------------------------------------------

    def run(self, since: date | None = None, until: date | None = None) -> SyncReport:
        """Sync the window day by day; each day is committed with its provenance in one
        transaction, the watermark after the last day, then waiting MPPS are matched."""
        first, last = self.window(since, until)
        report = SyncReport(first, last)
        store = self.app.store
        sent_before = self.client.requests
        day = first
        while day <= last:
            studies = self.studies_of_day(day, report)
            if studies:
                with store.read() as conn:
                    known = provenance.read(conn, store,
                                            (s.accession for s in studies if s.accession))
                plan = self.plan(studies, known, report)
                with self.app.imaging.transaction() as tx:
                    provenance.write(tx.connection, store, plan.provenance,
                                     self.app.clock.now())
                    if plan.events:
                        tx.merge(plan.events)
            day += timedelta(days=1)
        with store.write() as conn:
            self._save_watermark(conn, report)
        from .mpps.store import MppsStore

        report.mpps_matched = MppsStore(self.app).match_pending()
        report.requests = self.client.requests - sent_before
        return report

    def read_exam_events(self, since: date | None = None,
                         until: date | None = None) -> Iterator[ExamEvent]:
        """The same events as :meth:`run`, yielded (the exam source). The provenance and
        the watermark are written once the events were read to the end."""
        first, last = self.window(since, until)
        report = SyncReport(first, last)
        rows: list[Provenance] = []
        in_memory = self.app.in_memory
        day = first
        while day <= last:
            studies = self.studies_of_day(day, report)
            if studies:
                known: dict[tuple[str, str], Provenance] = {}
                if not in_memory:
                    with self.app.store.read() as conn:
                        known = provenance.read(conn, self.app.store,
                                                (s.accession for s in studies if s.accession))
                plan = self.plan(studies, known, report)
                rows.extend(plan.provenance)
                yield from plan.events
            day += timedelta(days=1)
        if not in_memory:
            with self.app.store.write() as conn:
                provenance.write(conn, self.app.store, rows, self.app.clock.now())
                self._save_watermark(conn, report)
        self.last_report = report


def _uid(obj: dict[str, Any]) -> str | None:
    element = obj.get("0020000D")
    if isinstance(element, dict) and element.get("Value"):
        return str(element["Value"][0])
    return None


class QidoSource:
    """The exam source ``dicom:qido`` (``hc_register_exam_sources``). It is incremental
    (``IncrementalExamSource``): the worker's ``app.imaging.sync(incremental=True)`` passes
    the last day read (``YYYY-MM-DD``) and stores the new one after merging; the window starts
    ``HC_DICOMWEB_LOOKBACK_DAYS`` before it. ``read_exam_events`` reads from the adapter's own
    watermark (``dicom sync``'s)."""

    id = "dicom:qido"

    def __init__(self, app: Any) -> None:
        self.app = app
        self.last_report: SyncReport | None = None

    def read_exam_events(self) -> Iterator[ExamEvent]:
        return self._events(None)

    def changes_since(self, watermark: str | None) -> tuple[str, Iterator[ExamEvent]]:
        plain = QidoSync(self.app)
        since = None
        if watermark:
            since = date.fromisoformat(watermark) - timedelta(
                days=plain.settings.dicomweb_lookback_days)
        today = plain.today()
        if since is None:
            since = today - timedelta(days=plain.settings.dicomweb_lookback_days)
        return today.isoformat(), self._events(since, today)

    def _events(self, since: date | None, until: date | None = None) -> Iterator[ExamEvent]:
        sync = QidoSync(self.app)
        try:
            yield from sync.read_exam_events(since, until)
            self.last_report = getattr(sync, "last_report", None)
        finally:
            sync.close()

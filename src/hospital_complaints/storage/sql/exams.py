"""Imaging records in SQL: ``ImagingRepository(store)``.

Exams are one row per accession number with one column per milestone (UTC epoch seconds),
the derived delays (``wait_min``, ``slip_min``, ``report_min``) and the local day/hour used for
grouping, so every analytic below is one set-based query that SQLite, PostgreSQL and MariaDB
run alike. Loads go in batches: the batch's existing rows are read by primary key, merged
(the newer feed wins per field) and written back, so re-importing a file changes nothing.
The patient id is stored only as a keyed hash (HMAC under the store's key ring).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from itertools import islice
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ...correlation.records import (
    ExamRecord,
    PatientHasher,
    TimelineEntry,
    local_parts,
    merge_all,
    record_from_event,
    timeline_of,
)
from ...correlation.repository import (
    MAX_OUTAGE,
    ComplaintExamRow,
    ComplaintLink,
    ComplaintMetrics,
    Counts,
    FaultImpact,
    Rank,
    rollup,
)
from ...domain.imaging import EquipmentFault, ExamEvent, RosterShift
from .uow import SqlStore

T = TypeVar("T")
#: a visit longer than this is not looked at for fault overlap (keeps the join indexed)
MAX_VISIT_S = 24 * 3600
_TIME_COLS = {"ordered_at": "ordered_s", "scheduled_at": "scheduled_s",
              "arrived_at": "arrived_s", "started_at": "started_s",
              "completed_at": "completed_s", "preliminary_at": "preliminary_s",
              "final_at": "final_s", "corrected_at": "corrected_s",
              "cancelled_at": "cancelled_s", "no_show_at": "no_show_s"}
#: per-connection setting for analytics on SQLite: a 128 MB page cache (the default is 2 MB)
SQLITE_ANALYTICS = ("PRAGMA cache_size=-131072",)
_METRIC_COLS = {"wait": "wait_min", "slip": "slip_min", "report": "report_min"}


def _chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


def _s(t: datetime | None) -> int | None:
    return None if t is None else int(t.timestamp())


class ImagingRepository:
    """Exams, faults and roster shifts stored beside the complaints of one :class:`SqlStore`.

    >>> repo = ImagingRepository(store)                       # doctest: +SKIP
    >>> repo.add_exam_events(source.read_exam_events())       # doctest: +SKIP
    >>> repo.timeline("CT20261116-0042")                      # doctest: +SKIP
    """

    def __init__(self, store: SqlStore, tz: ZoneInfo | str = "Asia/Shanghai",
                 batch_size: int = 2000) -> None:
        t = store.tables
        if t.exams is None or t.faults is None or t.shifts is None or t.complaint_exams is None:
            raise RuntimeError("the store's tables lack the imaging tables (migration 0003)")
        self.store = store
        self.tz = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
        self.hasher = PatientHasher(store.key_ring.keys)
        self.batch_size = batch_size
        self.exams: sa.Table = t.exams
        self.faults: sa.Table = t.faults
        self.shifts: sa.Table = t.shifts
        self.links: sa.Table = t.complaint_exams

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        """A read transaction; on SQLite with a page cache and temp store sized for scans
        over a million exams (SQLite's default cache is 2 MB)."""
        with self.store.read() as conn:
            if self.store.dialect == "sqlite":
                for pragma in SQLITE_ANALYTICS:
                    conn.exec_driver_sql(pragma)
            yield conn

    # -- rows ------------------------------------------------------------------------------

    def _row(self, r: ExamRecord) -> dict[str, Any]:
        row: dict[str, Any] = {
            "accession_number": r.accession_number, "study_uid": r.study_instance_uid,
            "modality": r.modality, "station": r.station, "room": r.room,
            "patient_hash": r.patient_hash, "source": r.source,
            "wait_min": r.minutes("wait"), "slip_min": r.minutes("slip"),
            "report_min": r.minutes("report"), "flags": ",".join(r.flags)[:400] or None,
        }
        for attr, col in _TIME_COLS.items():
            row[col] = _s(getattr(r, attr))
        w = r.window
        row["window_start_s"], row["window_end_s"] = (_s(w[0]), _s(w[1])) if w else (None, None)
        a = r.anchor
        parts = local_parts(a, self.tz) if a else (None, None, None, None)
        row["local_day"], row["local_hour"], row["local_weekday"], row["local_month"] = parts
        return row

    def _t(self, s: int | None) -> datetime | None:
        return None if s is None else datetime.fromtimestamp(s, self.tz)

    def _record(self, m: Any) -> ExamRecord:
        times = {attr: self._t(m[col]) for attr, col in _TIME_COLS.items()}
        return ExamRecord(accession_number=m["accession_number"],
                          study_instance_uid=m["study_uid"], modality=m["modality"],
                          station=m["station"], room=m["room"], patient_hash=m["patient_hash"],
                          source=m["source"], **times)  # type: ignore[arg-type]

    # -- loading ---------------------------------------------------------------------------

    def add_exams(self, exams: Iterable[ExamRecord]) -> int:
        """Store or merge exams; returns how many records were given (after merging)."""
        e = self.exams
        n = 0
        for chunk in _chunks(exams, self.batch_size):
            merged = merge_all(chunk)
            for acc, rec in merged.items():
                if rec.patient_id is not None:
                    merged[acc] = replace(rec, patient_id=None,
                                          patient_hash=self.hasher.hash(rec.patient_id))
            with self.store.write() as conn:
                old = {r.accession_number: self._record(r._mapping) for r in conn.execute(
                    sa.select(e).where(e.c.accession_number.in_(list(merged))))}
                rows = [self._row(old[a].merged(r) if a in old else r)
                        for a, r in merged.items()]
                if old:
                    conn.execute(sa.delete(e).where(e.c.accession_number.in_(list(old))))
                conn.execute(sa.insert(e), rows)
            n += len(merged)
        return n

    def add_exam_events(self, events: Iterable[ExamEvent]) -> int:
        """Store milestone events (an ``ExamSource``'s output); returns the events read."""
        count = 0

        def records() -> Iterator[ExamRecord]:
            nonlocal count
            for ev in events:
                count += 1
                yield record_from_event(ev)

        self.add_exams(records())
        return count

    def add_faults(self, faults: Iterable[EquipmentFault]) -> int:
        """Store faults; a fault id seen before is replaced by the newer work order."""
        f = self.faults
        n = 0
        for chunk in _chunks(faults, self.batch_size):
            rows = {x.fault_id: {
                "fault_id": x.fault_id, "device": x.device, "modality": x.modality,
                "reported_s": _s(x.reported_at), "on_site_s": _s(x.responder_on_site_at),
                "restored_s": _s(x.restored_at), "urgent": x.urgent, "cause": x.cause,
                "action": x.action, "acceptance": x.acceptance, "source": x.source}
                for x in chunk}
            with self.store.write() as conn:
                conn.execute(sa.delete(f).where(f.c.fault_id.in_(list(rows))))
                conn.execute(sa.insert(f), list(rows.values()))
            n += len(rows)
        return n

    def add_shifts(self, shifts: Iterable[RosterShift]) -> int:
        """Store roster shifts; the same (staff, role, start, end) is stored once."""
        s = self.shifts
        n = 0
        for chunk in _chunks(shifts, self.batch_size):
            rows = {}
            for x in chunk:
                key = hashlib.sha256(f"{x.staff}|{x.role}|{_s(x.start)}|{_s(x.end)}".encode()
                                     ).hexdigest()
                rows[key] = {"shift_key": key, "staff": x.staff, "role": x.role,
                             "start_s": _s(x.start), "end_s": _s(x.end), "device": x.device,
                             "extra": json.dumps(x.extra, ensure_ascii=False)
                             if x.extra else None}
            with self.store.write() as conn:
                conn.execute(sa.delete(s).where(s.c.shift_key.in_(list(rows))))
                conn.execute(sa.insert(s), list(rows.values()))
            n += len(rows)
        return n

    def set_complaint_links(self, links: Iterable[ComplaintLink]) -> int:
        """Project complaint->exam links for analytics (replaces each complaint's links)."""
        lt = self.links
        n = 0
        for chunk in _chunks(links, self.batch_size):
            rows = {(x.complaint_ref, x.accession_number): {
                "complaint_ref": x.complaint_ref, "accession_number": x.accession_number,
                "received_s": _s(x.received_at)} for x in chunk}
            with self.store.write() as conn:
                conn.execute(sa.delete(lt).where(lt.c.complaint_ref.in_(
                    list({r for r, _ in rows}))))
                conn.execute(sa.insert(lt), list(rows.values()))
            n += len(rows)
        return n

    def analyze(self) -> None:
        """Refresh the planner's statistics of the imaging tables: run it after a bulk load,
        or the database may plan the analytics joins for empty tables."""
        tables = (self.exams, self.faults, self.shifts, self.links)
        with self.store.write() as conn:
            for t in tables:
                name = conn.dialect.identifier_preparer.format_table(t)
                if self.store.dialect == "sqlite":
                    conn.exec_driver_sql("PRAGMA analysis_limit=2000")
                    conn.exec_driver_sql(f"ANALYZE {name}")
                elif self.store.dialect == "postgresql":
                    conn.exec_driver_sql(f"ANALYZE {name}")
                else:
                    conn.exec_driver_sql(f"ANALYZE TABLE {name}").all()

    # -- lookups ---------------------------------------------------------------------------

    def _one(self, where: sa.ColumnElement[bool]) -> ExamRecord | None:
        with self._read() as conn:
            row = conn.execute(sa.select(self.exams).where(where).limit(1)).first()
        return None if row is None else self._record(row._mapping)

    def exam(self, accession_number: str) -> ExamRecord | None:
        return self._one(self.exams.c.accession_number == accession_number)

    def exam_by_study(self, study_instance_uid: str) -> ExamRecord | None:
        return self._one(self.exams.c.study_uid == study_instance_uid)

    def timeline(self, accession_number: str) -> list[TimelineEntry]:
        exam = self.exam(accession_number)
        return [] if exam is None else timeline_of(exam)

    def exams_for_patient(self, patient_id: str, start: datetime,
                          end: datetime) -> list[ExamRecord]:
        e = self.exams
        with self._read() as conn:
            rows = conn.execute(sa.select(e).where(
                e.c.patient_hash.in_(self.hasher.candidates(patient_id)),
                e.c.window_start_s >= _s(start), e.c.window_start_s <= _s(end))
                .order_by(e.c.window_start_s)).all()
        return [self._record(r._mapping) for r in rows]

    def rank(self, metric: str, value: float, *, day_from: str, day_to: str,
             modality: str | None = None, station: str | None = None) -> Rank:
        e = self.exams
        col = e.c[_METRIC_COLS[metric]]
        q = sa.select(sa.func.count(), sa.func.sum(sa.case((col <= value, 1), else_=0))).where(
            col.is_not(None), e.c.local_day >= day_from, e.c.local_day <= day_to)
        if modality is not None:
            q = q.where(e.c.modality == modality)
        if station is not None:
            q = q.where(e.c.station == station)
        with self._read() as conn:
            n, below = conn.execute(q).one()
        return Rank(int(below or 0), int(n or 0))

    def _fault(self, m: Any) -> EquipmentFault:
        return EquipmentFault(
            fault_id=m["fault_id"], device=m["device"], modality=m["modality"],
            reported_at=self._t(m["reported_s"]),
            responder_on_site_at=self._t(m["on_site_s"]), restored_at=self._t(m["restored_s"]),
            urgent=bool(m["urgent"]), cause=m["cause"], action=m["action"],
            acceptance=m["acceptance"], source=m["source"])

    def faults_between(self, start: datetime, end: datetime) -> list[EquipmentFault]:
        f = self.faults
        with self._read() as conn:
            rows = conn.execute(sa.select(f).where(
                f.c.reported_s <= _s(end),
                f.c.reported_s >= int(start.timestamp() - MAX_OUTAGE.total_seconds()),
                sa.or_(f.c.restored_s.is_(None), f.c.restored_s >= _s(start)))
                .order_by(f.c.reported_s)).all()
        return [self._fault(r._mapping) for r in rows]

    def shifts_between(self, start: datetime, end: datetime) -> list[RosterShift]:
        s = self.shifts
        with self._read() as conn:
            rows = conn.execute(sa.select(s).where(s.c.start_s <= _s(end),
                                                   s.c.end_s >= _s(start))
                                .order_by(s.c.start_s, s.c.staff)).all()
        out = []
        for r in rows:
            m = r._mapping
            out.append(RosterShift(staff=m["staff"], role=m["role"], start=self._t(m["start_s"]),
                                   end=self._t(m["end_s"]), device=m["device"],
                                   extra=json.loads(m["extra"]) if m["extra"] else {}))
        return out

    # -- aggregates (one query each) -------------------------------------------------------

    def _range(self, day_from: str, day_to: str) -> sa.ColumnElement[bool]:
        e = self.exams
        return sa.and_(e.c.local_day >= day_from, e.c.local_day <= day_to)

    def dimension_counts(self, day_from: str, day_to: str) -> tuple[Counts, Counts]:
        """Exams and complaints per modality, device, weekday+hour and month: one grouped
        scan each (a few thousand groups), rolled up per dimension."""
        e, lt = self.exams, self.links
        cols = [e.c.modality, e.c.station, e.c.local_weekday, e.c.local_hour, e.c.local_month]
        qe = sa.select(*cols, sa.func.count()).where(self._range(day_from, day_to)) \
            .group_by(*cols)
        qc = (sa.select(*cols, sa.func.count())
              .select_from(lt.join(e, e.c.accession_number == lt.c.accession_number))
              .where(self._range(day_from, day_to)).group_by(*cols))
        with self._read() as conn:
            exams = rollup((tuple(r[:5]), int(r[5])) for r in conn.execute(qe))
            complaints = rollup((tuple(r[:5]), int(r[5])) for r in conn.execute(qc))
        return exams, complaints

    def band_counts(self, metric: str, edges: Sequence[float], day_from: str,
                    day_to: str) -> dict[int, tuple[int, int]]:
        e, lt = self.exams, self.links
        col = e.c[_METRIC_COLS[metric]]
        band = sa.case(*((col < edge, i) for i, edge in enumerate(edges)),
                       else_=len(edges)).label("band")
        where = sa.and_(col.is_not(None), self._range(day_from, day_to))
        qe = sa.select(band, sa.func.count()).where(where).group_by(band)
        qc = (sa.select(band, sa.func.count())
              .select_from(lt.join(e, e.c.accession_number == lt.c.accession_number))
              .where(where).group_by(band))
        with self._read() as conn:
            exams = {int(b): int(n) for b, n in conn.execute(qe).all()}
            complaints = {int(b): int(n) for b, n in conn.execute(qc).all()}
        return {b: (exams.get(b, 0), complaints.get(b, 0)) for b in set(exams) | set(complaints)}

    def _bounds(self, day_from: str, day_to: str) -> tuple[int, int]:
        start = datetime.combine(date.fromisoformat(day_from), time(0), self.tz)
        end = datetime.combine(date.fromisoformat(day_to) + timedelta(days=1), time(0), self.tz)
        return int(start.astimezone(UTC).timestamp()), int(end.astimezone(UTC).timestamp())

    def fault_impacts(self, day_from: str, day_to: str) -> list[FaultImpact]:
        """Per fault reported in the range: exams whose visit overlapped the outage on the
        device / on any device of its modality, and complaints about those exams."""
        e, f, lt = self.exams, self.faults, self.links
        lo, hi = self._bounds(day_from, day_to)
        fr = sa.select(f).where(f.c.reported_s >= lo, f.c.reported_s < hi).subquery("f")
        end = sa.func.coalesce(fr.c.restored_s, fr.c.reported_s + MAX_VISIT_S)
        overlap = sa.and_(e.c.window_start_s <= end, e.c.window_end_s >= fr.c.reported_s,
                          e.c.window_start_s >= fr.c.reported_s - MAX_VISIT_S)

        def part(match: sa.ColumnElement[bool]) -> sa.Select[Any]:
            return (sa.select(fr.c.fault_id, e.c.accession_number,
                              sa.case((e.c.station == fr.c.device, 1), else_=0).label("on_dev"))
                    .select_from(fr.join(e, sa.and_(match, overlap))))

        hits = sa.union(part(e.c.station == fr.c.device),
                        part(sa.and_(fr.c.modality.is_not(None),
                                     e.c.modality == fr.c.modality))).subquery("hits")
        complaints = (sa.select(lt.c.accession_number, sa.func.count().label("n"))
                      .group_by(lt.c.accession_number).subquery("c"))
        q = (sa.select(hits.c.fault_id, sa.func.count(),
                       sa.func.sum(hits.c.on_dev),
                       sa.func.sum(sa.func.coalesce(complaints.c.n, 0)))
             .select_from(hits.outerjoin(complaints, complaints.c.accession_number
                                         == hits.c.accession_number))
             .group_by(hits.c.fault_id))
        with self._read() as conn:
            counts = {r[0]: (int(r[1]), int(r[2] or 0), int(r[3] or 0))
                      for r in conn.execute(q).all()}
            faults = [self._fault(r._mapping) for r in conn.execute(
                sa.select(f).where(f.c.reported_s >= lo, f.c.reported_s < hi)
                .order_by(f.c.reported_s))]
        out = []
        for x in faults:
            mod, dev, comp = counts.get(x.fault_id, (0, 0, 0))
            out.append(FaultImpact(x, dev, mod, comp))
        return out

    def complaint_exams(self, day_from: str, day_to: str) -> Iterator[ComplaintExamRow]:
        """Complaints about exams in the range, oldest first, streamed."""
        e, lt = self.exams, self.links
        q = (sa.select(lt.c.complaint_ref, lt.c.received_s, e.c.accession_number, e.c.station,
                       e.c.modality, e.c.wait_min, e.c.report_min)
             .select_from(lt.join(e, e.c.accession_number == lt.c.accession_number))
             .where(self._range(day_from, day_to)).order_by(lt.c.received_s))
        with self._read() as conn:
            for r in conn.execution_options(yield_per=5000).execute(q):
                yield ComplaintExamRow(r[0], datetime.fromtimestamp(r[1], self.tz), r[2], r[3],
                                       r[4], r[5], r[6])

    def complaint_metrics(self, day_from: str, day_to: str) -> Iterator[ComplaintMetrics]:
        """The evidence numbers of every complaint about an exam in the range, set-based:
        delays, their day (modality) and device (calendar month) percentiles by ``CUME_DIST``
        window functions, and the ids of faults overlapping each visit. Two queries in all;
        the same numbers :func:`~hospital_complaints.correlation.build_evidence` gives one
        complaint at a time."""
        e, f, lt = self.exams, self.faults, self.links
        windows = []
        for metric, name in _METRIC_COLS.items():
            col = e.c[name]
            windows.append(sa.func.cume_dist().over(
                partition_by=[e.c.local_day, e.c.modality, col.is_(None)], order_by=col
            ).label(f"{metric}_day"))
            windows.append(sa.func.cume_dist().over(
                partition_by=[e.c.station, e.c.local_month, col.is_(None)], order_by=col
            ).label(f"{metric}_dev"))
        ranked = (sa.select(e.c.accession_number, e.c.local_day, e.c.station, e.c.modality,
                            e.c.wait_min, e.c.slip_min, e.c.report_min, *windows)
                  .where(e.c.local_month >= day_from[:7], e.c.local_month <= day_to[:7])
                  .subquery("ranked"))
        q = (sa.select(lt.c.complaint_ref, ranked)
             .select_from(lt.join(ranked, ranked.c.accession_number == lt.c.accession_number))
             .where(ranked.c.local_day >= day_from, ranked.c.local_day <= day_to))
        visits = (sa.select(lt.c.complaint_ref, e.c.station, e.c.modality, e.c.window_start_s,
                            e.c.window_end_s)
                  .select_from(lt.join(e, e.c.accession_number == lt.c.accession_number))
                  .where(self._range(day_from, day_to), e.c.window_start_s.is_not(None))
                  .subquery("v"))
        overlap = sa.and_(
            f.c.reported_s <= visits.c.window_end_s,
            f.c.reported_s >= visits.c.window_start_s - int(MAX_OUTAGE.total_seconds()),
            sa.or_(f.c.restored_s.is_(None), f.c.restored_s >= visits.c.window_start_s))

        def part(match: sa.ColumnElement[bool]) -> sa.Select[Any]:
            return (sa.select(visits.c.complaint_ref, f.c.fault_id, f.c.reported_s)
                    .select_from(visits.join(f, sa.and_(match, overlap))))

        fq = sa.union(part(f.c.device == visits.c.station),
                      part(sa.and_(f.c.modality.is_not(None),
                                   f.c.modality == visits.c.modality))).subquery("fo")
        faults: dict[str, list[str]] = {}
        with self._read() as conn:
            for ref, fid, _ in conn.execute(sa.select(fq).order_by(fq.c.reported_s)):
                faults.setdefault(ref, []).append(fid)
            for r in conn.execution_options(yield_per=5000).execute(q):
                m = r._mapping
                minutes = {k: m[c] for k, c in _METRIC_COLS.items()}
                yield ComplaintMetrics(
                    m["complaint_ref"], m["accession_number"], m["station"], m["modality"],
                    minutes,
                    {k: None if minutes[k] is None else round(100 * float(m[f"{k}_day"]), 1)
                     for k in _METRIC_COLS},
                    {k: None if minutes[k] is None else round(100 * float(m[f"{k}_dev"]), 1)
                     for k in _METRIC_COLS},
                    faults.get(m["complaint_ref"], []))

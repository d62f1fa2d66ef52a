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
import itertools
import json
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from itertools import islice
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ...correlation.percentiles import FaultIndex, RankTarget, rank_month
from ...correlation.records import (
    ExamRecord,
    PatientHasher,
    TimelineEntry,
    local_parts,
    merge_all,
    merge_events,
    record_from_event,
    timeline_of,
)
from ...correlation.repository import (
    DIMENSIONS,
    MAX_OUTAGE,
    ComplaintExamRow,
    ComplaintLink,
    ComplaintMetrics,
    Counts,
    FaultImpact,
    Rank,
    SummaryCounts,
    dimension_key,
)
from ...domain.imaging import EquipmentFault, ExamEvent, RosterShift
from .seals import Sealer, sealed_columns
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
#: per-transaction settings for analytics on PostgreSQL: the streamed reads (cursors) want
#: every row, so plan for all rows rather than the first tenth (the default for cursors);
#: no JIT compilation (it costs about 0.4 s per query and these queries gain little from it)
POSTGRESQL_ANALYTICS = ("SET LOCAL cursor_tuple_fraction = 1", "SET LOCAL jit = off")
#: per-connection setting for analytics on MySQL/MariaDB: GROUP_CONCAT texts are cut at
#: 1 MB by default (silently, with a warning)
MYSQL_ANALYTICS = ("SET SESSION group_concat_max_len = 1073741824",)
_METRIC_COLS = {"wait": "wait_min", "slip": "slip_min", "report": "report_min"}


def _chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


def _fold_cells(rows: Iterable[Any], n_metrics: int) -> tuple[Counts, list[dict[int, int]]]:
    """Counts per dimension, and per band of each metric, from (day, modality, station,
    exams, hours text, one band text per metric) rows: the texts are counted in C
    (``Counter``) and the keys formatted at the end (a few hundred)."""
    by_modality: dict[str | None, int] = {}
    by_station: dict[str | None, int] = {}
    hours_by_day: dict[str, Counter[str]] = {}
    bands: list[Counter[str]] = [Counter() for _ in range(n_metrics)]
    for day, modality, station, n, hours, *band_texts in rows:
        by_modality[modality] = by_modality.get(modality, 0) + n
        by_station[station] = by_station.get(station, 0) + n
        if hours:
            if day not in hours_by_day:
                hours_by_day[day] = Counter()
            hours_by_day[day].update(hours.split(","))
        for counter, text in zip(bands, band_texts, strict=True):
            if text:
                counter.update(text.split(","))
    counts: Counts = {d: {} for d in DIMENSIONS}

    def add(dim: str, key: str, n: int) -> None:
        counts[dim][key] = counts[dim].get(key, 0) + n

    for modality, n in by_modality.items():
        add("modality", dimension_key("modality", modality, None, None, None, None), n)
    for station, n in by_station.items():
        add("station", dimension_key("station", None, station, None, None, None), n)
    for day, per_hour in hours_by_day.items():
        weekday, month = date.fromisoformat(day).weekday(), day[:7]
        for hour, n in per_hour.items():
            add("weekday_hour",
                dimension_key("weekday_hour", None, None, weekday, int(hour), None), n)
            add("month", dimension_key("month", None, None, None, None, month), n)
    return counts, [{int(b): k for b, k in c.items()} for c in bands]


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
        self.sealer = Sealer(store.key_ring)
        self.batch_size = batch_size
        self.exams: sa.Table = t.exams
        self.faults: sa.Table = t.faults
        self.shifts: sa.Table = t.shifts
        self.links: sa.Table = t.complaint_exams
        self._sealed = {x.name: sealed_columns(x) for x in (self.exams, self.faults,
                                                              self.shifts)}

    def _seal(self, table: sa.Table, row: dict[str, Any]) -> dict[str, Any]:
        row["seal"] = self.sealer.seal(table.name, self._sealed[table.name], row)
        return row

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        """A read transaction; on SQLite with a page cache sized for scans over a million
        exams (SQLite's default cache is 2 MB), on PostgreSQL planned for reading all rows,
        on MySQL/MariaDB with GROUP_CONCAT texts of any length."""
        settings = {"sqlite": SQLITE_ANALYTICS, "postgresql": POSTGRESQL_ANALYTICS,
                    "mysql": MYSQL_ANALYTICS, "mariadb": MYSQL_ANALYTICS
                    }.get(self.store.dialect, ())
        with self.store.read() as conn:
            for setting in settings:
                conn.exec_driver_sql(setting)
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
        return self._seal(self.exams, row)

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
        """Store or merge exams; returns how many records were given (after merging).
        Each batch is its own transaction."""
        n = 0
        for chunk in _chunks(exams, self.batch_size):
            with self.store.write() as conn:
                n += self.merge_exams(conn, chunk)
        return n

    def merge_exams(self, conn: Connection, exams: Sequence[ExamRecord]) -> int:
        """Merge ``exams`` into the exam table inside the caller's write transaction
        ``conn`` (from ``store.write()``), so a source can commit its own rows (e.g. the
        HL7 adapter's raw message) and the exam milestones atomically. Returns how many
        accessions were written."""
        return self._write_merged(conn, merge_all(exams))

    def merge_exam_events(self, conn: Connection, events: Iterable[ExamEvent]) -> int:
        """:meth:`merge_exams` for milestone events, in the caller's transaction."""
        return self._write_merged(conn, merge_events(events))

    def _write_merged(self, conn: Connection, merged: dict[str, ExamRecord]) -> int:
        """Merge one record per accession with the stored row (the newer wins per field), in
        batches of ``batch_size``. The stored rows are read ``FOR UPDATE``: two feeds writing
        the same exam at once (MLLP connections) on PostgreSQL or MariaDB then merge one after
        the other instead of the later one overwriting the earlier one's milestones."""
        e = self.exams
        for acc, rec in merged.items():
            if rec.patient_id is not None:
                merged[acc] = replace(rec, patient_id=None,
                                      patient_hash=self.hasher.hash(rec.patient_id))
        for chunk in _chunks(merged, self.batch_size):
            old = {r.accession_number: self._record(r._mapping) for r in conn.execute(
                sa.select(e).where(e.c.accession_number.in_(chunk)).with_for_update())}
            rows = [self._row(old[a].merged(merged[a]) if a in old else merged[a])
                    for a in chunk]
            if old:
                conn.execute(sa.delete(e).where(e.c.accession_number.in_(list(old))))
            conn.execute(sa.insert(e), rows)
        return len(merged)

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
            rows = {x.fault_id: self._seal(f, {
                "fault_id": x.fault_id, "device": x.device, "modality": x.modality,
                "reported_s": _s(x.reported_at), "on_site_s": _s(x.responder_on_site_at),
                "restored_s": _s(x.restored_at), "urgent": x.urgent, "cause": x.cause,
                "action": x.action, "acceptance": x.acceptance, "source": x.source})
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
                rows[key] = self._seal(s, {
                    "shift_key": key, "staff": x.staff, "role": x.role, "start_s": _s(x.start),
                    "end_s": _s(x.end), "device": x.device,
                    "extra": json.dumps(x.extra, ensure_ascii=False) if x.extra else None})
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
        or the database may plan the analytics joins for empty tables. On PostgreSQL this
        is ``VACUUM (ANALYZE)``, which also marks the loaded pages all-visible, so that the
        analytics read the covering indexes alone (index-only scans)."""
        tables = (self.exams, self.faults, self.shifts, self.links)
        if self.store.dialect == "postgresql":  # VACUUM runs outside a transaction
            with self.store.engine.connect() as conn:
                auto = conn.execution_options(isolation_level="AUTOCOMMIT")
                for t in tables:
                    name = auto.dialect.identifier_preparer.format_table(t)
                    auto.exec_driver_sql(f"VACUUM (ANALYZE) {name}")
            return
        with self.store.write() as conn:
            for t in tables:
                name = conn.dialect.identifier_preparer.format_table(t)
                if self.store.dialect == "sqlite":
                    conn.exec_driver_sql("PRAGMA analysis_limit=2000")
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
        return self.ranks({metric: value}, day_from=day_from, day_to=day_to,
                          modality=modality, station=station)[metric]

    def ranks(self, values: Mapping[str, float], *, day_from: str, day_to: str,
              modality: str | None = None, station: str | None = None) -> dict[str, Rank]:
        """The rank of each metric's value among the exams of the days (of the modality, of
        the station): one read of those exams for all the metrics."""
        e = self.exams
        counts = []
        for metric, value in values.items():
            col = e.c[_METRIC_COLS[metric]]
            counts += [sa.func.count(col), sa.func.count(sa.case((col <= value, 1)))]
        q = sa.select(*counts).where(e.c.local_day >= day_from, e.c.local_day <= day_to)
        if modality is not None:
            q = q.where(e.c.modality == modality)
        if station is not None:
            q = q.where(e.c.station == station)
        with self._read() as conn:
            row = conn.execute(q).one()
        return {metric: Rank(int(row[2 * i + 1] or 0), int(row[2 * i] or 0))
                for i, metric in enumerate(values)}

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

    def _linked_range(self, day_from: str, day_to: str) -> sa.ColumnElement[bool]:
        """The day range for exams joined from the complaint links. On SQLite it is written
        so that it is no index condition: the query then reads the (few) links and looks
        their exams up by key, rather than reading every exam of the range through an index
        and probing the links (the plan SQLite picks when its statistics are missing or
        older than an index)."""
        e = self.exams
        day = e.c.local_day.concat("") if self.store.dialect == "sqlite" else e.c.local_day
        return sa.and_(day >= day_from, day <= day_to)

    def _concat(self, value: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        """The group's non-null ``value`` (integers) as one comma-separated text."""
        if self.store.dialect == "postgresql":
            return sa.func.string_agg(sa.cast(value, sa.Text), ",")
        return sa.func.group_concat(value)

    def dimension_counts(self, day_from: str, day_to: str) -> tuple[Counts, Counts]:
        """Exams and complaints per modality, device, weekday+hour and month."""
        counts = self.summary_counts(day_from, day_to, {})
        return counts.exams, counts.complaints

    def band_counts(self, metric: str, edges: Sequence[float], day_from: str,
                    day_to: str) -> dict[int, tuple[int, int]]:
        return self.summary_counts(day_from, day_to, {metric: edges}).bands[metric]

    def summary_counts(self, day_from: str, day_to: str,
                       band_edges: Mapping[str, Sequence[float]]) -> SummaryCounts:
        """Exams and complaints per dimension and per delay band: one grouped read of the
        exams and one of the complaint links. A row per (day, modality, station) cell, read
        in the order of the index of migration 0004 (no sort, no table rows), carries the
        cell's hours and delay bands as comma-separated texts, counted here."""
        e, lt = self.exams, self.links
        keys = (e.c.local_day, e.c.modality, e.c.station)
        texts = [self._concat(e.c.local_hour)]
        for metric, edges in band_edges.items():
            col = e.c[_METRIC_COLS[metric]]
            texts.append(self._concat(sa.case(
                *((col < edge, i) for i, edge in enumerate(edges)),
                (col.is_not(None), len(edges)))))
        q = sa.select(*keys, sa.func.count(), *texts)
        qe = q.where(self._range(day_from, day_to)).group_by(*keys)
        qc = (q.select_from(lt.join(e, e.c.accession_number == lt.c.accession_number))
              .where(self._linked_range(day_from, day_to)).group_by(*keys))
        with self._read() as conn:
            exams, exam_bands = _fold_cells(conn.execute(qe), len(band_edges))
            complaints, complaint_bands = _fold_cells(conn.execute(qc), len(band_edges))
        return SummaryCounts(exams, complaints, {
            metric: {b: (exam_bands[i].get(b, 0), complaint_bands[i].get(b, 0))
                     for b in exam_bands[i].keys() | complaint_bands[i].keys()}
            for i, metric in enumerate(band_edges)})

    def _bounds(self, day_from: str, day_to: str) -> tuple[int, int]:
        start = datetime.combine(date.fromisoformat(day_from), time(0), self.tz)
        end = datetime.combine(date.fromisoformat(day_to) + timedelta(days=1), time(0), self.tz)
        return int(start.astimezone(UTC).timestamp()), int(end.astimezone(UTC).timestamp())

    def _linked_exams(self) -> sa.Subquery:
        """The exams of the complaint links (one row per link), for joins that must start
        from the (few) links. On SQLite the columns are expressions, not indexed columns,
        so that SQLite cannot start from an exam index instead (the plan it picks when its
        statistics are missing or older than an index, reading a large part of the
        exams)."""
        e, lt = self.exams, self.links
        cols: list[sa.ColumnElement[Any]] = [e.c.station, e.c.modality, e.c.window_start_s,
                                             e.c.window_end_s]
        if self.store.dialect == "sqlite":
            cols = [(c.concat("") if isinstance(c.type, sa.String) else c + 0).label(c.name)
                    for c in cols]
        q = (sa.select(lt.c.complaint_ref, *cols)
             .select_from(lt.join(e, e.c.accession_number == lt.c.accession_number))
             .where(e.c.window_start_s.is_not(None)))
        return q.subquery("v")

    def fault_impacts(self, day_from: str, day_to: str) -> list[FaultImpact]:
        """Per fault reported in the range: exams whose visit overlapped the outage on the
        device / on any device of its modality, and complaints about those exams.

        An exam is counted once per fault: through the modality when it matches, else
        through the device (two disjoint parts, so no de-duplication is needed). The exam
        counts go from each fault into the covering window indexes; the complaint counts go
        from the (few) complaint exams into the faults, bounded by the longest outage."""
        e, f = self.exams, self.faults
        lo, hi = self._bounds(day_from, day_to)
        fr = sa.select(f).where(f.c.reported_s >= lo, f.c.reported_s < hi).subquery("f")

        def parts(x: Any, fx: Any) -> list[sa.ColumnElement[bool]]:
            """The two disjoint ways an exam ``x`` is hit by the fault ``fx`` (columns)."""
            end = sa.func.coalesce(fx.restored_s, fx.reported_s + MAX_VISIT_S)
            overlap = sa.and_(x.window_start_s <= end, x.window_end_s >= fx.reported_s,
                              x.window_start_s >= fx.reported_s - MAX_VISIT_S)
            same_modality = sa.and_(fx.modality.is_not(None), x.modality == fx.modality)
            return [sa.and_(same_modality, overlap),
                    sa.and_(x.station == fx.device, sa.not_(same_modality), overlap)]

        on_device = sa.case((e.c.station == fr.c.device, 1), else_=0).label("on_dev")
        hits = sa.union_all(*(sa.select(fr.c.fault_id, on_device)
                              .select_from(fr.join(e, match)) for match in parts(e.c, fr.c))
                            ).subquery("hits")
        qe = sa.select(hits.c.fault_id, sa.func.count(), sa.func.sum(hits.c.on_dev)) \
            .group_by(hits.c.fault_id)
        v = self._linked_exams()
        outage = sa.func.coalesce(f.c.restored_s - f.c.reported_s, MAX_VISIT_S)
        with self._read() as conn:
            longest = int(conn.execute(sa.select(sa.func.max(outage))).scalar() or 0)
            # implied by the overlap, but a bounded index range on the faults' report time
            since = sa.and_(f.c.reported_s >= v.c.window_start_s - longest,
                            f.c.reported_s <= v.c.window_end_s)
            linked = sa.union_all(*(sa.select(f.c.fault_id)
                                    .select_from(v.join(f, sa.and_(since, match)))
                                    for match in parts(v.c, f.c))).subquery("linked")
            qc = sa.select(linked.c.fault_id, sa.func.count()).group_by(linked.c.fault_id)
            exams = {r[0]: (int(r[1]), int(r[2] or 0)) for r in conn.execute(qe)}
            complaints = {r[0]: int(r[1]) for r in conn.execute(qc)}  # faults of any day
            faults = [self._fault(r._mapping) for r in conn.execute(
                sa.select(f).where(f.c.reported_s >= lo, f.c.reported_s < hi)
                .order_by(f.c.reported_s))]
        out = []
        for x in faults:
            mod, dev = exams.get(x.fault_id, (0, 0))
            out.append(FaultImpact(x, dev, mod, complaints.get(x.fault_id, 0)))
        return out

    def complaint_exams(self, day_from: str, day_to: str) -> Iterator[ComplaintExamRow]:
        """Complaints about exams in the range, oldest first, streamed."""
        e, lt = self.exams, self.links
        q = (sa.select(lt.c.complaint_ref, lt.c.received_s, e.c.accession_number, e.c.station,
                       e.c.modality, e.c.wait_min, e.c.report_min)
             .select_from(lt.join(e, e.c.accession_number == lt.c.accession_number))
             .where(self._linked_range(day_from, day_to)).order_by(lt.c.received_s))
        with self._read() as conn:
            for r in conn.execution_options(yield_per=5000).execute(q):
                yield ComplaintExamRow(r[0], datetime.fromtimestamp(r[1], self.tz), r[2], r[3],
                                       r[4], r[5], r[6])

    def _hundredths(self, col: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        """The group's non-null delays in ``col`` as one comma-separated text of whole
        hundredths of a minute (delays are stored to the hundredth, see
        :meth:`ExamRecord.minutes`; integers are quicker to write and read than floats)."""
        return self._concat(sa.cast(sa.func.round(col * 100), sa.BigInteger))

    def complaint_metrics(self, day_from: str, day_to: str) -> Iterator[ComplaintMetrics]:
        """The evidence numbers of every complaint about an exam in the range: delays, their
        day (modality) and device (calendar month) percentiles, and the ids of faults
        overlapping each visit; the same numbers
        :func:`~hospital_complaints.correlation.build_evidence` gives one complaint at a time.

        Set-based and streamed: the store groups the delays per (day, modality, station) cell
        into one text per metric, month by month (see
        :mod:`~hospital_complaints.correlation.percentiles`), so memory holds one month of
        delays and no object is made per exam. The complaint exams are read once (one row
        per link), and their visits matched against the period's faults."""
        e, lt = self.exams, self.links
        metrics = list(_METRIC_COLS)
        values = [e.c[_METRIC_COLS[m]] for m in metrics]
        complaints = (sa.select(lt.c.complaint_ref, e.c.accession_number, e.c.local_day,
                                e.c.modality, e.c.station, e.c.window_start_s,
                                e.c.window_end_s, *values)
                      .select_from(lt.join(e, e.c.accession_number == lt.c.accession_number))
                      .where(self._linked_range(day_from, day_to)))
        keys = (e.c.local_day, e.c.modality, e.c.station)
        cells = (sa.select(*keys, *(self._hundredths(v) for v in values))
                 .where(self._range(f"{day_from[:7]}-01", f"{day_to[:7]}-31"))
                 .group_by(*keys).order_by(*keys))
        by_month: dict[str, list[RankTarget]] = {}
        exams: list[tuple[str, str, str | None, str | None, list[float | None]]] = []
        visits: list[tuple[str | None, str | None, int | None, int | None]] = []
        with self._read() as conn:
            for ref, acc, day, modality, station, start, end, *vals in conn.execute(complaints):
                minutes = [None if v is None else float(v) for v in vals]
                by_month.setdefault(day[:7], []).append(RankTarget(
                    len(exams), day, modality, station,
                    [None if v is None else round(v * 100) for v in minutes]))
                exams.append((ref, acc, station, modality, minutes))
                visits.append((station, modality, start, end))
            starts = [v[2] for v in visits if v[2] is not None]
            ends = [v[3] for v in visits if v[3] is not None]
            fault_index = self._faults_index(
                conn, min(starts, default=0) - int(MAX_OUTAGE.total_seconds()),
                max(ends, default=0))
            rows = conn.execution_options(yield_per=2000).execute(cells)
            for month, month_cells in itertools.groupby(rows, key=lambda r: r[0][:7]):
                targets = by_month.pop(month, [])
                if not targets:
                    continue
                ranks = rank_month(((r[0], r[1], r[2], r[3:]) for r in month_cells), targets,
                                   len(metrics))
                for t in targets:
                    day_ranks, dev_ranks = ranks[t.key]
                    ref, acc, station, modality, minutes = exams[t.key]
                    yield ComplaintMetrics(
                        ref, acc, station, modality, dict(zip(metrics, minutes, strict=True)),
                        dict(zip(metrics, day_ranks, strict=True)),
                        dict(zip(metrics, dev_ranks, strict=True)),
                        fault_index.overlapping(*visits[t.key]))

    def _faults_index(self, conn: Connection, start: int, end: int) -> FaultIndex:
        """The faults reported between ``start`` and ``end`` (epoch seconds), indexed to find
        those overlapping each complaint's visit
        (:class:`~hospital_complaints.correlation.percentiles.FaultIndex`; the fault table
        is small, one row per work order)."""
        f = self.faults
        return FaultIndex(conn.execute(
            sa.select(f.c.fault_id, f.c.device, f.c.modality, f.c.reported_s, f.c.restored_s)
            .where(f.c.reported_s >= start, f.c.reported_s <= end)))

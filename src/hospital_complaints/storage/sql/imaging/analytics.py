"""The analytics queries, set-based (one query each, run alike on SQLite, PostgreSQL and
MariaDB): ranks of a delay, exams and complaints per dimension and delay band (the summary),
fault impacts, complaint exams, and the evidence numbers of every complaint."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ....correlation.percentiles import FaultIndex, RankTarget, rank_month
from ....correlation.repository import (
    DIMENSIONS,
    MAX_OUTAGE,
    MAX_OUTAGE_S,
    MAX_VISIT_S,
    ComplaintExamRow,
    ComplaintMetrics,
    Counts,
    FaultImpact,
    Rank,
    SummaryCounts,
    dimension_key,
)
from .tuning import ImagingTuning

_METRIC_COLS = {"wait": "wait_min", "slip": "slip_min", "report": "report_min"}


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



class ImagingAnalytics(ImagingTuning):
    """The analytics of :class:`~hospital_complaints.correlation.repository.ImagingRecords`
    (and :meth:`complaint_metrics`), each one set-based query."""

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
            """The two disjoint ways an exam ``x`` is hit by the fault ``fx`` (columns).
            The overlap is half-open (``correlation.repository.overlaps``): the visit began
            before the outage ended, and ended after it began (a visit of one instant: at
            or after)."""
            end = sa.func.coalesce(fx.restored_s, fx.reported_s + MAX_OUTAGE_S)
            overlap = sa.and_(x.window_start_s < end,
                              sa.or_(x.window_end_s > fx.reported_s,
                                     x.window_start_s == fx.reported_s),
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
        outage = sa.func.coalesce(f.c.restored_s - f.c.reported_s, MAX_OUTAGE_S)
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

"""Reading what reports need from the SQL store, read-only and set-based.

- :func:`read_facts`: the case facts (``build.facts``) from the event rows, folded without
  decrypting anything. The personal column is never selected, so no identity is even read.
  A case with an event version the folder does not know is replayed with the domain's fold
  instead (``uow.cases.get_many``), so a newer event schema never miscounts.
- :func:`imaging_figures`: exam volumes, complaint links, waits, report turnaround, people
  who left unexamined, fault response and scan durations, grouped in SQL over the exam table
  (the covering index ``exams_day_cells`` serves the largest scans).

Both read the tables of ``storage/sql/tables.py`` and write nothing.
"""

from __future__ import annotations

import itertools
import json
import statistics
from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..correlation.repository import outage_end, overlaps
from ..correlation.summary import band_labels, band_rows
from ..correlation.targets import Targets
from ..domain.events.stored import unwrap
from ..domain.taxonomy import OPEN_STATES
from ..storage.sql import SqlStore
from .build.facts import CaseFact, FactFolder, UnknownVersion, fact_from_case
from .build.imaging import Band, Fault, ImagingFigures, StaffDuration
from .build.period import Month

#: event types whose payload a report never reads (their rows still mark time and state)
NOT_READ = ("communication_logged", "evidence_added", "team_member_added", "attachment_added",
            "identity_revealed", "identity_reveal_refused", "attachment_viewed",
            "attachment_view_refused", "cluster_alert")


def _case_selection(store: SqlStore, start: datetime, end: datetime, as_of: datetime) -> Any:
    """Cases received before ``end`` and received at or after ``start`` or possibly still
    open at ``start`` as seen at ``as_of`` (open now, or changed since shortly before the
    earlier of the two: an ISO text comparison on the last event's date, with two days'
    margin for time zones). The fold decides exactly; this only keeps old finished cases out
    of the read."""
    c = store.tables.cases
    cutoff = (min(start, as_of) - timedelta(days=2)).astimezone(UTC).date().isoformat()
    return sa.and_(c.c.received_s < int(end.timestamp()),
                   sa.or_(c.c.received_s >= int(start.timestamp()),
                          c.c.state.in_([s.value for s in OPEN_STATES]),
                          c.c.updated_at >= cutoff))


def read_facts(store: SqlStore, start: datetime, end: datetime,
               as_of: datetime) -> list[CaseFact]:
    """The facts of the cases :class:`~.build.data.ReportData.facts` describes: one query,
    the events of the selected cases in case order, read through the driver's own cursor
    (a year of a large department is a few hundred thousand small rows)."""
    c, e = store.tables.cases, store.tables.events
    payload = sa.case((e.c.type.in_(NOT_READ), sa.null()), else_=e.c.payload)
    query = (sa.select(e.c.complaint_ref, e.c.type, e.c.at, payload.label("payload"))
             .select_from(e.join(c, c.c.reference == e.c.complaint_ref))
             .where(_case_selection(store, start, end, as_of))
             .order_by(e.c.complaint_ref, e.c.seq))
    facts: list[CaseFact] = []
    replay: list[str] = []
    with store.read() as conn:
        rows = _raw_rows(conn, query)
    for ref, group in itertools.groupby(rows, key=lambda r: r[0]):
        try:
            facts.append(_fold(ref, group, as_of))
        except UnknownVersion:
            replay.append(ref)
    if replay:
        with store.unit_of_work() as uow:
            facts += [fact_from_case(case, as_of) for case in uow.cases.get_many(replay)]
    return facts


def _raw_rows(conn: Connection, query: sa.Select[Any]) -> list[Any]:
    """The query's rows as the DB-API driver returns them (plain tuples, no result
    processing: the columns read here are text and need none)."""
    compiled = query.compile(dialect=conn.dialect,
                             compile_kwargs={"render_postcompile": True})
    params = compiled.params
    args: Any = (tuple(params[k] for k in compiled.positiontup or ())
                 if compiled.positional else params)
    cursor = conn.connection.cursor()
    try:
        cursor.execute(str(compiled), args)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def _fold(ref: str, rows: Iterator[Any], as_of: datetime) -> CaseFact:
    folder = FactFolder(ref, as_of)
    where = f"complaint {ref}"
    for _, event_type, at, payload in rows:
        when = datetime.fromisoformat(at)
        if payload is None:
            folder.add(event_type, when, 1, None, {})
        else:
            stored = json.loads(payload)
            if len(stored) == 4 and "schema" in stored:  # the envelope (docs/events.md)
                schema = stored["schema"]
                version = int(schema.rsplit("/", 1)[1]) if isinstance(schema, str) \
                    and schema.startswith(event_type + "/") else -1
                if version < 1 or not isinstance(stored.get("data"), dict):
                    found = unwrap(event_type, stored, where)  # raises, naming the row
                    version = found.version
                folder.add(event_type, when, version, stored["to"], stored["data"])
            else:
                found = unwrap(event_type, stored, where)
                folder.add(event_type, when, found.version, found.to_state, found.data)
        if folder.stopped:
            break
    return folder.fact()


# -- imaging --------------------------------------------------------------------------------


def _band(value: float | None, edges: Sequence[float]) -> int | None:
    if value is None:
        return None
    for i, edge in enumerate(edges):
        if value < edge:
            return i
    return len(edges)


def imaging_figures(store: SqlStore, months: Sequence[Month], tz: ZoneInfo, targets: Targets,
                    staff_names: bool) -> ImagingFigures | None:
    """The imaging figures of ``months`` (the last is the report's).

    Volumes per day, modality and device come from one pass over the covering index of the
    13 months (the trend and the same month a year before); waits, report times, bands,
    people who left, faults and scan durations are read for the report's month and the one
    before; the complaint links are looked up by accession number."""
    ex, links = store.tables.exams, store.tables.complaint_exams
    faults, shifts = store.tables.faults, store.tables.shifts
    assert ex is not None and links is not None and faults is not None and shifts is not None
    labels = [str(m) for m in months]
    ago = str(months[-1].shift(-12))
    recent = (f"{labels[-2]}-01", f"{labels[-1]}-31")
    index = {m: i for i, m in enumerate(labels)}
    n = len(labels)
    wait_edges, report_edges = targets.wait_bands, targets.report_bands
    with store.read() as conn:
        volumes = _raw_rows(conn, sa.select(ex.c.local_day, ex.c.modality, ex.c.station,
                                            sa.func.count())
                            .where(sa.or_(ex.c.local_day.between(f"{labels[0]}-01",
                                                                 f"{labels[-1]}-31"),
                                          ex.c.local_day.between(f"{ago}-01", f"{ago}-31")))
                            .group_by(ex.c.local_day, ex.c.modality, ex.c.station))
        if not volumes:
            return None
        waited = sa.case((ex.c.started_s.is_not(None), ex.c.wait_min),
                         else_=(sa.func.coalesce(ex.c.cancelled_s, ex.c.no_show_s)
                                - ex.c.arrived_s) / 60.0)
        left = sa.and_(ex.c.started_s.is_(None), ex.c.completed_s.is_(None))
        exam_rows = _raw_rows(conn, sa.select(
            ex.c.local_day, ex.c.local_hour, ex.c.wait_min, ex.c.report_min,
            ex.c.arrived_s.is_not(None), sa.case((left, 1), else_=0), waited)
            .where(ex.c.local_day.between(*recent)))
        linked_refs = _raw_rows(conn, sa.select(links.c.accession_number, sa.func.count())
                                .group_by(links.c.accession_number))
        fault_rows = _raw_rows(conn, sa.select(
            faults.c.fault_id, faults.c.device, faults.c.modality, faults.c.reported_s,
            faults.c.on_site_s, faults.c.restored_s, faults.c.urgent)
            .where(faults.c.reported_s >= int(months[0].start(tz).timestamp()),
                   faults.c.reported_s < int(months[-1].end(tz).timestamp())))
        linked: list[Any] = []
        per_link = dict(linked_refs)
        accessions = list(per_link)
        for i in range(0, len(accessions), 900):
            linked += _raw_rows(conn, sa.select(
                ex.c.accession_number, ex.c.local_day, ex.c.modality, ex.c.station,
                ex.c.wait_min, ex.c.report_min, ex.c.scheduled_s, ex.c.arrived_s,
                ex.c.started_s, ex.c.completed_s)
                .where(ex.c.accession_number.in_(accessions[i:i + 900])))
        scan_rows: list[Any] = []
        roster = _raw_rows(conn, sa.select(shifts.c.device, shifts.c.start_s, shifts.c.end_s,
                                           shifts.c.staff)
                           .where(shifts.c.device.is_not(None),
                                  shifts.c.end_s >= int(months[-1].start(tz).timestamp()),
                                  shifts.c.start_s < int(months[-1].end(tz).timestamp())))
        if roster:
            scan_rows = _raw_rows(conn, sa.select(
                ex.c.modality, ex.c.station, ex.c.started_s, ex.c.completed_s)
                .where(ex.c.local_day.between(f"{labels[-1]}-01", f"{labels[-1]}-31"),
                       ex.c.started_s.is_not(None), ex.c.completed_s.is_not(None)))

    def series() -> list[list[int]]:
        return [[0, 0] for _ in range(n)]

    totals = series()
    by_mod: dict[str, list[list[int]]] = defaultdict(series)
    by_dev: dict[str, list[list[int]]] = defaultdict(series)
    year_ago = [0, 0]
    for day, modality, station, count in volumes:
        slot = index.get(day[:7])
        if slot is None:
            year_ago[0] += count
            continue
        totals[slot][0] += count
        by_mod[modality or "?"][slot][0] += count
        by_dev[station or "?"][slot][0] += count
    cur = n - 1
    band_counts: dict[str, dict[int, list[int]]] = {"wait": defaultdict(lambda: [0, 0]),
                                                    "report": defaultdict(lambda: [0, 0])}
    for acc, day, modality, station, wait, report, *_ in linked:
        weight = per_link.get(acc, 1)
        month = day[:7] if day else None
        if month == ago:
            year_ago[1] += weight
        at = index.get(month) if month else None
        if at is None:
            continue
        totals[at][1] += weight
        by_mod[modality or "?"][at][1] += weight
        by_dev[station or "?"][at][1] += weight
        if at == cur:
            for metric, value, edges in (("wait", wait, wait_edges),
                                         ("report", report, report_edges)):
                b = _band(None if value is None else float(value), edges)
                if b is not None:
                    band_counts[metric][b][1] += weight
    hours: list[dict[int, list[float]]] = [defaultdict(lambda: [0, 0.0, 0]) for _ in range(n)]
    reports = [[0, 0] for _ in range(n)]
    left_trend = [[0, 0] for _ in range(n)]
    left_bands = [[0, 0] for _ in range(len(wait_edges) + 2)]
    for day, hour, wait, report, arrived, left_flag, waited_min in exam_rows:
        i = index[day[:7]]
        cell = hours[i][hour if hour is not None else -1]
        cell[0] += 1
        if wait is not None:
            cell[1] += float(wait)
            cell[2] += 1
        if report is not None:
            reports[i][0] += 1
            reports[i][1] += float(report) > targets.report_min
        if arrived:
            left_trend[i][0] += 1
            left_trend[i][1] += int(left_flag)
        if i == cur:
            for metric, value, edges in (("wait", wait, wait_edges),
                                         ("report", report, report_edges)):
                b = _band(None if value is None else float(value), edges)
                if b is not None:
                    band_counts[metric][b][0] += 1
            if arrived:
                minutes = None if waited_min is None or waited_min < 0 else float(waited_min)
                b = _band(minutes, wait_edges)
                slot = len(wait_edges) + 1 if b is None else b
                left_bands[slot][0] += 1
                left_bands[slot][1] += int(left_flag)
    wait_avg: list[float | None] = [None] * n
    peak_wait: list[float | None] = [None] * n
    peak_hour: list[int | None] = [None] * n
    for i in (cur - 1, cur):
        cells = hours[i]
        total_n = sum(c[2] for c in cells.values())
        if total_n:
            wait_avg[i] = round(sum(c[1] for c in cells.values()) / total_n, 1)
        busiest = max((h for h in cells if h >= 0), key=lambda h: (cells[h][0], -h),
                      default=None)
        peak_hour[i] = busiest
        top = cells.get(busiest) if busiest is not None else None
        peak_wait[i] = None if not top or top[2] == 0 else round(top[1] / top[2], 1)
    bands = {metric: band_rows({b: (v[0], v[1]) for b, v in counts.items()},
                               wait_edges if metric == "wait" else report_edges)
             for metric, counts in band_counts.items()}
    left_rows = [(name, left_bands[i][0], left_bands[i][1])
                 for i, name in enumerate(band_labels(wait_edges))]
    left_rows.append(("未知 unknown", left_bands[-1][0], left_bands[-1][1]))
    onsite = [[0, 0, 0, 0] for _ in range(n)]
    month_faults = []
    by_station: dict[str, list[Any]] = defaultdict(list)  # the linked exams a fault may touch
    by_modality: dict[str, list[Any]] = defaultdict(list)
    for row in linked:
        by_station[row[3]].append(row)
        by_modality[row[2]].append(row)
    for fault_id, device, modality, reported_s, on_site_s, restored_s, urgent in fault_rows:
        reported = datetime.fromtimestamp(reported_s, tz)
        k = index.get(str(Month.of(reported, tz)))
        if k is None:
            continue
        target = targets.onsite_urgent_min if urgent else targets.onsite_min
        minutes = None if on_site_s is None else round((on_site_s - reported_s) / 60, 1)
        if minutes is not None:
            slot = 0 if urgent else 2
            onsite[k][slot] += minutes <= target
            onsite[k][slot + 1] += 1
        if k == cur:
            near = {id(row): row for row in by_station.get(device, ())}
            if modality:
                near.update((id(row), row) for row in by_modality.get(modality, ()))
            hits = sum(per_link.get(row[0], 1) for row in near.values()
                       if _affected(row, device, modality, reported_s, restored_s))
            month_faults.append(Fault(fault_id, device, modality, reported, bool(urgent),
                                      minutes, target, hits))
    month_faults.sort(key=lambda f: (f.reported_at, f.fault_id))
    return ImagingFigures(
        months=tuple(labels), totals=tuple((a, b) for a, b in totals),
        by_modality={k: tuple((a, b) for a, b in v) for k, v in by_mod.items()},
        by_device={k: tuple((a, b) for a, b in v) for k, v in by_dev.items()},
        year_ago=(year_ago[0], year_ago[1]), wait_target_min=targets.wait_min,
        report_target_min=targets.report_min, onsite_urgent_min=targets.onsite_urgent_min,
        onsite_min=targets.onsite_min,
        wait_bands=tuple(Band(b.band, b.exams, b.complaints, b.relative_risk)
                         for b in bands["wait"]),
        report_bands=tuple(Band(b.band, b.exams, b.complaints, b.relative_risk)
                           for b in bands["report"]),
        faults=tuple(month_faults), wait_avg=tuple(wait_avg), peak_wait=tuple(peak_wait),
        peak_hour=tuple(peak_hour), reports=tuple((a, b) for a, b in reports),
        onsite=tuple((a, b, c, d) for a, b, c, d in onsite), left=tuple(left_rows),
        left_trend=tuple((a, b) for a, b in left_trend),
        scan=_scan_durations(_staffed(scan_rows, roster), staff_names), staff_named=staff_names)


def _affected(row: Sequence[Any], device: str, modality: str | None, reported_s: int,
              restored_s: int | None) -> bool:
    """The linked exam's visit overlaps the outage, on the device or its modality: the
    correlation summary's rule, half-open (docs/correlation.md, "Overlap")."""
    _, _, exam_modality, station, _, _, scheduled, arrived, started, completed = row
    if not (station == device or (modality and exam_modality == modality)):
        return False
    starts = [t for t in (scheduled, arrived, started) if t is not None]
    if not starts:
        return False
    start = min(starts)
    end = max([start, *(t for t in (completed, started, arrived) if t is not None)])
    return overlaps(start, end, reported_s, outage_end(reported_s, restored_s))


def _staffed(exams: Sequence[Any], roster: Sequence[Any]) -> list[tuple[str | None, str, int]]:
    """(modality, staff on the device's shift, seconds) per exam with a rostered device."""
    shifts: dict[str, list[tuple[int, int, str]]] = defaultdict(list)
    for device, start_s, end_s, staff in roster:
        shifts[device].append((start_s, end_s, staff))
    for v in shifts.values():
        v.sort()
    out = []
    for modality, station, started, completed in exams:
        for start_s, end_s, staff in shifts.get(station, ()):
            if start_s > started:
                break
            if started < end_s and completed >= started:
                out.append((modality, staff, completed - started))
    return out


MIN_EXAMS = 5


def _scan_durations(rows: Sequence[Any], staff_names: bool) -> tuple[StaffDuration, ...]:
    durations: dict[tuple[str, str], list[float]] = defaultdict(list)
    for modality, staff, seconds in rows:
        durations[(modality or "?", staff)].append(seconds / 60)
    kept = {k: v for k, v in durations.items() if len(v) >= MIN_EXAMS}
    aliases: dict[str, str] = {}
    if not staff_names:  # letters by number of exams, so the order says nothing of names
        totals: dict[str, int] = defaultdict(int)
        for (_, staff), v in kept.items():
            totals[staff] += len(v)
        for i, staff in enumerate(sorted(totals, key=lambda s: (-totals[s], s))):
            aliases[staff] = _letters(i)
    out = [StaffDuration(m, aliases.get(s, s) if not staff_names else s, len(v),
                         round(statistics.median(v), 1)) for (m, s), v in kept.items()]
    return tuple(sorted(out, key=lambda x: (x.modality, x.median_min, x.staff)))


def _letters(i: int) -> str:
    """A, B, ... Z, AA, AB ..."""
    out = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        out = chr(65 + r) + out
    return f"技师 {out} staff {out}"

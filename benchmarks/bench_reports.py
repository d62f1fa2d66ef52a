"""Benchmark: the monthly report over a year of a large department, against DuckDB.

    python benchmarks/bench_reports.py                       # 1,000,000 exams, 20,000 complaints
    python benchmarks/bench_reports.py --exams 100000 --complaints 5000
    python benchmarks/bench_reports.py --db postgresql+psycopg://postgres@127.0.0.1/test
    (set HC_ENCRYPTION_KEYS to measure again with --reuse on a server database)

Synthetic year (December 2025 to November 2026) in Asia/Shanghai: ``--exams`` exams on 14
devices with waits, report times, people who left and a duty roster; ``--faults`` faults;
``--complaints`` complaints, each with a full history written through the store's unit of
work (registration, acknowledgement, investigation, findings, actions, response, follow-up,
closing; some withdrawn or left open), a third of them linked to an exam. Loading is not
what is measured.

Timed for the library, on the store (SQLite in a temp file by default):
  - ``report``: ``app.reports.monthly("2026-11")``: every table of the monthly report with
    the previous month and the 12-month trend, the overdue list, the three rates, the
    imaging section (exam aggregates in SQL);
  - ``html`` / ``xlsx``: writing it.
Timed for DuckDB (in memory, same process, after the library): the same rows (the event
rows as stored: type, time and payload JSON; the exam, link and fault rows), loaded from
CSV, and the same aggregates in SQL: per case its receipt, channel, kind, categories and
department from the registration payload, its acknowledgement, response, end, outcome and
follow-up from the events; then the flow, breakdowns, deadlines (24 h, 7 and 30 days),
outcomes, satisfaction and actions per month over 13 months, and the exam volumes,
complaint links, waits per hour, late reports and people who left per month, modality and
device. DuckDB is given the simple shape of this synthetic data (no reopening or
reclassification, which the library's fold handles) and no SLA-policy deadlines, so its
figure is a floor. DuckDB is a benchmark-only dependency: ``pip install duckdb``.

This is a script, not a test: it prints the figures side by side.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from hospital_complaints import FixedClock, HCPluginManager, Settings, bootstrap
from hospital_complaints.correlation.records import ExamRecord
from hospital_complaints.domain import workflow
from hospital_complaints.domain.commands import (
    Acknowledge,
    Close,
    PlanAction,
    RecordFinding,
    RecordFollowUp,
    RecordProgress,
    RegisterComplaint,
    Respond,
    StartInvestigation,
    WaiveFollowUp,
    Withdraw,
)
from hospital_complaints.domain.complaint import ComplaintDraft, Outcome, TeamMember
from hospital_complaints.domain.imaging import EquipmentFault, RosterShift
from hospital_complaints.plugins.builtin import (
    default_intake,
    default_reports,
    default_routing,
    sla_profiles,
)
from hospital_complaints.settings import DatabaseSettings
from hospital_complaints.storage.sql import KeyRing

TZ = ZoneInfo("Asia/Shanghai")
YEAR0 = datetime(2025, 12, 1, tzinfo=TZ)
DAYS = 365
DEVICES = [("CT1", "CT"), ("CT2", "CT"), ("CT3", "CT"), ("CT4", "CT"), ("MR1", "MR"),
           ("MR2", "MR"), ("MR3", "MR"), ("DR1", "DX"), ("DR2", "DX"), ("DR3", "DX"),
           ("US1", "US"), ("US2", "US"), ("US3", "US"), ("US4", "US")]
SCAN = {"CT": 8, "MR": 35, "DX": 3, "US": 15}
DEPARTMENTS = ["imaging", "ct", "mr", "ultrasound", "dr"]
CHANNELS = ["front_desk", "hotline", "web_form", "letter", "email", "voicemail"]
CATEGORIES = ["service_attitude", "technical_quality", "process_management", "equipment_fault",
              "communication"]
CAUSES = ["排班不足", "设备故障", "沟通不足", "预约流程", "报告审核瓶颈"]


def gen_exams(n: int, seed: int = 1) -> Iterator[ExamRecord]:
    rng = random.Random(seed)
    t0 = int(YEAR0.timestamp())
    for i in range(n):
        station, modality = DEVICES[rng.randrange(len(DEVICES))]
        scheduled = t0 + rng.randrange(DAYS) * 86400 + rng.randrange(0, 12 * 3600) - 3600
        arrived = scheduled - rng.randrange(0, 1200)
        wait = int(rng.expovariate(1 / 1100))
        started: int | None = arrived + wait
        completed: int | None = None
        final: int | None = None
        cancelled: int | None = None
        if rng.random() < 0.03 + min(0.2, wait / 36000):
            started, cancelled = None, arrived + wait
        else:
            assert started is not None
            completed = started + SCAN[modality] * 60 + rng.randrange(0, 600)
            final = completed + int(rng.expovariate(1 / 2400))

        def t(s: int | None) -> datetime | None:
            return None if s is None else datetime.fromtimestamp(s, TZ)

        yield ExamRecord(f"A{i:09d}", modality=modality, station=station,
                         patient_id=f"P{rng.randrange(10**7):07d}", scheduled_at=t(scheduled),
                         arrived_at=t(arrived), started_at=t(started), completed_at=t(completed),
                         final_at=t(final), cancelled_at=t(cancelled), source="bench")


def gen_faults(n: int, seed: int = 2) -> list[EquipmentFault]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        station, modality = DEVICES[rng.randrange(len(DEVICES))]
        reported = YEAR0 + timedelta(seconds=rng.randrange(DAYS * 86400))
        urgent = rng.random() < 0.3
        on_site = reported + timedelta(seconds=int(rng.expovariate(1 / (1500 if urgent
                                                                         else 5400))))
        out.append(EquipmentFault(fault_id=f"F{i:06d}", device=station, modality=modality,
                                  reported_at=reported, responder_on_site_at=on_site,
                                  restored_at=on_site + timedelta(hours=2), urgent=urgent))
    return out


def gen_shifts() -> list[RosterShift]:
    out = []
    for day in range(DAYS):
        start = YEAR0 + timedelta(days=day, hours=-1)
        for k, (station, _) in enumerate(DEVICES):
            staff = f"tech{(k * 3 + day) % 20:02d}"
            out.append(RosterShift(staff=staff, role="technologist", start=start,
                                   end=start + timedelta(hours=13), device=station))
    return out


def lifecycle(rng: random.Random, ref: str, received: datetime, accession: str | None
              ) -> workflow.Case:
    draft = ComplaintDraft.model_validate({
        "kind": rng.choice(["complaint"] * 8 + ["suggestion", "consultation"]),
        "channel": rng.choice(CHANNELS), "received_at": received,
        "complainant": {"role": "patient", "name": "张三", "phone": "13812345678",
                        "consent_to_contact": True},
        "patient": {"patient_id": f"P{rng.randrange(10**6)}"},
        "subject": "检查等待太久", "description": "等了两个小时",
        "department": rng.choice(DEPARTMENTS),
        "categories": rng.sample(CATEGORIES, rng.choice([1, 1, 2])),
        "exam_links": [{"accession_number": accession}] if accession else [],
    })
    t = received + timedelta(minutes=5)
    case = workflow.start(ref, RegisterComplaint(complaint=draft), "bench", t)

    def go(cmd: object, dt: timedelta) -> None:
        nonlocal t
        t = t + dt
        workflow.handle(case, cmd, "bench", t)  # type: ignore[arg-type]

    go(Acknowledge(method="phone", message="ok"), timedelta(hours=rng.expovariate(1 / 20)))
    if rng.random() < 0.05:
        go(Withdraw(reason="已解决"), timedelta(days=1))
        return case
    go(StartInvestigation(team=[TeamMember(name="a", role="qc")]), timedelta(hours=3))
    go(RecordFinding(text="f", root_causes=[rng.choice(CAUSES)]),
       timedelta(days=rng.expovariate(1 / 3)))
    if rng.random() < 0.3:
        go(PlanAction(type="training", description="d", owner="o",
                      due=(t + timedelta(days=10)).date()), timedelta(hours=1))
    if rng.random() < 0.08:
        return case
    go(Respond(method="phone", text="t", outcome=Outcome(kind=rng.choice(
        ["upheld", "partly_upheld", "not_upheld", "resolved_by_explanation"]))),
        timedelta(days=rng.expovariate(1 / 5)))
    for a in list(case.actions):
        go(RecordProgress(action_id=a, status="done", note="n"), timedelta(days=2))
    if rng.random() < 0.7:
        go(RecordFollowUp(method="phone", satisfaction=rng.randint(1, 5)), timedelta(days=2))
    else:
        go(WaiveFollowUp(reason="r"), timedelta(days=1))
    go(Close(), timedelta(days=1))
    return case


def load(app: object, args: argparse.Namespace) -> None:
    a = app  # the App
    store = a.store  # type: ignore[attr-defined]
    t0 = time.perf_counter()
    a.imaging.add_exams(gen_exams(args.exams))  # type: ignore[attr-defined]
    a.imaging.add_faults(gen_faults(args.faults))  # type: ignore[attr-defined]
    a.imaging.add_shifts(gen_shifts())  # type: ignore[attr-defined]
    a.imaging.analyze()  # type: ignore[attr-defined]
    print(f"  exams loaded: {time.perf_counter() - t0:.1f} s", flush=True)
    rng = random.Random(3)
    received = sorted(YEAR0 + timedelta(seconds=rng.randrange(DAYS * 86400))
                      for _ in range(args.complaints))
    counters: dict[object, int] = {}
    batch = []
    t0 = time.perf_counter()
    for when in received:
        day = when.date()
        counters[day] = counters.get(day, 0) + 1
        acc = f"A{rng.randrange(args.exams):09d}" if rng.random() < 0.33 else None
        batch.append(lifecycle(rng, f"HC-{day:%Y%m%d}-{counters[day]:04d}", when, acc))
        if len(batch) == 1000:
            _flush(store, batch)
    _flush(store, batch)
    print(f"  complaints loaded: {time.perf_counter() - t0:.1f} s", flush=True)


def _flush(store: object, batch: list[workflow.Case]) -> None:
    if not batch:
        return
    with store.unit_of_work() as uow:  # type: ignore[attr-defined]
        for case in batch:
            uow.cases.add(case)
        uow.commit()
    batch.clear()


def make_app(url: str) -> object:
    pm = HCPluginManager()
    for module, name in ((default_intake, "default_intake"), (default_routing, "default_routing"),
                         (sla_profiles, "sla_profiles"), (default_reports, "default_reports")):
        pm.register(module, name=name)
    keys = None if url.startswith("sqlite") else (os.environ.get("HC_ENCRYPTION_KEYS")
                                                  or KeyRing.generate_key())
    return bootstrap(Settings(database=DatabaseSettings(url=url, encryption_keys=keys)),
                     clock=FixedClock(datetime(2026, 12, 2, 9, tzinfo=TZ)), plugins=pm)


def run_library(app: object, workdir: Path, repeat: int) -> dict[str, float]:
    a = app
    figures: dict[str, float] = {}
    best = float("inf")
    report = None
    for _ in range(repeat):
        a.reports.__dict__.pop("definitions", None)  # type: ignore[attr-defined]
        t0 = time.perf_counter()
        report = a.reports.monthly("2026-11")  # type: ignore[attr-defined]
        best = min(best, time.perf_counter() - t0)
    figures["report"] = best
    assert report is not None
    print(f"  library report: {best:.2f} s ({report.meta['cases_read']} cases read)",
          flush=True)
    for fmt in ("html", "xlsx"):
        t0 = time.perf_counter()
        a.reports.write(report, fmt, workdir / f"report.{fmt}")  # type: ignore[attr-defined]
        figures[fmt] = time.perf_counter() - t0
        print(f"  library write {fmt}: {figures[fmt]:.2f} s", flush=True)
    figures["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return figures


DUCK_CASES = """
CREATE TABLE cases AS
WITH ev AS (SELECT complaint_ref AS ref, type, CAST("at" AS TIMESTAMPTZ) AS t, payload
            FROM events),
reg AS (
  SELECT ref,
    CAST(json_extract_string(payload, '$.data.complaint.received_at') AS TIMESTAMPTZ) AS received,
    json_extract_string(payload, '$.data.complaint.channel') AS channel,
    coalesce(json_extract_string(payload, '$.data.complaint.kind'), 'complaint') AS kind,
    json_extract_string(payload, '$.data.complaint.department') AS department,
    CAST(json_extract(payload, '$.data.complaint.categories') AS VARCHAR[]) AS categories
  FROM ev WHERE type = 'complaint_registered'),
agg AS (
  SELECT ref,
    min(t) FILTER (WHERE type = 'acknowledged') AS ack,
    min(t) FILTER (WHERE type = 'responded') AS responded,
    max(t) FILTER (WHERE type IN ('closed', 'withdrawn', 'referred', 'declined')) AS finished,
    max(CASE WHEN type = 'responded' THEN json_extract_string(payload, '$.data.outcome.kind')
             WHEN type = 'withdrawn' THEN 'withdrawn' END) AS outcome,
    max(t) FILTER (WHERE type = 'follow_up_recorded') AS followed,
    max(CAST(json_extract_string(payload, '$.data.satisfaction') AS INTEGER))
      FILTER (WHERE type = 'follow_up_recorded') AS satisfaction
  FROM ev GROUP BY ref)
SELECT reg.*, agg.* EXCLUDE (ref) FROM reg JOIN agg USING (ref)
"""
DUCK_QUERIES = {
    "flow and breakdowns": """
      WITH m AS (SELECT range AS i, (TIMESTAMPTZ '2025-12-01 00:00:00+08' + to_months(range))
                 AS s, (TIMESTAMPTZ '2025-12-01 00:00:00+08' + to_months(range + 1)) AS e
                 FROM range(12))
      SELECT
       (SELECT count(*) FROM (SELECT m.i, count(*) FILTER (WHERE received >= s AND received < e),
          count(*) FILTER (WHERE received < s AND (finished IS NULL OR finished >= s)),
          count(*) FILTER (WHERE finished >= s AND finished < e),
          count(*) FILTER (WHERE received < e AND (finished IS NULL OR finished >= e))
          FROM m, cases GROUP BY m.i)),
       (SELECT count(*) FROM (SELECT date_trunc('month', received), kind, count(*) FROM cases
          GROUP BY ALL)),
       (SELECT count(*) FROM (SELECT date_trunc('month', received), channel, count(*) FROM cases
          GROUP BY ALL)),
       (SELECT count(*) FROM (SELECT date_trunc('month', received), department, count(*)
          FROM cases GROUP BY ALL)),
       (SELECT count(*) FROM (SELECT date_trunc('month', received), c, count(*) FROM
          (SELECT received, unnest(categories) AS c FROM cases) GROUP BY ALL))
    """,
    "deadlines, outcomes, follow-up": """
      SELECT
       (SELECT count(*) FROM (SELECT date_trunc('month', received), department,
          avg(CASE WHEN ack <= received + INTERVAL 24 HOUR THEN 1 ELSE 0 END),
          avg(CASE WHEN finished <= date_trunc('day', received) + INTERVAL 8 DAY THEN 1 ELSE 0 END),
          avg(CASE WHEN finished <= date_trunc('day', received) + INTERVAL 31 DAY THEN 1 ELSE 0 END)
          FROM cases GROUP BY ALL)),
       (SELECT count(*) FROM (SELECT date_trunc('month', finished), outcome, count(*) FROM cases
          WHERE finished IS NOT NULL GROUP BY ALL)),
       (SELECT count(*) FROM (SELECT date_trunc('month', followed), satisfaction, count(*)
          FROM cases WHERE followed IS NOT NULL GROUP BY ALL)),
       (SELECT count(*) FROM (SELECT department, count(*) FROM cases WHERE finished IS NULL
          AND ack IS NOT NULL GROUP BY ALL))
    """,
    "imaging": """
      WITH x AS (SELECT *, strftime(to_timestamp(coalesce(started, arrived) + 28800)
                 AT TIME ZONE 'UTC', '%Y-%m') AS month,
                 hour(to_timestamp(coalesce(started, arrived) + 28800) AT TIME ZONE 'UTC') AS hr,
                 CASE WHEN started >= arrived THEN (started - arrived) / 60.0 END AS w,
                 CASE WHEN final >= completed THEN (final - completed) / 60.0 END AS r
                 FROM exams)
      SELECT
       (SELECT count(*) FROM (SELECT month, modality, station, count(*) FROM x GROUP BY ALL)),
       (SELECT count(*) FROM (SELECT month, modality, station, count(*) FROM links
          JOIN x USING (accession) GROUP BY ALL)),
       (SELECT count(*) FROM (SELECT month, hr, count(*), avg(w), count(r),
          count(*) FILTER (WHERE r > 15) FROM x GROUP BY ALL)),
       (SELECT count(*) FROM (SELECT month, count(*), count(*) FILTER (WHERE started IS NULL)
          FROM x WHERE arrived IS NOT NULL GROUP BY ALL)),
       (SELECT count(*) FROM (SELECT strftime(to_timestamp(reported + 28800) AT TIME ZONE 'UTC',
          '%Y-%m'), urgent, avg(CASE WHEN on_site - reported <= CASE WHEN urgent THEN 1800
          ELSE 7200 END THEN 1 ELSE 0 END) FROM faults GROUP BY ALL))
    """,
}


def run_duckdb(app: object, workdir: Path) -> dict[str, float]:
    import duckdb

    store = app.store  # type: ignore[attr-defined]
    t = store.tables
    t0 = time.perf_counter()
    exports = {
        "events": sa.select(t.events.c.complaint_ref, t.events.c.type, t.events.c.at,
                            t.events.c.payload),
        "exams": sa.select(t.exams.c.accession_number.label("accession"), t.exams.c.modality,
                           t.exams.c.station, t.exams.c.arrived_s.label("arrived"),
                           t.exams.c.started_s.label("started"),
                           t.exams.c.completed_s.label("completed"),
                           t.exams.c.final_s.label("final")),
        "links": sa.select(t.complaint_exams.c.complaint_ref,
                           t.complaint_exams.c.accession_number.label("accession")),
        "faults": sa.select(t.faults.c.fault_id, t.faults.c.reported_s.label("reported"),
                            t.faults.c.on_site_s.label("on_site"), t.faults.c.urgent),
    }
    with store.read() as conn:
        for name, query in exports.items():
            with (workdir / f"{name}.csv").open("w", newline="", encoding="utf-8") as f:
                w = csv.writer(f)
                result = conn.execute(query)
                w.writerow(result.keys())
                w.writerows(result)
    con = duckdb.connect()
    for name in exports:
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM read_csv_auto('{workdir / name}.csv',"
                    " header=true)")
    figures = {"load": time.perf_counter() - t0}
    print(f"  duckdb load (export CSV + read): {figures['load']:.1f} s", flush=True)
    t0 = time.perf_counter()
    con.execute(DUCK_CASES)
    for sql in DUCK_QUERIES.values():
        con.execute(sql).fetchall()
    figures["report"] = time.perf_counter() - t0
    print(f"  duckdb report aggregates: {figures['report']:.2f} s", flush=True)
    con.close()
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exams", type=int, default=1_000_000)
    parser.add_argument("--faults", type=int, default=2_000)
    parser.add_argument("--complaints", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=2, help="report builds; the best counts")
    parser.add_argument("--db", default=None, help="database URL (default: temp SQLite file)")
    parser.add_argument("--skip-duckdb", action="store_true")
    parser.add_argument("--reuse", action="store_true",
                        help="with --db: measure again on data an earlier run loaded")
    args = parser.parse_args(argv)
    if not args.skip_duckdb:
        try:
            import duckdb  # noqa: F401 - checked before the long load, not after it
        except ImportError:
            sys.exit("this benchmark compares with DuckDB: pip install duckdb "
                     "(or run it with --skip-duckdb)")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        url = args.db or f"sqlite:///{workdir / 'bench.db'}"
        print(f"{args.exams:,} exams, {args.complaints:,} complaints, {args.faults:,} faults "
              f"on {url.split('://')[0]}", flush=True)
        app = make_app(url)
        if not args.reuse:
            load(app, args)
        lib = run_library(app, workdir, args.repeat)
        duck = None if args.skip_duckdb else run_duckdb(app, workdir)
        app.close()  # type: ignore[attr-defined]
    print()
    d = duck["report"] if duck else float("nan")
    print(f"{'':34}{'library':>10}{'duckdb':>10}{'ratio':>8}")
    print(f"{'monthly report, 13 months (s)':34}{lib['report']:10.2f}{d:10.2f}"
          f"{lib['report'] / d:8.1f}")
    print(f"{'write html / xlsx (s)':34}{lib['html']:5.2f} /{lib['xlsx']:5.2f}")
    print(f"peak RSS of the library part: {lib['peak_mb']:.0f} MB")
    sys.stdout.flush()


if __name__ == "__main__":
    main()

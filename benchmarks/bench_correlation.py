"""Benchmark: evidence for every complaint plus the department summary, against DuckDB.

    python benchmarks/bench_correlation.py                          # 1,000,000 exams
    python benchmarks/bench_correlation.py --exams 100000 --faults 500 --complaints 5000
    python benchmarks/bench_correlation.py --db postgresql+psycopg://postgres@127.0.0.1/test

Synthetic year (2025): 14 devices (CT, MR, DX, US), exams spread over 07:00-19:00 with
waits, slips and report delays drawn from skewed distributions, a few percent with missing
or out-of-order times, ``--faults`` faults with work orders, ``--complaints`` complaints each
linked to one exam (written straight into the complaint->exam projection; registering them
through the service is not what is measured here).

Timed for the library (the store, SQLite by default, in a temp file):
  - load: ``ImagingRepository.add_exams`` / ``add_faults`` / ``set_complaint_links`` and
    ``analyze`` (on PostgreSQL ``VACUUM (ANALYZE)``)
  - evidence: ``complaint_metrics`` over the year (delays, day and device percentiles,
    overlapping faults for every complaint), plus ``build_evidence`` one by one on a sample
  - summary: ``build_summary`` for the year
With ``--db URL --reuse`` a second run measures again on the data an earlier run loaded
(the load is then not timed; the same ``--exams/--faults/--complaints`` must be given).
Timed for DuckDB (in memory, same process, after the library's part): the same data from CSV,
the same delays, window percentiles, fault overlaps (half-open, as docs/correlation.md says)
and summary group-bys in SQL.
Peak memory is the process's maximum RSS after the library's part (before DuckDB is imported).

DuckDB is a benchmark-only dependency: ``pip install duckdb``.
"""

from __future__ import annotations

import argparse
import csv
import random
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from hospital_complaints.correlation import ComplaintLink, ExamRecord, build_evidence
from hospital_complaints.correlation.summary import build_summary
from hospital_complaints.domain.complaint import Complaint
from hospital_complaints.domain.imaging import EquipmentFault
from hospital_complaints.storage.sql import KeyRing, SqlStore
from hospital_complaints.storage.sql.exams import ImagingRepository

TZ = ZoneInfo("Asia/Shanghai")
DEVICES = [("CT1", "CT"), ("CT2", "CT"), ("CT3", "CT"), ("CT4", "CT"), ("MR1", "MR"),
           ("MR2", "MR"), ("MR3", "MR"), ("DR1", "DX"), ("DR2", "DX"), ("DR3", "DX"),
           ("US1", "US"), ("US2", "US"), ("US3", "US"), ("US4", "US")]
SCAN = {"CT": 8, "MR": 35, "DX": 3, "US": 15}
YEAR0 = int(datetime(2025, 1, 1, tzinfo=TZ).timestamp())
DAYS = 365
DAY_FROM, DAY_TO = "2025-01-01", "2025-12-31"


def gen_exams(n: int, seed: int = 1) -> Iterator[tuple[str, str, str, int, int, int | None,
                                                        int | None, int | None, str]]:
    """(accession, modality, station, scheduled, arrived, started, completed, final, patient)
    as epoch seconds; deterministic."""
    rng = random.Random(seed)
    for i in range(n):
        station, modality = DEVICES[rng.randrange(len(DEVICES))]
        scheduled = YEAR0 + rng.randrange(DAYS) * 86400 + rng.randrange(7 * 3600, 19 * 3600)
        arrived = scheduled - rng.randrange(0, 1200)
        started: int | None = max(arrived, scheduled) + int(rng.expovariate(1 / 900))
        completed: int | None = started + SCAN[modality] * 60 + rng.randrange(0, 600)
        final: int | None = completed + int(rng.expovariate(1 / 2400))
        roll = rng.random()
        if roll < 0.01:
            started = arrived - 600  # out of order
        elif roll < 0.02:
            completed = final = None  # not finished
        elif roll < 0.03:
            started = None
        yield (f"A{i:09d}", modality, station, scheduled, arrived, started, completed, final,
               f"P{rng.randrange(10**7):07d}")


def gen_faults(n: int, seed: int = 2) -> list[EquipmentFault]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        station, modality = DEVICES[rng.randrange(len(DEVICES))]
        reported = YEAR0 + rng.randrange(DAYS * 86400)
        urgent = rng.random() < 0.3
        on_site = reported + int(rng.expovariate(1 / (1500 if urgent else 5400)))
        restored = on_site + rng.randrange(600, 4 * 3600)
        out.append(EquipmentFault(
            fault_id=f"F{i:06d}", device=station, modality=modality,
            reported_at=datetime.fromtimestamp(reported, TZ),
            responder_on_site_at=datetime.fromtimestamp(on_site, TZ),
            restored_at=datetime.fromtimestamp(restored, TZ), urgent=urgent,
            cause="synthetic", action="synthetic", acceptance="ok"))
    return out


def _t(s: int | None) -> datetime | None:
    return None if s is None else datetime.fromtimestamp(s, TZ)


def complaint_picks(n_exams: int, n_complaints: int, seed: int = 3) -> list[int]:
    return sorted(random.Random(seed).sample(range(n_exams), n_complaints))


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_library(args: argparse.Namespace, url: str) -> dict[str, float]:
    store = SqlStore(url, key_ring=KeyRing.parse(KeyRing.generate_key()))
    store.upgrade()
    repo = ImagingRepository(store, tz=TZ, batch_size=5000)
    figures: dict[str, float] = {}
    picks = set(complaint_picks(args.exams, args.complaints))
    links: list[ComplaintLink] = []

    def records() -> Iterator[ExamRecord]:
        for i, (acc, mod, st, sch, arr, sta, com, fin, pid) in enumerate(gen_exams(args.exams)):
            if i in picks:
                links.append(ComplaintLink(f"HC-{i:09d}", acc, _t((fin or arr) + 86400)
                                           or datetime.now(UTC)))
            yield ExamRecord(acc, modality=mod, station=st, patient_id=pid,
                             scheduled_at=_t(sch), arrived_at=_t(arr), started_at=_t(sta),
                             completed_at=_t(com), final_at=_t(fin), source="bench")

    t0 = time.perf_counter()
    with store.read() as conn:
        stored = conn.execute(sa.select(sa.func.count()).select_from(repo.exams)).scalar_one()
    if args.reuse and stored == args.exams:  # the same synthetic data is already there
        links = [ComplaintLink(f"HC-{i:09d}", f"A{i:09d}", datetime.now(TZ)) for i in picks]
        figures["load"] = float("nan")
    else:
        repo.add_exams(records())
        repo.add_faults(gen_faults(args.faults))
        repo.set_complaint_links(links)
        repo.analyze()
        figures["load"] = time.perf_counter() - t0
    print(f"  library load: {figures['load']:.1f} s", flush=True)

    t0 = time.perf_counter()
    n = sum(1 for _ in repo.complaint_metrics(DAY_FROM, DAY_TO))
    figures["evidence"] = time.perf_counter() - t0
    assert n == len(links), (n, len(links))
    print(f"  library evidence for {n} complaints: {figures['evidence']:.2f} s", flush=True)

    t0 = time.perf_counter()
    summary = build_summary(repo, DAY_FROM, DAY_TO)
    figures["summary"] = time.perf_counter() - t0
    print(f"  library summary: {figures['summary']:.2f} s ({summary.exams} exams, "
          f"{summary.complaints} complaints, {len(summary.faults)} faults, "
          f"{len(summary.clusters)} clusters)", flush=True)

    sample = links[:: max(1, len(links) // args.sample)][: args.sample]
    t0 = time.perf_counter()
    for link in sample:
        complaint = Complaint(
            reference=link.complaint_ref, channel="front_desk", received_at=link.received_at,
            complainant={"role": "anonymous"}, subject="bench", description="bench",
            exam_links=[{"accession_number": link.accession_number}])
        build_evidence(repo, complaint)
    per = (time.perf_counter() - t0) / max(1, len(sample))
    figures["pack_ms"] = per * 1000
    print(f"  library build_evidence one by one: {per * 1000:.1f} ms per complaint "
          f"(sample of {len(sample)})", flush=True)
    figures["peak_mb"] = peak_mb()
    store.dispose()
    return figures


DUCK_QUERIES = {
    "evidence": """
        WITH x AS (
          SELECT *, (started - arrived) / 60.0 AS wait, (started - scheduled) / 60.0 AS slip,
                 (final - completed) / 60.0 AS report,
                 strftime(to_timestamp(coalesce(started, arrived) + 28800)
                          AT TIME ZONE 'UTC', '%Y-%m-%d') AS day,
                 least(scheduled, arrived) AS ws, greatest(started, completed, arrived) AS we
          FROM exams),
        y AS (
          SELECT *, CASE WHEN wait < 0 THEN NULL ELSE wait END AS w,
                 CASE WHEN report < 0 THEN NULL ELSE report END AS r FROM x),
        ranked AS (
          SELECT accession, station, modality, ws, we, w, slip, r,
            cume_dist() OVER (PARTITION BY day, modality, w IS NULL ORDER BY w) AS w_day,
            cume_dist() OVER (PARTITION BY station, substr(day, 1, 7), w IS NULL ORDER BY w)
              AS w_dev,
            cume_dist() OVER (PARTITION BY day, modality, slip IS NULL ORDER BY slip) AS s_day,
            cume_dist() OVER (PARTITION BY station, substr(day, 1, 7), slip IS NULL
                              ORDER BY slip) AS s_dev,
            cume_dist() OVER (PARTITION BY day, modality, r IS NULL ORDER BY r) AS r_day,
            cume_dist() OVER (PARTITION BY station, substr(day, 1, 7), r IS NULL ORDER BY r)
              AS r_dev
          FROM y),
        c AS (SELECT l.ref, ranked.* FROM links l JOIN ranked USING (accession)),
        f AS (
          SELECT c.ref, faults.fault_id FROM c JOIN faults ON faults.device = c.station
           AND (faults.reported < c.we OR faults.reported = c.ws)
           AND faults.reported > c.ws - 604800 AND faults.restored > c.ws
          UNION
          SELECT c.ref, faults.fault_id FROM c JOIN faults ON faults.modality = c.modality
           AND (faults.reported < c.we OR faults.reported = c.ws)
           AND faults.reported > c.ws - 604800 AND faults.restored > c.ws)
        SELECT (SELECT count(*) FROM c), (SELECT count(*) FROM f),
               (SELECT sum(w_day + w_dev + s_day + s_dev + r_day + r_dev) FROM c)
    """,
    "summary": """
        WITH x AS (
          SELECT *, CASE WHEN started >= arrived THEN (started - arrived) / 60.0 END AS w,
                 CASE WHEN final >= completed THEN (final - completed) / 60.0 END AS r,
                 to_timestamp(coalesce(started, arrived) + 28800) AT TIME ZONE 'UTC' AS lt,
                 least(scheduled, arrived) AS ws, greatest(started, completed, arrived) AS we
          FROM exams),
        lc AS (SELECT accession, count(*) AS n FROM links GROUP BY accession),
        xc AS (SELECT x.*, coalesce(lc.n, 0) AS n FROM x LEFT JOIN lc USING (accession))
        SELECT
          (SELECT count(*) FROM (SELECT modality, count(*), sum(n) FROM xc GROUP BY 1)),
          (SELECT count(*) FROM (SELECT station, count(*), sum(n) FROM xc GROUP BY 1)),
          (SELECT count(*) FROM (SELECT dayofweek(lt), hour(lt), count(*), sum(n) FROM xc
                                 GROUP BY 1, 2)),
          (SELECT count(*) FROM (SELECT strftime(lt, '%Y-%m'), count(*), sum(n) FROM xc
                                 GROUP BY 1)),
          (SELECT count(*) FROM (SELECT CASE WHEN w < 15 THEN 0 WHEN w < 30 THEN 1
                                 WHEN w < 60 THEN 2 ELSE 3 END, count(*), sum(n) FROM xc
                                 WHERE w IS NOT NULL GROUP BY 1)),
          (SELECT count(*) FROM (SELECT CASE WHEN r < 15 THEN 0 WHEN r < 60 THEN 1
                                 WHEN r < 240 THEN 2 ELSE 3 END, count(*), sum(n) FROM xc
                                 WHERE r IS NOT NULL GROUP BY 1)),
          (SELECT count(*) FROM (
             SELECT fault_id, count(*), sum(on_dev), sum(n) FROM (
               SELECT f.fault_id, xc.accession, xc.n, 1 AS on_dev FROM faults f JOIN xc
                 ON xc.station = f.device AND xc.ws < f.restored
                AND (xc.we > f.reported OR xc.ws = f.reported)
                AND xc.ws >= f.reported - 86400
               UNION
               SELECT f.fault_id, xc.accession, xc.n,
                      CASE WHEN xc.station = f.device THEN 1 ELSE 0 END FROM faults f JOIN xc
                 ON xc.modality = f.modality AND xc.ws < f.restored
                AND (xc.we > f.reported OR xc.ws = f.reported)
                AND xc.ws >= f.reported - 86400)
             GROUP BY 1))
    """,
}


def run_duckdb(args: argparse.Namespace, workdir: Path) -> dict[str, float]:
    import duckdb

    t0 = time.perf_counter()
    picks = set(complaint_picks(args.exams, args.complaints))
    with (workdir / "exams.csv").open("w", newline="") as f, \
            (workdir / "links.csv").open("w", newline="") as lf:
        w, lw = csv.writer(f), csv.writer(lf)
        w.writerow(["accession", "modality", "station", "scheduled", "arrived", "started",
                    "completed", "final"])
        lw.writerow(["ref", "accession"])
        for i, row in enumerate(gen_exams(args.exams)):
            w.writerow(row[:8])
            if i in picks:
                lw.writerow([f"HC-{i:09d}", row[0]])
    with (workdir / "faults.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["fault_id", "device", "modality", "reported", "restored"])
        for x in gen_faults(args.faults):
            assert x.restored_at is not None
            w.writerow([x.fault_id, x.device, x.modality, int(x.reported_at.timestamp()),
                        int(x.restored_at.timestamp())])
    con = duckdb.connect()
    for name in ("exams", "links", "faults"):
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM read_csv_auto('{workdir / name}.csv')")
    figures = {"load": time.perf_counter() - t0}
    print(f"  duckdb load (write CSV + read): {figures['load']:.1f} s", flush=True)
    for name, sql in DUCK_QUERIES.items():
        t0 = time.perf_counter()
        con.execute(sql).fetchall()
        figures[name] = time.perf_counter() - t0
        print(f"  duckdb {name}: {figures[name]:.2f} s", flush=True)
    con.close()
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exams", type=int, default=1_000_000)
    parser.add_argument("--faults", type=int, default=5_000)
    parser.add_argument("--complaints", type=int, default=50_000)
    parser.add_argument("--sample", type=int, default=200,
                        help="complaints for the one-by-one build_evidence timing")
    parser.add_argument("--db", default=None, help="database URL (default: temp SQLite file)")
    parser.add_argument("--skip-duckdb", action="store_true")
    parser.add_argument("--reuse", action="store_true",
                        help="with --db: measure again on data an earlier run loaded")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        url = args.db or f"sqlite:///{workdir / 'bench.db'}"
        print(f"{args.exams:,} exams, {args.faults:,} faults, {args.complaints:,} complaints "
              f"on {url.split('://')[0]}", flush=True)
        lib = run_library(args, url)
        duck = None if args.skip_duckdb else run_duckdb(args, workdir)
    print()
    print(f"{'':28}{'library':>12}{'duckdb':>12}{'ratio':>8}")
    for key in ("evidence", "summary"):
        d = duck[key] if duck else float("nan")
        print(f"{key + ' (s)':28}{lib[key]:12.2f}{d:12.2f}{lib[key] / d:8.1f}")
    total_l, total_d = lib["evidence"] + lib["summary"], (
        duck["evidence"] + duck["summary"] if duck else float("nan"))
    print(f"{'evidence + summary (s)':28}{total_l:12.2f}{total_d:12.2f}{total_l / total_d:8.1f}")
    print(f"{'load (s)':28}{lib['load']:12.1f}{duck['load'] if duck else float('nan'):12.1f}")
    print(f"one pack (build_evidence): {lib['pack_ms']:.1f} ms; "
          f"peak RSS of the library part: {lib['peak_mb']:.0f} MB")
    sys.stdout.flush()


if __name__ == "__main__":
    main()

"""Benchmark: ``exams import`` of a large CSV, side by side with DuckDB reading the same file.

    python benchmarks/bench_exam_import.py        # 1,000,000 rows: SQLite, PostgreSQL
    python benchmarks/bench_exam_import.py --rows 200000 --no-postgresql
    python benchmarks/bench_exam_import.py --compare-with /tmp/hc-before --baseline-rows 100000

Writes a synthetic RIS export (``--rows`` exams of one year on 14 devices, in time order as
a RIS exports them, ``--shuffle`` for random order): accession, study UID, patient id,
modality, station, room and seven milestones with UTC offsets, as the import documents them.
Then, in one run:

- **library**: ``import_file(repo, path, "exams", workers=N)`` (``--workers``; default one
  per core: the main process reads and writes, worker processes parse and seal) into a
  fresh store (a temp SQLite file; PostgreSQL at ``--postgresql URL`` in a fresh schema,
  dropped afterwards), then the same file again (every row merged with its stored row).
  Timed from the call to its return: reading, checking every row, hashing patient ids,
  sealing rows, writing, building the indexes (a SQLite bulk load) or ``COPY``
  (PostgreSQL). ``analyze`` is not included (the
  CLI runs it after the import: its time is printed apart).
- **library, one process** (unless ``--no-one-process``): the same first import with
  ``workers=0``.
- **duckdb**: ``CREATE TABLE t AS SELECT * FROM read_csv(path)`` in memory, the same file.
- **before** (``--compare-with DIR``): the same import by the code in ``DIR`` (a checkout of
  an earlier commit, e.g. ``git worktree add /tmp/hc-before <commit>``), in a subprocess
  with ``PYTHONPATH=DIR/src``, on the first ``--baseline-rows`` rows (it is slow).

Each figure is rows per second of wall time, and of CPU time (the process's and its
workers'; the machine may be shared: CPU time is steadier). Wall-time ratios are only
comparable within one run.

Needs (benchmark-only): ``pip install duckdb``; for PostgreSQL the driver of the core's
``postgresql`` extra (``pip install "hospital-complaints[postgresql]"``, psycopg 3) and a
server (``--no-postgresql`` to skip it).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")
DEVICES = [("CT1", "CT"), ("CT2", "CT"), ("CT3", "CT"), ("CT4", "CT"), ("MR1", "MR"),
           ("MR2", "MR"), ("MR3", "MR"), ("DR1", "DX"), ("DR2", "DX"), ("DR3", "DX"),
           ("US1", "US"), ("US2", "US"), ("US3", "US"), ("US4", "US")]
SCAN_MIN = {"CT": 8, "MR": 35, "DX": 3, "US": 15}
HEADER = ["accession_number", "study_instance_uid", "patient_id", "modality", "station",
          "room", "ordered_at", "scheduled_start", "arrived_at", "started_at", "completed_at",
          "preliminary_report_at", "final_report_at"]
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def need(module: str, install: str) -> None:
    try:
        __import__(module)
    except ImportError:
        sys.exit(f"this benchmark needs {module}: {install}")


def write_export(path: Path, rows: int, shuffle: bool, seed: int = 1) -> None:
    """A year of exams as a RIS exports them (deterministic)."""
    rng = random.Random(seed)
    start = datetime(2025, 1, 1, tzinfo=TZ)
    step = 365 * 86400 / rows
    order = list(range(rows))
    if shuffle:
        rng.shuffle(order)

    def iso(t: datetime) -> str:
        return t.isoformat()

    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        for i in order:
            station, modality = DEVICES[rng.randrange(len(DEVICES))]
            day = start + timedelta(seconds=int(i * step) // 86400 * 86400)
            scheduled = day + timedelta(seconds=rng.randrange(7 * 3600, 19 * 3600))
            arrived = scheduled - timedelta(seconds=rng.randrange(0, 1200))
            started = max(arrived, scheduled) + timedelta(seconds=int(rng.expovariate(1 / 900)))
            completed = started + timedelta(minutes=SCAN_MIN[modality],
                                            seconds=rng.randrange(600))
            final = completed + timedelta(seconds=int(rng.expovariate(1 / 2400)))
            preliminary = "" if rng.random() < 0.7 else iso(completed + (final - completed) / 2)
            roll = rng.random()
            cells = [f"{modality}{i:09d}", f"1.2.156.112605.{i}", f"P{rng.randrange(10**7):07d}",
                     modality, station, f"{station} room", iso(scheduled - timedelta(days=1)),
                     iso(scheduled), iso(arrived), iso(started), iso(completed), preliminary,
                     iso(final)]
            if roll < 0.01:
                cells[9] = iso(arrived - timedelta(minutes=10))  # out of order: flagged
            elif roll < 0.02:
                cells[10] = cells[12] = ""  # not finished
            w.writerow(cells)


def head(path: Path, rows: int, out: Path) -> Path:
    with path.open(encoding="utf-8") as src, out.open("w", encoding="utf-8") as dst:
        for n, line in enumerate(src):
            if n > rows:
                break
            dst.write(line)
    return out


def cpu_time() -> float:
    """CPU seconds of this process and of its ended children (the import's workers)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def timed_import(url: str, path: Path, schema: str | None = None, *,
                 workers: int | None = None, again: bool = True) -> dict[str, float]:
    """Import ``path`` into a fresh store at ``url``, then again (``again``); figures of
    each. ``workers``: as ``import_file`` takes it (None: one per core; 0: one process)."""
    from hospital_complaints.correlation import import_file
    from hospital_complaints.storage.sql import KeyRing, SqlStore
    from hospital_complaints.storage.sql.exams import ImagingRepository

    store = SqlStore(url, key_ring=KeyRing.parse(KeyRing.generate_key()), schema=schema)
    store.upgrade()
    repo = ImagingRepository(store, tz=TZ)
    out: dict[str, float] = {}
    try:
        for label in ("first", "again") if again else ("first",):
            c0, t0 = cpu_time(), time.perf_counter()
            report = import_file(repo, path, "exams", workers=workers)
            out[f"{label}_wall"] = time.perf_counter() - t0
            out[f"{label}_cpu"] = cpu_time() - c0
            out["rows"] = report.read
            assert report.imported == report.read, (report.read, report.rejected[:3])
            if label == "first":
                t0 = time.perf_counter()
                repo.analyze()
                out["analyze"] = time.perf_counter() - t0
        with store.read() as conn:
            import sqlalchemy as sa

            out["stored"] = conn.execute(sa.select(sa.func.count()).select_from(
                repo.exams)).scalar_one()
    finally:
        store.dispose()
    return out


def duckdb_read(path: Path) -> dict[str, float]:
    import duckdb

    c0, t0 = time.process_time(), time.perf_counter()
    con = duckdb.connect()
    con.execute(f"CREATE TABLE t AS SELECT * FROM read_csv('{path}')")
    n = con.execute("SELECT count(*) FROM t").fetchone()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    con.close()
    return {"rows": float(n[0]) if n else 0.0, "first_wall": wall, "first_cpu": cpu}


def before(directory: Path, path: Path) -> dict[str, float]:
    """The import by an earlier checkout, in a subprocess (SQLite)."""
    code = f"""
import json, sys, time, tempfile
from pathlib import Path
from hospital_complaints.correlation import import_file
from hospital_complaints.storage.sql import KeyRing, SqlStore
from hospital_complaints.storage.sql.exams import ImagingRepository
with tempfile.TemporaryDirectory() as tmp:
    store = SqlStore(f"sqlite:///{{tmp}}/before.db", key_ring=KeyRing.parse(KeyRing.generate_key()))
    store.upgrade()
    repo = ImagingRepository(store)
    c0, t0 = time.process_time(), time.perf_counter()
    r = import_file(repo, Path({str(path)!r}), "exams")
    print(json.dumps({{"rows": r.read, "first_wall": time.perf_counter() - t0,
                      "first_cpu": time.process_time() - c0}}))
    store.dispose()
"""
    env = {**os.environ, "PYTHONPATH": str(directory / "src")}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def pg_schema(url: str) -> tuple[str, object] | None:
    import sqlalchemy as sa

    name = f"hc_bench_{uuid.uuid4().hex[:8]}"
    try:
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{name}"'))
    except Exception as exc:
        print(f"PostgreSQL skipped: {str(exc).splitlines()[0]}", flush=True)
        return None
    return name, engine


def rate(figures: dict[str, float], key: str) -> str:
    return f"{figures['rows'] / figures[key]:>12,.0f}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--shuffle", action="store_true", help="rows in random time order")
    parser.add_argument("--postgresql", default=PG_URL, metavar="URL")
    parser.add_argument("--no-postgresql", action="store_true")
    parser.add_argument("--compare-with", type=Path, default=None, metavar="DIR",
                        help="a checkout of earlier code to time the same import with")
    parser.add_argument("--baseline-rows", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help="worker processes of the library's import (default: one per "
                             "core; 0: one process)")
    parser.add_argument("--no-one-process", action="store_true",
                        help="do not also time the import in one process (workers=0)")
    args = parser.parse_args(argv)
    need("duckdb", "pip install duckdb")
    if not args.no_postgresql:
        need("psycopg", 'pip install "hospital-complaints[postgresql]"')
    results: list[tuple[str, dict[str, float]]] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        export = work / "exams.csv"
        t0 = time.perf_counter()
        write_export(export, args.rows, args.shuffle)
        size = export.stat().st_size / 1e6
        print(f"{args.rows:,} exams, {size:.0f} MB CSV"
              f"{' (shuffled)' if args.shuffle else ''}, written in "
              f"{time.perf_counter() - t0:.0f} s", flush=True)

        from hospital_complaints.correlation.import_workers import default_workers

        n = default_workers() if args.workers is None else args.workers
        lib = timed_import(f"sqlite:///{work / 'lib.db'}", export, workers=args.workers)
        print(f"  library, SQLite, {n} workers: {lib['first_wall']:.1f} s (again "
              f"{lib['again_wall']:.1f} s; analyze {lib['analyze']:.1f} s)", flush=True)
        results.append((f"library SQLite ({n} workers)", lib))
        if not args.no_one_process and n > 1:
            one = timed_import(f"sqlite:///{work / 'one.db'}", export, workers=0, again=False)
            print(f"  library, SQLite, one process: {one['first_wall']:.1f} s", flush=True)
            results.append(("library SQLite (one process)", one))
        duck = duckdb_read(export)
        print(f"  duckdb read_csv: {duck['first_wall']:.1f} s", flush=True)
        results.append(("duckdb read_csv", duck))
        if not args.no_postgresql:
            made = pg_schema(args.postgresql)
            if made is not None:
                schema, engine = made
                try:
                    pg = timed_import(args.postgresql, export, schema=schema,
                                      workers=args.workers)
                    print(f"  library, PostgreSQL (COPY): {pg['first_wall']:.1f} s (again "
                          f"{pg['again_wall']:.1f} s; VACUUM ANALYZE {pg['analyze']:.1f} s)",
                          flush=True)
                    results.append(("library PostgreSQL", pg))
                finally:
                    import sqlalchemy as sa

                    with engine.begin() as conn:  # type: ignore[attr-defined]
                        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
                    engine.dispose()  # type: ignore[attr-defined]
        if args.compare_with is not None:
            sample = head(export, args.baseline_rows, work / "sample.csv")
            old = before(args.compare_with, sample)
            print(f"  before ({args.compare_with}), SQLite, {int(old['rows']):,} rows: "
                  f"{old['first_wall']:.1f} s", flush=True)
            results.append((f"before SQLite ({int(old['rows']):,} rows)", old))
    print()
    print(f"{'rows/s':34}{'wall':>12}{'cpu':>12}{'again (merge)':>16}")
    for name, fig in results:
        again = rate(fig, "again_wall") if "again_wall" in fig else f"{'-':>12}"
        print(f"{name:34}{rate(fig, 'first_wall')}{rate(fig, 'first_cpu')}{again:>16}")
    lib_rate = lib["rows"] / lib["first_wall"]
    print(f"\nlibrary SQLite / duckdb (wall): {lib_rate / (duck['rows'] / duck['first_wall']):.3f}"
          f"; duckdb runs {os.cpu_count()} threads, the library {n} workers and the writer")
    print(f"library SQLite / target of 50,000 rows/s: {lib_rate / 50_000:.2f}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()

"""Intake throughput of the SQL store: complaints (with their first event) per second.

Two measurements per engine, both through the service API with the built-in plugins
(routing, and every installed plugin such as the keyword classifier):

* ``batched``: ``ComplaintService.register_many`` with ``--batch`` complaints per
  transaction (validation, classification, routing, encryption, hash chain, outbox and
  notification dispatch all included);
* ``one-by-one``: ``ComplaintService.register`` in a loop, one transaction per complaint,
  over ``--service-n`` complaints (what an interactive front desk does);
* ``register --many`` (SQLite): the command line on a JSON-lines file of ``--file-n``
  complaints shaped like ``examples/intake/complaint.json`` (no department given, so each
  is routed: two events; an idempotency key per line), timed from start to exit (start-up
  included), then the same file again (every line already registered);
* with ``--git-rev REV``: ``register --many`` of the same file by REV's core and keyword
  classifier (a ``git archive`` copy put first on PYTHONPATH), alternating with today's,
  ``--rounds`` times each into new databases, so a busy machine slows both alike.

    .venv/bin/python benchmarks/bench_intake.py --n 100000 [--pg URL | --pg none]
    .venv/bin/python benchmarks/bench_intake.py --n 1000 --pg none --git-rev 5a158e5

Needs only the core for SQLite. PostgreSQL needs its driver (``pip install
"hospital-complaints[postgresql]"``, which ``python3 dev.py test`` installs) and a server at
``--pg``; without either, that part is skipped with the reason, not failed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from _revision import export_rev

from hospital_complaints import (
    ComplaintService,
    FixedClock,
    HospitalComplaintsError,
    Settings,
    build_service,
)
from hospital_complaints.storage.sql import KeyRing, SqlStore

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
DRAFT = {
    "channel": "front_desk", "received_at": "2026-11-20T08:30:00+08:00",
    "complainant": {"role": "patient", "name": "张三丰", "phone": "13812345678",
                    "id_number": "110101199001011234", "consent_to_contact": True},
    "patient": {"patient_id": "P0099", "name": "张三丰"},
    "subject": "CT 等待太久", "description": "在 CT 室等了两个小时",
    "department": "imaging",
}


def service_for(store: SqlStore) -> ComplaintService:
    return build_service(Settings.from_env(), clock=FixedClock(NOW),
                         uow_factory=store.unit_of_work)


def bench_batched(store: SqlStore, n: int, batch: int) -> float:
    svc = service_for(store)
    start = time.perf_counter()
    refs = svc.register_many((DRAFT for _ in range(n)), actor="bench", batch_size=batch)
    rate = n / (time.perf_counter() - start)
    assert len(set(refs)) == n
    return rate


def bench_one_by_one(store: SqlStore, n: int) -> float:
    svc = service_for(store)
    start = time.perf_counter()
    for _ in range(n):
        svc.register(DRAFT, actor="bench")
    return n / (time.perf_counter() - start)


ROOT = Path(__file__).resolve().parents[1]
#: what ``--git-rev`` takes from the old revision: the core and the plugin on the intake path
OLD_PARTS = ("src", "plugins/keyword-classifier/src")


def many_file(tmp: str, n: int) -> Path:
    """A JSON-lines file of ``n`` complaints like ``examples/intake/complaint.json``."""
    sample = json.loads((ROOT / "examples" / "intake" / "complaint.json")
                        .read_text(encoding="utf-8"))
    path = Path(tmp) / "many.jsonl"
    with path.open("w", encoding="utf-8") as f:
        for i in range(n):
            f.write(json.dumps({**sample, "idempotency_key": f"bench-{i}"},
                               ensure_ascii=False) + "\n")
    return path


def run_many(path: Path, db: str, env: dict[str, str]) -> float:
    """Seconds ``hospital-complaints register --many`` takes, start-up included."""
    cli = Path(sys.executable).parent / "hospital-complaints"
    argv = [str(cli), "--db", db, "register", "--many", str(path)]
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True)
    took = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"register --many failed: {done.stderr[-2000:]}")
    return took


def default_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items()
            if not k.startswith("HC_") and k != "PYTHONPATH"}  # the defaults


def bench_many_cli(tmp: str, n: int) -> tuple[float, float]:
    """``hospital-complaints register --many`` of ``n`` complaints into a new SQLite
    database, then again: complaints per second of each run, start-up included."""
    path = many_file(tmp, n)
    db = f"sqlite:///{tmp}/many.db"
    first = run_many(path, db, default_env())
    again = run_many(path, db, default_env())
    return n / first, n / again


def bench_many_against(tmp: str, n: int, rev: str, rounds: int) -> None:
    """``register --many`` by today's code and by REV's, alternating, each into a new
    database: the median and best rate of each, and today's over REV's per round."""
    path = many_file(tmp, n)
    old_env = {**default_env(), "PYTHONPATH": os.pathsep.join(
        str(p) for p in export_rev(rev, OLD_PARTS, Path(tmp) / "old"))}
    times: dict[str, list[float]] = {"today": [], rev: []}
    for i in range(rounds):
        order = [("today", default_env()), (rev, old_env)]
        for name, env in order if i % 2 == 0 else reversed(order):
            times[name].append(run_many(path, f"sqlite:///{tmp}/ab-{name}-{i}.db", env))
    print(f"register --many n={n}, {rounds} rounds alternating; load average "
          f"{os.getloadavg()[0]:.1f}")
    for name, took in times.items():
        print(f"  {name:<12} median {n / statistics.median(took):6.0f} complaints/s, best "
              f"{n / min(took):6.0f}")
    ratios = [old / new for new, old in zip(times["today"], times[rev], strict=True)]
    print(f"  today / {rev} per round: " + ", ".join(f"{r:.2f}x" for r in ratios))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--service-n", type=int, default=2000)
    ap.add_argument("--file-n", type=int, default=20_000,
                    help="complaints in the register --many file (0: skip it)")
    ap.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    ap.add_argument("--git-rev", default=None,
                    help="also time register --many by this revision, alternating")
    ap.add_argument("--rounds", type=int, default=4, help="runs of each with --git-rev")
    args = ap.parse_args()
    ring = KeyRing.parse(KeyRing.generate_key())
    with tempfile.TemporaryDirectory() as tmp:
        store = SqlStore(f"sqlite:///{tmp}/bench.db", key_ring=ring)
        store.upgrade()
        print(f"sqlite     batched    n={args.n:>7} batch={args.batch}: "
              f"{bench_batched(store, args.n, args.batch):8.0f} complaints/s  (target >= 2000)")
        print(f"sqlite     one-by-one n={args.service_n:>7}: "
              f"{bench_one_by_one(store, args.service_n):8.0f} complaints/s")
        store.dispose()
        if args.file_n:
            first, again = bench_many_cli(tmp, args.file_n)
            print(f"sqlite     register --many n={args.file_n:>7}: {first:8.0f} complaints/s "
                  f"(start-up included; target >= 2000); again (all already registered): "
                  f"{again:8.0f} lines/s")
        if args.git_rev and args.file_n:
            bench_many_against(tmp, args.file_n, args.git_rev, args.rounds)
    if args.pg == "none":
        return
    schema = f"hc_bench_{uuid.uuid4().hex[:8]}"
    try:
        store = SqlStore(args.pg, key_ring=ring, schema=schema)
        store.upgrade()
    except (HospitalComplaintsError, sa.exc.SQLAlchemyError) as exc:
        reason = getattr(exc, "en", None) or str(exc).splitlines()[0]
        print(f"postgresql skipped: {reason}")
        return
    try:
        print(f"postgresql batched    n={args.n:>7} batch={args.batch}: "
              f"{bench_batched(store, args.n, args.batch):8.0f} complaints/s")
        print(f"postgresql one-by-one n={args.service_n:>7}: "
              f"{bench_one_by_one(store, args.service_n):8.0f} complaints/s")
    finally:
        store.dispose()
        admin = sa.create_engine(args.pg)
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


if __name__ == "__main__":
    main()

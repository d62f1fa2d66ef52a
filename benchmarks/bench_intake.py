"""Intake throughput of the SQL store: complaints (with their first event) per second.

Two measurements per engine:

* ``store``: cases built with ``workflow.start`` and committed through ``SqlUnitOfWork`` in
  batches of ``--batch`` cases per transaction (the store directly, no service);
* ``service``: ``ComplaintService.register`` in a loop, one transaction per complaint
  (reference counter + commit each time), over the first ``--service-n`` complaints.

    .venv/bin/python benchmarks/bench_intake.py --n 100000
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from hospital_complaints import FixedClock, HCPluginManager, Settings, build_service
from hospital_complaints.domain import workflow
from hospital_complaints.domain.commands import RegisterComplaint
from hospital_complaints.domain.complaint import ComplaintDraft
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


def bench_store(store: SqlStore, n: int, batch: int) -> float:
    draft = ComplaintDraft.model_validate(DRAFT)
    start = time.perf_counter()
    done = 0
    while done < n:
        with store.unit_of_work() as uow:
            for i in range(done, min(n, done + batch)):
                case = workflow.start(f"BENCH-{i:08d}", RegisterComplaint(complaint=draft),
                                      "bench", NOW)
                uow.cases.add(case)
            uow.commit()
        done = min(n, done + batch)
    return n / (time.perf_counter() - start)


def bench_service(store: SqlStore, n: int) -> float:
    svc = build_service(Settings(), clock=FixedClock(NOW), plugins=HCPluginManager(),
                        uow_factory=store.unit_of_work)
    start = time.perf_counter()
    for _ in range(n):
        svc.register(DRAFT, actor="bench")
    return n / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--service-n", type=int, default=2000)
    ap.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = ap.parse_args()
    ring = KeyRing.parse(KeyRing.generate_key())
    with tempfile.TemporaryDirectory() as tmp:
        store = SqlStore(f"sqlite:///{tmp}/bench.db", key_ring=ring)
        store.upgrade()
        print(f"sqlite     store   n={args.n:>7} batch={args.batch}: "
              f"{bench_store(store, args.n, args.batch):8.0f} complaints/s")
        print(f"sqlite     service n={args.service_n:>7}: "
              f"{bench_service(store, args.service_n):8.0f} complaints/s")
        store.dispose()
    schema = f"hc_bench_{uuid.uuid4().hex[:8]}"
    store = SqlStore(args.pg, key_ring=ring, schema=schema)
    try:
        store.upgrade()
        print(f"postgresql store   n={args.n:>7} batch={args.batch}: "
              f"{bench_store(store, args.n, args.batch):8.0f} complaints/s")
        print(f"postgresql service n={args.service_n:>7}: "
              f"{bench_service(store, args.service_n):8.0f} complaints/s")
    finally:
        store.dispose()
        admin = sa.create_engine(args.pg)
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


if __name__ == "__main__":
    main()

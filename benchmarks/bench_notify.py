"""Notifications to RabbitMQ with publisher confirms: the durable path against a bare publisher.

Two measurements, each printed beside its ceiling:

* **throughput**: ``--events`` events are committed (complaints registered on PostgreSQL, two
  events each, so the outbox holds one ``amqp`` delivery per event), then the dispatcher
  (``app.notifications.dispatch``, the worker's delivery job) sends them end to end: claim with
  a lease, read and mask the events, publish persistent with confirms, record delivered. The
  ceiling is a bare ``pika`` publisher with confirms sending the same bodies and properties
  over one connection: no database at all. Rounds alternate (ours, bare, ours, bare ...) on
  this noisy shared machine; the median of each is printed.
* **latency**: a real ``hospital-complaints worker --jobs deliver`` (a subprocess) runs while
  this script commits complaints at a steady ``--rate`` events per second (``--per-commit``
  complaints, two events each, per transaction); a consumer on the queue notes when each
  message arrives. Latency = arrival minus the moment the command's
  transaction committed. The floor beside it: the bare publisher at the same rate, arrival
  minus the moment before publishing. The worker polls every ``--poll`` seconds when idle
  (``HC_WORKER_POLL_S``), which bounds the added latency.

    .venv/bin/python benchmarks/bench_notify.py
    .venv/bin/python benchmarks/bench_notify.py --events 4000 --rounds 3 --rate 200 --seconds 20

Needs PostgreSQL (``--pg``) and RabbitMQ (``--amqp``) on this machine; a fresh schema, exchange
and queue are made and removed.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pika
import sqlalchemy as sa
from hc_notify.plugins import amqp as amqp_plugin

from hospital_complaints.plugin_api import KeyRing, Settings, bootstrap
from hospital_complaints.testing import builtin_plugins

DRAFT = {
    "channel": "front_desk", "received_at": "2026-11-20T08:30:00+08:00",
    "complainant": {"role": "patient", "name": "张三丰", "phone": "13812345678",
                    "consent_to_contact": True},
    "patient": {"patient_id": "P0099", "name": "张三丰"},
    "subject": "CT 等待太久", "description": "在 CT 室等了两个小时",
}
BIN = Path(sys.executable).parent


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        tag = uuid.uuid4().hex[:8]
        self.schema = f"hc_bench_notify_{tag}"
        self.exchange = self.queue = f"hc-bench-notify-{tag}"
        self.key = KeyRing.generate_key()
        conn = pika.BlockingConnection(pika.URLParameters(args.amqp))
        ch = conn.channel()
        ch.exchange_declare(self.exchange, "topic", durable=True)
        ch.queue_declare(self.queue, durable=True)
        ch.queue_bind(self.queue, self.exchange, "#")
        conn.close()

    def settings(self) -> Settings:
        return Settings.model_validate({
            "database": {"url": self.args.pg, "schema_name": self.schema,
                         "encryption_keys": self.key},
            "worker": {"batch": self.args.batch, "poll_s": self.args.poll},
            "plugins": {"notify_amqp": {"url": self.args.amqp, "exchange": self.exchange}}})

    def app(self) -> Any:
        pm = builtin_plugins()
        pm.register(amqp_plugin, name="notify_amqp")
        return bootstrap(self.settings(), plugins=pm)

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({"HC_DATABASE_URL": self.args.pg, "HC_DB_SCHEMA": self.schema,
                    "HC_ENCRYPTION_KEYS": self.key, "HC_NOTIFY_AMQP_URL": self.args.amqp,
                    "HC_NOTIFY_AMQP_EXCHANGE": self.exchange,
                    "HC_WORKER_POLL_S": str(self.args.poll),
                    "HC_WORKER_BATCH": str(self.args.batch),
                    "HC_WORKER_SWEEP_EVERY_S": "0", "HC_WORKER_SYNC_EVERY_S": "0"})
        return env

    def drain(self) -> list[tuple[Any, bytes]]:
        conn = pika.BlockingConnection(pika.URLParameters(self.args.amqp))
        ch = conn.channel()
        out = []
        while True:
            method, props, body = ch.basic_get(self.queue, auto_ack=True)
            if method is None:
                break
            out.append((props, body))
        conn.close()
        return out

    def cleanup(self) -> None:
        conn = pika.BlockingConnection(pika.URLParameters(self.args.amqp))
        ch = conn.channel()
        ch.queue_delete(self.queue)
        ch.exchange_delete(self.exchange)
        conn.close()
        engine = sa.create_engine(self.args.pg)
        with engine.begin() as c:
            c.execute(sa.text(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))
        engine.dispose()

    # -- throughput ------------------------------------------------------------------------------

    def fill(self, app: Any, events: int) -> None:
        app.complaints.register_many((DRAFT for _ in range(events // 2)), actor="bench",
                                     batch_size=500)

    def ours(self, app: Any, events: int) -> float:
        self.fill(app, events)
        pending = app.notifications.status(delivered=False)["notifiers"]["amqp"]["pending"]
        assert pending == events, pending
        start = time.perf_counter()
        sent = 0
        while True:
            result = app.notifications.dispatch("bench")
            sent += result.total("delivered")
            if result.claimed == 0:
                break
        elapsed = time.perf_counter() - start
        assert sent == events, (sent, events)
        return events / elapsed

    def bare(self, messages: list[tuple[Any, bytes]]) -> float:
        conn = pika.BlockingConnection(pika.URLParameters(self.args.amqp))
        ch = conn.channel()
        ch.confirm_delivery()
        start = time.perf_counter()
        for props, body in messages:
            ch.basic_publish(self.exchange, f"complaint.{props.type}", body, props,
                             mandatory=True)
        elapsed = time.perf_counter() - start
        conn.close()
        return len(messages) / elapsed

    def throughput(self) -> tuple[list[float], list[float]]:
        app = self.app()
        ours: list[float] = []
        bare: list[float] = []
        for _ in range(self.args.rounds):
            ours.append(self.ours(app, self.args.events))
            messages = self.drain()
            assert len(messages) == self.args.events
            bare.append(self.bare(messages))
            self.drain()
        app.notifications.notifiers["amqp"].close()
        app.close()
        return ours, bare

    # -- latency ---------------------------------------------------------------------------------

    def consume(self, arrivals: dict[str, list[float]], stop: threading.Event) -> None:
        conn = pika.BlockingConnection(pika.URLParameters(self.args.amqp))
        ch = conn.channel()
        ch.basic_qos(prefetch_count=1000)
        for _method, props, _body in ch.consume(self.queue, auto_ack=True,
                                                 inactivity_timeout=0.2):
            if stop.is_set():
                break
            if props is None:
                continue
            key = (props.headers or {}).get("hc-subject") or props.message_id
            arrivals.setdefault(key, []).append(time.time())
        ch.cancel()
        conn.close()

    def latency(self) -> tuple[list[float], float, int]:
        app = self.app()
        app.complaints.register(DRAFT, actor="bench")  # warm up; creates the schema
        self.drain()
        worker = subprocess.Popen([str(BIN / "hospital-complaints"), "worker", "--jobs",
                                   "deliver"], env=self.env(), stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True)
        arrivals: dict[str, list[float]] = {}
        stop = threading.Event()
        consumer = threading.Thread(target=self.consume, args=(arrivals, stop), daemon=True)
        consumer.start()
        try:
            time.sleep(3)  # the worker starts and sends the warm-up's events
            arrivals.clear()
            committed: dict[str, float] = {}
            per = self.args.per_commit           # complaints per transaction, 2 events each
            period = 2.0 * per / self.args.rate
            commits = int(self.args.seconds * self.args.rate / (2 * per))
            n = commits * per
            start = time.perf_counter()
            for i in range(commits):
                due = start + i * period
                delay = due - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                refs = app.complaints.register_many([DRAFT] * per, actor="bench")
                now = time.time()
                committed.update(dict.fromkeys(refs, now))
            achieved = 2 * n / (time.perf_counter() - start)
            deadline = time.time() + 60
            while (sum(len(v) for k, v in arrivals.items() if k in committed) < 2 * n
                   and time.time() < deadline):
                time.sleep(0.2)
        finally:
            stop.set()
            worker.send_signal(signal.SIGTERM)
            _out, err = worker.communicate(timeout=30)
            consumer.join(timeout=10)
        got = [t - committed[ref] for ref, times in arrivals.items() if ref in committed
               for t in times]
        if not got:
            raise SystemExit(f"no message arrived; the worker said:\n{err[-3000:]}")
        app.notifications.notifiers["amqp"].close()
        app.close()
        return got, achieved, 2 * n

    def floor(self) -> list[float]:
        """The bare publisher at the same rate: publish (with confirm) -> consumer."""
        arrivals: dict[str, list[float]] = {}
        stop = threading.Event()
        consumer = threading.Thread(target=self.consume, args=(arrivals, stop), daemon=True)
        consumer.start()
        time.sleep(0.5)
        conn = pika.BlockingConnection(pika.URLParameters(self.args.amqp))
        ch = conn.channel()
        ch.confirm_delivery()
        sent: dict[str, float] = {}
        n = int(self.args.seconds * self.args.rate)
        period = 1.0 / self.args.rate
        body = json.dumps({"data": DRAFT}, ensure_ascii=False).encode()
        start = time.perf_counter()
        for i in range(n):
            due = start + i * period
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            mid = uuid.uuid4().hex
            sent[mid] = time.time()
            ch.basic_publish(self.exchange, "complaint.bare", body, pika.BasicProperties(
                message_id=mid, delivery_mode=2, content_type="application/json"),
                mandatory=True)
        conn.close()
        deadline = time.time() + 30
        while len(arrivals) < n and time.time() < deadline:
            time.sleep(0.2)
        stop.set()
        consumer.join(timeout=10)
        return [t - sent[k] for k, ts in arrivals.items() if k in sent for t in ts]


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    ap.add_argument("--amqp", default="amqp://guest:guest@127.0.0.1:5672/%2F")
    ap.add_argument("--events", type=int, default=4000, help="events per throughput round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--batch", type=int, default=100, help="rows claimed per round "
                    "(HC_WORKER_BATCH)")
    ap.add_argument("--rate", type=float, default=200, help="events per second (latency)")
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--per-commit", type=int, default=5,
                    help="complaints per transaction in the latency run (2 events each)")
    ap.add_argument("--poll", type=float, default=0.1, help="HC_WORKER_POLL_S of the worker")
    ap.add_argument("--skip-latency", action="store_true")
    args = ap.parse_args()
    bench = Bench(args)
    try:
        ours, bare = bench.throughput()
        mo, mb = statistics.median(ours), statistics.median(bare)
        print(f"throughput, {args.events} events x {args.rounds} rounds, persistent, confirms "
              f"(batch {args.batch}):")
        print(f"  outbox -> RabbitMQ (dispatcher)  {mo:8.0f} events/s   rounds: "
              + ", ".join(f"{x:.0f}" for x in ours))
        print(f"  bare pika publisher (ceiling)    {mb:8.0f} events/s   rounds: "
              + ", ".join(f"{x:.0f}" for x in bare))
        print(f"  ratio                            {mo / mb:8.2f}          (aim >= 0.50)")
        if not args.skip_latency:
            got, achieved, expected = bench.latency()
            floor = bench.floor()
            print(f"latency at {args.rate:.0f} events/s for {args.seconds:.0f} s "
                  f"(achieved {achieved:.0f}/s; worker poll {args.poll} s):")
            print(f"  commit -> broker -> consumer     p50 {pct(got, 50) * 1000:7.1f} ms   "
                  f"p99 {pct(got, 99) * 1000:7.1f} ms   max {max(got) * 1000:7.1f} ms   "
                  f"({len(got)} of {expected} arrived)")
            print(f"  bare publish -> consumer (floor) p50 {pct(floor, 50) * 1000:7.1f} ms   "
                  f"p99 {pct(floor, 99) * 1000:7.1f} ms   max {max(floor) * 1000:7.1f} ms")
    finally:
        bench.cleanup()


if __name__ == "__main__":
    main()

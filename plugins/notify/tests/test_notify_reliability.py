"""Reliability with real peers: the worker is killed (-9) in the middle of a burst and
restarted, a webhook receiver is down for a while, another always answers 500, and two
workers share one PostgreSQL database. What a receiver must see: every event at least once,
duplicates only under the same id, nothing held up by somebody else's failure, and no event
twice from two workers in the normal case."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hospital_complaints.plugin_api import KeyRing, Settings, bootstrap
from hospital_complaints.testing import builtin_plugins, complaint_draft, make_app
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from support import require_peer

from hc_notify.plugins import amqp as amqp_plugin
from hc_notify.plugins import webhook as webhook_plugin
from hc_notify.settings import WebhookSettings
from hc_notify.signing import new_secret
from hc_notify.testing import NotifierPlugin, Received, Receiver
from hc_notify.webhook import WebhookNotifier

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SECRET = new_secret()
BIN = Path(sys.executable).parent


def deliver(app: Any) -> Any:
    return app.worker(jobs={"deliver"}).run(once=True)


class Verified:
    """A webhook receiver's answer: verify with the reference package, record the id."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.bodies: dict[str, set[bytes]] = {}
        self.bad = 0
        self.lock = threading.Lock()

    def __call__(self, r: Received) -> tuple[int, bytes]:
        try:
            Webhook(SECRET).verify(r.body, r.headers)
        except WebhookVerificationError:
            with self.lock:
                self.bad += 1
            return 401, b""
        with self.lock:
            self.ids.append(r.headers["webhook-id"])
            self.bodies.setdefault(r.headers["webhook-id"], set()).add(r.body)
        return 204, b""


# -- in process: a receiver down for a while, one that always fails ---------------------------


def test_deliveries_resume_when_the_receiver_comes_back() -> None:
    receiver = Receiver(answer=Verified()).start()
    port = receiver.port
    receiver.stop()                                           # down
    app = make_app(webhook_plugin, plugin_settings={"notify_webhook": {
        "url": f"http://127.0.0.1:{port}/hook", "secrets": SECRET, "timeout_s": 2}})
    refs = [app.complaints.register(complaint_draft(), actor="clerk").reference
            for _ in range(3)]
    for _ in range(3):                                        # a while: attempts back off
        report = deliver(app)
        assert report.delivered == 0
        app.clock.advance(timedelta(seconds=30))
    assert {r.status for r in app.notifications.deliveries()} == {"pending"}
    verified = Verified()
    receiver = Receiver(answer=verified, port=port).start()   # back
    try:
        app.clock.advance(timedelta(hours=1))
        while deliver(app).delivered:
            pass
    finally:
        receiver.stop()
    expected = [e.event_id for ref in refs for e in app.complaints.history(ref)]
    assert sorted(verified.ids) == sorted(expected)           # each once, all of them
    for ref in refs:                                          # and in order per case
        ids = [e.event_id for e in app.complaints.history(ref)]
        assert [i for i in verified.ids if i in ids] == ids


def test_a_receiver_that_always_fails_ends_in_dead_letters_and_blocks_nobody(
        rabbitmq: dict[str, str], amqp_drain: Any) -> None:
    broken = Receiver(answer=lambda r: (500, b"")).start()
    verified = Verified()
    # this receiver fails only for one case: the others go through the same notifier
    first_ref: list[str] = []

    def picky(r: Received) -> tuple[int, bytes]:
        if first_ref and r.json()["subject"] == first_ref[0]:
            return 500, b""
        return verified(r)

    good = Receiver(answer=picky).start()
    try:
        down = WebhookNotifier(WebhookSettings(id="broken", url=broken.url, secrets=[SECRET],
                                               max_attempts=3))
        his = WebhookNotifier(WebhookSettings(id="his", url=good.url, secrets=[SECRET],
                                              max_attempts=3))
        app = make_app(NotifierPlugin(down, his), amqp_plugin, plugin_settings={
            "notify_amqp": {"url": rabbitmq["url"], "exchange": rabbitmq["exchange"]}})
        refs = [app.complaints.register(complaint_draft(), actor="clerk").reference
                for _ in range(4)]
        first_ref.append(refs[0])
        for _ in range(10):
            deliver(app)
            app.clock.advance(timedelta(hours=2))
        status = app.notifications.status()["notifiers"]
        events = {ref: [e.event_id for e in app.complaints.history(ref)] for ref in refs}
        n = sum(len(v) for v in events.values())
        assert status["broken"]["dead"] == n and status["broken"]["pending"] == 0
        assert status["amqp"]["delivered"] == n                    # another notifier
        assert status["his"]["dead"] == len(events[refs[0]])       # case 1 only ...
        assert status["his"]["pending"] == 0
        assert sorted(verified.ids) == sorted(i for r in refs[1:] for i in events[r])
        assert len(amqp_drain(rabbitmq["queue"])) == n             # ... not the others
        assert len(app.notifications.failed(notifier="broken")) == n
        # once re-queued and answered, case 1's events follow, in order
        first_ref.clear()
        assert app.notifications.retry(notifier="his") == len(events[refs[0]])
        while deliver(app).delivered:
            pass
        assert verified.ids[-len(events[refs[0]]):] == events[refs[0]]
    finally:
        broken.stop()
        good.stop()


# -- real workers on PostgreSQL ------------------------------------------------------------------


def _pg_reachable() -> str | None:
    try:
        engine = sa.create_engine(PG_URL)
        with engine.connect():
            pass
        engine.dispose()
        return None
    except Exception as exc:
        return str(exc).splitlines()[0]


class Site:
    """A PostgreSQL schema of its own, the app this test commits events with, and the
    environment real ``hospital-complaints worker`` processes run with."""

    def __init__(self, rabbitmq: dict[str, str], webhook_url: str) -> None:
        self.schema = f"hc_t_notify_{uuid.uuid4().hex[:8]}"
        self.key = KeyRing.generate_key()
        self.env = dict(os.environ)
        self.env.update({
            "HC_DATABASE_URL": PG_URL, "HC_DB_SCHEMA": self.schema,
            "HC_ENCRYPTION_KEYS": self.key, "HC_NOTIFY_AMQP_URL": rabbitmq["url"],
            "HC_NOTIFY_AMQP_EXCHANGE": rabbitmq["exchange"],
            "HC_NOTIFY_WEBHOOK_URL": webhook_url, "HC_NOTIFY_WEBHOOK_SECRETS": SECRET,
            "HC_NOTIFY_LEASE_S": "5", "HC_NOTIFY_BACKOFF_S": "1",
            "HC_WORKER_POLL_S": "0.2", "HC_WORKER_SWEEP_EVERY_S": "0",
            "HC_WORKER_SYNC_EVERY_S": "0"})
        pm = builtin_plugins()
        pm.register(amqp_plugin, name="notify_amqp")
        pm.register(webhook_plugin, name="notify_webhook")
        settings = Settings.model_validate({
            "database": {"url": PG_URL, "schema_name": self.schema,
                         "encryption_keys": self.key},
            "plugins": {"notify_amqp": {"url": rabbitmq["url"],
                                        "exchange": rabbitmq["exchange"]},
                        "notify_webhook": {"url": webhook_url, "secrets": SECRET}}})
        self.app = bootstrap(settings, plugins=pm)
        # migrate (the core and every installed plugin's branch) before any worker starts:
        # workers starting together on an unmigrated schema would race on the migrations
        subprocess.run([str(BIN / "hospital-complaints"), "outbox", "status"], env=self.env,
                       check=True, capture_output=True, timeout=300)

    def worker(self, log: Path) -> subprocess.Popen[bytes]:
        return subprocess.Popen([str(BIN / "hospital-complaints"), "worker", "--jobs",
                                 "deliver"], env=self.env, stdout=subprocess.DEVNULL,
                                stderr=log.open("ab"))

    def burst(self, events: int, per_commit: int = 100,
              during: Callable[[int], None] | None = None) -> None:
        """``events`` events (two per complaint), ``per_commit`` complaints a transaction."""
        done = 0
        while done < events:
            n = min(per_commit, (events - done) // 2)
            self.app.complaints.register_many([complaint_draft()] * n, actor="burst")
            done += 2 * n
            if during is not None:
                during(done)

    def event_ids(self) -> list[str]:
        t = self.app.store.tables.events
        with self.app.store.read() as conn:
            return list(conn.execute(sa.select(t.c.event_id)).scalars())

    def counts(self) -> Counter[str]:
        status = self.app.notifications.status()["notifiers"]
        return Counter({f"{n}:{s}": v for n, row in status.items()
                        for s, v in row.items() if s in ("pending", "delivered", "dead")})

    def wait_delivered(self, total: int, timeout: float) -> Counter[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            counts = self.counts()
            if counts["amqp:delivered"] == total and counts["webhook:delivered"] == total:
                return counts
            time.sleep(1)
        return self.counts()

    def drop(self) -> None:
        self.app.notifications.notifiers["amqp"].close()
        self.app.close()
        engine = sa.create_engine(PG_URL)
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))
        engine.dispose()


@pytest.fixture
def site(rabbitmq: dict[str, str]) -> Iterator[tuple[Site, Receiver, Verified]]:
    why = _pg_reachable()
    if why:
        require_peer("postgresql", why)
    verified = Verified()
    receiver = Receiver(answer=verified).start()
    made = Site(rabbitmq, receiver.url)
    yield made, receiver, verified
    receiver.stop()
    made.drop()


def _stop(worker: subprocess.Popen[bytes]) -> None:
    if worker.poll() is None:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


@pytest.mark.slow
@pytest.mark.peer("postgresql")
@pytest.mark.peer("rabbitmq")
def test_kill_9_in_a_burst_of_5000_loses_nothing(site: tuple[Site, Receiver, Verified],
                                                 rabbitmq: dict[str, str], amqp_drain: Any,
                                                 tmp_path: Path) -> None:
    s, _receiver, verified = site
    total = 5000
    log = tmp_path / "worker.log"
    worker = s.worker(log)
    killed: list[int] = []

    def published() -> int:
        import pika

        conn = pika.BlockingConnection(pika.URLParameters(rabbitmq["url"]))
        count = conn.channel().queue_declare(rabbitmq["queue"], passive=True).method
        conn.close()
        return int(count.message_count)

    def kill_midway(done: int) -> None:
        """Half-way through the burst, kill the worker while it is inside a round: messages
        are on the broker that the database does not yet record as delivered."""
        if killed or done < total // 2:
            return
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            recorded, sent = s.counts()["amqp:delivered"], published()
            if sent > recorded:
                worker.send_signal(signal.SIGKILL)    # no goodbye: leases stay taken
                worker.wait()
                # counted again once it is dead: it may have recorded the round between
                # the look above and the signal
                killed.append(published() - s.counts()["amqp:delivered"])
                return
            time.sleep(0.01)
        raise AssertionError("the worker never got into a delivery round")

    try:
        s.burst(total, during=kill_midway)
        assert worker.returncode == -signal.SIGKILL
        worker = s.worker(log)                        # restart
        counts = s.wait_delivered(total, timeout=600)
    finally:
        _stop(worker)
    assert counts["amqp:delivered"] == total and counts["webhook:delivered"] == total, counts
    assert counts["amqp:pending"] == counts["webhook:pending"] == 0
    assert counts["amqp:dead"] == counts["webhook:dead"] == 0
    ids = set(s.event_ids())
    assert len(ids) == total
    # RabbitMQ: every event at least once; a repeat has the same id and the same body
    messages = amqp_drain(rabbitmq["queue"])
    seen = Counter(p.message_id for p, _ in messages)
    assert set(seen) == ids
    bodies: dict[str, set[bytes]] = {}
    for props, body in messages:
        bodies.setdefault(props.message_id, set()).add(body)
    assert all(len(b) == 1 for b in bodies.values())
    # the webhook receiver: every event at least once, every request signed
    assert set(verified.ids) == ids and verified.bad == 0
    assert all(len(b) == 1 for b in verified.bodies.values())
    assert len(messages) - total >= killed[0]         # sent, unrecorded: sent again
    print(f"\nkilled with {killed[0]} AMQP messages sent but not recorded; repeats after the "
          f"restart: AMQP {len(messages) - total}, webhook {len(verified.ids) - total}")


@pytest.mark.slow
@pytest.mark.peer("postgresql")
@pytest.mark.peer("rabbitmq")
def test_two_workers_on_postgresql_deliver_each_event_once(
        site: tuple[Site, Receiver, Verified], rabbitmq: dict[str, str], amqp_drain: Any,
        tmp_path: Path) -> None:
    s, _receiver, verified = site
    total = int(os.environ.get("HC_TEST_TWO_TOTAL", "2000"))
    logs = [tmp_path / "worker-a.log", tmp_path / "worker-b.log"]
    workers = [s.worker(logs[0]), s.worker(logs[1])]
    try:
        s.burst(total, per_commit=50)
        counts = s.wait_delivered(total, timeout=600)
    finally:
        for w in workers:
            _stop(w)
    assert counts["amqp:delivered"] == total and counts["webhook:delivered"] == total, counts
    ids = set(s.event_ids())
    amqp_ids = Counter(p.message_id for p, _ in amqp_drain(rabbitmq["queue"]))
    assert set(amqp_ids) == ids and max(amqp_ids.values()) == 1       # none twice
    hook_ids = Counter(verified.ids)
    assert set(hook_ids) == ids and max(hook_ids.values()) == 1
    worked = [("delivered" in log.read_text(encoding="utf-8", errors="replace"))
              for log in logs]
    print(f"\nboth workers delivered: {worked}")

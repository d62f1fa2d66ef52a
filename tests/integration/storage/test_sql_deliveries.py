"""The delivery queue on real databases: one row per (event, notifier) written with the event,
leases that expire when a worker dies, and several workers that neither deliver one row twice
nor send one case's events out of order (PostgreSQL and MariaDB: FOR UPDATE SKIP LOCKED)."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from support import NOW

from hospital_complaints.app import bootstrap
from hospital_complaints.clock import FixedClock
from hospital_complaints.errors import HospitalComplaintsError
from hospital_complaints.settings import DatabaseSettings, NotificationSettings, Settings
from hospital_complaints.testing import RecordingTransport, builtin_plugins, complaint_draft


class ThreadSafeTransport(RecordingTransport):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lock = threading.Lock()

    def deliver(self, delivery: Any) -> None:
        with self.lock:
            super().deliver(delivery)


def app_on(store: Any, *plugins: object, clock: FixedClock | None = None,
           lease_s: float = 60) -> Any:
    pm = builtin_plugins()
    for i, p in enumerate(plugins):
        pm.register(p, name=f"p{i}")
    settings = Settings(database=DatabaseSettings(url=str(store.url)),
                        notifications=NotificationSettings(lease_s=lease_s))
    app = bootstrap(settings, clock=clock or FixedClock(NOW), plugins=pm, store=store)
    store.delivery_route = app.notifications.route
    return app


def test_rows_are_written_with_the_event_and_rolled_back_with_it(store: Any) -> None:
    hook = RecordingTransport("hook")
    app = app_on(store, hook)
    ref = app.complaints.register(complaint_draft(), actor="clerk").reference
    table = store.tables.deliveries
    with store.read() as conn:
        rows = conn.execute(sa.select(table.c.event_id, table.c.notifier, table.c.status)
                            .order_by(table.c.global_seq)).all()
    ids = [e.event_id for e in app.complaints.history(ref)]
    assert [(r.event_id, r.notifier, r.status) for r in rows] == [
        (i, "hook", "pending") for i in ids]
    # a refused command stores no event and no delivery
    with pytest.raises(HospitalComplaintsError):
        app.complaints.execute(ref, ("close", {"outcome": "upheld"}), actor="clerk")
    with store.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(table)).scalar() == len(ids)


def test_an_expired_lease_is_taken_again_by_another_worker(store: Any) -> None:
    clock = FixedClock(NOW)
    hook = RecordingTransport("hook")
    app = app_on(store, hook, clock=clock, lease_s=30)
    app.complaints.register(complaint_draft(), actor="clerk")
    # worker A claims and dies before delivering
    claimed = app.deliveries.claim("worker-a", clock.now().timestamp(), 10, 30)
    assert len(claimed) == 2
    assert app.notifications.dispatch("worker-b").claimed == 0  # leased
    clock.advance(timedelta(seconds=31))
    result = app.notifications.dispatch("worker-b")
    assert result.total("delivered") == 2
    # A wakes up late: its outcome no longer counts (the row is B's and delivered)
    assert app.deliveries.delivered([claimed[0].id], "worker-a", clock.now().timestamp()) == 0


def test_a_dead_letter_keeps_its_error_and_is_requeued(store: Any) -> None:
    hook = RecordingTransport("hook", fail_always=True, refuse=True)
    app = app_on(store, hook)
    app.complaints.register(complaint_draft(), actor="clerk")
    app.notifications.dispatch("w")
    dead = app.notifications.failed()
    assert len(dead) == 1 and dead[0].last_error.startswith("DeliveryRefused")
    hook.fail_always = False
    assert app.notifications.retry(None, notifier="hook") == 1
    app.notifications.dispatch("w")
    app.notifications.dispatch("w")
    assert [d.type for d in hook.deliveries] == ["complaint_registered", "assigned"]


def test_two_workers_deliver_each_row_once_and_each_case_in_order(server_store: Any) -> None:
    hook = ThreadSafeTransport("hook")
    app = app_on(server_store, hook)
    refs = list(app.complaints.register_many(
        [complaint_draft(subject=f"第{i}件") for i in range(40)], actor="clerk"))
    for ref in refs[::2]:
        app.complaints.execute(ref, ("acknowledge", {"method": "phone", "message": "已收到"}),
                               actor="clerk")
    expected = app.notifications.status()["notifiers"]["hook"]["pending"]
    workers = [app_on(server_store, hook) for _ in range(2)]

    done: dict[str, int] = {}

    start = threading.Barrier(2)

    def run(worker_app: Any, name: str) -> None:
        """Like the worker's loop: claim, deliver, and when nothing could be claimed (the
        other worker may hold the rows just now) look again shortly, until all are done."""
        start.wait()
        idle = 0
        while idle < 20:
            result = worker_app.notifications.dispatch(name, limit=7)
            done[name] = done.get(name, 0) + result.total("delivered")
            if result.claimed:
                idle = 0
                time.sleep(0.005)  # the worker's breath between rounds: the other may claim
            else:
                idle += 1
                time.sleep(0.02)

    threads = [threading.Thread(target=run, args=(w, f"worker-{i}"))
               for i, w in enumerate(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = [d.id for d in hook.deliveries]
    assert all(done.values()) and len(done) == 2, done  # both workers really worked
    assert len(ids) == expected and len(set(ids)) == expected  # each exactly once
    for ref in refs:
        seqs = [d.data["seq"] for d in hook.deliveries if d.subject == ref]
        assert seqs == sorted(seqs), f"{ref} out of order: {seqs}"

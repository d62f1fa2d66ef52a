"""Durable notifications as a clerk, an integrator and an operator notice them: every event
reaches every notifier that wants it, failures are retried and then parked as dead letters
that can be re-queued, one case's events arrive in order, and personal data stays masked."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from hospital_complaints.clock import FixedClock
from hospital_complaints.domain.imaging import ExamEvent
from hospital_complaints.domain.notifications import Backoff
from hospital_complaints.errors import PluginError
from hospital_complaints.plugins import hookimpl
from hospital_complaints.settings import NotificationSettings, Settings
from hospital_complaints.testing import (
    NOW,
    RecordingNotifier,
    RecordingTransport,
    complaint_draft,
    exam_event,
    make_app,
    run_cli,
)


def _app(*plugins: object, tmp_path: Path | None = None, **notify: Any) -> Any:
    settings = Settings(notifications=NotificationSettings(**notify)) if notify else None
    return make_app(*plugins, sql=tmp_path, clock=FixedClock(NOW), settings=settings)


def deliver(app: Any) -> Any:
    return app.worker(jobs={"deliver"}).run(once=True)


@pytest.fixture(params=["memory", "sqlite"])
def where(request: pytest.FixtureRequest, tmp_path: Path) -> Path | None:
    return tmp_path if request.param == "sqlite" else None


def test_each_event_reaches_each_notifier_once_with_its_event_id(where: Path | None) -> None:
    hook, mail = RecordingTransport("hook"), RecordingTransport("mail")
    app = _app(hook, mail, tmp_path=where)
    case = app.complaints.register(complaint_draft(), actor="clerk")
    report = deliver(app)
    events = app.complaints.history(case.reference)
    assert [d.id for d in hook.deliveries] == [e.event_id for e in events]
    assert [d.id for d in mail.deliveries] == [e.event_id for e in events]
    assert report.delivered == 2 * len(events)
    assert deliver(app).delivered == 0  # nothing twice
    assert hook.deliveries[0].case is not None
    assert hook.deliveries[0].case["reference"] == case.reference


def test_a_notifier_gets_only_the_event_types_it_asks_for(where: Path | None) -> None:
    only = RecordingTransport("only-registered", event_types=frozenset({"complaint_registered"}))
    app = _app(only, tmp_path=where)
    app.complaints.register(complaint_draft(), actor="clerk")
    deliver(app)
    assert [d.type for d in only.deliveries] == ["complaint_registered"]


def test_a_failure_is_retried_after_a_backoff_and_then_delivered(where: Path | None) -> None:
    hook = RecordingTransport("hook", fail_times=1)
    app = _app(hook, tmp_path=where, backoff_s=10)
    app.complaints.register(complaint_draft(), actor="clerk")
    first = deliver(app)
    assert first.retried == 1 and first.delivered == 0 and hook.deliveries == []
    # the second event of the case waits behind the first (order per case)
    assert deliver(app).delivered == 0
    app.clock.advance(timedelta(seconds=10))
    second = deliver(app)
    assert second.delivered == 2
    assert [(d.type, d.attempt) for d in hook.deliveries] == [
        ("complaint_registered", 2), ("assigned", 1)]


def test_a_receiver_that_always_fails_ends_in_dead_letters_without_blocking_others(
        where: Path | None) -> None:
    broken = RecordingTransport("broken", fail_always=True)
    fine = RecordingTransport("fine")
    app = _app(broken, fine, tmp_path=where, max_attempts=3, backoff_s=1, backoff_cap_s=1)
    ref = app.complaints.register(complaint_draft(), actor="clerk").reference
    for _ in range(6):
        deliver(app)
        app.clock.advance(timedelta(seconds=2))
    assert len(fine.deliveries) == 2  # the other notifier was never held up
    dead = app.notifications.failed()
    assert [(d.notifier, d.type, d.attempts) for d in dead] == [
        ("broken", "complaint_registered", 3), ("broken", "assigned", 3)]
    assert dead[0].last_error == "ConnectionError: broken is down"
    # another case is not held up by the first case's dead letters either
    app.complaints.register(complaint_draft(subject="第二件"), actor="clerk")
    deliver(app)
    assert len(fine.deliveries) == 4
    status = app.notifications.status()
    assert status["notifiers"]["broken"]["dead"] == 2
    assert status["notifiers"]["fine"]["delivered"] == 4
    assert ref == dead[0].complaint_ref


def test_dead_letters_are_requeued_and_then_delivered_with_the_same_id(
        where: Path | None) -> None:
    hook = RecordingTransport("hook", fail_always=True, refuse=True)
    app = _app(hook, tmp_path=where)
    app.complaints.register(complaint_draft(), actor="clerk")
    deliver(app)
    dead = app.notifications.failed()
    # a refusal is final at once; the case's next event still waits for its turn
    assert [d.attempts for d in dead] == [1]
    assert dead[0].last_error.startswith("DeliveryRefused")
    hook.fail_always = False
    assert app.notifications.retry([dead[0].id]) == 1
    deliver(app)
    assert [d.type for d in hook.deliveries] == ["complaint_registered", "assigned"]
    assert hook.deliveries[0].id == dead[0].event_id
    assert app.notifications.failed() == []


def test_retrying_something_that_is_not_a_dead_letter_names_it(where: Path | None) -> None:
    from hospital_complaints.errors import InvalidInput, NotFound

    hook = RecordingTransport("hook")
    app = _app(hook, tmp_path=where)
    app.complaints.register(complaint_draft(), actor="clerk")
    deliver(app)
    row = app.notifications.deliveries(status="delivered")[0]
    with pytest.raises(InvalidInput) as bad:
        app.notifications.retry([row.id])
    assert "a dead letter (this one is delivered)" in bad.value.en
    assert "不是死信" in bad.value.zh
    with pytest.raises(NotFound):
        app.notifications.retry([99999])


def test_personal_data_is_masked_unless_the_site_trusts_the_notifier(
        where: Path | None) -> None:
    public, trusted = RecordingTransport("public"), RecordingTransport("internal")
    app = _app(public, trusted, tmp_path=where, trusted=frozenset({"internal"}))
    app.complaints.register(complaint_draft(), actor="clerk")
    deliver(app)

    def person(d: Any) -> dict[str, Any]:
        who: dict[str, Any] = d.data["payload"]["complaint"]["complainant"]
        return who

    assert person(public.deliveries[0])["phone"] == "138****5678"
    assert "张三丰" not in json.dumps(public.deliveries[0].as_json(), ensure_ascii=False)
    assert person(trusted.deliveries[0])["phone"] == "13812345678"
    # the case summary is the listing's: masked for everyone
    assert "13812345678" not in json.dumps(trusted.deliveries[0].case, ensure_ascii=False)


def test_a_whistle_blower_is_never_named_even_to_a_trusted_notifier(where: Path | None) -> None:
    trusted = RecordingTransport("internal")
    app = _app(trusted, tmp_path=where, trusted=frozenset({"internal"}))
    app.complaints.register(complaint_draft(kind="report", subject="举报收红包"), actor="clerk")
    deliver(app)
    sent = json.dumps([d.as_json() for d in trusted.deliveries], ensure_ascii=False)
    assert "张三丰" not in sent and "13812345678" not in sent and "138****5678" not in sent


def test_in_process_listeners_still_hear_every_event(where: Path | None) -> None:
    listener, hook = RecordingNotifier(), RecordingTransport("hook")
    app = _app(listener, hook, tmp_path=where)
    app.complaints.register(complaint_draft(), actor="clerk")
    assert [e.type for e in listener.events] == ["complaint_registered", "assigned"]
    assert hook.deliveries == []  # the durable queue waits for the worker
    deliver(app)
    assert len(hook.deliveries) == 2


def test_stopping_finishes_the_delivery_in_hand_and_gives_the_rest_back(
        where: Path | None) -> None:
    app_holder: list[Any] = []

    class StopAfterFirst(RecordingTransport):
        def deliver(self, delivery: Any) -> None:
            super().deliver(delivery)
            app_holder[0].stop()

    hook = StopAfterFirst("hook")
    app = _app(hook, tmp_path=where)
    for i in range(3):
        app.complaints.register(complaint_draft(subject=f"第{i}件"), actor="clerk")
    worker = app.worker(jobs={"deliver"})
    app_holder.append(worker)
    report = worker.run()
    assert report.delivered == 1 and len(hook.deliveries) == 1
    assert app.notifications.status()["notifiers"]["hook"]["pending"] == 5
    # nothing was lost: the next worker delivers the rest, in order
    deliver(app)
    assert len(hook.deliveries) == 6


def test_an_uninstalled_notifier_is_shown_and_its_rows_wait(tmp_path: Path) -> None:
    hook = RecordingTransport("hook")
    app = _app(hook, tmp_path=tmp_path)
    app.complaints.register(complaint_draft(), actor="clerk")
    store = app.store
    later = make_app(sql=None, clock=FixedClock(NOW))
    later._store = store  # the same database, the plugin removed
    later._store.delivery_route = None
    status = later.notifications.status()
    assert status["notifiers"]["hook"]["installed"] is False
    assert status["notifiers"]["hook"]["description"] == "(not installed)"
    report = later.worker(jobs={"deliver"}).run(once=True)
    assert report.retried == 1 and report.delivered == 0
    row = later.notifications.deliveries(status="pending")[0]
    assert "not installed" in (row.last_error or "")


def test_backoff_grows_exponentially_with_jitter_up_to_the_cap() -> None:
    import random

    b = Backoff(base_s=5, cap_s=60)
    rng = random.Random(7)
    delays = [b.delay(a, rng) for a in range(1, 8)]
    for attempt, d in enumerate(delays, start=1):
        ceiling = min(60, 5 * 2 ** (attempt - 1))
        assert ceiling / 2 <= d <= ceiling
    assert b.delay(500, rng) <= 60


# -- the worker's scheduled jobs -------------------------------------------------------------


class Feed:
    """An incremental exam source: hands out what arrived after the watermark."""

    id = "feed"

    def __init__(self) -> None:
        self.events: list[ExamEvent] = []
        self.asked: list[str | None] = []

    def read_exam_events(self) -> Any:
        return iter(self.events)

    def changes_since(self, watermark: str | None) -> tuple[str, Any]:
        self.asked.append(watermark)
        start = int(watermark or 0)
        return str(len(self.events)), iter(self.events[start:])

    @hookimpl
    def hc_register_exam_sources(self, register: Any) -> None:
        register(self)


def test_the_worker_syncs_exam_sources_from_their_watermark(where: Path | None) -> None:
    feed = Feed()
    app = _app(feed, tmp_path=where)
    feed.events.append(exam_event("CT100", "scheduled", NOW, modality="CT"))
    first = app.worker(jobs={"sync"}).run(once=True)
    assert first.jobs["sync"] == ["sync: exam events read: feed 1 (已同步检查事件)"]
    feed.events.append(exam_event("CT100", "started", NOW + timedelta(minutes=30)))
    app.worker(jobs={"sync"}).run(once=True)
    assert feed.asked == [None, "1"]
    assert app.imaging.watermark("feed") == "2"
    assert app.imaging.exam("CT100").started_at is not None


def test_the_worker_sweeps_deadlines_and_the_alerts_become_deliveries(
        where: Path | None) -> None:
    hook = RecordingTransport("hook", event_types=frozenset({"deadline_alert"}))
    app = _app(hook, tmp_path=where)
    app.complaints.register(complaint_draft(), actor="clerk")
    app.clock.advance(timedelta(days=20))
    report = app.worker(jobs={"sweep", "deliver"}).run(once=True)
    assert report.jobs["sweep"][0].startswith("sweep: ")
    deliver(app)
    assert hook.deliveries, "the sweep's alerts reach the notifier"
    assert {d.type for d in hook.deliveries} == {"deadline_alert"}


def test_an_unknown_job_is_refused_with_the_allowed_list() -> None:
    from hospital_complaints.errors import InvalidInput

    app = _app()
    with pytest.raises(InvalidInput) as bad:
        app.worker(jobs={"deliver", "polish"})
    assert "one of: deliver, surveys, sweep, sync" in bad.value.en


def test_on_sqlite_a_second_worker_stands_by(tmp_path: Path) -> None:
    app = _app(tmp_path=tmp_path)
    first = app.worker(jobs={"deliver"})
    assert first._hold("worker", 60)
    lines: list[str] = []
    second = app.worker(jobs={"deliver"}, on_line=lines.append)
    report = second.run(once=True)
    assert report.standby_rounds == 1 and report.rounds == 0
    assert "standby" in lines[0] and "SQLite" in lines[0]
    first._let_go("worker")
    assert second.run(once=True).rounds >= 1


# -- the command line ------------------------------------------------------------------------


def test_outbox_commands_show_and_requeue_dead_letters(tmp_path: Path) -> None:
    hook = RecordingTransport("hook", fail_always=True, refuse=True)
    app = _app(hook, tmp_path=tmp_path)
    ref = app.complaints.register(complaint_draft(), actor="clerk").reference
    worker = run_cli(app, "worker", "--once", "--jobs", "deliver")
    assert worker.exit_code == 0, worker.output
    assert "0 delivered" in worker.stderr and "1 dead letters" in worker.stderr
    failed = run_cli(app, "outbox", "failed")
    assert failed.exit_code == 0
    assert ref in failed.stdout and "DeliveryRefused" in failed.stdout
    as_json = run_cli(app, "outbox", "failed", "--format", "json")
    row = json.loads(as_json.stdout.splitlines()[0])
    assert row["notifier"] == "hook" and row["status"] == "dead"
    status = run_cli(app, "outbox", "status")
    assert "hook" in status.stdout and "lag" in status.stdout
    bad = run_cli(app, "outbox", "retry")
    assert bad.exit_code == 2 and "--all" in bad.output
    hook.fail_always = False
    again = run_cli(app, "outbox", "retry", str(row["id"]))
    assert again.exit_code == 0 and "re-queued 1" in again.stdout
    run_cli(app, "worker", "--once", "--jobs", "deliver")
    assert [d.type for d in hook.deliveries] == ["complaint_registered", "assigned"]
    wrong = run_cli(app, "outbox", "retry", str(row["id"]))
    assert wrong.exit_code == 1 and "a dead letter" in wrong.output
    assert "Traceback" not in wrong.output


def test_worker_metrics_are_prometheus_text(tmp_path: Path) -> None:
    from hospital_complaints.services.metrics import WorkerMetrics

    hook = RecordingTransport("hook", fail_times=1)
    app = _app(hook, tmp_path=tmp_path)
    app.complaints.register(complaint_draft(), actor="clerk")
    metrics = WorkerMetrics()
    app.worker(jobs={"deliver"}, metrics=metrics).run(once=True)
    metrics.observe_queue(app, force=True)
    text = metrics.text().decode()
    assert 'hc_deliveries_total{notifier="hook",outcome="retry"} 1.0' in text
    assert 'hc_outbox_queue_depth{notifier="hook",status="pending"} 2.0' in text
    assert "hc_outbox_lag_seconds" in text


def test_a_plugin_job_runs_in_the_worker_and_its_failure_is_reported(tmp_path: Path) -> None:
    from hospital_complaints.plugin_api import Job

    ran: list[str] = []

    class Poller:
        @hookimpl
        def hc_register_jobs(self, register: Any) -> None:
            register(Job("poll-12345", 60, lambda: ran.append("x") or "poll: 0 new orders"))
            register(Job("broken", 60, lambda: 1 / 0))  # type: ignore[arg-type,return-value]

    app = _app(Poller(), tmp_path=tmp_path)
    report = app.worker(jobs={"poll-12345", "broken"}).run(once=True)
    assert ran == ["x"] and report.jobs["poll-12345"] == ["poll: 0 new orders"]
    assert report.errors == ["broken: failed: ZeroDivisionError"]
    result = run_cli(app, "worker", "--once", "--jobs", "poll-12345,broken")
    assert result.exit_code == 1 and "ZeroDivisionError" in result.stderr
    assert "Traceback" not in result.output

    class Twin:
        @hookimpl
        def hc_register_jobs(self, register: Any) -> None:
            register(Job("poll-12345", 60, lambda: "again"))

    with pytest.raises(PluginError, match="Job name 'poll-12345' is registered twice: by"):
        _app(Poller(), Twin()).worker(jobs={"poll-12345"})


class Quoting(RecordingTransport):
    """A transport whose error quotes what it was sending (an SMTP or SMS gateway does)."""

    def deliver(self, delivery: Any) -> None:
        raise RuntimeError("550 mailbox zhang.san@example.org full; 13812345678 unreachable")


def test_a_transport_error_kept_in_the_outbox_has_addresses_and_numbers_masked(
        where: Path | None) -> None:
    app = _app(Quoting("quoting"), tmp_path=where, max_attempts=1)
    app.complaints.register(complaint_draft(), actor="clerk")
    deliver(app)
    (dead, *_) = app.notifications.failed()
    assert dead.last_error == ("RuntimeError: 550 mailbox z***@example.org full; "
                               "138****5678 unreachable")

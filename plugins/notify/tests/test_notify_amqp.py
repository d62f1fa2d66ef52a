"""AMQP as a consumer on the local RabbitMQ sees it: each event is a persistent JSON message
whose ``message_id`` is the event id, published with confirms; a message no queue takes, a
broker that is down or a dropped connection is retried, never counted as delivered."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from typing import Any

import pytest
from hospital_complaints.testing import complaint_draft, make_app

from hc_notify.amqp import AmqpNotifier
from hc_notify.plugins import amqp as amqp_plugin
from hc_notify.settings import AmqpSettings
from hc_notify.testing import NotifierPlugin

pytestmark = pytest.mark.peer("rabbitmq")


def app_with(rabbitmq: dict[str, str], **settings: Any) -> Any:
    section = {"url": rabbitmq["url"], "exchange": rabbitmq["exchange"], **settings}
    return make_app(amqp_plugin, plugin_settings={"notify_amqp": section})


def deliver(app: Any) -> Any:
    return app.worker(jobs={"deliver"}).run(once=True)


def test_each_event_is_a_persistent_message_with_its_event_id(
        rabbitmq: dict[str, str], amqp_drain: Any) -> None:
    app = app_with(rabbitmq)
    ref = app.complaints.register(complaint_draft(), actor="clerk").reference
    assert deliver(app).delivered == 2
    messages = amqp_drain(rabbitmq["queue"])
    events = app.complaints.history(ref)
    assert [p.message_id for p, _ in messages] == [e.event_id for e in events]
    for (props, body), event in zip(messages, events, strict=True):
        assert props.delivery_mode == 2 and props.type == event.type
        assert props.content_type == "application/json"
        data = json.loads(body)
        assert data["id"] == event.event_id and data["subject"] == ref
        assert props.headers["hc-subject"] == ref
    assert "13812345678" not in messages[0][1].decode()  # masked: not trusted


def test_routing_keys_follow_the_event_type(rabbitmq: dict[str, str], amqp_drain: Any) -> None:
    import pika

    queue = f"hc-test-registered-{uuid.uuid4().hex[:6]}"
    conn = pika.BlockingConnection(pika.URLParameters(rabbitmq["url"]))
    ch = conn.channel()
    ch.queue_declare(queue, auto_delete=False)
    ch.queue_bind(queue, rabbitmq["exchange"], "hc.complaint_registered")
    try:
        app = app_with(rabbitmq, routing_key="hc.{type}")
        app.complaints.register(complaint_draft(), actor="clerk")
        deliver(app)
        assert [p.type for p, _ in amqp_drain(queue)] == ["complaint_registered"]
    finally:
        ch.queue_delete(queue)
        conn.close()


def test_a_message_no_queue_takes_is_retried_not_lost(rabbitmq: dict[str, str]) -> None:
    app = app_with(rabbitmq, exchange=f"hc-test-unbound-{uuid.uuid4().hex[:6]}")
    try:
        app.complaints.register(complaint_draft(), actor="clerk")
        report = deliver(app)
        assert report.delivered == 0 and report.retried == 1
        assert "no queue" in (app.notifications.deliveries()[0].last_error or "")
    finally:
        notifier = app.notifications.notifiers["amqp"]
        notifier._channel.exchange_delete(notifier.settings.exchange)
        notifier.close()


def test_a_broker_that_is_down_or_refuses_the_login_means_retry() -> None:
    down = make_app(amqp_plugin, plugin_settings={"notify_amqp": {
        "url": "amqp://guest:guest@127.0.0.1:9/%2F", "timeout_s": 2}})
    down.complaints.register(complaint_draft(), actor="clerk")
    assert deliver(down).retried == 1
    assert "cannot connect to amqp://127.0.0.1:9/" in (
        down.notifications.deliveries()[0].last_error or "")


def test_a_wrong_password_is_retried_and_never_shown(rabbitmq: dict[str, str]) -> None:
    app = app_with(rabbitmq, url="amqp://guest:wr0ng-pa55@127.0.0.1:5672/%2F")
    app.complaints.register(complaint_draft(), actor="clerk")
    assert deliver(app).retried == 1
    error = app.notifications.deliveries()[0].last_error or ""
    assert "cannot connect" in error and "wr0ng-pa55" not in error
    assert "wr0ng-pa55" not in app.notifications.status()["notifiers"]["amqp"]["description"]


def _close_connection(name: str) -> None:
    """Close our named connection from the broker's side (as a broker restart would)."""
    for _ in range(20):
        listed = subprocess.run(["rabbitmqctl", "-q", "list_connections", "pid",
                                 "client_properties"], capture_output=True, text=True,
                                timeout=60).stdout
        pids = [line.split("\t")[0] for line in listed.splitlines() if name in line]
        if pids:
            for pid in pids:
                subprocess.run(["rabbitmqctl", "close_connection", pid, "test"],
                               capture_output=True, timeout=60, check=True)
            return
        time.sleep(0.5)
    raise AssertionError(f"connection {name} not found")


@pytest.mark.slow
def test_a_connection_closed_by_the_broker_is_reopened(rabbitmq: dict[str, str],
                                                       amqp_drain: Any) -> None:
    notifier = AmqpNotifier(AmqpSettings(url=rabbitmq["url"], exchange=rabbitmq["exchange"]))
    name = f"hc-notify-test-{uuid.uuid4().hex[:8]}"
    notifier._params.client_properties = {"connection_name": name}
    app = make_app(NotifierPlugin(notifier))
    app.complaints.register(complaint_draft(), actor="clerk")
    assert deliver(app).delivered == 2
    _close_connection(name)
    app.complaints.register(complaint_draft(), actor="clerk")
    assert deliver(app).delivered == 2
    assert len(amqp_drain(rabbitmq["queue"])) == 4
    notifier.close()

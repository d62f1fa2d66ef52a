"""Signed webhooks as a receiver sees them: every event arrives once per attempt with its
event id as ``webhook-id`` and a signature that the Standard Webhooks reference package (not
our code) accepts, during a secret rotation too; the answer decides between delivered,
retried and refused; TLS is verified; errors never show a secret."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

import pytest
from hospital_complaints.plugin_api import ConfigError
from hospital_complaints.testing import complaint_draft, make_app
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from hc_notify.plugins import webhook as webhook_plugin
from hc_notify.signing import new_secret
from hc_notify.testing import Certs, Received, Receiver

OLD, NEW = new_secret(), new_secret()


def verifier(*secrets: str) -> Any:
    """An answer that accepts a request only if one of ``secrets`` verifies it."""

    def answer(r: Received) -> tuple[int, bytes]:
        for s in secrets:
            try:
                Webhook(s).verify(r.body, r.headers)
            except WebhookVerificationError:
                continue
            return 200, b'{"ok": true}'
        return 401, b'{"error": "bad signature"}'

    return answer


def app_with(url: str, **settings: Any) -> Any:
    section = {"url": url, "secrets": [NEW], **settings}
    return make_app(webhook_plugin, plugin_settings={"notify_webhook": section})


def deliver(app: Any) -> Any:
    return app.worker(jobs={"deliver"}).run(once=True)


def test_each_event_arrives_signed_with_its_event_id(receiver: Receiver) -> None:
    receiver.answer = verifier(NEW)
    app = app_with(receiver.url)
    ref = app.complaints.register(complaint_draft(), actor="clerk").reference
    report = deliver(app)
    events = app.complaints.history(ref)
    assert report.delivered == len(events) == len(receiver.received)
    assert [r.headers["webhook-id"] for r in receiver.received] == [e.event_id for e in events]
    for r, e in zip(receiver.received, events, strict=True):
        body = r.json()
        assert body["id"] == e.event_id and body["type"] == e.type and body["subject"] == ref
        assert r.headers["content-type"].startswith("application/json")
        assert abs(int(r.headers["webhook-timestamp"]) - time.time()) < 60
    # masked: the webhook is not trusted
    text = receiver.received[0].body.decode()
    assert "13812345678" not in text and "张三丰" not in text


def test_during_a_rotation_receivers_with_either_secret_accept(receiver: Receiver) -> None:
    receiver.answer = verifier(OLD)            # a receiver that has not switched yet
    app = app_with(receiver.url, secrets=f"{NEW},{OLD}")
    app.complaints.register(complaint_draft(), actor="clerk")
    assert deliver(app).delivered == 2
    receiver.answer = verifier(NEW)            # one that has switched
    app = app_with(receiver.url, secrets=[NEW, OLD])
    app.complaints.register(complaint_draft(), actor="clerk")
    assert deliver(app).delivered == 2
    assert all(len(r.headers["webhook-signature"].split(" ")) == 2 for r in receiver.received)


def test_after_the_rotation_window_only_the_new_secret_signs(receiver: Receiver) -> None:
    receiver.answer = verifier(OLD)
    app = app_with(receiver.url, secrets=[NEW, OLD], rotation_ends="2020-01-01T00:00:00+08:00")
    app.complaints.register(complaint_draft(), actor="clerk")
    report = deliver(app)
    assert report.delivered == 0 and report.dead == 1   # 401: refused, a dead letter
    assert receiver.received[0].headers["webhook-signature"].count("v1,") == 1
    dead = app.notifications.failed()
    assert "HTTP 401" in (dead[0].last_error or "")


@pytest.mark.parametrize(("status", "outcome"), [
    (200, "delivered"), (204, "delivered"), (400, "dead"), (404, "dead"), (410, "dead"),
    (301, "dead"), (408, "retry"), (429, "retry"), (500, "retry"), (503, "retry")])
def test_the_answer_decides_delivered_retry_or_refused(receiver: Receiver, status: int,
                                                       outcome: str) -> None:
    receiver.answer = lambda r: (status, b"")
    app = app_with(receiver.url)
    app.complaints.register(complaint_draft(), actor="clerk")
    report = deliver(app)
    got = {"delivered": report.delivered, "retry": report.retried, "dead": report.dead}
    assert got[outcome] >= 1 and sum(got.values()) == got[outcome]


def test_a_retry_sends_the_same_id_with_a_new_timestamp(receiver: Receiver) -> None:
    answers = iter([(503, b""), (200, b"")])
    receiver.answer = lambda r: next(answers, (200, b""))
    app = app_with(receiver.url, event_types="complaint_registered")
    app.complaints.register(complaint_draft(), actor="clerk")
    assert deliver(app).retried == 1
    app.clock.advance(timedelta(hours=1))
    time.sleep(1.05)
    assert deliver(app).delivered == 1
    first, second = receiver.received
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert first.headers["webhook-timestamp"] != second.headers["webhook-timestamp"]
    assert first.body == second.body


def test_tls_is_verified_against_the_sites_ca(certs: Certs) -> None:
    receiver = Receiver(answer=verifier(NEW), tls=certs.server_context()).start()
    try:
        app = app_with(receiver.url)
        app.complaints.register(complaint_draft(), actor="clerk")
        report = deliver(app)
        assert report.delivered == 0 and report.retried == 1
        assert receiver.received == []
        app2 = app_with(receiver.url, ca_bundle=str(certs.ca))
        app2.complaints.register(complaint_draft(), actor="clerk")
        assert deliver(app2).delivered == 2
    finally:
        receiver.stop()
    error = app.notifications.deliveries()[0].last_error or ""
    assert "TLS verification" in error


def test_a_slow_receiver_times_out_and_is_retried(receiver: Receiver) -> None:
    def slow(r: Received) -> tuple[int, bytes]:
        time.sleep(1.5)
        return 200, b""

    receiver.answer = slow
    app = app_with(receiver.url, timeout_s=0.5, event_types=["complaint_registered"])
    app.complaints.register(complaint_draft(), actor="clerk")
    report = deliver(app)
    assert report.retried == 1
    assert "did not answer within 0.5 s" in (app.notifications.deliveries()[0].last_error or "")


def test_errors_name_the_receiver_without_query_or_secrets() -> None:
    app = app_with("http://127.0.0.1:9/hook?token=s3cr3t-token",
                   headers=json.dumps({"Authorization": "Bearer s3cr3t-bearer"}))
    app.complaints.register(complaint_draft(), actor="clerk")
    assert deliver(app).retried >= 1
    error = app.notifications.deliveries()[0].last_error or ""
    assert "cannot connect to http://127.0.0.1:9/hook" in error
    assert "s3cr3t" not in error
    status = app.notifications.status()["notifiers"]["webhook"]["description"]
    assert "s3cr3t" not in status and NEW not in status


def test_extra_headers_are_sent(receiver: Receiver) -> None:
    app = app_with(receiver.url, headers={"Authorization": "Bearer abc"})
    app.complaints.register(complaint_draft(), actor="clerk")
    deliver(app)
    assert receiver.received[0].headers["authorization"] == "Bearer abc"


def test_unconfigured_it_registers_nothing() -> None:
    app = make_app(webhook_plugin)
    assert app.notifications.notifiers == {}


@pytest.mark.parametrize("secrets", ["not-a-secret", "whsec_!!!", "whsec_c2hvcnQ="])
def test_a_bad_secret_stops_start_up_naming_the_variable_not_the_value(secrets: str) -> None:
    with pytest.raises(ConfigError) as caught:
        make_app(webhook_plugin, plugin_settings={"notify_webhook": {
            "url": "https://his.example/hook", "secrets": f"{NEW},{secrets}"}})
    text = f"{caught.value.en} {caught.value.zh}"
    assert "HC_NOTIFY_WEBHOOK_SECRETS" in text and "secret 2" in text
    assert secrets not in text and NEW not in text


def test_a_url_without_a_secret_or_over_plain_http_is_refused_at_start_up() -> None:
    with pytest.raises(ConfigError, match="HC_NOTIFY_WEBHOOK_SECRETS"):
        make_app(webhook_plugin, plugin_settings={"notify_webhook": {
            "url": "https://his.example/hook"}})
    with pytest.raises(ConfigError, match="HC_NOTIFY_WEBHOOK_URL"):
        make_app(webhook_plugin, plugin_settings={"notify_webhook": {
            "url": "http://his.example/hook", "secrets": NEW}})


def test_installed_entry_points_are_discovered_and_idle() -> None:
    from importlib.metadata import entry_points

    ours = {ep.name: ep for ep in entry_points(group="hospital_complaints")
            if ep.dist is not None and ep.dist.name == "hospital-complaints-notify"}
    assert set(ours) == {"notify_webhook", "notify_email", "notify_amqp", "notify_nats",
                         "notify_wecom", "notify_sms"}
    app = make_app(*(ep.load() for ep in ours.values()))
    assert app.notifications.notifiers == {}                 # nothing until configured
    assert {"notify_webhook", "notify_sms"} <= set(app.plugins.plugin_settings())


def test_bad_headers_are_reported_without_their_text() -> None:
    with pytest.raises(ConfigError) as caught:
        make_app(webhook_plugin, plugin_settings={"notify_webhook": {
            "url": "https://his.example/hook", "secrets": NEW,
            "headers": '{"Authorization": "Bearer t0ps3cret"'}})
    assert "HC_NOTIFY_WEBHOOK_HEADERS" in caught.value.en and "t0ps3cret" not in caught.value.en

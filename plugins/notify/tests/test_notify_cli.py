"""The ``notify`` commands as an operator uses them: a fresh webhook secret that the reference
verifier accepts, and a test notification that reports whether the receiver confirmed."""

from __future__ import annotations

import time

from hospital_complaints.testing import make_app, run_cli
from standardwebhooks.webhooks import Webhook

from hc_notify.plugins import webhook as webhook_plugin
from hc_notify.signing import decode_secret, new_secret, sign
from hc_notify.testing import Receiver


def test_notify_secret_prints_a_secret_the_reference_verifier_accepts() -> None:
    result = run_cli(make_app(webhook_plugin), "notify", "secret")
    secret = result.stdout.strip()
    assert result.exit_code == 0 and len(decode_secret(secret)) == 32
    body = b'{"a": 1}'
    Webhook(secret).verify(body, sign([decode_secret(secret)], "msg-2", int(time.time()), body))


def test_notify_test_reports_a_confirmed_delivery(receiver: Receiver) -> None:
    secret = new_secret()
    app = make_app(webhook_plugin, plugin_settings={"notify_webhook": {
        "url": receiver.url, "secrets": secret}})
    result = run_cli(app, "notify", "test", "webhook")
    assert result.exit_code == 0 and "delivered" in result.stdout
    assert receiver.received[0].json()["type"] == "notify_test"
    receiver.answer = lambda r: (400, b"")
    result = run_cli(app, "notify", "test", "webhook")
    assert result.exit_code == 1 and "refused" in result.stderr
    assert app.notifications.deliveries() == []               # nothing queued


def test_notify_test_names_the_configured_notifiers_when_one_is_unknown() -> None:
    result = run_cli(make_app(webhook_plugin), "notify", "test", "pager")
    assert result.exit_code == 1 and "no notifier 'pager'" in result.stderr

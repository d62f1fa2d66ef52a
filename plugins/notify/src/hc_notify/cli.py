"""``hospital-complaints notify``: make a webhook secret, send a test notification through a
configured transport (to check a set-up before real events depend on it)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import click
from hospital_complaints.plugin_api import (
    Delivery,
    DeliveryRefused,
    ErrorBoundaryGroup,
    NotFound,
    cli_app,
)

from .signing import new_secret


@click.group("notify", cls=ErrorBoundaryGroup)
def notify_group() -> None:
    """Notification transports (webhook, e-mail, AMQP, NATS, WeCom, SMS).

    \b
    notify secret            a new Standard Webhooks secret (whsec_...)
    notify test NOTIFIER     send a test notification through one notifier now
    """


@notify_group.command("secret")
@click.option("--bytes", "n_bytes", type=click.IntRange(24, 64), default=32, show_default=True)
def secret_cmd(n_bytes: int) -> None:
    """Print a new webhook signing secret for HC_NOTIFY_WEBHOOK_SECRETS (give it to the
    receiver too; during a rotation list it first, before the old one)."""
    click.echo(new_secret(n_bytes))


@notify_group.command("test")
@click.argument("notifier_id")
def test_cmd(notifier_id: str) -> None:
    """Send one test notification (type ``notify_test``, no personal data) through
    NOTIFIER_ID and say whether the receiver confirmed it. Nothing is queued or stored."""
    app = cli_app()
    notifiers = app.notifications.notifiers
    notifier = notifiers.get(notifier_id)
    if notifier is None:
        known = ", ".join(sorted(notifiers)) or "none"
        raise NotFound(f"notify test: no notifier {notifier_id!r} (configured: {known})",
                       f"没有名为 {notifier_id!r} 的通知渠道（已配置：{known}）")
    now = datetime.now(UTC)
    delivery = Delivery(id=f"test-{uuid.uuid4().hex}", type="notify_test",
                        subject="HC-TEST", at=now,
                        data={"text": "test notification 测试通知"},
                        case={"reference": "HC-TEST", "subject": "测试 test"})
    try:
        notifier.deliver(delivery)
    except DeliveryRefused as exc:
        click.echo(f"refused (a real delivery would be a dead letter): {exc}", err=True)
        raise SystemExit(1) from None
    except Exception as exc:  # the transport's failure, reported as a real one would be
        click.echo(f"failed (a real delivery would be retried): {type(exc).__name__}: "
                   f"{str(exc).splitlines()[0] if str(exc) else ''}", err=True)
        raise SystemExit(1) from None
    click.echo(f"delivered: {notifier_id} confirmed {delivery.id} (接收方已确认)")


def add_to(cli: click.Group) -> None:
    """Add the ``notify`` group once (every transport's entry point offers it)."""
    if "notify" not in cli.commands:
        cli.add_command(notify_group)

"""Entry point ``notify_amqp``: RabbitMQ,
when ``HC_NOTIFY_AMQP_URL`` (``[plugins.notify_amqp] url``) is set."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from hospital_complaints.plugin_api import hookimpl

if TYPE_CHECKING:
    import click
    from hospital_complaints.plugin_api import Notifier, PluginSettings

NAME = "notify_amqp"


@hookimpl
def hc_register_settings(register: Callable[[PluginSettings], None]) -> None:
    from ..settings import DECLARATIONS

    register(DECLARATIONS[NAME])


@hookimpl
def hc_register_notifiers(register: Callable[[Notifier], None], app: Any) -> None:
    from ..settings import section

    settings = section(app, NAME)
    if settings.url:
        from ..amqp import AmqpNotifier

        register(AmqpNotifier(settings))


@hookimpl
def hc_register_cli_commands(cli: click.Group) -> None:
    from hospital_complaints.plugin_api import lazy_command

    if "notify" not in cli.commands:  # every transport offers the group; add it once
        cli.add_command(lazy_command(
            "notify", "hc_notify.cli:notify_group",
            "Notification transports (webhook, e-mail, AMQP, NATS, WeCom, SMS)."))

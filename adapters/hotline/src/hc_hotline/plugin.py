"""The plugin module: what the entry point ``hotline`` loads. Hook implementations only;
nothing connects or reads a file at import time, and nothing is registered until a site
names a mapping (``HC_HOTLINE_MAPPINGS``)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hospital_complaints.plugin_api import hookimpl

if TYPE_CHECKING:
    import click
    from hospital_complaints.plugin_api import EncryptedData, Job, Notifier, PluginSettings


@hookimpl
def hc_register_settings(register: Callable[[PluginSettings], None]) -> None:
    from .settings import DECLARATION

    register(DECLARATION)


@hookimpl
def hc_register_migrations(register: Callable[[str | Path], None]) -> None:
    """The connector's Alembic branch ``hotline`` (tickets, applied results, kept records)."""
    from .migrations import DIRECTORY

    register(DIRECTORY)


@hookimpl
def hc_register_jobs(register: Callable[[Job], None], app: Any) -> None:
    """One poller job ``hotline:<id>`` per connector that pulls (every HC_HOTLINE_POLL_S)."""
    from hospital_complaints.plugin_api import Job

    from .pull import job_runner
    from .settings import connectors, section

    settings = section(app)
    for c in connectors(app).values():
        if c.mapping.orders is None and c.mapping.results is None:
            continue
        register(Job(c.name, settings.poll_s, partial(job_runner, app, c, settings.max_pages)))


@hookimpl
def hc_register_notifiers(register: Callable[[Notifier], None], app: Any) -> None:
    """One notifier ``hotline:<id>`` per connector with push endpoints."""
    from .push import PlatformNotifier
    from .settings import connectors

    for c in connectors(app).values():
        if c.mapping.push_kinds:
            register(PlatformNotifier(app, c))


@hookimpl
def hc_register_encrypted_data(register: Callable[[EncryptedData], None]) -> None:
    from .store import RejectKeys

    register(RejectKeys())


@hookimpl
def hc_register_cli_commands(cli: click.Group) -> None:
    from hospital_complaints.plugin_api import lazy_command

    cli.add_command(lazy_command(
        "hotline", "hc_hotline.cli:hotline_group",
        "Hotline platform work orders (12345/12320 热线工单): pull, import, export replies."))

"""Test helpers for plugin authors, as pytest ships ``pytester``: an application to run your
plugin in, factories for the data hooks receive, and a notifier that records what it hears.
Real classes throughout, no mocks.

>>> from hospital_complaints.testing import make_app, complaint_draft, RecordingNotifier
>>> notifier = RecordingNotifier()
>>> app = make_app(my_plugin, notifier)                   # in memory, built-ins included
>>> case = app.complaints.register(complaint_draft(), actor="test")
>>> [e.type for e in notifier.events]
['complaint_registered', 'assigned']

``make_app(..., sql=tmp_path)`` runs on a real SQLite file instead (with a fresh key), so a
plugin with tables of its own (``hc_register_migrations``) is tested on the real schema.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from .app import App, bootstrap
from .clock import Clock, FixedClock
from .domain.events import Event
from .domain.imaging import ExamEvent
from .domain.notifications import Delivery, DeliveryRefused
from .domain.taxonomy import ExamEventType
from .domain.views import CaseSummary
from .plugins import hookimpl
from .plugins.manager import HCPluginManager
from .services.access import RevealGrant
from .settings import DatabaseSettings, Settings

TZ = ZoneInfo("Asia/Shanghai")
#: the fixed "now" of :func:`make_app` (a Friday morning in the demo's week)
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=TZ)

BUILTINS = ("default_intake", "default_routing", "default_exporters", "default_access",
            "sla_profiles", "surveys", "default_reports")


def builtin_plugins(*, trace: bool = False) -> HCPluginManager:
    """A plugin manager with only the core's built-in plugins (no entry points scanned)."""
    import importlib

    pm = HCPluginManager(trace=trace)
    for name in BUILTINS:
        pm.register(importlib.import_module(f"hospital_complaints.plugins.builtin.{name}"),
                    name=name)
    return pm


def make_app(*plugins: object, sql: Path | None = None, clock: Clock | None = None,
             builtins: bool = True, settings: Settings | None = None,
             plugin_settings: Mapping[str, Mapping[str, Any]] | None = None) -> App:
    """An application for a test: the built-in plugins (unless ``builtins=False``) and
    ``plugins``; in memory, or on a SQLite file in the folder ``sql``; clock fixed at
    :data:`NOW` unless given. ``plugin_settings`` fills plugins' sections
    (``{"myplugin": {"server": "..."}}``) as a settings file would."""
    pm = builtin_plugins() if builtins else HCPluginManager()
    for i, plugin in enumerate(plugins):
        pm.register(plugin, name=getattr(plugin, "__name__", None) or f"test-plugin-{i}")
    base = settings or Settings()
    database = DatabaseSettings(url="memory://")
    if sql is not None:
        from .storage.keys import KeyRing

        database = DatabaseSettings(url=f"sqlite:///{Path(sql) / 'test.db'}",
                                    encryption_keys=KeyRing.generate_key())
    update: dict[str, Any] = {"database": database}
    if plugin_settings:
        update["plugins"] = {k: dict(v) for k, v in plugin_settings.items()}
    return bootstrap(base.model_copy(update=update), clock=clock or FixedClock(NOW), plugins=pm)


def complaint_draft(**overrides: Any) -> dict[str, Any]:
    """A valid front-desk complaint about a CT wait (as JSON-like data); override any field."""
    data: dict[str, Any] = {
        "channel": "front_desk",
        "received_at": "2026-11-20T08:30:00+08:00",
        "complainant": {"role": "patient", "name": "张三丰", "phone": "13812345678",
                        "consent_to_contact": True},
        "patient": {"patient_id": "P0099", "name": "张三丰"},
        "subject": "CT 等待太久",
        "description": "在 CT 室等了两个小时",
    }
    data.update(overrides)
    return data


def exam_event(accession: str, event: ExamEventType | str, at: datetime, *,
               source: str = "test", **fields: Any) -> ExamEvent:
    """One exam milestone (``exam_event("CT1", "started", when, modality="CT")``)."""
    return ExamEvent(accession_number=accession, event=ExamEventType(event), occurred_at=at,
                     source=source, **fields)


class RecordingNotifier:
    """A notifier plugin that keeps every event it is told about (``hc_after_event``)."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.cases: list[CaseSummary] = []

    @hookimpl
    def hc_after_event(self, event: Event, case: CaseSummary) -> None:
        self.events.append(event)
        self.cases.append(case)


class RecordingTransport:
    """A durable-delivery notifier (``hc_register_notifiers``) that keeps what it is given;
    register the object itself as a plugin. ``fail_times`` makes the next N attempts fail
    (temporarily), ``fail_always`` every one, ``refuse`` turns failures into refusals
    (dead letters at once).

    >>> transport = RecordingTransport("hook")
    >>> app = make_app(transport)
    >>> app.complaints.register(complaint_draft(), actor="test")      # doctest: +SKIP
    >>> app.worker().run(once=True)                                     # doctest: +SKIP
    >>> [d.type for d in transport.deliveries]                          # doctest: +SKIP
    ['complaint_registered', 'assigned']
    """

    def __init__(self, id: str = "recording", *, event_types: frozenset[str] | None = None,
                 fail_times: int = 0, fail_always: bool = False, refuse: bool = False) -> None:
        self.id = id
        self.__name__ = f"transport-{id}"
        self.description = f"test transport {id}"
        self.event_types = event_types
        self.fail_times = fail_times
        self.fail_always = fail_always
        self.refuse = refuse
        self.deliveries: list[Delivery] = []
        self.attempts = 0

    @hookimpl
    def hc_register_notifiers(self, register: Any) -> None:
        register(self)

    def deliver(self, delivery: Delivery) -> None:
        self.attempts += 1
        if self.fail_always or self.fail_times > 0:
            self.fail_times = max(0, self.fail_times - 1)
            if self.refuse:
                raise DeliveryRefused(f"{self.id} refuses {delivery.id}")
            raise ConnectionError(f"{self.id} is down")
        self.deliveries.append(delivery)


def grants_for(cases: Any) -> dict[str, RevealGrant]:
    """Reveal grants for unit tests of an exporter's mapping. In the product a grant comes only
    from ``app.complaints.reveal_many(refs, viewer, purpose)``, which decides and records."""
    return {c.reference: RevealGrant(c.reference, "test", "test", "test") for c in cases}


def run_cli(app: App, *args: str, input: str | bytes | None = None) -> Any:
    """Run the ``hospital-complaints`` command line (with every loaded plugin's commands) on
    ``app``; returns click's ``Result`` (``exit_code``, ``stdout``, ``stderr``)."""
    from click.testing import CliRunner

    from .cli.context import CliState
    from .cli.main import _register_builtin_commands, cli

    _register_builtin_commands()
    app.plugins.add_cli_commands(cli)
    state = CliState(settings=app.settings, plugins=app.plugins, app=app)
    return CliRunner().invoke(cli, list(args), obj=state, input=input)

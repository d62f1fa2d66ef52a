"""The composition root: ``bootstrap(settings) -> App``.

Every entry point (the command line, the demo, the HTTP server, the worker, a HIS that embeds
the library, the tests) builds the application the same way, here, once: settings, plugins,
clock, store, key ring, blob store, department registry, and the application services on top.
None of them wires storage or plugins itself.

>>> from hospital_complaints import bootstrap, Settings
>>> app = bootstrap(Settings.load())            # HC_* variables, or build Settings yourself
>>> case = app.complaints.register({...}, actor="his:desk-3")      # doctest: +SKIP
>>> app.imaging.evidence(case.reference)                            # doctest: +SKIP
>>> app.deadlines.sweep(dry_run=True)                               # doctest: +SKIP
>>> app.close()

The store opens on first use, so commands that need no database (``--help``, ``workflow``)
never touch one. ``database.url = "memory://"`` keeps everything in memory (tests, trials).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from .clock import Clock, SystemClock
from .domain.departments import DepartmentRegistry, departments_from_data
from .errors import ConfigError
from .plugins.manager import HCPluginManager
from .settings import PluginSettings, Settings, plugin_config

if TYPE_CHECKING:
    from .reports.service import ReportService
    from .services.access import AccessPolicy
    from .services.audit import AuditService
    from .services.deadlines import DeadlineService
    from .services.exports import ExportService
    from .services.imaging import ImagingService
    from .services.notifications import NotificationService
    from .services.service import ComplaintService
    from .services.surveys import SurveyService
    from .services.worker import Worker
    from .services.workorders import WorkOrderService
    from .storage.base import DeliveryQueue, Locks, SurveyStore, UnitOfWork
    from .storage.blobs import BlobStore
    from .storage.keys import KeyRing
    from .storage.sql import SqlStore

MEMORY_URL = "memory://"


class App:
    """The application: settings, plugins and services, built once by :func:`bootstrap`."""

    def __init__(self, settings: Settings, plugins: HCPluginManager, clock: Clock, *,
                 store: SqlStore | None = None,
                 plugin_settings: dict[str, PluginSettings] | None = None) -> None:
        self.settings = settings
        self.plugins = plugins
        self.clock = clock
        self._store = store
        self._memory: Any = None
        self._plugin_settings = plugin_settings or {}
        self._plugin_configs: dict[str, BaseModel] = {}

    # -- configuration -----------------------------------------------------------------------

    def plugin_config(self, name: str) -> Any:
        """A plugin's validated settings section (its model, declared with
        ``hc_register_settings``), or the raw section (a dict) if it declared none."""
        declared = self._plugin_settings.get(name)
        if declared is None:
            return self.settings.plugin_section(name)
        if name not in self._plugin_configs:
            self._plugin_configs[name] = plugin_config(self.settings, declared)
        return self._plugin_configs[name]

    @cached_property
    def departments(self) -> DepartmentRegistry:
        """The built-in departments, extended (or replaced) by ``HC_DEPARTMENTS_FILE``."""
        return load_departments(self.settings.departments_file)

    # -- storage ---------------------------------------------------------------------------------

    @property
    def in_memory(self) -> bool:
        return self._store is None and self.settings.database.url == MEMORY_URL

    @property
    def store(self) -> SqlStore:
        """The SQL store, opened (and migrated, with every plugin's branch) on first use."""
        if self._store is None:
            if self.in_memory:
                raise ConfigError("this application keeps its data in memory (memory://); "
                                  "there is no SQL store",
                                  "当前应用的数据保存在内存中（memory://），没有 SQL 数据库")
            from .storage.sql.config import open_store

            self._store = open_store(self.settings.database,
                                     migrations=self.plugins.migration_locations(self))
        if self._store.delivery_route is None:
            self._store.delivery_route = self.notifications.route
        return self._store

    @property
    def key_ring(self) -> KeyRing:
        return self.store.key_ring

    def unit_of_work(self) -> UnitOfWork:
        """A new unit of work on the configured store."""
        if self.in_memory:
            from .storage.memory import InMemoryUnitOfWork

            return InMemoryUnitOfWork(self._memory_store())
        return self.store.unit_of_work()

    def _memory_store(self) -> Any:
        if self._memory is None:
            from .storage.memory import InMemoryStore

            self._memory = InMemoryStore()
            self._memory.delivery_route = self.notifications.route
        return self._memory

    def _part(self, name: str) -> Any:
        """A part of the store (``deliveries``, ``locks``, ``surveys``): of the SQL store, or
        of the in-memory one for ``memory://``."""
        return getattr(self._memory_store() if self.in_memory else self.store, name)

    @property
    def deliveries(self) -> DeliveryQueue:
        """The durable notification queue (one row per event and notifier)."""
        queue: DeliveryQueue = self._part("deliveries")
        return queue

    @property
    def locks(self) -> Locks:
        """Worker locks and exam-source watermarks."""
        locks: Locks = self._part("locks")
        return locks

    @property
    def survey_store(self) -> SurveyStore:
        """Survey invitations and answers (answers encrypted)."""
        found: SurveyStore = self._part("surveys")
        return found

    @cached_property
    def blobs(self) -> BlobStore:
        """Attachments: encrypted files under ``HC_BLOB_DIR`` (in memory for memory://)."""
        from .storage.blobs import FileBlobStore, MemoryBlobStore

        if self.in_memory:
            return MemoryBlobStore()
        return FileBlobStore(self.settings.attachments.blob_dir, self.key_ring)

    # -- the application services -----------------------------------------------------------

    @cached_property
    def access(self) -> AccessPolicy:
        """The one decision on revealing identity (whistle-blower rule, then plugins)."""
        return self.complaints.access

    @cached_property
    def complaints(self) -> ComplaintService:
        """Register, intake, execute commands, reveal (audited), attach, list, history."""
        from .services.service import ComplaintService

        return ComplaintService(self.unit_of_work, self.plugins, self.clock, self.settings,
                                blobs=self.blobs,
                                max_attachment_bytes=self.settings.attachments.max_bytes,
                                departments=self.departments, app=self)

    @cached_property
    def imaging(self) -> ImagingService:
        """Exams, faults, rosters: ingest from any source, link, suggest, evidence, summaries."""
        from .services.imaging import ImagingService

        return ImagingService(self)

    @cached_property
    def deadlines(self) -> DeadlineService:
        """Policies, a case's deadlines, the reminder/overdue sweep, completion metrics."""
        from .services.deadlines import DeadlineService

        return DeadlineService(self)

    @cached_property
    def exports(self) -> ExportService:
        """Registered export formats, streamed; identity only with audited grants."""
        from .services.exports import ExportService

        return ExportService(self)

    @cached_property
    def notifications(self) -> NotificationService:
        """Notifiers, the delivery queue's dispatcher, dead letters and their retry."""
        from .services.notifications import NotificationService

        return NotificationService(self)

    @cached_property
    def reports(self) -> ReportService:
        """Registered reports (the monthly report, returns), built and written in any format."""
        from .reports.service import ReportService

        return ReportService(self)

    @cached_property
    def workorders(self) -> WorkOrderService:
        """Hotline work orders: profiles, limits, supervision, the three rates, merging."""
        from .services.workorders import WorkOrderService

        return WorkOrderService(self)

    @cached_property
    def surveys(self) -> SurveyService:
        """Questionnaires, invitations with one-time links, answers, results (docs/surveys.md)."""
        from .services.surveys import SurveyService

        return SurveyService(self)

    def worker(self, **kwargs: Any) -> Worker:
        """A background worker on this app (``hospital-complaints worker``): deliveries,
        the deadline sweep, exam-source sync (docs/worker.md)."""
        from .services.worker import Worker

        return Worker(self, **kwargs)

    @cached_property
    def audit(self) -> AuditService:
        """Tamper checks (event chain, listing, evidence seals, plugins') and key rotation."""
        from .services.audit import AuditService

        return AuditService(self)

    # -- lifetime ----------------------------------------------------------------------------

    def close(self) -> None:
        """Release database connections (the app can be used again: they reopen)."""
        if self._store is not None:
            self._store.dispose()

    def __enter__(self) -> App:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def bootstrap(settings: Settings | None = None, *, clock: Clock | None = None,
              plugins: HCPluginManager | None = None, load_plugins: bool = True,
              store: SqlStore | None = None) -> App:
    """Build the application.

    :param settings: the settings tree; default :meth:`Settings.load` (settings file and
        ``HC_*`` variables), which is then completed with the variables plugins declare.
    :param clock: default the system clock in ``settings.timezone``.
    :param plugins: a plugin manager to use as it is (tests, embedding); default: a new one
        loading every entry point of ``hospital_complaints`` except ``disabled_plugins``.
    :param store: an already open SQL store (default: opened from ``settings.database`` on
        first use).
    """
    if settings is None:
        settings, plugins = configure(plugins=plugins, load_plugins=load_plugins)
    elif plugins is None:
        plugins = HCPluginManager(blocked=settings.disabled_plugins,
                                  trace=settings.trace_hooks)
        if load_plugins:
            plugins.load_entrypoints()
    declared = plugins.plugin_settings()
    app = App(settings, plugins, clock or SystemClock(settings.timezone), store=store,
              plugin_settings=declared)
    for name in declared:
        app.plugin_config(name)  # every section is checked at start-up
    return app


def configure(environ: Mapping[str, str] | None = None, *,
              plugins: HCPluginManager | None = None,
              load_plugins: bool = True) -> tuple[Settings, HCPluginManager]:
    """Settings from the settings file and ``HC_*`` variables, and the plugins they allow;
    the settings are then read again with the variables the plugins declare
    (``hc_register_settings``), so a plugin's section is complete."""
    settings = Settings.load(environ)
    if plugins is None:
        plugins = HCPluginManager(blocked=settings.disabled_plugins,
                                  trace=settings.trace_hooks)
        if load_plugins:
            plugins.load_entrypoints()
    declared = plugins.plugin_settings()
    if any(d.env for d in declared.values()):
        settings = Settings.load(environ, plugin_env={
            var: (d.id, key) for d in declared.values() for key, var in d.env.items()})
    return settings, plugins


def load_departments(path: Path | None) -> DepartmentRegistry:
    """The built-in registry, extended (``"include_builtin": true``, the default) or replaced
    by a site file (JSON or TOML: ``{"departments": [{"id", "zh", "en", "aliases",
    "parent"}]}``)."""
    registry = DepartmentRegistry.builtin()
    if path is None:
        return registry
    data = _read_structured(path)
    listed = departments_from_data(data, str(path))
    if data.get("include_builtin", True) is False:
        return DepartmentRegistry.of(listed)
    for department in listed:
        registry.add(department)
    registry._check_parents()
    return registry


def _read_structured(path: Path) -> dict[str, Any]:
    import json
    import tomllib

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"HC_DEPARTMENTS_FILE: cannot read {path} ({exc.strerror})",
                          f"HC_DEPARTMENTS_FILE：无法读取 {path}（{exc.strerror}）") from None
    try:
        data = tomllib.loads(text) if path.suffix.lower() == ".toml" else json.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"HC_DEPARTMENTS_FILE: {path} is not valid "
                          f"{'TOML' if path.suffix.lower() == '.toml' else 'JSON'}: {exc}",
                          f"HC_DEPARTMENTS_FILE：{path} 格式错误（{exc}）") from None
    if not isinstance(data, dict):
        raise ConfigError(f"HC_DEPARTMENTS_FILE: {path} must hold an object",
                          f"HC_DEPARTMENTS_FILE：{path} 须为对象")
    return data


@contextmanager
def opened(settings: Settings | None = None, **kwargs: Any) -> Iterator[App]:
    """``with opened() as app:`` bootstrap and close."""
    app = bootstrap(settings, **kwargs)
    try:
        yield app
    finally:
        app.close()

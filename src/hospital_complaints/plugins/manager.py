"""The typed plugin manager. The rest of the code calls these methods, never ``pm.hook``."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

from ..errors import PluginError
from . import ENTRY_POINT_GROUP, PROJECT, hookspecs

log = logging.getLogger("hospital_complaints.plugins")

if TYPE_CHECKING:
    import click

    from ..domain.complaint import CategorySuggestion, Complaint
    from ..domain.events import Event
    from ..domain.imaging import ExamSource, FaultSource
    from ..domain.notifications import ExamContact, Notifier
    from ..domain.views import CaseSummary
    from ..reports.build import FollowUpSource, ReportDefinition
    from ..settings import PluginSettings
    from ..sla.policy import SlaPolicy
    from .types import (
        AccessDecision,
        DemoFeed,
        EncryptedData,
        Exporter,
        IntegrityCheck,
        Job,
        NotificationFailure,
        Routing,
        Viewer,
    )

# the value types (``.types``, pydantic models) are imported by the methods that check them,
# so that loading the plugins (all the command line's start needs) does not build them


@dataclass(frozen=True)
class PluginInfo:
    name: str
    distribution: str | None
    hooks: tuple[str, ...]


class HCPluginManager:
    """Loads plugins explicitly (never at import time) and calls hooks through typed methods.

    >>> pm = HCPluginManager()
    >>> pm.load_entrypoints()           # built-ins and installed plugins
    >>> pm.register(my_test_plugin)     # or register objects directly (tests, embedding)
    """

    def __init__(self, *, blocked: Iterable[str] = (), trace: bool = False) -> None:
        self._pm = pluggy.PluginManager(PROJECT)
        self._pm.add_hookspecs(hookspecs)
        self._dists: dict[str, str | None] = {}
        #: entry points' distributions, whose names are read (from their metadata files) only
        #: when asked for: :meth:`plugins`
        self._ep_dists: dict[str, Any] = {}
        self._blocked = frozenset(blocked)
        for name in self._blocked:
            self._pm.set_blocked(name)
        if trace:
            self._pm.add_hookcall_monitoring(_trace_before, _trace_after)

    # -- loading ---------------------------------------------------------------------------

    def load_entrypoints(self, eps: Iterable[EntryPoint] | None = None) -> list[str]:
        """Load every plugin registered under the entry-point group ``hospital_complaints``.

        Names in ``HC_DISABLE_PLUGINS`` (the ``blocked`` argument) are skipped. A plugin that
        fails to import raises :class:`PluginError` naming it. Returns the names loaded.
        """
        loaded = []
        found = entry_points(group=ENTRY_POINT_GROUP) if eps is None else eps
        for ep in sorted(found, key=lambda e: e.name):
            if ep.name in self._blocked or self._pm.has_plugin(ep.name):
                continue
            try:
                plugin = ep.load()
            except Exception as exc:
                dist = ep.dist.name if ep.dist is not None else None
                raise PluginError(
                    f"plugin {ep.name!r} ({ep.value}, from {dist or 'unknown distribution'}) "
                    f"failed to import: {type(exc).__name__}: {exc}. Fix or uninstall it, or "
                    f"skip it with HC_DISABLE_PLUGINS={ep.name}",
                    f"插件 {ep.name!r} 加载失败：{type(exc).__name__}: {exc}。"
                    f"可设置 HC_DISABLE_PLUGINS={ep.name} 跳过",
                ) from exc
            registered = self.register(plugin, name=ep.name)
            if registered in self._dists:
                self._ep_dists[registered] = ep.dist
            loaded.append(ep.name)
        self.check_pending()
        return loaded

    def register(self, plugin: object, name: str | None = None,
                 distribution: str | None = None) -> str:
        """Register a plugin object or module directly."""
        try:
            registered = self._pm.register(plugin, name=name)
        except ValueError as exc:
            raise PluginError(f"cannot register plugin {name!r}: {exc}") from exc
        except pluggy.PluginValidationError as exc:
            raise PluginError(f"plugin {name!r} is invalid: {exc}") from exc
        if registered is None:  # blocked
            return name or ""
        self._dists[registered] = distribution
        return registered

    def check_pending(self) -> None:
        """Fail on a hook implementation that matches no spec (a misspelt ``hc_`` name)."""
        try:
            self._pm.check_pending()
        except pluggy.PluginValidationError as exc:
            raise PluginError(
                f"a plugin implements a hook that does not exist: {exc}",
                f"插件实现了不存在的钩子：{exc}",
            ) from exc

    def plugins(self) -> list[PluginInfo]:
        infos = []
        for name, plugin in sorted(self._pm.list_name_plugin(), key=lambda np: np[0]):
            if plugin is None:
                continue
            hooks = tuple(sorted(h.name for h in self._pm.get_hookcallers(plugin) or ()))
            infos.append(PluginInfo(name, self._distribution(name), hooks))
        return infos

    def _distribution(self, name: str) -> str | None:
        dist = self._ep_dists.pop(name, None)
        if dist is not None:
            self._dists[name] = dist.name
        return self._dists.get(name)

    def is_loaded(self, name: str) -> bool:
        return self._pm.get_plugin(name) is not None

    # -- calling hooks ---------------------------------------------------------------------
    #
    # Every call goes through pluggy (``self._pm.hook.hc_*`` or a subset caller), so hook
    # wrappers, tryfirst/trylast ordering and HC_TRACE_HOOKS apply to every hook. Reading
    # ``get_hookimpls()`` is only ever used to learn *which* plugins implement a hook, never
    # to call an implementation directly: calling ``impl.function`` skips wrappers (a
    # wrapper's generator is truthy, which once granted access to a whistle-blower's
    # identity).

    def _implementers(self, hook_name: str) -> list[tuple[str, object]]:
        """Plugins with a (non-wrapper) implementation of ``hook_name``, in call order."""
        caller: pluggy.HookCaller = getattr(self._pm.hook, hook_name)
        return [(i.plugin_name, i.plugin) for i in reversed(caller.get_hookimpls())
                if not (i.wrapper or i.hookwrapper)]

    def _each(self, hook_name: str) -> Iterator[tuple[str, pluggy.HookCaller]]:
        """A caller per implementing plugin, in call order, each calling through pluggy.

        Used where one plugin's answer must be told apart from another's (registries name
        the plugin that registered a thing) or isolated from it (a notifier or classifier
        that raises must not stop the others). Wrappers of wrapper-only plugins wrap each
        call, and HC_TRACE_HOOKS traces it. Yields ``(plugin name, caller)``; the caller
        takes the hook's keyword arguments and returns pluggy's result list.
        """
        plugins = self._implementers(hook_name)
        if not plugins:  # still one call, so wrappers and tracing see every hook
            yield "(no implementation)", getattr(self._pm.hook, hook_name)
            return
        for name, plugin in plugins:
            others = [p for _, p in plugins if p is not plugin]
            yield name, self._pm.subset_hook_caller(hook_name, remove_plugins=others)

    # -- decisions and contributions ---------------------------------------------------------

    def normalize_intake(self, channel: str, raw: Mapping[str, Any],
                         app: Any = None) -> dict[str, Any] | None:
        result = self._pm.hook.hc_normalize_intake(channel=channel, raw=raw, app=app)
        if result is not None and not isinstance(result, dict):
            raise PluginError(
                f"hc_normalize_intake returned {type(result).__name__} for channel "
                f"{channel!r}; expected a dict of ComplaintDraft fields or None",
                f"hc_normalize_intake 对渠道 {channel!r} 返回了 {type(result).__name__}，"
                "应为字典或 None",
            )
        return result

    def suggest_categories(self, complaint: Complaint,
                           app: Any = None) -> list[CategorySuggestion]:
        """Every plugin's suggestions, merged: the highest confidence per category wins.

        Suggestions are advice: a classifier that raises is logged by name (never with the
        complaint's text) and skipped, so it cannot block intake.
        """
        from ..domain.complaint import CategorySuggestion

        best: dict[str, CategorySuggestion] = {}
        for plugin, caller in self._each("hc_suggest_categories"):
            try:
                results = caller(complaint=complaint, app=app)
            except Exception as exc:
                log.warning("classifier plugin %r failed and was skipped: %s", plugin,
                            type(exc).__name__)
                continue
            for result in results:
                for s in result or ():
                    if not isinstance(s, CategorySuggestion):
                        raise PluginError(
                            f"plugin {plugin!r}: hc_suggest_categories returned "
                            f"{type(s).__name__}, expected CategorySuggestion"
                        )
                    current = best.get(s.category.value)
                    if current is None or s.confidence > current.confidence:
                        best[s.category.value] = s
        return sorted(best.values(), key=lambda s: -s.confidence)

    def route(self, complaint: Complaint, app: Any = None) -> Routing | None:
        from .types import Routing

        result = self._pm.hook.hc_route(complaint=complaint, app=app)
        if result is not None and not isinstance(result, Routing):
            raise PluginError(f"hc_route returned {type(result).__name__}, expected Routing")
        return result

    def can_reveal_identity(self, viewer: Viewer, complaint: Complaint,
                            purpose: str, app: Any = None) -> AccessDecision:
        """The plugins' decision (``hc_can_reveal_identity``); no decision means no.

        Only an :class:`AccessDecision` or a real ``bool`` counts as an answer: anything else
        (a wrapper's generator, a string, a number) is a :class:`PluginError`, never a yes.
        The whistle-blower rule is applied by the caller (``AccessPolicy``), not here.
        """
        from .types import UNNAMED_DECIDER, AccessDecision

        answer = self._pm.hook.hc_can_reveal_identity(viewer=viewer, complaint=complaint,
                                                      purpose=purpose, app=app)
        if answer is None:
            return AccessDecision(allowed=False, decided_by="(no plugin decided)",
                                  reason="no access plugin allowed it: refused by default")
        if isinstance(answer, AccessDecision):
            return answer
        if type(answer) is bool:
            return AccessDecision(allowed=answer, decided_by=UNNAMED_DECIDER)
        raise PluginError(
            f"hc_can_reveal_identity returned {type(answer).__name__}; expected an "
            "AccessDecision, True, False or None. Access is refused",
            f"hc_can_reveal_identity 返回了 {type(answer).__name__}，应为 AccessDecision、"
            "True、False 或 None；已拒绝访问",
        )

    def sla_policies(self, app: Any = None) -> dict[str, SlaPolicy]:
        from ..sla.policy import SlaPolicy

        return self._collect("hc_register_sla_policies", SlaPolicy, app=app)

    def exam_sources(self, app: Any = None) -> dict[str, ExamSource]:
        from ..domain.imaging import ExamSource

        return self._collect("hc_register_exam_sources", ExamSource, app=app)

    def fault_sources(self, app: Any = None) -> dict[str, FaultSource]:
        from ..domain.imaging import FaultSource

        return self._collect("hc_register_fault_sources", FaultSource, app=app)

    def notifiers(self, app: Any = None) -> dict[str, Notifier]:
        """Transports for durable delivery (``hc_register_notifiers``), by id."""
        from ..domain.notifications import Notifier

        return self._collect("hc_register_notifiers", Notifier, app=app)

    def jobs(self, app: Any = None) -> dict[str, Job]:
        """Scheduled jobs plugins provide to the worker (``hc_register_jobs``), by name."""
        from .types import Job

        return self._collect("hc_register_jobs", Job, key="name", app=app)

    def exam_contact(self, accession_number: str, app: Any = None) -> ExamContact | None:
        """The first plugin's answer to ``hc_exam_contact`` (``None``: nobody knows)."""
        from ..domain.notifications import ExamContact

        found = self._pm.hook.hc_exam_contact(accession_number=accession_number, app=app)
        if found is not None and not isinstance(found, ExamContact):
            raise PluginError(f"hc_exam_contact returned {type(found).__name__}, "
                              "expected ExamContact")
        return found

    def reports(self, app: Any = None) -> dict[str, ReportDefinition]:
        """Report definitions (``hc_register_reports``), by id."""
        from ..reports.build import ReportDefinition

        return self._collect("hc_register_reports", ReportDefinition, app=app)

    def follow_up_sources(self, app: Any = None) -> dict[str, FollowUpSource]:
        """Follow-up result sources for reports (``hc_register_follow_up_sources``)."""
        from ..reports.build import FollowUpSource

        return self._collect("hc_register_follow_up_sources", FollowUpSource, app=app)

    def exporters(self, app: Any = None) -> dict[str, Exporter]:
        from .types import Exporter

        return self._collect("hc_register_exporters", Exporter, app=app)

    def integrity_checks(self, app: Any = None) -> dict[str, IntegrityCheck]:
        """Checks that ``audit verify`` runs besides the event chain (plugins' own tables)."""
        from .types import IntegrityCheck

        return self._collect("hc_register_integrity_checks", IntegrityCheck, app=app)

    def encrypted_data(self, app: Any = None) -> dict[str, EncryptedData]:
        """Plugins' tables encrypted with the key ring (``hc_register_encrypted_data``)."""
        from .types import EncryptedData

        return self._collect("hc_register_encrypted_data", EncryptedData, app=app)

    def migration_locations(self, app: Any = None) -> list[Path]:
        """The Alembic version directories plugins provide (``hc_register_migrations``), in
        the order the plugins were registered, each once. A directory that does not exist
        is a :class:`PluginError` naming the plugin."""
        found: dict[Path, None] = {}
        for plugin, caller in reversed(list(self._each("hc_register_migrations"))):
            def register(directory: str | Path, _plugin: str = plugin) -> None:
                path = Path(directory)
                if not path.is_dir():
                    raise PluginError(
                        f"plugin {_plugin!r} registered the migration directory "
                        f"{str(path)!r}, which does not exist",
                        f"插件 {_plugin!r} 注册的迁移目录 {str(path)!r} 不存在",
                    )
                found[path.resolve()] = None

            caller(register=register, app=app)
        return list(found)

    def demo_exam_feed(self, app: Any, exams: Sequence[Any]) -> DemoFeed | None:
        """A plugin's showing of the demo's exams (``hc_demo_exam_feed``), or ``None``."""
        from .types import DemoFeed

        result = self._pm.hook.hc_demo_exam_feed(app=app, exams=exams)
        if result is not None and not isinstance(result, DemoFeed):
            raise PluginError(f"hc_demo_exam_feed returned {type(result).__name__}, "
                              "expected DemoFeed")
        return result

    def add_cli_commands(self, cli: click.Group) -> None:
        self._pm.hook.hc_register_cli_commands(cli=cli)

    def plugin_settings(self) -> dict[str, PluginSettings]:
        """Plugins' settings sections (``hc_register_settings``), by plugin id."""
        from ..settings import PluginSettings

        return self._collect("hc_register_settings", PluginSettings)

    def _collect(self, hook_name: str, kind: Any, key: str = "id",
                 **extra: Any) -> dict[str, Any]:
        """What plugins register through ``hook_name``, by ``key`` (``id``; a job's
        ``name``): each must be a ``kind``, and a key registered twice is an error naming
        both plugins."""
        found: dict[str, Any] = {}
        owners: dict[str, str] = {}
        for plugin, caller in self._each(hook_name):
            def register(item: Any, _plugin: str = plugin) -> None:
                if not isinstance(item, kind):
                    raise PluginError(
                        f"plugin {_plugin!r} registered {type(item).__name__} through "
                        f"{hook_name}; expected {kind.__name__}"
                    )
                item_id = str(getattr(item, key, ""))
                if item_id in found:
                    raise PluginError(
                        f"{kind.__name__} {key} {item_id!r} is registered twice: by "
                        f"{owners[item_id]!r} and by {_plugin!r}",
                        f"{kind.__name__} 标识 {item_id!r} 被重复注册",
                    )
                found[item_id] = item
                owners[item_id] = _plugin

            caller(register=register, **extra)
        return found

    # -- notifications ---------------------------------------------------------------------

    def has_notifiers(self) -> bool:
        """Whether any plugin implements ``hc_after_event`` (else masking can be skipped)."""
        return bool(self._implementers("hc_after_event"))

    def notify_after_event(self, event: Event, case: CaseSummary,
                           now: Callable[[], datetime],
                           app: Any = None) -> list[NotificationFailure]:
        """Call every ``hc_after_event`` implementation, each through pluggy and in isolation.

        One implementation raising does not stop the others; each failure is returned as a
        :class:`NotificationFailure` naming the plugin, for the service to store.
        """
        from .types import NotificationFailure

        failures = []
        for plugin, caller in self._each("hc_after_event"):
            try:
                caller(event=event, case=case, app=app)
            except Exception as exc:  # recorded and shown, never swallowed silently
                failures.append(NotificationFailure(
                    complaint_ref=event.complaint_ref, event_id=event.event_id,
                    event_type=event.type, plugin=plugin,
                    error=f"{type(exc).__name__}: {exc}"[:2000] or type(exc).__name__, at=now(),
                ))
        return failures


def _trace_before(hook_name: str, impls: Sequence[pluggy.HookImpl],
                  kwargs: Mapping[str, Any]) -> None:
    # names only: hook arguments carry personal data, which is never logged
    names = ", ".join(i.plugin_name for i in impls) or "no implementation"
    sys.stderr.write(f"[hc-hooks] {hook_name} -> {names}\n")


def _trace_after(outcome: Any, hook_name: str, impls: Sequence[pluggy.HookImpl],
                 kwargs: Mapping[str, Any]) -> None:
    exc = outcome.exception
    status = f"raised {type(exc).__name__}" if exc is not None else "ok"
    sys.stderr.write(f"[hc-hooks] {hook_name} {status}\n")

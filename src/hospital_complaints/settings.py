"""One settings tree for the whole library: every ``HC_*`` variable is read here, and only here.

A host embeds the library with ``bootstrap(Settings(...))`` and never touches the process
environment; the command line, the worker and the HTTP server build the same tree with
:meth:`Settings.load`, from (later wins) the defaults, a TOML settings file
(``HC_SETTINGS_FILE``) and the environment. Everything is checked at start-up: a bad value is a
:class:`~hospital_complaints.errors.ConfigError` naming the variable (or file key), the value
and what is allowed, in English and Chinese.

Sections: the core's own (top level), ``database``, ``attachments``, ``sla``, ``imaging``, and
one per plugin under ``plugins`` (``[plugins.fhir]`` in the file). A plugin declares its
section with ``hc_register_settings`` (a pydantic model and the environment variables it may be
set by); ``app.plugin_config("fhir")`` returns the validated section, as datasette's
``plugin_config`` does. Plugins never read the environment themselves.

The environment variables, with their file keys, are the table :data:`ENVIRONMENT` (the README
lists each, and a test fails when a name used in the code is missing there).

The tree's models (pydantic) are in :mod:`~hospital_complaints.settings_models`; their names
here are imported on first use. Reading the variables and the file needs no pydantic, so the
command line's start (``--help``) reads the two it needs (:func:`plugin_switches`) without
importing it or building the models.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ConfigError
from .lazy import lazy_exports

if TYPE_CHECKING:
    from pydantic import BaseModel

    from .settings_models import (
        CASE_TRIGGERS,
        EXAM_TRIGGERS,
        AttachmentSettings,
        DatabaseSettings,
        ImagingSettings,
        NotificationSettings,
        Settings,
        SlaSettings,
        SurveySettings,
        WorkerSettings,
        WorkOrderSettings,
        plugin_config,
        settings_error,
    )

SETTINGS_FILE_VAR = "HC_SETTINGS_FILE"
_FALSE = {"", "0", "false", "no", "off"}


#: environment variable -> (path in the tree, kind); also the names the README documents
ENVIRONMENT: dict[str, tuple[tuple[str, ...], str]] = {
    "HC_TIMEZONE": (("timezone",), "str"),
    "HC_REFERENCE_PREFIX": (("reference_prefix",), "str"),
    "HC_DISABLE_PLUGINS": (("disabled_plugins",), "list"),
    "HC_TRACE_HOOKS": (("trace_hooks",), "bool"),
    "HC_ACTOR": (("actor",), "str"),
    "HC_DEPARTMENTS_FILE": (("departments_file",), "str"),
    "HC_DEBUG": (("debug",), "bool"),
    "HC_DATABASE_URL": (("database", "url"), "str"),
    "HC_DB_SCHEMA": (("database", "schema_name"), "str"),
    "HC_DB_TABLE_PREFIX": (("database", "table_prefix"), "str"),
    "HC_ENCRYPTION_KEYS": (("database", "encryption_keys"), "str"),
    "HC_ENCRYPTION_KEY_FILE": (("database", "encryption_key_file"), "str"),
    "HC_BLOB_DIR": (("attachments", "blob_dir"), "str"),
    "HC_ATTACHMENT_MAX_BYTES": (("attachments", "max_bytes"), "str"),
    "HC_SLA_POLICY": (("sla", "policy"), "str"),
    "HC_CALENDAR_DIR": (("sla", "calendar_dir"), "str"),
    "HC_TARGET_WAIT_MIN": (("imaging", "target_wait_min"), "str"),
    "HC_TARGET_REPORT_MIN": (("imaging", "target_report_min"), "str"),
    "HC_TARGET_SLIP_MIN": (("imaging", "target_slip_min"), "str"),
    "HC_TARGET_ONSITE_URGENT_MIN": (("imaging", "target_onsite_urgent_min"), "str"),
    "HC_TARGET_ONSITE_MIN": (("imaging", "target_onsite_min"), "str"),
    "HC_CLUSTER_SIZE": (("imaging", "cluster_size"), "str"),
    "HC_CLUSTER_DAYS": (("imaging", "cluster_days"), "str"),
    "HC_NOTIFY_MAX_ATTEMPTS": (("notifications", "max_attempts"), "str"),
    "HC_NOTIFY_BACKOFF_S": (("notifications", "backoff_s"), "str"),
    "HC_NOTIFY_BACKOFF_CAP_S": (("notifications", "backoff_cap_s"), "str"),
    "HC_NOTIFY_LEASE_S": (("notifications", "lease_s"), "str"),
    "HC_NOTIFY_TRUSTED": (("notifications", "trusted"), "list"),
    "HC_SURVEY_BASE_URL": (("surveys", "base_url"), "str"),
    "HC_SURVEY_DIR": (("surveys", "dir"), "str"),
    "HC_SURVEY_LINK_DAYS": (("surveys", "link_days"), "str"),
    "HC_SURVEY_QUIET_HOURS": (("surveys", "quiet_hours"), "str"),
    "HC_SURVEY_EXAM_TRIGGERS": (("surveys", "exam_triggers"), "list"),
    "HC_SURVEY_CASE_TRIGGERS": (("surveys", "case_triggers"), "list"),
    "HC_WORKORDER_PROFILES_DIR": (("workorders", "profiles_dir"), "str"),
    "HC_WORKORDER_PLATFORM_PROFILES": (("workorders", "platform_profiles"), "list"),
    "HC_WORKORDER_DEFAULT_PROFILE": (("workorders", "default_profile"), "str"),
    "HC_WORKORDER_SIGN_WITHIN": (("workorders", "default_sign_within"), "str"),
    "HC_WORKORDER_BASICALLY_WEIGHT": (("workorders", "basically_weight"), "str"),
    "HC_WORKORDER_WEIGHTS": (("workorders", "weights"), "list"),
    "HC_WORKORDER_DUPLICATE_DAYS": (("workorders", "duplicate_window_days"), "str"),
    "HC_WORKER_POLL_S": (("worker", "poll_s"), "str"),
    "HC_WORKER_BATCH": (("worker", "batch"), "str"),
    "HC_WORKER_SWEEP_EVERY_S": (("worker", "sweep_every_s"), "str"),
    "HC_WORKER_SYNC_EVERY_S": (("worker", "sync_every_s"), "str"),
    "HC_WORKER_SURVEY_EVERY_S": (("worker", "survey_every_s"), "str"),
    "HC_WORKER_METRICS_PORT": (("worker", "metrics_port"), "str"),
    "HC_WORKER_METRICS_HOST": (("worker", "metrics_host"), "str"),
}
#: variables that are not settings: read by the settings loader itself, or by test tooling
OTHER_VARIABLES = {
    SETTINGS_FILE_VAR: "a TOML file with settings (same keys as the tree)",
    "HC_REQUIRE_PEERS": "tests only: 1 turns 'real peer server missing: skip' into a failure",
}


def debug_requested(environ: Mapping[str, str] | None = None) -> bool:
    """Whether ``HC_DEBUG`` asks for tracebacks, read even when the rest of the settings
    are broken (the command line shows a settings error plainly either way)."""
    env = os.environ if environ is None else environ
    return env.get("HC_DEBUG", "").strip().lower() not in _FALSE


def read_sources(environ: Mapping[str, str] | None = None,
                 plugin_env: Mapping[str, tuple[str, str]] | None = None,
                 file_bytes: bytes | None = None,
                 ) -> tuple[dict[str, Any], dict[tuple[str, ...], str]]:
    """The raw tree :meth:`Settings.load` checks, and where each value came from: the
    settings file (``HC_SETTINGS_FILE``), then the environment (``environ``, default the
    process's), whose values win.

    ``plugin_env`` maps further variable names to (plugin, key), as plugins declared them
    (``hc_register_settings``). ``file_bytes``: the settings file's bytes, already read
    (by :func:`sources_stamp`), so that it is not read a second time."""
    env = os.environ if environ is None else environ
    data: dict[str, Any] = {}
    sources: dict[tuple[str, ...], str] = {}
    file_name = env.get(SETTINGS_FILE_VAR)
    if file_name:
        data = _read_file(Path(file_name), file_bytes)
        for path in _paths(data):
            sources[path] = f"{file_name}: {'.'.join(path)}"
    for var, (path, kind) in ENVIRONMENT.items():
        raw = env.get(var)
        if raw is None or (raw == "" and kind != "str"):
            continue
        _put(data, path, _convert(raw, kind))
        sources[path] = var
    for var, (plugin, key) in (plugin_env or {}).items():
        raw = env.get(var)
        if raw is not None and raw != "":
            _put(data, ("plugins", plugin, key), raw)
            sources[("plugins", plugin, key)] = var
    return data, sources


def sources_stamp(plugin_env: Mapping[str, tuple[str, str]] | None = None
                  ) -> tuple[Any, ...]:
    """Everything :func:`read_sources` reads from the process for ``plugin_env``: the value
    of each variable it knows and the settings file's name and bytes. Two equal stamps give
    the same settings, so :meth:`Settings.load` keeps its last answer for a stamp (a library
    caller that asks for every complaint pays for reading, not for checking)."""
    env = os.environ
    names = (*ENVIRONMENT, *(plugin_env or {}))
    file_name = env.get(SETTINGS_FILE_VAR)
    content = None
    if file_name:
        try:
            content = Path(file_name).read_bytes()
        except OSError:
            content = None  # read_sources says what is wrong with it
    return names, tuple(map(env.get, names)), file_name, content


def plugin_switches(environ: Mapping[str, str] | None = None,
                    ) -> tuple[frozenset[str], bool] | None:
    """``disabled_plugins`` and ``trace_hooks`` (``HC_DISABLE_PLUGINS``, ``HC_TRACE_HOOKS``,
    or the settings file's keys) as :meth:`Settings.load` reads them, without the settings
    models: what the command line's start needs to load the plugins (``--help`` needs
    nothing else; the command line checks the whole tree before a command runs).

    ``None`` when the settings file gives one in a form only the models read (not a list of
    names, or not true/false): :meth:`Settings.load` then converts it, or raises the
    settings error."""
    data, _ = read_sources(environ)
    blocked = data.get("disabled_plugins", [])
    trace = data.get("trace_hooks", False)
    if not (isinstance(blocked, list) and all(isinstance(n, str) for n in blocked)
            and isinstance(trace, bool)):
        return None
    return frozenset(n.strip() for n in blocked), trace  # the model strips names too


def _convert(raw: str, kind: str) -> Any:
    if kind == "bool":
        return raw.strip().lower() not in _FALSE
    if kind == "list":
        return [p.strip() for p in raw.split(",") if p.strip()]
    return raw


def _put(data: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    target = data
    for step in path[:-1]:
        nxt = target.get(step)
        if not isinstance(nxt, dict):
            nxt = target[step] = {}
        target = nxt
    target[path[-1]] = value


def _paths(data: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = []
    for k, v in data.items():
        if isinstance(v, Mapping):
            out += _paths(v, (*prefix, str(k)))
        else:
            out.append((*prefix, str(k)))
    return out


def _read_file(path: Path, content: bytes | None = None) -> dict[str, Any]:
    try:
        if content is None:
            text = path.read_text(encoding="utf-8")
        else:  # as read_text gives it: UTF-8, line ends made "\n"
            text = content.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
        return tomllib.loads(text)
    except OSError as exc:
        raise ConfigError(f"{SETTINGS_FILE_VAR}: cannot read {path} ({exc.strerror})",
                          f"{SETTINGS_FILE_VAR}：无法读取 {path}（{exc.strerror}）") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{SETTINGS_FILE_VAR}: {path} is not valid TOML: {exc}",
                          f"{SETTINGS_FILE_VAR}：{path} 不是有效的 TOML（{exc}）") from None


# -- plugin sections ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PluginSettings:
    """What a plugin declares through ``hc_register_settings``: its section's name, the
    pydantic model that checks it, and the environment variables that may set its keys
    (``{"server": "HC_FHIR_SERVER"}``)."""

    id: str
    model: type[BaseModel]
    env: Mapping[str, str] = field(default_factory=dict)
    description: str = ""


#: public name -> (module, attribute): the tree's models, imported on first use
_WHERE: dict[str, tuple[str, str]] = {
    name: (".settings_models", name)
    for name in ("CASE_TRIGGERS", "EXAM_TRIGGERS", "AttachmentSettings", "DatabaseSettings",
                 "ImagingSettings", "NotificationSettings", "Settings", "SlaSettings",
                 "SurveySettings", "WorkOrderSettings", "WorkerSettings", "plugin_config",
                 "settings_error")}


__getattr__, __dir__ = lazy_exports(__name__, _WHERE, globals())


__all__ = [
    "CASE_TRIGGERS",
    "ENVIRONMENT",
    "EXAM_TRIGGERS",
    "OTHER_VARIABLES",
    "SETTINGS_FILE_VAR",
    "AttachmentSettings",
    "DatabaseSettings",
    "ImagingSettings",
    "NotificationSettings",
    "PluginSettings",
    "Settings",
    "SlaSettings",
    "SurveySettings",
    "WorkOrderSettings",
    "WorkerSettings",
    "debug_requested",
    "plugin_config",
    "plugin_switches",
    "read_sources",
    "settings_error",
]

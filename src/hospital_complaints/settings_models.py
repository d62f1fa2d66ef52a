"""The settings tree's models: every section, checked by pydantic (a bad value is a
:class:`~hospital_complaints.errors.ConfigError` naming the variable or file key, in English
and Chinese).

Import them from :mod:`hospital_complaints.settings`, which reads the settings file and the
``HC_*`` variables (:meth:`Settings.load` goes through it) and imports this module on first
use: the command line's start (``--help``) reads the two variables it needs without building
these models, or importing pydantic.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from .clock import DEFAULT_TIMEZONE, zone
from .errors import ConfigError
from .settings import PluginSettings, read_sources, sources_stamp


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class DatabaseSettings(_Section):
    """Where cases are stored, and the keys that encrypt personal data in it."""

    url: str = "sqlite:///hospital-complaints.db"
    schema_name: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
    table_prefix: str = Field(default="hc_", pattern=r"^[a-z][a-z0-9_]{0,19}$")
    encryption_keys: SecretStr | None = None
    encryption_key_file: Path | None = None


class AttachmentSettings(_Section):
    blob_dir: Path = Path("hospital-complaints-blobs")
    max_bytes: int = Field(default=20 * 1024 * 1024, ge=1, le=2 * 1024 ** 3)


class SlaSettings(_Section):
    policy: str = "imaging-dept"
    calendar_dir: Path | None = None


class ImagingSettings(_Section):
    """Department targets (the department's KPI sheet by default) and cluster detection."""

    target_wait_min: float = Field(default=15, gt=0, le=1440)
    target_report_min: float = Field(default=15, gt=0, le=100_000)
    target_slip_min: float = Field(default=15, gt=0, le=1440)
    target_onsite_urgent_min: float = Field(default=30, gt=0, le=1440)
    target_onsite_min: float = Field(default=120, gt=0, le=100_000)
    cluster_size: int = Field(default=3, ge=2, le=1000)
    cluster_days: int = Field(default=7, ge=1, le=366)
    #: a site's own words for modalities (``[imaging.modality_words]`` in the settings file,
    #: ``CT = ["128排"]``), added to the built-in table ``correlation.MODALITY_WORDS``
    modality_words: dict[str, tuple[str, ...]] = Field(default_factory=dict)

    @field_validator("modality_words")
    @classmethod
    def _words(cls, v: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        """Families are modality codes of 2-4 letters (upper-cased); words 1-40
        characters (the rule of ``correlation.linking.ModalityAliases.extended``)."""
        out: dict[str, tuple[str, ...]] = {}
        for family, words in v.items():
            code = family.strip().upper()
            if not (2 <= len(code) <= 4 and code.isascii() and code.isalpha()):
                raise ValueError(f"a modality code of 2-4 letters as the key, e.g. CT "
                                 f"(not {family[:40]!r})")
            cleaned = tuple(w.strip() for w in words)
            if any(not 1 <= len(w) <= 40 for w in cleaned):
                raise ValueError(f"words of 1-40 characters for {code}")
            out[code] = (*out.get(code, ()), *cleaned)
        return out


class NotificationSettings(_Section):
    """Durable delivery (docs/notifications.md): retries, dead letters, trusted notifiers."""

    max_attempts: int = Field(default=12, ge=1, le=1000)
    backoff_s: float = Field(default=5, gt=0, le=86_400)
    backoff_cap_s: float = Field(default=3600, gt=0, le=7 * 86_400)
    lease_s: float = Field(default=60, ge=1, le=86_400)
    #: notifier ids that may receive personal data (a report's complainant: never)
    trusted: frozenset[str] = frozenset()


class SurveySettings(_Section):
    """Patient surveys (docs/surveys.md). Off until ``base_url`` says where the HTTP
    adapter's public pages are (the link patients open)."""

    base_url: str | None = Field(default=None, pattern=r"^https?://[^\s]+$")
    dir: Path | None = None
    link_days: int = Field(default=14, ge=1, le=365)
    quiet_hours: str = Field(default="21:00-08:00",
                             pattern=r"^(|([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d)$")
    exam_questionnaire: str = "post-exam"
    case_questionnaire: str = "follow-up"
    exam_triggers: frozenset[str] = frozenset({"report_final", "long_wait"})
    case_triggers: frozenset[str] = frozenset({"responded", "closed"})

    @field_validator("exam_triggers", "case_triggers")
    @classmethod
    def _known(cls, v: frozenset[str], info: ValidationInfo) -> frozenset[str]:
        allowed = EXAM_TRIGGERS if info.field_name == "exam_triggers" else CASE_TRIGGERS
        bad = sorted(v - allowed)
        if bad:
            raise ValueError(f"{', '.join(bad)} unknown; allowed: {', '.join(sorted(allowed))}")
        return v


#: what invites a patient to a survey: an exam's final report or long wait; a case answered
#: (答复) or closed
EXAM_TRIGGERS = frozenset({"report_final", "long_wait"})
CASE_TRIGGERS = frozenset({"responded", "closed"})


class WorkOrderSettings(_Section):
    """Hotline work orders (docs/workorders.md): which regional profile applies to which
    platform, and how the three rates are counted."""

    profiles_dir: Path | None = None
    #: platform (the work order's ``transferred_from``) -> profile id
    platform_profiles: dict[str, str] = Field(default_factory=lambda: {
        "12320": "beijing-12320", "12345": "shandong-12345-2020"})
    default_profile: str = "beijing-12320"
    default_sign_within: str = Field(default="1wd", pattern=r"^\d{1,4}(wd|d|h)$")
    basically_weight: float = Field(default=1.0, ge=0, le=1)
    weights: tuple[float, float, float] | None = None
    duplicate_window_days: int = Field(default=30, ge=1, le=366)

    @field_validator("platform_profiles", mode="before")
    @classmethod
    def _pairs(cls, v: Any) -> Any:
        if isinstance(v, list):  # HC_WORKORDER_PLATFORM_PROFILES=12320=beijing-12320,...
            out = {}
            for item in v:
                platform, sep, profile = str(item).partition("=")
                if not sep or not platform.strip() or not profile.strip():
                    raise ValueError(f"{item!r} is not PLATFORM=PROFILE")
                out[platform.strip()] = profile.strip()
            return out
        return v

    @field_validator("weights", mode="before")
    @classmethod
    def _three(cls, v: Any) -> Any:
        if isinstance(v, list) and len(v) != 3:
            raise ValueError("three weights: response,resolution,satisfaction")
        return v


class WorkerSettings(_Section):
    """``hospital-complaints worker``: how often each job runs, and its metrics endpoint."""

    poll_s: float = Field(default=1, gt=0, le=3600)
    batch: int = Field(default=100, ge=1, le=10_000)
    sweep_every_s: float = Field(default=300, ge=0, le=86_400)
    sync_every_s: float = Field(default=300, ge=0, le=86_400)
    survey_every_s: float = Field(default=300, ge=0, le=86_400)
    metrics_port: int | None = Field(default=None, ge=0, le=65535)
    metrics_host: str = "127.0.0.1"


class Settings(_Section):
    """The whole tree. ``Settings()`` is the defaults; ``Settings.load()`` reads the file and
    the environment; a host may also build it field by field."""

    timezone: str = DEFAULT_TIMEZONE
    reference_prefix: str = Field(default="HC", pattern=r"^[A-Z][A-Z0-9]{0,9}$")
    disabled_plugins: frozenset[str] = frozenset()
    trace_hooks: bool = False
    actor: str | None = Field(default=None, max_length=200)
    departments_file: Path | None = None
    debug: bool = False
    database: DatabaseSettings = DatabaseSettings()
    attachments: AttachmentSettings = AttachmentSettings()
    sla: SlaSettings = SlaSettings()
    imaging: ImagingSettings = ImagingSettings()
    notifications: NotificationSettings = NotificationSettings()
    worker: WorkerSettings = WorkerSettings()
    surveys: SurveySettings = SurveySettings()
    workorders: WorkOrderSettings = WorkOrderSettings()
    #: plugin name -> its raw section (the file's [plugins.NAME] and its declared variables);
    #: validated against the plugin's model by ``bootstrap`` (``app.plugin_config(name)``)
    plugins: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _release_01_names(cls, data: Any) -> Any:
        """``Settings(sla_policy=...)`` as release 0.1 took it."""
        if isinstance(data, dict) and "sla_policy" in data:
            data = dict(data)
            policy = data.pop("sla_policy")
            sla = dict(data.get("sla") or {})
            sla.setdefault("policy", policy)
            data["sla"] = sla
        return data

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        try:
            zone(v)
        except ConfigError as exc:
            raise ValueError(exc.en) from None
        return v

    @property
    def sla_policy(self) -> str:
        """The deadline policy applied to cases (``HC_SLA_POLICY``)."""
        return self.sla.policy


    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None,
             plugin_env: Mapping[str, tuple[str, str]] | None = None) -> Settings:
        """Defaults, then the settings file (``HC_SETTINGS_FILE``), then the environment.

        ``plugin_env`` maps further variable names to (plugin, key), as plugins declared
        them (``hc_register_settings``)."""
        global _last_load
        stamp = None
        file_bytes = None
        if environ is None:  # the process's: the last answer, while its sources are equal
            read = sources_stamp(plugin_env)
            stamp, file_bytes = (cls, read), read[3]
            last = _last_load  # one read: another thread may replace it
            if last is not None and last[0] == stamp:
                return last[1]
        # the file's bytes of the stamp: what is remembered is what was checked
        data, sources = read_sources(environ, plugin_env, file_bytes)
        try:
            settings = cls.model_validate(data)
        except ValidationError as exc:
            raise settings_error(exc, sources) from None
        if stamp is not None:
            _last_load = (stamp, settings)
        return settings

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """The same as :meth:`load` (the name release 0.1 used)."""
        return cls.load(environ)

    def plugin_section(self, name: str) -> dict[str, Any]:
        return dict(self.plugins.get(name, {}))


_ALLOWED_ZH = {
    "string_pattern_mismatch": "格式不正确",
    "extra_forbidden": "未知的配置项",
    "bool_parsing": "应为 true 或 false",
    "int_parsing": "应为整数",
    "float_parsing": "应为数字",
    "greater_than": "数值过小",
    "greater_than_equal": "数值过小",
    "less_than_equal": "数值过大",
    "string_too_long": "过长",
    "tuple_type": "应为列表",
}
#: the Chinese of what is allowed, for keys whose rule the error type does not say
_FIELD_ZH = {
    "modality_words": "键须为 2-4 个字母的检查类型代码（如 CT），值为词语列表，每个 1-40 个字符，"
                      "如 CT = [\"128排\"]",
}
_ALLOWED_EN = {
    "reference_prefix": "1-10 upper-case letters A-Z or digits, starting with a letter, e.g. HC",
    "table_prefix": "1-20 lower-case letters, digits or _, starting with a letter, e.g. hc_",
    "schema_name": "a schema/database name of letters, digits and _",
}


#: keys whose values are never shown in a settings error (any plugin's section too)
_SECRET_WORDS = frozenset({"secret", "secrets", "password", "passwd", "token", "key", "keys",
                           "header", "headers", "credential", "credentials"})


def settings_error(exc: ValidationError, sources: Mapping[tuple[str, ...], str]) -> ConfigError:
    """A :class:`ConfigError` naming each bad variable (or file key), its value and what is
    allowed. Secret values (keys) are never shown."""
    en, zh = [], []
    for err in exc.errors(include_url=False):
        path = tuple(str(p) for p in err["loc"])
        where = sources.get(path) or ".".join(path) or "settings"
        secret = any(word in _SECRET_WORDS for part in path
                     for word in part.lower().replace("-", "_").split("_"))
        value = "(hidden)" if secret else repr(str(err.get("input"))[:40])
        msg = str(err["msg"]).removeprefix("Value error, ")
        allowed = _ALLOWED_EN.get(path[-1] if path else "", msg)
        if err["type"] in {"tuple_type", "list_type"}:
            allowed = 'a list, e.g. ["a", "b"]'
        en.append(f"{where}={value} is not valid: expected {allowed}")
        why_zh = next((_FIELD_ZH[p] for p in path if p in _FIELD_ZH),
                      _ALLOWED_ZH.get(err["type"], "取值无效"))
        zh.append(f"{where}={value} 无效：{why_zh}（{allowed}）")
    return ConfigError("settings: " + "; ".join(en), "配置错误：" + "；".join(zh))


# -- plugin sections ---------------------------------------------------------------------------


def plugin_config(settings: Settings, declared: PluginSettings) -> BaseModel:
    """The plugin's section of ``settings``, validated by its model (errors name the
    variable or file key)."""
    raw = settings.plugin_section(declared.id)
    try:
        return declared.model.model_validate(raw)
    except ValidationError as exc:
        sources: dict[tuple[str, ...], str] = {
            (key,): f"{var} (or [plugins.{declared.id}] {key})"
            for key, var in declared.env.items()}
        sources.update({(k,): f"[plugins.{declared.id}] {k}" for k in raw if (k,) not in sources})
        raise settings_error(exc, sources) from None


#: Settings.load's last answer for the process's environment, with the stamp of its sources
#: (:func:`~hospital_complaints.settings.sources_stamp`); immutable, so it can be shared
_last_load: tuple[tuple[Any, ...], Settings] | None = None

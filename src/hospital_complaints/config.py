"""Settings, from arguments or the environment.

- HC_TIMEZONE: IANA zone for received times and deadlines (Asia/Shanghai)
- HC_REFERENCE_PREFIX: prefix of reference numbers such as HC-20261122-0001 (HC)
- HC_DISABLE_PLUGINS: comma-separated entry-point names not to load (none)
- HC_TRACE_HOOKS: 1 prints each hook call, names only, to stderr (off)
- HC_SLA_POLICY: SLA policy id, or combination, applied to cases (imaging-dept)
- HC_CALENDAR_DIR: folder of site calendar files (*.json) for years the library lacks
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from pydantic import Field, ValidationError, field_validator

from .clock import DEFAULT_TIMEZONE, zone
from .domain.base import StrictModel
from .errors import ConfigError


class Settings(StrictModel):
    timezone: str = DEFAULT_TIMEZONE
    reference_prefix: str = Field(default="HC", pattern=r"^[A-Z][A-Z0-9]{0,9}$")
    disabled_plugins: frozenset[str] = frozenset()
    trace_hooks: bool = False
    sla_policy: str = "imaging-dept"

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        zone(v)
        return v

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from ``HC_*`` variables, checked at start-up: a bad value is a
        :class:`ConfigError` naming the variable, the value and what is allowed (zh/en)."""
        env = os.environ if environ is None else environ
        disabled = {p.strip() for p in env.get("HC_DISABLE_PLUGINS", "").split(",") if p.strip()}
        try:
            return cls(
                timezone=env.get("HC_TIMEZONE") or DEFAULT_TIMEZONE,
                reference_prefix=env.get("HC_REFERENCE_PREFIX") or "HC",
                disabled_plugins=frozenset(disabled),
                trace_hooks=env.get("HC_TRACE_HOOKS", "") not in {"", "0", "false", "no"},
                sla_policy=env.get("HC_SLA_POLICY") or "imaging-dept",
            )
        except ConfigError as exc:  # raised by a validator (the zone)
            raise ConfigError(f"HC_TIMEZONE: {exc.en}", f"HC_TIMEZONE：{exc.zh}") from None
        except ValidationError as exc:
            raise settings_error(exc, ENV_NAMES) from None


#: setting -> the environment variable it is read from
ENV_NAMES = {"timezone": "HC_TIMEZONE", "reference_prefix": "HC_REFERENCE_PREFIX",
             "disabled_plugins": "HC_DISABLE_PLUGINS", "trace_hooks": "HC_TRACE_HOOKS",
             "sla_policy": "HC_SLA_POLICY"}
_ALLOWED = {
    "reference_prefix": ("1-10 upper-case letters A-Z or digits, starting with a letter, e.g. HC",
                         "1-10 位大写字母或数字，以字母开头，例如 HC"),
}


def settings_error(exc: ValidationError, names: Mapping[str, str]) -> ConfigError:
    """A :class:`ConfigError` naming each bad variable, its value and what is allowed."""
    en, zh = [], []
    for err in exc.errors(include_url=False):
        field = str(err["loc"][0]) if err["loc"] else "?"
        var = names.get(field, field)
        allowed_en, allowed_zh = _ALLOWED.get(field, (str(err["msg"]), "取值无效"))
        value = str(err.get("input"))[:40]
        en.append(f"{var}={value!r} is not valid: expected {allowed_en}")
        zh.append(f"{var}={value!r} 无效：应为 {allowed_zh}")
    return ConfigError("settings: " + "; ".join(en), "配置错误：" + "；".join(zh))

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

from pydantic import Field, field_validator

from .clock import DEFAULT_TIMEZONE, zone
from .domain.base import StrictModel


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
        env = os.environ if environ is None else environ
        disabled = {p.strip() for p in env.get("HC_DISABLE_PLUGINS", "").split(",") if p.strip()}
        return cls(
            timezone=env.get("HC_TIMEZONE", DEFAULT_TIMEZONE),
            reference_prefix=env.get("HC_REFERENCE_PREFIX", "HC"),
            disabled_plugins=frozenset(disabled),
            trace_hooks=env.get("HC_TRACE_HOOKS", "") not in {"", "0", "false", "no"},
            sla_policy=env.get("HC_SLA_POLICY", "imaging-dept"),
        )

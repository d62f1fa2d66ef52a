"""Adapter settings: the plugin's section of the settings tree (``hc_register_settings``).

- HC_FHIR_VERSION: R4 (default) or R5
- HC_FHIR_SERVER: base URL of a FHIR server (push target; exam source when set)
- HC_FHIR_TOKEN: bearer token for that server
- HC_FHIR_PATIENT_SYSTEM / HC_FHIR_PERSON_SYSTEM / HC_FHIR_ACCESSION_SYSTEM: identifier
  systems of the HIS patient id, national ID number and RIS accession number
- HC_FHIR_CA_BUNDLE: a CA bundle for TLS verification (verification is always on)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from hospital_complaints.plugin_api import ConfigError, PluginSettings, RevealGrant
from pydantic import BaseModel, ConfigDict, field_validator

from .urls import SID_ACCESSION, SID_PATIENT, SID_PERSON

if TYPE_CHECKING:
    from .export import ExportOptions

#: the FHIR versions this adapter writes (the export module says the same)
Version = Literal["R4", "R5"]
VERSIONS: tuple[Version, ...] = ("R4", "R5")


def check_version(value: str) -> Version:
    v = value.strip().upper()
    if v == "R4B":
        v = "R4"
    if v not in VERSIONS:
        raise ConfigError(f"FHIR version {value!r} is not supported; use R4 or R5",
                          f"不支持的 FHIR 版本 {value!r}，请使用 R4 或 R5")
    return v  # type: ignore[return-value,unused-ignore]


class FhirSettings(BaseModel):
    """The adapter's settings section (``[plugins.fhir]`` in the settings file, or the
    ``HC_FHIR_*`` variables), read and checked by the core's settings loader and handed out
    as ``app.plugin_config("fhir")``."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    version: Version = "R4"
    server: str | None = None
    token: str | None = None
    patient_system: str = SID_PATIENT
    person_system: str = SID_PERSON
    accession_system: str = SID_ACCESSION
    ca_bundle: str | None = None

    @field_validator("version", mode="before")
    @classmethod
    def _version(cls, v: Any) -> Any:
        try:
            return check_version(v) if isinstance(v, str) else v
        except ConfigError as exc:
            raise ValueError(exc.en) from None

    @field_validator("server", "token", "ca_bundle", mode="before")
    @classmethod
    def _empty(cls, v: Any) -> Any:
        return None if v == "" else v

    def export_options(self, *, version: Version | None = None,
                       grants: Mapping[str, RevealGrant] | None = None) -> ExportOptions:
        from .export import ExportOptions

        return ExportOptions(version=version or self.version, grants=grants or {},
                             patient_system=self.patient_system,
                             person_system=self.person_system,
                             accession_system=self.accession_system)


#: the section's keys and the variables that set them
ENVIRONMENT = {"version": "HC_FHIR_VERSION", "server": "HC_FHIR_SERVER",
               "token": "HC_FHIR_TOKEN", "patient_system": "HC_FHIR_PATIENT_SYSTEM",
               "person_system": "HC_FHIR_PERSON_SYSTEM",
               "accession_system": "HC_FHIR_ACCESSION_SYSTEM",
               "ca_bundle": "HC_FHIR_CA_BUNDLE"}
DECLARATION = PluginSettings(id="fhir", model=FhirSettings, env=ENVIRONMENT,
                             description="FHIR adapter: version, server, identifier systems")


def fhir_settings(app: Any) -> FhirSettings:
    """The adapter's settings from the application (defaults without one)."""
    if app is None:
        return FhirSettings()
    config = app.plugin_config("fhir")
    return config if isinstance(config, FhirSettings) else FhirSettings.model_validate(config)

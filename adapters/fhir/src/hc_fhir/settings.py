"""Adapter settings, from arguments or the environment.

- HC_FHIR_VERSION: R4 (default) or R5
- HC_FHIR_SERVER: base URL of a FHIR server (push target; exam source when set)
- HC_FHIR_TOKEN: bearer token for that server
- HC_FHIR_PATIENT_SYSTEM / HC_FHIR_PERSON_SYSTEM / HC_FHIR_ACCESSION_SYSTEM: identifier
  systems of the HIS patient id, national ID number and RIS accession number
- HC_FHIR_CA_BUNDLE: a CA bundle for TLS verification (verification is always on)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from hospital_complaints.errors import ConfigError
from hospital_complaints.services.access import RevealGrant

from .export import VERSIONS, ExportOptions, Version
from .urls import SID_ACCESSION, SID_PATIENT, SID_PERSON


def check_version(value: str) -> Version:
    v = value.strip().upper()
    if v == "R4B":
        v = "R4"
    if v not in VERSIONS:
        raise ConfigError(f"FHIR version {value!r} is not supported; use R4 or R5",
                          f"不支持的 FHIR 版本 {value!r}，请使用 R4 或 R5")
    return v  # type: ignore[return-value,unused-ignore]


@dataclass(frozen=True)
class FhirSettings:
    version: Version = "R4"
    server: str | None = None
    token: str | None = None
    patient_system: str = SID_PATIENT
    person_system: str = SID_PERSON
    accession_system: str = SID_ACCESSION
    ca_bundle: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> FhirSettings:
        env = os.environ if environ is None else environ
        return cls(
            version=check_version(env.get("HC_FHIR_VERSION", "R4")),
            server=env.get("HC_FHIR_SERVER") or None,
            token=env.get("HC_FHIR_TOKEN") or None,
            patient_system=env.get("HC_FHIR_PATIENT_SYSTEM", SID_PATIENT),
            person_system=env.get("HC_FHIR_PERSON_SYSTEM", SID_PERSON),
            accession_system=env.get("HC_FHIR_ACCESSION_SYSTEM", SID_ACCESSION),
            ca_bundle=env.get("HC_FHIR_CA_BUNDLE") or None,
        )

    def export_options(self, *, version: Version | None = None,
                       grants: Mapping[str, RevealGrant] | None = None) -> ExportOptions:
        return ExportOptions(version=version or self.version, grants=grants or {},
                             patient_system=self.patient_system,
                             person_system=self.person_system,
                             accession_system=self.accession_system)

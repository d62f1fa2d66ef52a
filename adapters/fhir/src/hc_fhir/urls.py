"""Canonical URLs and identifier systems of our FHIR mapping (no IG for complaints exists).

Everything a receiver needs to interpret our codes and extensions lives under :data:`BASE`.
``docs/fhir.md`` lists each one.
"""

from __future__ import annotations

from typing import Final

BASE: Final = "https://hospital-complaints.org/fhir"


def cs(name: str) -> str:
    """URL of one of our CodeSystems."""
    return f"{BASE}/CodeSystem/{name}"


def vs(name: str) -> str:
    """URL of one of our ValueSets (all codes of the CodeSystem of the same name)."""
    return f"{BASE}/ValueSet/{name}"


def ext(name: str) -> str:
    """URL of one of our extensions."""
    return f"{BASE}/StructureDefinition/{name}"


def sid(name: str) -> str:
    """An identifier system (NamingSystem) of ours."""
    return f"{BASE}/sid/{name}"


QUESTIONNAIRE_FOLLOW_UP: Final = f"{BASE}/Questionnaire/complaint-follow-up"

SID_REFERENCE: Final = sid("complaint-reference")
SID_EXTERNAL: Final = sid("external-id")
SID_ACTION: Final = sid("action-id")
SID_STAFF: Final = sid("staff-id")
SID_DEPARTMENT: Final = sid("department")
SID_STATION: Final = sid("station")
#: defaults; a site sets its HIS's systems in :class:`hc_fhir.FhirSettings`
SID_PATIENT: Final = sid("patient-id")
SID_PERSON: Final = sid("person-id")
SID_ACCESSION: Final = sid("accession-number")

DICOM_UID: Final = "urn:dicom:uid"
V2_0203: Final = "http://terminology.hl7.org/CodeSystem/v2-0203"
SECURITY: Final = "http://terminology.hl7.org/CodeSystem/v3-ObservationValue"

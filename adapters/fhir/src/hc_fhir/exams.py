"""Exam records from FHIR (ImagingStudy, ServiceRequest, Appointment) -> ``ExamEvent``s.

:class:`FhirExamSource` reads them from resources you hand it, or searches a server. It only
yields events; storing them is the exam-timeline store's job.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

from hospital_complaints.plugin_api import ExamEvent, ExamEventType
from pydantic import ValidationError

from .client import FhirClient
from .urls import DICOM_UID, V2_0203

EXAM_TYPES = ("ServiceRequest", "Appointment", "ImagingStudy")

_APPOINTMENT: dict[str, ExamEventType] = {
    "proposed": ExamEventType.ORDERED, "pending": ExamEventType.SCHEDULED,
    "booked": ExamEventType.SCHEDULED, "arrived": ExamEventType.ARRIVED,
    "checked-in": ExamEventType.ARRIVED, "fulfilled": ExamEventType.COMPLETED,
    "cancelled": ExamEventType.CANCELLED, "noshow": ExamEventType.NO_SHOW,
}


def _typed(identifiers: Any, code: str) -> str | None:
    for i in identifiers or ():
        codes = {c.get("code") for c in (i.get("type") or {}).get("coding") or ()
                 if c.get("system") == V2_0203}
        if code in codes and i.get("value"):
            return str(i["value"])
    return None


def _accession(res: Mapping[str, Any], accession_system: str | None) -> str | None:
    found = _typed(res.get("identifier"), "ACSN")
    if found:
        return found
    for i in res.get("identifier") or ():
        if accession_system and i.get("system") == accession_system and i.get("value"):
            return str(i["value"])
    for ref in res.get("basedOn") or ():  # an Appointment or ImagingStudy's order
        found = _typed([ref.get("identifier") or {}], "ACSN")
        if found:
            return found
    return None


def _patient_id(res: Mapping[str, Any]) -> str | None:
    subject = res.get("subject") or next(
        (p.get("actor") for p in res.get("participant") or ()
         if str((p.get("actor") or {}).get("reference", "")).startswith("Patient/")
         or (p.get("actor") or {}).get("type") == "Patient"), None) or {}
    value = (subject.get("identifier") or {}).get("value")
    if value:
        return str(value)
    ref = str(subject.get("reference", ""))
    return ref.split("/", 1)[1] if ref.startswith("Patient/") else None


def _when(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _modality(res: Mapping[str, Any]) -> str | None:
    for m in res.get("modality") or ():
        code = m.get("code") or next((c.get("code") for c in m.get("coding") or ()), None)
        if code:
            return str(code)
    return None


def exam_events(resource: Mapping[str, Any], *, source: str,
                accession_system: str | None = None) -> list[ExamEvent]:
    """The exam events one FHIR resource describes (none when it names no accession)."""
    rtype = resource.get("resourceType")
    accession = _accession(resource, accession_system)
    if rtype not in EXAM_TYPES or accession is None:
        return []
    meta = resource.get("meta") or {}
    msg_id = f"{rtype}/{resource.get('id', '')}"
    if meta.get("versionId"):
        msg_id += f"/_history/{meta['versionId']}"
    common: dict[str, Any] = {"accession_number": accession, "source": source,
                              "source_message_id": msg_id, "patient_id": _patient_id(resource),
                              "placer_order": _typed(resource.get("identifier"), "PLAC"),
                              "filler_order": _typed(resource.get("identifier"), "FILL")}
    out: list[dict[str, Any]] = []
    if rtype == "ServiceRequest":
        status = resource.get("status")
        event = ExamEventType.CANCELLED if status == "revoked" else ExamEventType.ORDERED
        out.append({"event": event, "occurred_at": _when(resource.get("authoredOn")),
                    "scheduled_start": _when(resource.get("occurrenceDateTime"))})
    elif rtype == "Appointment":
        event = _APPOINTMENT.get(str(resource.get("status")), ExamEventType.OTHER)
        room = next(((p.get("actor") or {}).get("display") for p in
                     resource.get("participant") or ()
                     if (p.get("actor") or {}).get("type") in ("Location", "Device")), None)
        out.append({"event": event, "occurred_at": _when(resource.get("created")),
                    "scheduled_start": _when(resource.get("start")), "room": room})
    else:
        uid = next((str(i["value"]).removeprefix("urn:oid:")
                    for i in resource.get("identifier") or ()
                    if i.get("system") == DICOM_UID and i.get("value")), None)
        status = resource.get("status")
        event = ExamEventType.CANCELLED if status == "cancelled" else ExamEventType.STARTED
        room = (resource.get("location") or {}).get("display")
        out.append({"event": event, "occurred_at": _when(resource.get("started")),
                    "study_instance_uid": uid, "modality": _modality(resource), "room": room})
    events = []
    for fields in out:
        try:
            events.append(ExamEvent.model_validate({**common, **fields}))
        except ValidationError:
            continue  # a record the domain cannot hold (e.g. a bad UID) is not an exam event
    return events


class FhirExamSource:
    """An ``ExamSource`` over FHIR resources: given directly, or searched on a server.

    >>> source = FhirExamSource("fhir:ris", client=FhirClient("https://ris.example/fhir/"),
    ...                         search={"ImagingStudy": {"started": "ge2026-11-01"}})
    >>> for event in source.read_exam_events(): ...
    """

    def __init__(self, id: str, *, resources: Iterable[Mapping[str, Any]] | None = None,
                 client: FhirClient | None = None,
                 search: Mapping[str, Mapping[str, str]] | None = None,
                 accession_system: str | None = None) -> None:
        self.id = id
        self._resources = resources
        self._client = client
        self._search = search or {t: {} for t in EXAM_TYPES}
        self._accession_system = accession_system

    def _iter_resources(self) -> Iterator[Mapping[str, Any]]:
        if self._resources is not None:
            yield from self._resources
        if self._client is not None:
            for rtype, params in self._search.items():
                yield from self._client.search(rtype, params)

    def read_exam_events(self) -> Iterator[ExamEvent]:
        for res in self._iter_resources():
            yield from exam_events(res, source=self.id, accession_system=self._accession_system)

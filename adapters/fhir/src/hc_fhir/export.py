"""Domain -> FHIR: one case becomes a Communication, Tasks, a QuestionnaireResponse and
Provenance, as plain JSON dicts (fast; ``validate.py`` checks them with fhir.resources).

The table in ``docs/fhir.md`` is the reference for every element written here.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from hospital_complaints.plugin_api import (
    ActionStatus,
    Case,
    CaseState,
    Complainant,
    ComplainantRole,
    Complaint,
    Event,
    ExamLink,
    OutcomeKind,
    PatientRef,
    RevealGrant,
    mask_value,
)

from .codes import (
    ACSN,
    EVENT_SYSTEM,
    MASKED,
    coding,
    concept,
    param,
    task_code,
)
from .settings import VERSIONS as VERSIONS
from .settings import Version as Version
from .terminology import TaskCode
from .urls import (
    DICOM_UID,
    QUESTIONNAIRE_FOLLOW_UP,
    SID_ACCESSION,
    SID_ACTION,
    SID_DEPARTMENT,
    SID_EXTERNAL,
    SID_PATIENT,
    SID_PERSON,
    SID_REFERENCE,
    SID_STAFF,
    SID_STATION,
    ext,
)

#: Deadlines of one case by milestone ("respond", "close", ...), e.g. from the SLA engine
DeadlineResolver = Callable[[Case], Mapping[str, datetime]]

_NS = uuid.UUID("6b0c58e2-4f0a-4d55-9b8e-0c7f6a1d2e31")
_R4_UNSIGNED_MAX = 2_147_483_647


@dataclass(frozen=True)
class ExportOptions:
    """How cases are written.

    - ``version``: "R4" (JSON valid for R4 and R4B) or "R5".
    - ``grants``: reference -> :class:`RevealGrant`, from ``service.reveal_many(refs, viewer,
      purpose)``, which decides and audits each case. A case is written with names, phone
      numbers, e-mail, ID numbers and addresses only when its grant is here; every other case
      is masked, and a report (举报) then carries no complainant or patient identity at all.
    - ``reveal_identity`` is set per case by :func:`case_resources` from ``grants``; a value
      given by the caller is ignored, so identity never leaves without a recorded decision.
    - ``patient_system`` / ``person_system`` / ``accession_system``: the identifier systems of
      the site's HIS patient ids, national ID numbers and RIS accession numbers.
    - ``deadlines``: milestone -> due instant for a case (see :func:`sla_deadlines`); without it
      only the due dates a case itself holds (rectification actions) are written.
    """

    version: Version = "R4"
    grants: Mapping[str, RevealGrant] = field(default_factory=dict, compare=False)
    reveal_identity: bool = False
    patient_system: str = SID_PATIENT
    person_system: str = SID_PERSON
    accession_system: str = SID_ACCESSION
    deadlines: DeadlineResolver | None = field(default=None, compare=False)


def resource_id(reference: str, part: str) -> str:
    """Deterministic id (a UUID) of one resource of one case: pushing twice updates."""
    return str(uuid.uuid5(_NS, f"{reference}|{part}"))


def _dt(value: datetime) -> str:
    return value.isoformat()


def _deadline_field(version: Version, due: datetime | date) -> tuple[str, dict[str, Any]]:
    period = {"end": due.isoformat()}
    return ("requestedPeriod", period) if version == "R5" else ("restriction", {"period": period})


# -- people -----------------------------------------------------------------------------------


def _patient_ref(patient: PatientRef | None, o: ExportOptions) -> dict[str, Any] | None:
    if patient is None:
        return None
    if not o.reveal_identity:
        shown = mask_value("id_number", patient.patient_id)
        if patient.name:
            shown += " " + mask_value("name", patient.name)
        return {"type": "Patient", "display": shown}
    ref: dict[str, Any] = {"type": "Patient",
                           "identifier": {"system": o.patient_system, "value": patient.patient_id}}
    if patient.name:
        ref["display"] = patient.name
    return ref


def _complainant_resource(person: Complainant, patient: dict[str, Any] | None,
                          o: ExportOptions) -> dict[str, Any] | None:
    show: Callable[[str, str], str] = (
        (lambda kind, v: v) if o.reveal_identity else
        (lambda kind, v: mask_value(kind, v) if kind != "address" else "***"))  # type: ignore[arg-type]
    res: dict[str, Any] = {}
    if person.id_number:
        res["identifier"] = [{"system": o.person_system, "value": show("id_number",
                                                                        person.id_number)}]
    if person.name:
        res["name"] = [{"text": show("name", person.name)}]
    telecom = []
    if person.phone:
        telecom.append({"system": "phone", "value": show("phone", person.phone)})
    if person.email:
        telecom.append({"system": "email", "value": show("email", person.email)})
    if telecom:
        res["telecom"] = telecom
    if person.address:
        res["address"] = [{"text": show("address", person.address)}]
    if not res:
        return None
    if person.role is ComplainantRole.PATIENT:
        return {"resourceType": "Patient", "id": "complainant", **res}
    return {"resourceType": "RelatedPerson", "id": "complainant",
            "patient": patient or {"display": "patient not recorded"}, **res}


def _complainant_extensions(person: Complainant) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [
        {"url": ext("complainant-role"), "valueCoding": coding(person.role)},
        {"url": ext("consent-to-contact"), "valueBoolean": person.consent_to_contact}]
    if person.preferred_contact is not None:
        out.append({"url": ext("preferred-contact"),
                    "valueCoding": coding(person.preferred_contact)})
    if person.relationship_to_patient:
        out.append({"url": ext("relationship-to-patient"),
                    "valueString": person.relationship_to_patient})
    return out


# -- the complaint ----------------------------------------------------------------------------


def _exam_link_extension(link: ExamLink) -> dict[str, Any]:
    parts = []
    if link.accession_number:
        parts.append({"url": "accession-number", "valueString": link.accession_number})
    if link.study_instance_uid:
        parts.append({"url": "study-instance-uid", "valueString": link.study_instance_uid})
    if link.modality:
        parts.append({"url": "modality", "valueCode": link.modality})
    if link.station:
        parts.append({"url": "station", "valueString": link.station})
    return {"url": ext("exam-link"), "extension": parts}


def _exam_refs(link: ExamLink, o: ExportOptions) -> list[dict[str, Any]]:
    refs: list[dict[str, Any]] = []
    if link.study_instance_uid:
        refs.append({"type": "ImagingStudy", "identifier": {
            "system": DICOM_UID, "value": f"urn:oid:{link.study_instance_uid}"}})
    if link.accession_number:
        refs.append({"type": "ServiceRequest", "identifier": {
            "type": ACSN, "system": o.accession_system, "value": link.accession_number}})
    if link.station:
        refs.append({"type": "Device", "identifier": {"system": SID_STATION,
                                                      "value": link.station},
                     "display": link.station})
    return refs


def _payload_text(text: str, part: str, version: Version) -> dict[str, Any]:
    marker = [{"url": ext("payload-part"), "valueCode": part}]
    if version == "R5":
        return {"extension": marker, "contentCodeableConcept": {"text": text}}
    return {"extension": marker, "contentString": text}


def _attachment(a: Any, version: Version) -> dict[str, Any]:
    exts: list[dict[str, Any]] = [{"url": ext("sha256"), "valueString": a.sha256}]
    att: dict[str, Any] = {}
    if any(ch.isspace() for ch in a.reference):
        exts.append({"url": ext("attachment-reference"), "valueString": a.reference})
    else:
        att["url"] = a.reference
    if a.filename:
        att["title"] = a.filename
    if a.media_type:
        att["contentType"] = a.media_type
    if a.size_bytes is not None:
        if version == "R5":
            att["size"] = str(a.size_bytes)  # integer64 is a JSON string in R5
        elif a.size_bytes <= _R4_UNSIGNED_MAX:
            att["size"] = a.size_bytes
        else:
            exts.append({"url": ext("size-bytes"), "valueString": str(a.size_bytes)})
    return {"contentAttachment": {"extension": exts, **att}}


def communication(case: Case, o: ExportOptions) -> dict[str, Any]:
    """The complaint as the Communication the complainant sent to the hospital."""
    c: Complaint = case.complaint
    protect = c.is_whistleblowing and not o.reveal_identity
    res: dict[str, Any] = {"resourceType": "Communication",
                           "id": resource_id(c.reference, "communication")}
    if not o.reveal_identity:
        res["meta"] = {"security": [dict(MASKED)]}
    patient = None if protect else _patient_ref(c.patient, o)
    sender = None if protect else _complainant_resource(c.complainant, patient, o)
    if sender is not None:
        res["contained"] = [sender]
    exts = _complainant_extensions(c.complainant)
    exts += [{"url": ext("severity"), "valueCoding": coding(c.severity)},
             {"url": ext("harm"), "valueCoding": coding(c.harm)},
             {"url": ext("complexity"), "valueCoding": coding(c.complexity)}]
    if c.transferred_from:
        exts.append({"url": ext("transferred-from"), "valueString": c.transferred_from})
    for s in c.staff_involved:
        parts = [{"url": "name", "valueString": s.name}]
        if s.staff_id:
            parts.append({"url": "staff-id", "valueString": s.staff_id})
        if s.role:
            parts.append({"url": "role", "valueString": s.role})
        exts.append({"url": ext("staff-involved"), "extension": parts})
    exts += [_exam_link_extension(link) for link in c.exam_links]
    res["extension"] = exts
    identifiers = [{"system": SID_REFERENCE, "value": c.reference}]
    if c.external_id:
        identifiers.append({"system": SID_EXTERNAL, "value": c.external_id})
    res["identifier"] = identifiers
    res["status"] = "completed"
    res["category"] = [concept(c.kind)] + [concept(cat) for cat in c.categories]
    res["medium"] = [concept(c.channel)]
    if patient is not None:
        res["subject"] = patient
    res["topic"] = {"text": c.subject}
    about = [r for link in c.exam_links for r in _exam_refs(link, o)]
    if about:
        res["about"] = about
    res["received"] = _dt(c.received_at)
    if c.department:
        res["recipient"] = [{"type": "Organization", "identifier": {
            "system": SID_DEPARTMENT, "value": c.department}, "display": c.department}]
    if sender is not None:
        res["sender"] = {"reference": "#complainant",
                         "type": sender["resourceType"]}
    payload = [_payload_text(c.description, "description", o.version)]
    if c.demands:
        payload.append(_payload_text(c.demands, "demands", o.version))
    payload += [_attachment(a, o.version) for a in c.attachments]
    res["payload"] = payload
    return res


# -- the case and its tasks -------------------------------------------------------------------


_TASK_STATUS: dict[CaseState, str] = {
    CaseState.REGISTERED: "received",
    CaseState.ACKNOWLEDGED: "accepted",
    CaseState.INVESTIGATING: "in-progress",
    CaseState.RECTIFYING: "in-progress",
    CaseState.RESPONDED: "in-progress",
    CaseState.CLOSED: "completed",
    CaseState.WITHDRAWN: "cancelled",
    CaseState.REFERRED: "completed",
    #: 并单: handled on in the case it was merged into (statusReason names it)
    CaseState.MERGED: "cancelled",
}

_ACTION_STATUS: dict[ActionStatus, str] = {
    ActionStatus.PLANNED: "requested",
    ActionStatus.IN_PROGRESS: "in-progress",
    ActionStatus.DONE: "completed",
    ActionStatus.VERIFIED: "completed",
    ActionStatus.CANCELLED: "cancelled",
}


def task_status(case: Case) -> str:
    """FHIR Task.status of the case; Task.businessStatus carries our exact state."""
    if case.state is CaseState.CLOSED and case.outcome is not None \
            and case.outcome.kind is OutcomeKind.NOT_ACCEPTED:
        return "rejected"
    return _TASK_STATUS[case.state]


def _owner(name: str, staff_id: str | None = None) -> dict[str, Any]:
    ref: dict[str, Any] = {"type": "Practitioner", "display": name}
    if staff_id:
        ref["identifier"] = {"system": SID_STAFF, "value": staff_id}
    return ref


def _base_task(case: Case, part: str, code: TaskCode, status: str,
               patient: dict[str, Any] | None) -> dict[str, Any]:
    ref = case.reference
    res: dict[str, Any] = {"resourceType": "Task", "id": resource_id(ref, part),
                           "status": status, "intent": "order", "code": task_code(code),
                           "focus": {"reference": "Communication/"
                                     + resource_id(ref, "communication")}}
    if part != "task":
        res["partOf"] = [{"reference": "Task/" + resource_id(ref, "task")}]
    if patient is not None:
        res["for"] = dict(patient)
    return res


def case_task(case: Case, o: ExportOptions, patient: dict[str, Any] | None,
              due: Mapping[str, datetime]) -> dict[str, Any]:
    res = _base_task(case, "task", TaskCode.COMPLAINT_HANDLING, task_status(case), patient)
    res["identifier"] = [{"system": SID_REFERENCE, "value": case.reference}]
    res["businessStatus"] = concept(case.state)
    if case.merged_into is not None:
        res["statusReason"] = {"text": f"merged into {case.merged_into} (并单)"}
    if case.events:
        res["authoredOn"] = _dt(case.events[0].at)
        res["lastModified"] = _dt(case.events[-1].at)
    period = {}
    if case.acknowledged_at is not None:
        period["start"] = _dt(case.acknowledged_at)
    if case.closed_at is not None:
        period["end"] = _dt(case.closed_at)
    if period:
        res["executionPeriod"] = period
    if case.owner:
        res["owner"] = _owner(case.owner)
    deadline = due.get("close") or due.get("respond")
    if deadline is not None:
        key, value = _deadline_field(o.version, deadline)
        res[key] = value
    output: list[dict[str, Any]] = []
    if case.outcome is not None:
        output.append({"type": param("outcome"), "valueCodeableConcept":
                       concept(case.outcome.kind)})
        if case.outcome.reason:
            output.append({"type": param("outcome-reason"), "valueString": case.outcome.reason})
        if case.outcome.referred_to:
            output.append({"type": param("referred-to"),
                           "valueString": case.outcome.referred_to})
    if case.response is not None:
        output.append({"type": param("response"), "valueString": case.response.text})
    if case.follow_up is not None:
        output.append({"type": param("follow-up"), "valueReference": {
            "reference": "QuestionnaireResponse/" + resource_id(case.reference, "follow-up")}})
    if case.follow_up_waived is not None:
        output.append({"type": param("follow-up-waived"), "valueString": case.follow_up_waived})
    if output:
        res["output"] = output
    return res


def investigation_task(case: Case, o: ExportOptions, patient: dict[str, Any] | None,
                       due: Mapping[str, datetime]) -> dict[str, Any] | None:
    inv = case.investigation
    if inv.started_at is None:
        return None
    if case.state is CaseState.INVESTIGATING:
        status = "in-progress"
    elif case.state is CaseState.WITHDRAWN:
        status = "cancelled"
    else:
        status = "completed"
    res = _base_task(case, "investigation", TaskCode.INVESTIGATION, status, patient)
    res["executionPeriod"] = {"start": _dt(inv.started_at)}
    if inv.team:
        res["owner"] = _owner(inv.team[0].name, inv.team[0].staff_id)
    if "respond" in due:
        key, value = _deadline_field(o.version, due["respond"])
        res[key] = value
    if inv.findings:
        res["note"] = [
            {"authorString": f.recorded_by, "time": _dt(f.recorded_at), "text": f.text,
             **({"extension": [{"url": ext("root-cause"), "valueString": r}
                               for r in f.root_causes]} if f.root_causes else {})}
            for f in inv.findings]
    if inv.team:
        res["input"] = [{"type": concept(m.role), "valueReference": _member_ref(m)}
                        for m in inv.team]
    return res


def _member_ref(m: Any) -> dict[str, Any]:
    ref: dict[str, Any] = {"display": m.name}
    if m.staff_id:
        ref["identifier"] = {"system": SID_STAFF, "value": m.staff_id}
    return ref


def action_tasks(case: Case, o: ExportOptions,
                 patient: dict[str, Any] | None) -> list[dict[str, Any]]:
    out = []
    for a in case.actions.values():
        res = _base_task(case, f"action:{a.action_id}", TaskCode.RECTIFICATION,
                         _ACTION_STATUS[a.status], patient)
        res["extension"] = [{"url": ext("action-type"), "valueCoding": coding(a.type)}]
        res["identifier"] = [{"system": SID_ACTION, "value": f"{case.reference}/{a.action_id}"}]
        res["businessStatus"] = concept(a.status)
        res["description"] = a.description
        res["owner"] = _owner(a.owner)
        key, value = _deadline_field(o.version, a.due)
        res[key] = value
        notes = [{"extension": [{"url": ext("action-status"), "valueCoding": coding(p.status)}],
                  "authorString": p.by, "time": _dt(p.at), "text": p.note} for p in a.progress]
        if a.verification is not None:
            v = a.verification
            notes.append({"extension": [{"url": ext("verification-effective"),
                                         "valueBoolean": v.effective}],
                          "authorString": v.by, "time": _dt(v.at), "text": v.note})
        if notes:
            res["note"] = notes
        out.append(res)
    return out


def follow_up_response(case: Case, o: ExportOptions,
                       patient: dict[str, Any] | None) -> dict[str, Any] | None:
    f = case.follow_up
    if f is None:
        return None
    ident = {"system": SID_REFERENCE, "value": case.reference}
    items: list[dict[str, Any]] = [
        {"linkId": "method", "answer": [{"valueCoding": coding(f.method)}]},
        {"linkId": "unreachable", "answer": [{"valueBoolean": f.unreachable}]},
    ]
    if f.satisfaction is not None:
        items.append({"linkId": "satisfaction", "answer": [{"valueInteger": f.satisfaction}]})
    if f.comments:
        items.append({"linkId": "comments", "answer": [{"valueString": f.comments}]})
    res: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "id": resource_id(case.reference, "follow-up"),
        "identifier": [ident] if o.version == "R5" else ident,
        "questionnaire": QUESTIONNAIRE_FOLLOW_UP,
        "status": "completed",
        "authored": _dt(f.at),
        "author": {"type": "Practitioner", "display": f.by},
        "item": items,
    }
    if patient is not None:
        res["subject"] = dict(patient)
    return res


def provenance(case: Case, event: Event, o: ExportOptions) -> dict[str, Any]:
    """One history event: who did what, when and why (the payload is not exported)."""
    res: dict[str, Any] = {
        "resourceType": "Provenance",
        "id": resource_id(case.reference, "event:" + event.event_id),
        "target": [{"reference": "Task/" + resource_id(case.reference, "task")}],
        "recorded": _dt(event.at),
        "activity": {"coding": [{"system": EVENT_SYSTEM, "code": event.type}]},
        "agent": [{"who": {"display": event.actor}}],
    }
    if event.reason:
        if o.version == "R5":
            res["authorization"] = [{"concept": {"text": event.reason}}]  # R4's reason
        else:
            res["reason"] = [{"text": event.reason}]
    return res


def case_resources(case: Case, options: ExportOptions | None = None) -> list[dict[str, Any]]:
    """Every resource of one case, the Communication first, then the case Task."""
    o = options or ExportOptions()
    grant = o.grants.get(case.reference)
    o = replace(o, reveal_identity=grant is not None and grant.reference == case.reference)
    protect = case.complaint.is_whistleblowing and not o.reveal_identity
    patient = None if protect else _patient_ref(case.complaint.patient, o)
    due: Mapping[str, datetime] = o.deadlines(case) if o.deadlines is not None else {}
    out = [communication(case, o), case_task(case, o, patient, due)]
    inv = investigation_task(case, o, patient, due)
    if inv is not None:
        out.append(inv)
    out += action_tasks(case, o, patient)
    qr = follow_up_response(case, o, patient)
    if qr is not None:
        out.append(qr)
    out += [provenance(case, e, o) for e in case.events]
    return out


def iter_resources(cases: Iterable[Case],
                   options: ExportOptions | None = None) -> Iterator[dict[str, Any]]:
    for case in cases:
        yield from case_resources(case, options)


def sla_deadlines(policy: Any, calendars: Any) -> DeadlineResolver:
    """A :data:`DeadlineResolver` from the core SLA engine (``hospital_complaints.sla``)."""
    from hospital_complaints.plugin_api import case_deadlines

    def resolve(case: Case) -> dict[str, datetime]:
        return {d.milestone: d.due for d in case_deadlines(policy, case, calendars)}

    return resolve

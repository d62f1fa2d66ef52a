"""FHIR -> domain: a portal's Communication becomes a ``ComplaintDraft``; an exported case's
resources become a :class:`CaseImage` (the round trip of every mapped field).

Problems are collected, never raised one at a time: :func:`draft_from_fhir` raises one
:class:`~hc_fhir.errors.FhirValidationError` listing every problem with its FHIR path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar

from hospital_complaints.plugin_api import (
    ActionStatus,
    ActionType,
    Case,
    CaseState,
    Category,
    Channel,
    ComplainantRole,
    Complaint,
    ComplaintDraft,
    ComplaintKind,
    Complexity,
    ContactMethod,
    FollowUp,
    Harm,
    Outcome,
    OutcomeKind,
    ProgressCheck,
    RectificationAction,
    Severity,
    TeamMember,
    TeamRole,
    Verification,
    to_invalid_input,
)
from pydantic import ValidationError

from .codes import MASKED, TASK_PARAM_SYSTEM, TASK_SYSTEM, find_coding, member_of, system_of
from .errors import FhirValidationError, Issue
from .export import Version
from .urls import (
    DICOM_UID,
    SID_ACTION,
    SID_DEPARTMENT,
    SID_EXTERNAL,
    SID_REFERENCE,
    V2_0203,
    ext,
)
from .validate import resource_issues

E = TypeVar("E")

#: where each ComplaintDraft field comes from, for error messages
_FIELD_PATHS = {
    "kind": "Communication.category", "channel": "Communication.medium",
    "received_at": "Communication.received", "complainant": "Communication.sender",
    "patient": "Communication.subject", "subject": "Communication.topic.text",
    "description": "Communication.payload", "demands": "Communication.payload",
    "staff_involved": "Communication.extension", "department": "Communication.recipient",
    "attachments": "Communication.payload", "severity": "Communication.extension",
    "harm": "Communication.extension", "categories": "Communication.category",
    "complexity": "Communication.extension", "exam_links": "Communication.about",
    "transferred_from": "Communication.extension", "external_id": "Communication.identifier",
}


class _Problems:
    def __init__(self) -> None:
        self.issues: list[Issue] = []

    def add(self, path: str, message: str, code: str = "invalid") -> None:
        self.issues.append(Issue(path, message, code=code))

    def code(self, enum_cls: type[E], coding: Mapping[str, Any] | None, path: str) -> E | None:
        if coding is None:
            return None
        try:
            return member_of(enum_cls, str(coding.get("code")))  # type: ignore[type-var]
        except ValueError as exc:
            self.add(path, str(exc), "code-invalid")
            return None

    def instant(self, value: Any, path: str) -> datetime | None:
        if value is None:
            return None
        try:
            parsed = datetime.fromisoformat(str(value))
        except ValueError:
            self.add(path, f"not a FHIR dateTime: {value!r}")
            return None
        if parsed.tzinfo is None:
            self.add(path, f"{value!r} has no time zone; a time zone offset is required")
            return None
        return parsed


def _exts(element: Mapping[str, Any], name: str) -> list[dict[str, Any]]:
    url = ext(name)
    return [e for e in element.get("extension") or () if e.get("url") == url]


def _ext1(element: Mapping[str, Any], name: str, key: str) -> Any:
    found = _exts(element, name)
    return found[0].get(key) if found else None


def _sub(extension: Mapping[str, Any], url: str, key: str = "valueString") -> Any:
    for e in extension.get("extension") or ():
        if e.get("url") == url:
            return e.get(key)
    return None


def _text_of(payload: Mapping[str, Any]) -> str | None:
    if "contentString" in payload:
        return str(payload["contentString"])
    cc = payload.get("contentCodeableConcept")
    if isinstance(cc, Mapping) and cc.get("text"):
        return str(cc["text"])
    return None


def _ident(identifiers: Any, system: str) -> str | None:
    if isinstance(identifiers, Mapping):
        identifiers = [identifiers]
    for i in identifiers or ():
        if i.get("system") == system:
            return str(i.get("value"))
    return None


def _contained(comm: Mapping[str, Any], ref: str) -> dict[str, Any] | None:
    if not ref.startswith("#"):
        return None
    for c in comm.get("contained") or ():
        if c.get("id") == ref[1:]:
            return dict(c)
    return None


def _complainant(comm: Mapping[str, Any], p: _Problems) -> dict[str, Any]:
    role_coding = _ext1(comm, "complainant-role", "valueCoding")
    sender = comm.get("sender") or {}
    person = _contained(comm, str(sender.get("reference", ""))) if sender else None
    if role_coding is not None:
        role = p.code(ComplainantRole, role_coding,
                      f"Communication.extension('{ext('complainant-role')}')")
    elif (person is not None and person.get("resourceType") == "RelatedPerson") or \
            str(sender.get("reference", "")).startswith("RelatedPerson/"):
        role = ComplainantRole.RELATIVE
    elif sender:
        role = ComplainantRole.PATIENT
    else:
        role = ComplainantRole.ANONYMOUS
    out: dict[str, Any] = {"role": role.value if role else None}
    consent = _ext1(comm, "consent-to-contact", "valueBoolean")
    if consent is not None:
        out["consent_to_contact"] = consent
    preferred = _ext1(comm, "preferred-contact", "valueCoding")
    if preferred is not None:
        m = p.code(ContactMethod, preferred, "Communication.extension('preferred-contact')")
        out["preferred_contact"] = m.value if m else None
    rel = _ext1(comm, "relationship-to-patient", "valueString")
    if rel is not None:
        out["relationship_to_patient"] = rel
    if person is not None:
        names = person.get("name") or []
        if names:
            n0 = names[0]
            out["name"] = n0.get("text") or " ".join(
                [*((n0.get("family") and [n0["family"]]) or []), *(n0.get("given") or [])]) or None
        for t in person.get("telecom") or ():
            if t.get("system") in ("phone", "email") and t.get("value"):
                out.setdefault(t["system"], t["value"])
        ids = person.get("identifier") or []
        if ids:
            out["id_number"] = ids[0].get("value")
        addresses = person.get("address") or []
        if addresses:
            out["address"] = addresses[0].get("text")
    elif sender.get("display"):
        out["name"] = sender["display"]
    return out


def _patient(comm: Mapping[str, Any]) -> dict[str, Any] | None:
    subject = comm.get("subject")
    if not subject:
        return None
    ident = subject.get("identifier") or {}
    pid = ident.get("value")
    if pid is None and str(subject.get("reference", "")).startswith("Patient/"):
        pid = subject["reference"].split("/", 1)[1]
    out: dict[str, Any] = {"patient_id": pid}
    if subject.get("display"):
        out["name"] = subject["display"]
    return out


def _exam_links(comm: Mapping[str, Any], p: _Problems) -> list[dict[str, Any]]:
    links = []
    for e in _exts(comm, "exam-link"):
        link = {"accession_number": _sub(e, "accession-number"),
                "study_instance_uid": _sub(e, "study-instance-uid"),
                "modality": _sub(e, "modality", "valueCode"), "station": _sub(e, "station")}
        links.append({k: v for k, v in link.items() if v is not None})
    if links:
        return links
    # a portal's plain references: one link per identified exam
    for n, ref in enumerate(comm.get("about") or ()):
        ident = ref.get("identifier") or {}
        value = ident.get("value")
        if not value:
            continue
        codes = {c.get("code") for c in (ident.get("type") or {}).get("coding") or ()
                 if c.get("system") == V2_0203}
        if ident.get("system") == DICOM_UID:
            links.append({"study_instance_uid": str(value).removeprefix("urn:oid:")})
        elif "ACSN" in codes or ref.get("type") in ("ServiceRequest", "ImagingStudy"):
            links.append({"accession_number": value})
        elif ref.get("type") not in ("Device", "Appointment", "Encounter"):
            p.add(f"Communication.about[{n}]", "an exam reference needs an accession number "
                  "(identifier type ACSN) or a study UID (system urn:dicom:uid)")
    return links


def draft_fields(comm: Mapping[str, Any], p: _Problems,
                 follow_up: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """ComplaintDraft fields from a Communication (problems go to ``p``)."""
    fields: dict[str, Any] = {}
    cats = comm.get("category") or []
    kind_system, cat_system = system_of(ComplaintKind), system_of(Category)
    categories = []
    for n, cc in enumerate(cats):
        for c in cc.get("coding") or ():
            path = f"Communication.category[{n}]"
            if c.get("system") == kind_system:
                k = p.code(ComplaintKind, c, path)
                if k:
                    fields["kind"] = k.value
            elif c.get("system") == cat_system:
                cat = p.code(Category, c, path)
                if cat:
                    categories.append(cat.value)
    fields["categories"] = categories
    channel = None
    for n, cc in enumerate(comm.get("medium") or ()):
        found = find_coding(cc.get("coding"), system_of(Channel))
        if found is not None:
            channel = p.code(Channel, found, f"Communication.medium[{n}]")
    fields["channel"] = channel.value if channel else Channel.WEB_FORM.value
    received = comm.get("received") or comm.get("sent")
    if received is None:
        p.add("Communication.received", "when the complaint was received is required "
              "(received, or sent)", "required")
    else:
        fields["received_at"] = p.instant(received, "Communication.received")
    fields["complainant"] = _complainant(comm, p)
    patient = _patient(comm)
    if patient is not None:
        fields["patient"] = patient
    texts: dict[str, list[str]] = {"description": [], "demands": []}
    attachments = []
    for n, pl in enumerate(comm.get("payload") or ()):
        att = pl.get("contentAttachment")
        if att is not None:
            attachments.append(_attachment(att, p, f"Communication.payload[{n}]"))
            continue
        text = _text_of(pl)
        if text is None:
            continue
        part = _ext1(pl, "payload-part", "valueCode") or "description"
        texts.setdefault(part, []).append(text)
    if not texts["description"]:
        p.add("Communication.payload", "the complaint's text is required (a payload with "
              "contentString in R4, contentCodeableConcept.text in R5)", "required")
    else:
        fields["description"] = "\n\n".join(texts["description"])
    if texts["demands"]:
        fields["demands"] = "\n\n".join(texts["demands"])
    fields["attachments"] = attachments
    topic = (comm.get("topic") or {}).get("text")
    fields["subject"] = topic or (fields.get("description") or "")[:60] or None
    if topic:
        fields["_topic_given"] = True
    staff = []
    for e in _exts(comm, "staff-involved"):
        s = {"name": _sub(e, "name"), "staff_id": _sub(e, "staff-id"), "role": _sub(e, "role")}
        staff.append({k: v for k, v in s.items() if v is not None})
    fields["staff_involved"] = staff
    for r in comm.get("recipient") or ():
        dept = (r.get("identifier") or {}).get("value") if (r.get("identifier") or {}).get(
            "system") == SID_DEPARTMENT else None
        if dept:
            fields["department"] = dept
    for name, enum_cls in (("severity", Severity), ("harm", Harm), ("complexity", Complexity)):
        coding = _ext1(comm, name, "valueCoding")
        if coding is not None:
            m = p.code(enum_cls, coding, f"Communication.extension('{ext(name)}')")
            if m is not None:
                fields[name] = m.value
    fields["exam_links"] = _exam_links(comm, p)
    transferred = _ext1(comm, "transferred-from", "valueString")
    if transferred is not None:
        fields["transferred_from"] = transferred
    external = _ident(comm.get("identifier"), SID_EXTERNAL)
    if external is not None:
        fields["external_id"] = external
    return fields


def _attachment(att: Mapping[str, Any], p: _Problems, path: str) -> dict[str, Any]:
    out: dict[str, Any] = {"reference": att.get("url")
                           or _ext1(att, "attachment-reference", "valueString"),
                           "sha256": _ext1(att, "sha256", "valueString")}
    if out["sha256"] is None:
        p.add(path + ".contentAttachment", f"an attachment needs its SHA-256 in extension "
              f"{ext('sha256')}", "required")
    if att.get("title"):
        out["filename"] = att["title"]
    if att.get("contentType"):
        out["media_type"] = att["contentType"]
    size = att.get("size", _ext1(att, "size-bytes", "valueString"))
    if size is not None:
        out["size_bytes"] = int(size)
    return out


def _draft_problems(exc: ValidationError, what: str) -> list[Issue]:
    out = []
    for prob in to_invalid_input(exc, what).problems:
        head = prob.field.split(".", 1)[0]
        out.append(Issue(f"{_FIELD_PATHS.get(head, 'Communication')} ({prob.field})",
                         prob.allowed))
    return out


def draft_from_fhir(resource: Mapping[str, Any], version: Version = "R4",
                    questionnaire_response: Mapping[str, Any] | None = None) -> ComplaintDraft:
    """A ComplaintDraft from a portal's Communication, optionally with a QuestionnaireResponse
    of the portal's form: answers with linkId ``subject``, ``demands``, ``department``
    (strings) and ``category`` (codings of our complaint-category) fill what the
    Communication leaves out.

    Raises :class:`FhirValidationError` with every problem found: FHIR structure (by
    fhir.resources), our codes and extensions, and the domain's own rules.
    """
    p = _Problems()
    if not isinstance(resource, Mapping) or resource.get("resourceType") != "Communication":
        got = resource.get("resourceType") if isinstance(resource, Mapping) else type(resource)
        raise FhirValidationError("FHIR complaint", [Issue(
            "(root)", f"expected a Communication, got {got!r}", code="structure")])
    p.issues += resource_issues(dict(resource), version)
    if questionnaire_response is not None:
        p.issues += resource_issues(dict(questionnaire_response), version)
    security = (resource.get("meta") or {}).get("security") or []
    if any(s.get("code") == MASKED["code"] for s in security):
        p.add("Communication.meta.security", "this export has masked identity (MASKED); "
              "import an export made with reveal_identity", "security")
    fields = draft_fields(resource, p)
    if questionnaire_response is not None:
        _intake_answers(questionnaire_response, fields, p)
    fields.pop("_topic_given", None)
    if p.issues:  # one issue per path: the structural one (fhir.resources) comes first
        unique = {i.path: i for i in reversed(p.issues)}
        raise FhirValidationError("FHIR complaint", list(reversed(unique.values())))
    try:
        return ComplaintDraft.model_validate(fields)
    except ValidationError as exc:
        raise FhirValidationError("FHIR complaint", _draft_problems(exc, "complaint")) from None


def _intake_answers(qr: Mapping[str, Any], fields: dict[str, Any], p: _Problems) -> None:
    for n, item in enumerate(qr.get("item") or ()):
        link = item.get("linkId")
        for a in item.get("answer") or ():
            if link in ("subject", "demands", "department") and "valueString" in a:
                if not fields.get(link) or (link == "subject" and not
                                            fields.get("_topic_given")):
                    fields[link] = a["valueString"]
            elif link == "category" and "valueCoding" in a:
                cat = p.code(Category, a["valueCoding"], f"QuestionnaireResponse.item[{n}]")
                if cat is not None and cat.value not in fields["categories"]:
                    fields["categories"].append(cat.value)
    fields.pop("_topic_given", None)


# -- round trip: an exported case read back -----------------------------------------------------


@dataclass(frozen=True)
class CaseImage:
    """Every field of a case the FHIR mapping carries (compare with :func:`project`)."""

    complaint: Complaint
    state: CaseState
    owner: str | None
    acknowledged_at: datetime | None
    closed_at: datetime | None
    outcome: Outcome | None
    response_text: str | None
    investigation_started_at: datetime | None
    team: tuple[TeamMember, ...]
    findings: tuple[tuple[str, tuple[str, ...], str, datetime], ...]
    actions: tuple[RectificationAction, ...]
    follow_up: FollowUp | None
    follow_up_waived: str | None


def project(case: Case) -> CaseImage:
    """The mapped fields of a domain case."""
    inv = case.investigation
    return CaseImage(
        complaint=case.complaint, state=case.state, owner=case.owner,
        acknowledged_at=case.acknowledged_at, closed_at=case.closed_at, outcome=case.outcome,
        response_text=case.response.text if case.response else None,
        investigation_started_at=inv.started_at, team=tuple(inv.team),
        findings=tuple((f.text, tuple(f.root_causes), f.recorded_by, f.recorded_at)
                       for f in inv.findings),
        actions=tuple(case.actions.values()), follow_up=case.follow_up,
        follow_up_waived=case.follow_up_waived)


def _task_code(task: Mapping[str, Any]) -> str | None:
    c = find_coding((task.get("code") or {}).get("coding"), TASK_SYSTEM)
    return str(c["code"]) if c else None


def _outputs(task: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for o in task.get("output") or ():
        c = find_coding((o.get("type") or {}).get("coding"), TASK_PARAM_SYSTEM)
        if c is None:
            continue
        value = next((v for k, v in o.items() if k.startswith("value")), None)
        out[str(c["code"])] = value
    return out


def _req(value: E | None, what: str) -> E:
    if value is None:
        raise FhirValidationError("FHIR case", [Issue(what, "required", code="required")])
    return value


def read_case(resources: Iterable[Mapping[str, Any]], version: Version = "R4") -> CaseImage:
    """Read back the resources :func:`hc_fhir.export.case_resources` wrote for one case
    (exported with ``reveal_identity=True``)."""
    by_type: dict[str, list[Mapping[str, Any]]] = {}
    for r in resources:
        by_type.setdefault(str(r.get("resourceType")), []).append(r)
    comms = by_type.get("Communication") or []
    comm = _req(comms[0] if comms else None, "Communication")
    p = _Problems()
    fields = draft_fields(comm, p)
    fields.pop("_topic_given", None)
    reference = _req(_ident(comm.get("identifier"), SID_REFERENCE), "Communication.identifier")
    if p.issues:
        raise FhirValidationError("FHIR case", p.issues)
    complaint = Complaint.model_validate({**fields, "reference": reference})
    tasks = by_type.get("Task", [])
    root = _req(next((t for t in tasks if _task_code(t) == "complaint-handling"), None),
                "Task(complaint-handling)")
    state = _req(p.code(CaseState, find_coding(
        (root.get("businessStatus") or {}).get("coding"), system_of(CaseState)),
        "Task.businessStatus"), "Task.businessStatus")
    outputs = _outputs(root)
    outcome = None
    if "outcome" in outputs:
        kind = _req(p.code(OutcomeKind, find_coding(outputs["outcome"].get("coding"),
                                                    system_of(OutcomeKind)), "Task.output"),
                    "Task.output(outcome)")
        outcome = Outcome(kind=kind, reason=outputs.get("outcome-reason"),
                          referred_to=outputs.get("referred-to"))
    period = root.get("executionPeriod") or {}
    inv = next((t for t in tasks if _task_code(t) == "investigation"), None)
    team: list[TeamMember] = []
    findings: list[tuple[str, tuple[str, ...], str, datetime]] = []
    started = None
    if inv is not None:
        started = p.instant((inv.get("executionPeriod") or {}).get("start"), "Task.executionPeriod")
        for i in inv.get("input") or ():
            role = p.code(TeamRole, find_coding((i.get("type") or {}).get("coding"),
                                                system_of(TeamRole)), "Task.input.type")
            ref = i.get("valueReference") or {}
            team.append(TeamMember(name=ref.get("display"), role=_req(role, "Task.input.type"),
                                   staff_id=(ref.get("identifier") or {}).get("value")))
        for n in inv.get("note") or ():
            roots = tuple(str(e.get("valueString")) for e in _exts(n, "root-cause"))
            findings.append((n["text"], roots, n["authorString"],
                             _req(p.instant(n.get("time"), "Task.note.time"), "Task.note.time")))
    actions = [_action(t, p) for t in tasks if _task_code(t) == "rectification"]
    actions.sort(key=lambda a: int(a.action_id[1:]) if a.action_id[1:].isdigit() else 0)
    follow_up = None
    for qr in by_type.get("QuestionnaireResponse", []):
        follow_up = _follow_up(qr, p)
    if p.issues:
        raise FhirValidationError("FHIR case", p.issues)
    return CaseImage(
        complaint=complaint, state=state, owner=(root.get("owner") or {}).get("display"),
        acknowledged_at=p.instant(period.get("start"), "Task.executionPeriod.start"),
        closed_at=p.instant(period.get("end"), "Task.executionPeriod.end"),
        outcome=outcome, response_text=outputs.get("response"),
        investigation_started_at=started, team=tuple(team), findings=tuple(findings),
        actions=tuple(actions), follow_up=follow_up,
        follow_up_waived=outputs.get("follow-up-waived"))


def _action(task: Mapping[str, Any], p: _Problems) -> RectificationAction:
    ident = _req(_ident(task.get("identifier"), SID_ACTION), "Task.identifier")
    due = (task.get("restriction") or {}).get("period", {}).get("end") \
        or (task.get("requestedPeriod") or {}).get("end")
    progress: list[ProgressCheck] = []
    verification = None
    for n in task.get("note") or ():
        at = _req(p.instant(n.get("time"), "Task.note.time"), "Task.note.time")
        status = _ext1(n, "action-status", "valueCoding")
        effective = _ext1(n, "verification-effective", "valueBoolean")
        if status is not None:
            progress.append(ProgressCheck(at=at, by=n["authorString"], note=n["text"],
                                          status=_req(p.code(ActionStatus, status, "Task.note"),
                                                      "Task.note")))
        elif effective is not None:
            verification = Verification(at=at, by=n["authorString"], effective=effective,
                                        note=n["text"])
    code: Callable[[Any, Any, str], Any] = p.code
    return RectificationAction(
        action_id=ident.rsplit("/", 1)[1], description=task["description"],
        owner=(task.get("owner") or {}).get("display"), due=date.fromisoformat(str(due)),
        type=_req(code(ActionType, _ext1(task, "action-type", "valueCoding"), "Task.extension"),
                  "Task.extension(action-type)"),
        status=_req(code(ActionStatus, find_coding(
            (task.get("businessStatus") or {}).get("coding"), system_of(ActionStatus)),
            "Task.businessStatus"), "Task.businessStatus"),
        progress=progress, verification=verification)


def _follow_up(qr: Mapping[str, Any], p: _Problems) -> FollowUp:
    answers: dict[str, Any] = {}
    for item in qr.get("item") or ():
        for a in item.get("answer") or ():
            answers[item["linkId"]] = next(v for k, v in a.items() if k.startswith("value"))
    return FollowUp(
        at=_req(p.instant(qr.get("authored"), "QuestionnaireResponse.authored"), "authored"),
        by=(qr.get("author") or {}).get("display"),
        method=_req(p.code(ContactMethod, answers.get("method"), "QuestionnaireResponse.item"),
                    "QuestionnaireResponse.item(method)"),
        satisfaction=answers.get("satisfaction"), comments=answers.get("comments"),
        unreachable=bool(answers.get("unreachable")))


__all__ = ["CaseImage", "draft_from_fhir", "project", "read_case", "resource_issues"]

"""Domain -> FHIR -> domain is lossless for every mapped field (property-based)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from typing import Any

from hospital_complaints.domain import workflow
from hospital_complaints.domain.case import Case
from hospital_complaints.domain.commands import (
    Acknowledge,
    Assign,
    Close,
    Decline,
    PlanAction,
    RecordFinding,
    RecordFollowUp,
    RecordProgress,
    Refer,
    RegisterComplaint,
    Respond,
    StartInvestigation,
    VerifyAction,
    WaiveFollowUp,
    Withdraw,
)
from hospital_complaints.domain.complaint import (
    Attachment,
    Complainant,
    ComplaintDraft,
    ExamLink,
    Outcome,
    PatientRef,
    StaffRef,
    TeamMember,
)
from hospital_complaints.domain.taxonomy import (
    ActionStatus,
    ActionType,
    Category,
    Channel,
    ComplainantRole,
    ComplaintKind,
    Complexity,
    ContactMethod,
    Harm,
    OutcomeKind,
    Severity,
    TeamRole,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import grants_for

from hc_fhir import ExportOptions, case_resources, project, read_case, resource_issues

_chars = st.characters(categories=("L", "N", "P", "S"), exclude_characters="\x00")
text = st.text(_chars, min_size=1, max_size=30).filter(lambda s: s.strip() == s)
opt = lambda s: st.none() | s  # noqa: E731
zones = st.integers(-12 * 4, 14 * 4).map(lambda q: timezone(timedelta(minutes=15 * q)))
instants = st.builds(lambda d, tz: d.replace(tzinfo=tz),
                     st.datetimes(datetime(2020, 1, 1), datetime(2030, 1, 1)), zones)
uids = st.lists(st.integers(0, 99999).map(str), min_size=2, max_size=6).map(".".join)


@st.composite
def complainants(draw: Any) -> Complainant:
    role = draw(st.sampled_from(ComplainantRole))
    anon = role is ComplainantRole.ANONYMOUS
    phone = draw(opt(st.from_regex(r"\+?[1-9][0-9]{6,12}", fullmatch=True)))
    email = draw(opt(st.from_regex(r"[a-z]{1,8}@[a-z]{1,8}\.org", fullmatch=True)))
    return Complainant(
        role=role, name=None if anon else draw(opt(text)), phone=phone, email=email,
        id_number=None if anon else draw(opt(st.from_regex(r"[0-9X]{6,18}", fullmatch=True))),
        address=draw(opt(text)), relationship_to_patient=draw(opt(text)),
        consent_to_contact=bool(phone or email) and draw(st.booleans()),
        preferred_contact=draw(opt(st.sampled_from(ContactMethod))))


@st.composite
def drafts(draw: Any) -> ComplaintDraft:
    channel = draw(st.sampled_from(Channel))
    needs_transfer = channel in (Channel.HOTLINE_PLATFORM, Channel.TRANSFERRED)
    links = draw(st.lists(st.builds(
        ExamLink, accession_number=text, study_instance_uid=opt(uids),
        modality=opt(st.sampled_from(["CT", "MR", "DX", "US"])), station=opt(text)),
        max_size=2))
    return ComplaintDraft(
        kind=draw(st.sampled_from(ComplaintKind)), channel=channel,
        received_at=draw(instants), complainant=draw(complainants()),
        patient=draw(opt(st.builds(PatientRef, patient_id=text, name=opt(text)))),
        subject=draw(text), description=draw(text), demands=draw(opt(text)),
        staff_involved=draw(st.lists(st.builds(StaffRef, name=text, staff_id=opt(text),
                                               role=opt(text)), max_size=2)),
        department=draw(opt(text)),
        attachments=draw(st.lists(st.builds(
            Attachment, reference=text, sha256=st.from_regex(r"[0-9a-f]{64}", fullmatch=True),
            filename=opt(text), media_type=opt(st.just("image/jpeg")),
            size_bytes=opt(st.integers(0, 2**40))), max_size=2)),
        severity=draw(st.sampled_from(Severity)), harm=draw(st.sampled_from(Harm)),
        categories=draw(st.lists(st.sampled_from(Category), max_size=3)),
        complexity=draw(st.sampled_from(Complexity)), exam_links=links,
        transferred_from=draw(text) if needs_transfer else draw(opt(text)),
        external_id=draw(opt(text)))


@st.composite
def cases(draw: Any) -> Case:
    draft = draw(drafts())
    t = draft.received_at
    case = workflow.start("HC-1", RegisterComplaint(complaint=draft), draw(text), t)

    def step(cmd: Any) -> None:
        nonlocal t
        t += timedelta(minutes=draw(st.integers(1, 5000)), microseconds=draw(
            st.integers(0, 999999)))
        workflow.handle(case, cmd, draw(text), t)

    if draw(st.booleans()):
        step(Assign(department=draw(text), owner=draw(opt(text))))
    path = draw(st.sampled_from(["stay", "decline", "withdraw", "refer", "full"]))
    if path == "decline":
        step(Decline(reason=draw(text)))
        return case
    step(Acknowledge(method=draw(st.sampled_from(ContactMethod)), message=draw(text)))
    if path in ("withdraw", "refer"):
        step(Withdraw(reason=draw(text)) if path == "withdraw" else
             Refer(referred_to=draw(text), reason=draw(text)))
        return case
    if path == "stay":
        return case
    step(StartInvestigation(team=draw(st.lists(st.builds(
        TeamMember, name=text, role=st.sampled_from(TeamRole), staff_id=opt(text)),
        min_size=1, max_size=3))))
    for _ in range(draw(st.integers(1, 2))):
        step(RecordFinding(text=draw(text), root_causes=draw(st.lists(text, max_size=2))))
    for _ in range(draw(st.integers(0, 2))):
        step(PlanAction(type=draw(st.sampled_from(ActionType)), description=draw(text),
                        owner=draw(text), due=t.date() + timedelta(days=4 + draw(
                            st.integers(0, 90)))))
    for aid in list(case.actions):
        status = draw(st.sampled_from([ActionStatus.DONE, ActionStatus.CANCELLED,
                                       ActionStatus.IN_PROGRESS]))
        step(RecordProgress(action_id=aid, status=status, note=draw(text)))
        if status is ActionStatus.IN_PROGRESS:
            step(RecordProgress(action_id=aid, status=ActionStatus.DONE, note=draw(text)))
            status = ActionStatus.DONE
        if status is ActionStatus.DONE and draw(st.booleans()):
            step(VerifyAction(action_id=aid, effective=True, note=draw(text)))
    kind = draw(st.sampled_from([OutcomeKind.UPHELD, OutcomeKind.PARTLY_UPHELD,
                                 OutcomeKind.NOT_UPHELD, OutcomeKind.RESOLVED_BY_EXPLANATION]))
    step(Respond(method=draw(st.sampled_from(ContactMethod)), text=draw(text),
                 outcome=Outcome(kind=kind, reason=draw(opt(text)))))
    if draw(st.booleans()):
        unreachable = draw(st.booleans())
        step(RecordFollowUp(method=draw(st.sampled_from(ContactMethod)),
                            unreachable=unreachable,
                            satisfaction=None if unreachable else draw(st.integers(1, 5)),
                            comments=draw(opt(text))))
    else:
        step(WaiveFollowUp(reason=draw(text)))
    if draw(st.booleans()):
        step(Close(summary=draw(opt(text))))
    return case


_settings = settings(max_examples=150, deadline=None,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@_settings
@given(cases(), st.sampled_from(["R4", "R5"]))
def test_round_trip_is_lossless(case: Case, version: str) -> None:
    resources = case_resources(case, ExportOptions(version=version,  # type: ignore[arg-type]
                                                   grants=grants_for([case])))
    assert read_case(resources, version) == project(case)  # type: ignore[arg-type]


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(cases(), st.booleans())
def test_generated_cases_pass_all_three_validators(js_errors: Callable[[Any], list[Any]],
                                                   case: Case, reveal: bool) -> None:
    for r in case_resources(case, ExportOptions(grants=grants_for([case]) if reveal else {})):
        assert resource_issues(r, "R4") == []
        assert js_errors(r) == [], (r["resourceType"], js_errors(r))
    _ = date  # dates appear through action due dates

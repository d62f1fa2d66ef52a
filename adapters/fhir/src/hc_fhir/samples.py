"""Synthetic cases built through the domain API (``workflow.start`` / ``handle``), no storage.

Used by the benchmark, the examples and the tests. ``sample_case(n)`` walks case ``n``
through a deterministic share of the workflow, so a run of many covers every state.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from hospital_complaints.plugin_api import (
    Acknowledge,
    ActionStatus,
    ActionType,
    Assign,
    Case,
    Category,
    Channel,
    Close,
    Complainant,
    ComplainantRole,
    ComplaintDraft,
    ComplaintKind,
    ContactMethod,
    ExamLink,
    Outcome,
    OutcomeKind,
    PatientRef,
    PlanAction,
    RecordFinding,
    RecordFollowUp,
    RecordProgress,
    RegisterComplaint,
    Respond,
    StaffRef,
    StartInvestigation,
    TeamMember,
    TeamRole,
    VerifyAction,
    Withdraw,
    workflow,
)

TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 11, 2, 8, 30, tzinfo=TZ)
_CATEGORIES = list(Category)


def sample_draft(n: int, received_at: datetime | None = None) -> ComplaintDraft:
    at = received_at or START + timedelta(minutes=7 * (n % 4000))  # within ~19 days
    role = (ComplainantRole.PATIENT, ComplainantRole.RELATIVE, ComplainantRole.ANONYMOUS)[n % 3]
    complainant = Complainant(
        role=role,
        name=None if role is ComplainantRole.ANONYMOUS else f"张{n % 97}丰",
        phone=f"138{n % 100_000_000:08d}",
        id_number=None if role is ComplainantRole.ANONYMOUS else f"1101011990{n % 10**8:08d}",
        consent_to_contact=True, preferred_contact=ContactMethod.PHONE,
        relationship_to_patient="女儿" if role is ComplainantRole.RELATIVE else None,
    )
    return ComplaintDraft(
        kind=ComplaintKind.REPORT if n % 11 == 5 else ComplaintKind.COMPLAINT,
        channel=(Channel.FRONT_DESK, Channel.HOTLINE, Channel.WEB_FORM)[n % 3],
        received_at=at, complainant=complainant,
        patient=PatientRef(patient_id=f"P{n:07d}", name=f"张{n % 97}丰"),
        subject=f"CT 等待太久 #{n}", description="在 CT 室等了两个小时，没有人解释原因。",
        staff_involved=[StaffRef(name="李技师", staff_id="S017", role="technologist")],
        demands="希望解释并道歉" if n % 2 else None,
        categories=[_CATEGORIES[n % len(_CATEGORIES)]],
        exam_links=[ExamLink(accession_number=f"ACC{n:08d}",
                             study_instance_uid=f"1.2.826.0.1.3680043.8.498.{n + 1}",
                             modality="CT", station="CT2")],
    )


def sample_case(n: int, *, stage: int | None = None) -> Case:
    """Case ``n`` taken to ``stage`` (0 registered ... 7 closed; default ``n % 8``)."""
    stage = n % 8 if stage is None else stage
    draft = sample_draft(n)
    t = draft.received_at
    ref = f"HC-{t:%Y%m%d}-{n:06d}"
    case = workflow.start(ref, RegisterComplaint(complaint=draft), "clerk:wang", t)

    def step(cmd: object, minutes: int) -> None:
        nonlocal t
        t += timedelta(minutes=minutes)
        workflow.handle(case, cmd, "clerk:wang", t)  # type: ignore[arg-type]

    step(Assign(department="放射科", owner="王主任"), 5)
    if stage >= 1:
        step(Acknowledge(method=ContactMethod.PHONE, message="已收到，五个工作日内答复"), 30)
    if stage == 2 and n % 16 == 2:
        step(Withdraw(reason="投诉人撤回"), 60)
        return case
    if stage >= 2:
        step(StartInvestigation(team=[TeamMember(name="赵质控", role=TeamRole.QC,
                                                 staff_id="S101")]), 60)
    if stage >= 3:
        step(RecordFinding(text="排班不足导致等待", root_causes=["排班"]), 120)
    if stage >= 4:
        step(PlanAction(type=ActionType.STAFFING, description="高峰时段增加一名技师",
                        owner="技师长", due=date(2026, 12, 31)), 30)  # after every START + 19 d
    if stage >= 5:
        step(RecordProgress(action_id="A1", status=ActionStatus.DONE, note="已调整排班"), 600)
        step(VerifyAction(action_id="A1", effective=True, note="等待时间降至 30 分钟"), 60)
        step(Respond(method=ContactMethod.PHONE, text="经调查属实，已增加人手。",
                     outcome=Outcome(kind=OutcomeKind.UPHELD)), 30)
    if stage >= 6:
        step(RecordFollowUp(method=ContactMethod.PHONE, satisfaction=4, comments="满意"), 1440)
    if stage >= 7:
        step(Close(summary="办结"), 10)
    return case

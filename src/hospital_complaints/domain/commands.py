"""Commands: what a clerk or a host system asks for, and the checks before it happens.

A command is the *input*: its fields are validated with today's rules. Each command knows:
- ``prepare``: fill ids the system assigns (evidence E1, action A1 ...), so that the event
  carries them and replay is deterministic;
- ``guard``: conditions beyond the transition table (raise :class:`GuardFailed`);
- ``to_payload``: what its event records, an instance of its payload class (``records``,
  from :mod:`.events.payloads`). The payload class, not the command, owns ``apply``, the
  change to the case, and its schema is versioned: a change to a command's input never
  changes how stored events read (docs/events.md).

Which command is allowed in which state is *not* here: that is the table in ``workflow.py``.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, ClassVar, Self

from pydantic import Field, model_validator

from .base import Instant, ShortText, Text
from .case import Case
from .command_base import Command as Command
from .command_base import check_response
from .complaint import (
    Attachment,
    CategorySuggestion,
    Complaint,
    ComplaintDraft,
    ExamLink,
    Outcome,
    RectificationAction,
    Sha256,
    TeamMember,
    check_follow_up_result,
)
from .events import payloads as ev
from .events.payloads import EventPayload
from .events.workorder_payloads import DeclinedV2
from .taxonomy import (
    FINISHED_ACTION_STATUSES,
    ActionStatus,
    ActionType,
    AlertKind,
    Category,
    ComplaintKind,
    Complexity,
    ContactMethod,
    Direction,
    EvidenceType,
    Harm,
    Milestone,
    NotAcceptedReason,
    Severity,
)
from .workorder_commands import (
    WORK_ORDER_COMMANDS,
    AbsorbCase,
    MergeInto,
    RecordSupervision,
    UndoMerge,
)


class RegisterComplaint(Command):
    name: ClassVar[str] = "register"
    records: ClassVar[type[EventPayload]] = ev.ComplaintRegistered

    complaint: ComplaintDraft
    suggestions: list[CategorySuggestion] = Field(default_factory=list)


class Acknowledge(Command):
    """First feedback to the complainant: received, how it will be handled, when they hear."""

    name: ClassVar[str] = "acknowledge"
    records: ClassVar[type[EventPayload]] = ev.Acknowledged

    method: ContactMethod = Field(description="how the complainant was told (联系方式)")
    message: Text = Field(
        description="what they were told: received, how it will be handled (告知内容)")
    expected_response_by: date | None = Field(default=None,
        description="the date they were told to expect an answer (YYYY-MM-DD)")


class Classify(Command):
    name: ClassVar[str] = "classify"
    records: ClassVar[type[EventPayload]] = ev.Classified

    categories: list[Category] | None = Field(default=None,
        description="one or more categories (分类); see `hospital-complaints taxonomy`")
    kind: ComplaintKind | None = Field(default=None,
        description="complaint, report (举报), suggestion, consultation, praise (类型)")
    severity: Severity | None = Field(default=None, description="0-3 (严重程度)")
    harm: Harm | None = Field(default=None, description="0-4 (伤害程度)")
    complexity: Complexity | None = Field(default=None,
        description="simple or complex: sets the response deadline (复杂程度)")

    @model_validator(mode="after")
    def _something(self) -> Self:
        if all(v is None for v in (self.categories, self.kind, self.severity, self.harm,
                                   self.complexity)):
            raise ValueError(
                "classify needs at least one of categories, kind, severity, harm, complexity"
            )
        if self.categories is not None and not self.categories:
            raise ValueError("categories, when given, lists at least one category")
        return self


class Assign(Command):
    """Route the case to a department and, optionally, a named owner."""

    name: ClassVar[str] = "assign"
    records: ClassVar[type[EventPayload]] = ev.Assigned

    department: ShortText = Field(description="the handling department (承办科室)")
    owner: ShortText | None = Field(default=None,
                                    description="the person handling the case (承办人)")


class LinkExam(Command):
    name: ClassVar[str] = "link_exam"
    records: ClassVar[type[EventPayload]] = ev.ExamLinked

    link: ExamLink = Field(
        description="the exam: accession_number or study_instance_uid, modality, station")

    def guard(self, case: Case, event_at: date) -> None:
        if self.link in case.complaint.exam_links:
            raise self._fail(case, "this exam is already linked", "该检查已关联")


class StartInvestigation(Command):
    name: ClassVar[str] = "start_investigation"
    records: ClassVar[type[EventPayload]] = ev.InvestigationStarted

    team: list[TeamMember] = Field(min_length=1,
        description="members: name, role (radiologist, technologist, qc, patient_service, other)")


class AddTeamMember(Command):
    name: ClassVar[str] = "add_team_member"
    records: ClassVar[type[EventPayload]] = ev.TeamMemberAdded

    member: TeamMember = Field(description="name and role of the new member")


class AddEvidence(Command):
    name: ClassVar[str] = "add_evidence"
    records: ClassVar[type[EventPayload]] = ev.EvidenceAdded

    type: Annotated[EvidenceType, Field(
        description="kind of evidence (证据类型); see `hospital-complaints taxonomy`")]
    description: Text = Field(description="what the evidence shows (说明)")
    reference: ShortText | None = Field(default=None,
        description="where it is kept: a file, a PACS study, a log (出处)")
    sha256: Sha256 | None = Field(default=None, description="SHA-256 of the evidence file, if any")
    evidence_id: ShortText | None = Field(default=None, json_schema_extra={'readOnly': True},
        description="assigned by the system")

    def prepare(self, case: Case) -> Self:
        return self.model_copy(update={"evidence_id": f"E{len(case.investigation.evidence) + 1}"})


class RecordFinding(Command):
    name: ClassVar[str] = "record_finding"
    records: ClassVar[type[EventPayload]] = ev.FindingRecorded

    text: Text = Field(description="the investigation's conclusion (调查结论)")
    root_causes: list[Text] = Field(default_factory=list,
        description="root causes, one text each (根因)")


class PlanAction(Command):
    """A rectification action with an owner and a due date."""

    name: ClassVar[str] = "plan_action"
    records: ClassVar[type[EventPayload]] = ev.ActionPlanned

    type: Annotated[ActionType, Field(description="kind of rectification action (整改类型)")]
    description: Text = Field(description="what will be done (措施)")
    owner: ShortText = Field(description="who is responsible (责任人)")
    due: date = Field(description="by when (YYYY-MM-DD, not in the past)")
    action_id: ShortText | None = Field(default=None, json_schema_extra={'readOnly': True},
        description="assigned by the system")

    def prepare(self, case: Case) -> Self:
        return self.model_copy(update={"action_id": f"A{len(case.actions) + 1}"})

    def guard(self, case: Case, event_at: date) -> None:
        if self.due < event_at:
            raise self._fail(
                case, f"due date {self.due} is before today ({event_at})",
                f"整改期限 {self.due} 早于今天（{event_at}）",
            )


def _action(cmd: Command, case: Case, action_id: str) -> RectificationAction:
    try:
        return case.actions[action_id]
    except KeyError:
        known = ", ".join(case.actions) or "none yet"
        raise cmd._fail(
            case, f"no rectification action '{action_id}'; the case has: {known}",
            f"没有整改措施「{action_id}」；现有：{known}",
        ) from None


class RecordProgress(Command):
    """A dated progress check (督办) on a rectification action."""

    name: ClassVar[str] = "record_progress"
    records: ClassVar[type[EventPayload]] = ev.ActionProgressRecorded

    action_id: ShortText = Field(description="the action, e.g. A1")
    status: ActionStatus = Field(description="planned, in_progress, done, cancelled (进度)")
    note: Text = Field(description="what was checked (督办记录)")

    def guard(self, case: Case, event_at: date) -> None:
        action = _action(self, case, self.action_id)
        if action.status in FINISHED_ACTION_STATUSES:
            raise self._fail(
                case, f"action {self.action_id} is already {action.status.value}",
                f"整改措施 {self.action_id} 已是「{action.status.value}」状态",
            )
        if self.status is ActionStatus.VERIFIED:
            raise self._fail(
                case, "use verify_action to record a verification of effect",
                "效果验证请使用 verify_action",
            )


class VerifyAction(Command):
    """Verification that a finished action had the intended effect."""

    name: ClassVar[str] = "verify_action"
    records: ClassVar[type[EventPayload]] = ev.ActionVerified

    action_id: ShortText = Field(description="the action, e.g. A1 (must be done)")
    effective: bool = Field(description="true if it had the intended effect; false reopens it")
    note: Text = Field(description="how the effect was verified (效果验证)")

    def guard(self, case: Case, event_at: date) -> None:
        action = _action(self, case, self.action_id)
        if action.status is not ActionStatus.DONE:
            raise self._fail(
                case, f"action {self.action_id} is '{action.status.value}'; only a 'done' "
                "action can be verified",
                f"整改措施 {self.action_id} 当前为「{action.status.value}」，"
                "只有已完成的措施才能验证",
            )


class LogCommunication(Command):
    name: ClassVar[str] = "log_communication"
    records: ClassVar[type[EventPayload]] = ev.CommunicationLogged

    direction: Direction = Field(description="to_complainant, from_complainant or internal (方向)")
    summary: Text = Field(description="what was said (内容摘要)")
    method: ContactMethod | None = Field(default=None,
        description="phone, sms, in_person, letter, email, online")




class Respond(Command):
    """Tell the complainant the findings, the measures and the outcome."""

    name: ClassVar[str] = "respond"
    records: ClassVar[type[EventPayload]] = ev.Responded

    method: ContactMethod = Field(description="how the answer was given (答复方式)")
    text: Text = Field(description="the answer: findings, measures, outcome (答复内容)")
    outcome: Outcome = Field(
        description="kind: upheld, partly_upheld, not_upheld, resolved_by_explanation; reason")

    def guard(self, case: Case, event_at: date) -> None:
        check_response(self, case, self.outcome)


class RecordFollowUp(Command):
    """回访: the satisfaction check, or a note that the complainant could not be reached."""

    name: ClassVar[str] = "record_follow_up"
    records: ClassVar[type[EventPayload]] = ev.FollowUpRecorded

    method: ContactMethod = Field(description="how the follow-up was made (回访方式)")
    satisfaction: int | None = Field(default=None, ge=1, le=5,
        description="1-5 (满意度), or leave out with unreachable=true")
    comments: Text | None = Field(default=None, description="what the complainant said (回访意见)")
    unreachable: bool = Field(default=False,
        description="true when the complainant could not be reached")

    @model_validator(mode="after")
    def _result(self) -> Self:
        check_follow_up_result(self.satisfaction, self.unreachable)
        return self


class WaiveFollowUp(Command):
    name: ClassVar[str] = "waive_follow_up"
    records: ClassVar[type[EventPayload]] = ev.FollowUpWaived

    reason: Text = Field(description="why no follow-up is made (免于回访理由)")


class Close(Command):
    name: ClassVar[str] = "close"
    records: ClassVar[type[EventPayload]] = ev.Closed

    summary: Text | None = Field(default=None, description="closing note (办结说明)")

    def guard(self, case: Case, event_at: date) -> None:
        if case.response is None:
            raise self._fail(case, "the complainant has not been answered yet",
                             "尚未答复投诉人")
        if case.follow_up is None and case.follow_up_waived is None:
            raise self._fail(
                case, "no follow-up is recorded; record one (record_follow_up) or waive it "
                "with a reason (waive_follow_up)",
                "尚未回访：请记录回访结果或说明免于回访的理由",
            )
        unfinished = [a.action_id for a in case.actions.values()
                      if a.status not in FINISHED_ACTION_STATUSES]
        if unfinished:
            raise self._fail(
                case, f"rectification actions still open: {', '.join(unfinished)}",
                f"尚有未完成的整改措施：{', '.join(unfinished)}",
            )


class Withdraw(Command):
    name: ClassVar[str] = "withdraw"
    records: ClassVar[type[EventPayload]] = ev.Withdrawn

    reason: Text = Field(description="why the complainant withdrew (撤回理由)")


class Refer(Command):
    """Refer to the competent body. This ends local handling."""

    name: ClassVar[str] = "refer"
    records: ClassVar[type[EventPayload]] = ev.Referred

    referred_to: ShortText = Field(description="the body the case goes to (转办机构)")
    reason: Text = Field(description="why it is referred (转办理由)")


class Decline(Command):
    """Not accepted (不予受理), with the reason given to the complainant and its code."""

    name: ClassVar[str] = "decline"
    records: ClassVar[type[EventPayload]] = DeclinedV2

    reason: Text = Field(description="why it is not accepted, as told (不予受理理由)")
    reason_code: NotAcceptedReason | None = Field(default=None, description=(
        "litigation_or_petition, another_body, repeat_without_new_facts, secrets_or_privacy, "
        "malicious, other (不予受理理由类别)"))


class Reopen(Command):
    name: ClassVar[str] = "reopen"
    records: ClassVar[type[EventPayload]] = ev.Reopened

    reason: Text = Field(description="why the case is reopened (重新办理理由)")


class ExtendDeadline(Command):
    """Extend a milestone's deadline. The SLA policy decides how far, and whether the
    complainant's consent must be recorded; the service checks it before handling."""

    name: ClassVar[str] = "extend_deadline"
    records: ClassVar[type[EventPayload]] = ev.DeadlineExtended

    milestone: Milestone = Field(description="acknowledge, respond, close or follow_up")
    days: int = Field(ge=1, le=366, description="days to add (1-366), within the policy's limit")
    reason: Text = Field(description="why (延期理由)")
    consent: bool = Field(default=False,
        description="true when the complainant consented (some policies require it)")


class RecordDeadlineAlert(Command):
    """A reminder (due soon, 催办) or escalation (overdue, 督办) raised by the SLA sweep."""

    name: ClassVar[str] = "record_deadline_alert"
    records: ClassVar[type[EventPayload]] = ev.DeadlineAlertRecorded

    milestone: ShortText  # a Milestone value, or "action:A1" for a rectification action
    kind: AlertKind
    due: Instant
    policy: ShortText

    def guard(self, case: Case, event_at: date) -> None:
        if (self.milestone, self.kind.value) in case.deadline_alerts:
            raise self._fail(
                case, f"alert {self.kind.value} for {self.milestone} was already raised",
                f"{self.milestone} 的「{self.kind.value}」提醒已发出过",
            )


class RecordClusterAlert(Command):
    """A cluster of complaints (the same device, or the same reporting delay, within
    ``window_days``) found by the correlation summary; recorded on the cluster's latest
    complaint by ``service.record_cluster_alerts()``."""

    name: ClassVar[str] = "record_cluster_alert"
    records: ClassVar[type[EventPayload]] = ev.ClusterAlertRecorded

    kind: ShortText  # what the cluster shares, e.g. "device" or "report_delay"
    key: ShortText  # the shared thing, e.g. the device "CT2"
    complaint_refs: list[ShortText] = Field(min_length=1)
    first: Instant
    last: Instant
    window_days: int = Field(ge=1, le=366)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.last < self.first:
            raise ValueError("last is before first (最后一次投诉时间早于第一次)")
        return self

    def guard(self, case: Case, event_at: date) -> None:
        if (self.kind, self.key, self.first) in case.cluster_alerts:
            raise self._fail(
                case, f"the {self.kind} cluster {self.key} starting {self.first.isoformat()} "
                "was already recorded",
                f"{self.kind} 聚集 {self.key}（始于 {self.first.isoformat()}）已记录过",
            )


class AddAttachment(Command):
    """Supporting material stored in the blob store (use ``service.attach``)."""

    name: ClassVar[str] = "add_attachment"
    records: ClassVar[type[EventPayload]] = ev.AttachmentAdded

    attachment: Attachment

    def guard(self, case: Case, event_at: date) -> None:
        if any(a.sha256 == self.attachment.sha256 for a in case.complaint.attachments):
            raise self._fail(case, "this file is already attached", "该文件已附上")


class RevealIdentity(Command):
    """Audit record of someone seeing the complainant's and patient's identity unmasked.

    Recorded by ``service.reveal_identity`` after the access-control decision allowed it.
    """

    name: ClassVar[str] = "reveal_identity"
    records: ClassVar[type[EventPayload]] = ev.IdentityRevealed

    viewer: ShortText
    roles: list[ShortText] = Field(default_factory=list)
    viewer_department: ShortText | None = None
    purpose: Text
    decided_by: ShortText
    decision_reason: Text | None = None


class RefuseIdentity(Command):
    """Audit record of a refused attempt to see the identity (who asked, why, who refused).

    Recorded by the service whenever the access decision says no, before the refusal is
    raised to the caller.
    """

    name: ClassVar[str] = "refuse_identity"
    records: ClassVar[type[EventPayload]] = ev.IdentityRevealRefused

    viewer: ShortText
    roles: list[ShortText] = Field(default_factory=list)
    viewer_department: ShortText | None = None
    purpose: Text
    decided_by: ShortText
    decision_reason: Text | None = None


class ViewAttachment(Command):
    """Audit record of someone opening an attachment, after the access decision allowed it
    (``service.read_attachment``)."""

    name: ClassVar[str] = "view_attachment"
    records: ClassVar[type[EventPayload]] = ev.AttachmentViewed

    sha256: Sha256
    viewer: ShortText
    roles: list[ShortText] = Field(default_factory=list)
    viewer_department: ShortText | None = None
    purpose: Text
    decided_by: ShortText
    decision_reason: Text | None = None


class RefuseAttachment(Command):
    """Audit record of a refused attempt to open an attachment."""

    name: ClassVar[str] = "refuse_attachment"
    records: ClassVar[type[EventPayload]] = ev.AttachmentViewRefused

    sha256: Sha256
    viewer: ShortText
    roles: list[ShortText] = Field(default_factory=list)
    viewer_department: ShortText | None = None
    purpose: Text
    decided_by: ShortText
    decision_reason: Text | None = None


ALL_COMMANDS: tuple[type[Command], ...] = (
    RegisterComplaint, Acknowledge, Classify, Assign, LinkExam, StartInvestigation,
    AddTeamMember, AddEvidence, RecordFinding, PlanAction, RecordProgress, VerifyAction,
    LogCommunication, Respond, RecordFollowUp, WaiveFollowUp, Close, Withdraw, Refer, Decline,
    Reopen, ExtendDeadline, RecordDeadlineAlert, AddAttachment, RevealIdentity, RefuseIdentity,
    RecordClusterAlert, ViewAttachment, RefuseAttachment, *WORK_ORDER_COMMANDS,
)

#: Commands only the service itself issues, after its own checks: registration (with
#: routing and idempotency), attachments (whose file it stored and checked), deadline
#: alerts (from the SLA sweep), cluster alerts (from the correlation summary) and the
#: identity audit records (after the access decision).
#: No door (CLI, HTTP, a plugin's ``execute``) may submit them.
SERVICE_ONLY_COMMANDS: dict[str, str] = {
    RegisterComplaint.name: "register() or intake()",
    AddAttachment.name: "attach()",
    RecordDeadlineAlert.name: "record_deadline_alerts() (the SLA sweep)",
    RevealIdentity.name: "reveal_identity()",
    RefuseIdentity.name: "reveal_identity()",
    RecordClusterAlert.name: "record_cluster_alerts() (correlation summary)",
    ViewAttachment.name: "read_attachment()",
    RefuseAttachment.name: "read_attachment()",
    RecordSupervision.name: "workorders.supervise() (the supervision sweep)",
    MergeInto.name: "workorders.merge()",
    AbsorbCase.name: "workorders.merge()",
    UndoMerge.name: "workorders.split()",
}
#: Commands a clerk or a host system may submit by name.
PUBLIC_COMMANDS: tuple[str, ...] = tuple(c.name for c in ALL_COMMANDS
                                         if c.name not in SERVICE_ONLY_COMMANDS)
COMMAND_BY_EVENT: dict[str, type[Command]] = {c.event_type: c for c in ALL_COMMANDS}
COMMAND_BY_NAME: dict[str, type[Command]] = {c.name: c for c in ALL_COMMANDS}

__all__ = [c.__name__ for c in ALL_COMMANDS] + [
    "ALL_COMMANDS", "COMMAND_BY_EVENT", "COMMAND_BY_NAME", "PUBLIC_COMMANDS",
    "SERVICE_ONLY_COMMANDS", "Command", "Complaint",
]

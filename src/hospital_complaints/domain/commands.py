"""Commands a clerk or a host system gives, and what each one does to a case.

Each command knows three things:
- ``prepare``: fill ids the system assigns (evidence E1, action A1 ...), so that the event
  carries them and replay is deterministic;
- ``guard``: conditions beyond the transition table (raise :class:`GuardFailed`);
- ``apply``: change the case from the event. This is the only place a case changes, and it
  runs both when a command is handled and when a case is rebuilt from its events.

Which command is allowed in which state is *not* here: that is the table in ``workflow.py``.
"""

from __future__ import annotations

from datetime import date
from typing import ClassVar, Self

from pydantic import Field, model_validator

from ..errors import GuardFailed
from .base import Instant, ShortText, StrictModel, Text
from .case import Case, Extension
from .complaint import (
    Attachment,
    CategorySuggestion,
    CommunicationEntry,
    Complaint,
    ComplaintDraft,
    EvidenceItem,
    ExamLink,
    Finding,
    FollowUp,
    Outcome,
    ProgressCheck,
    RectificationAction,
    Response,
    Sha256,
    TeamMember,
    Verification,
    check_follow_up_result,
)
from .events import Event
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
    OutcomeKind,
    Severity,
)


class Command(StrictModel):
    name: ClassVar[str]
    event_type: ClassVar[str]

    def prepare(self, case: Case) -> Self:
        return self

    def guard(self, case: Case, event_at: date) -> None:
        return None

    def apply(self, case: Case, event: Event) -> None:
        raise NotImplementedError

    def reason_text(self) -> str | None:
        reason = getattr(self, "reason", None)
        return reason if isinstance(reason, str) else None

    def _fail(self, case: Case, en: str, zh: str) -> GuardFailed:
        return GuardFailed(case.state.value, self.name, en, zh)


class RegisterComplaint(Command):
    name: ClassVar[str] = "register"
    event_type: ClassVar[str] = "complaint_registered"

    complaint: ComplaintDraft
    suggestions: list[CategorySuggestion] = Field(default_factory=list)

    def apply(self, case: Case, event: Event) -> None:  # the case is created by workflow.start
        case.suggestions = list(self.suggestions)


class Acknowledge(Command):
    """First feedback to the complainant: received, how it will be handled, when they hear."""

    name: ClassVar[str] = "acknowledge"
    event_type: ClassVar[str] = "acknowledged"

    method: ContactMethod
    message: Text
    expected_response_by: date | None = None

    def apply(self, case: Case, event: Event) -> None:
        case.acknowledged_at = event.at
        case.communications.append(
            CommunicationEntry(
                entry_id=f"C{len(case.communications) + 1}",
                at=event.at,
                by=event.actor,
                direction=Direction.TO_COMPLAINANT,
                method=self.method,
                summary=self.message,
            )
        )


class Classify(Command):
    name: ClassVar[str] = "classify"
    event_type: ClassVar[str] = "classified"

    categories: list[Category] | None = None
    kind: ComplaintKind | None = None
    severity: Severity | None = None
    harm: Harm | None = None
    complexity: Complexity | None = None

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

    def apply(self, case: Case, event: Event) -> None:
        update = {k: v for k, v in {
            "categories": list(dict.fromkeys(self.categories)) if self.categories else None,
            "kind": self.kind, "severity": self.severity, "harm": self.harm,
            "complexity": self.complexity,
        }.items() if v is not None}
        case.complaint = case.complaint.model_copy(update=update)


class Assign(Command):
    """Route the case to a department and, optionally, a named owner."""

    name: ClassVar[str] = "assign"
    event_type: ClassVar[str] = "assigned"

    department: ShortText
    owner: ShortText | None = None

    def apply(self, case: Case, event: Event) -> None:
        case.complaint = case.complaint.model_copy(update={"department": self.department})
        case.owner = self.owner


class LinkExam(Command):
    name: ClassVar[str] = "link_exam"
    event_type: ClassVar[str] = "exam_linked"

    link: ExamLink

    def guard(self, case: Case, event_at: date) -> None:
        if self.link in case.complaint.exam_links:
            raise self._fail(case, "this exam is already linked", "该检查已关联")

    def apply(self, case: Case, event: Event) -> None:
        links = [*case.complaint.exam_links, self.link]
        case.complaint = case.complaint.model_copy(update={"exam_links": links})


class StartInvestigation(Command):
    name: ClassVar[str] = "start_investigation"
    event_type: ClassVar[str] = "investigation_started"

    team: list[TeamMember] = Field(min_length=1)

    def apply(self, case: Case, event: Event) -> None:
        if case.investigation.started_at is None:
            case.investigation.started_at = event.at
        case.investigation.team.extend(self.team)


class AddTeamMember(Command):
    name: ClassVar[str] = "add_team_member"
    event_type: ClassVar[str] = "team_member_added"

    member: TeamMember

    def apply(self, case: Case, event: Event) -> None:
        case.investigation.team.append(self.member)


class AddEvidence(Command):
    name: ClassVar[str] = "add_evidence"
    event_type: ClassVar[str] = "evidence_added"

    type: EvidenceType
    description: Text
    reference: ShortText | None = None
    sha256: Sha256 | None = None
    evidence_id: ShortText | None = None  # assigned by the system

    def prepare(self, case: Case) -> Self:
        return self.model_copy(update={"evidence_id": f"E{len(case.investigation.evidence) + 1}"})

    def apply(self, case: Case, event: Event) -> None:
        assert self.evidence_id is not None
        case.investigation.evidence.append(
            EvidenceItem(
                evidence_id=self.evidence_id, type=self.type, description=self.description,
                reference=self.reference, sha256=self.sha256,
                added_by=event.actor, added_at=event.at,
            )
        )


class RecordFinding(Command):
    name: ClassVar[str] = "record_finding"
    event_type: ClassVar[str] = "finding_recorded"

    text: Text
    root_causes: list[Text] = Field(default_factory=list)

    def apply(self, case: Case, event: Event) -> None:
        case.investigation.findings.append(
            Finding(text=self.text, root_causes=self.root_causes,
                    recorded_by=event.actor, recorded_at=event.at)
        )


class PlanAction(Command):
    """A rectification action with an owner and a due date."""

    name: ClassVar[str] = "plan_action"
    event_type: ClassVar[str] = "action_planned"

    type: ActionType
    description: Text
    owner: ShortText
    due: date
    action_id: ShortText | None = None  # assigned by the system

    def prepare(self, case: Case) -> Self:
        return self.model_copy(update={"action_id": f"A{len(case.actions) + 1}"})

    def guard(self, case: Case, event_at: date) -> None:
        if self.due < event_at:
            raise self._fail(
                case, f"due date {self.due} is before today ({event_at})",
                f"整改期限 {self.due} 早于今天（{event_at}）",
            )

    def apply(self, case: Case, event: Event) -> None:
        assert self.action_id is not None
        case.actions[self.action_id] = RectificationAction(
            action_id=self.action_id, type=self.type, description=self.description,
            owner=self.owner, due=self.due,
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
    event_type: ClassVar[str] = "action_progress_recorded"

    action_id: ShortText
    status: ActionStatus
    note: Text

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

    def apply(self, case: Case, event: Event) -> None:
        action = case.actions[self.action_id]
        check = ProgressCheck(at=event.at, by=event.actor, status=self.status, note=self.note)
        case.actions[self.action_id] = action.model_copy(
            update={"status": self.status, "progress": [*action.progress, check]}
        )


class VerifyAction(Command):
    """Verification that a finished action had the intended effect."""

    name: ClassVar[str] = "verify_action"
    event_type: ClassVar[str] = "action_verified"

    action_id: ShortText
    effective: bool
    note: Text

    def guard(self, case: Case, event_at: date) -> None:
        action = _action(self, case, self.action_id)
        if action.status is not ActionStatus.DONE:
            raise self._fail(
                case, f"action {self.action_id} is '{action.status.value}'; only a 'done' "
                "action can be verified",
                f"整改措施 {self.action_id} 当前为「{action.status.value}」，"
                "只有已完成的措施才能验证",
            )

    def apply(self, case: Case, event: Event) -> None:
        action = case.actions[self.action_id]
        verification = Verification(at=event.at, by=event.actor, effective=self.effective,
                                    note=self.note)
        # an ineffective action is reopened: the rectification is not finished
        status = ActionStatus.VERIFIED if self.effective else ActionStatus.IN_PROGRESS
        case.actions[self.action_id] = action.model_copy(
            update={"status": status, "verification": verification}
        )


class LogCommunication(Command):
    name: ClassVar[str] = "log_communication"
    event_type: ClassVar[str] = "communication_logged"

    direction: Direction
    summary: Text
    method: ContactMethod | None = None

    def apply(self, case: Case, event: Event) -> None:
        case.communications.append(
            CommunicationEntry(
                entry_id=f"C{len(case.communications) + 1}", at=event.at, by=event.actor,
                direction=self.direction, method=self.method, summary=self.summary,
            )
        )


RESPONSE_OUTCOMES = frozenset({
    OutcomeKind.UPHELD, OutcomeKind.PARTLY_UPHELD, OutcomeKind.NOT_UPHELD,
    OutcomeKind.RESOLVED_BY_EXPLANATION,
})


class Respond(Command):
    """Tell the complainant the findings, the measures and the outcome."""

    name: ClassVar[str] = "respond"
    event_type: ClassVar[str] = "responded"

    method: ContactMethod
    text: Text
    outcome: Outcome

    def guard(self, case: Case, event_at: date) -> None:
        if self.outcome.kind not in RESPONSE_OUTCOMES:
            allowed = ", ".join(sorted(k.value for k in RESPONSE_OUTCOMES))
            raise self._fail(
                case, f"outcome '{self.outcome.kind.value}' has its own command "
                f"(refer, decline, withdraw); a response's outcome is one of: {allowed}",
                f"结果「{self.outcome.kind.value}」应使用相应命令（转办、不予受理、撤回）",
            )
        if self.outcome.kind in {OutcomeKind.UPHELD, OutcomeKind.PARTLY_UPHELD} \
                and not case.investigation.findings:
            raise self._fail(
                case, "an upheld complaint needs at least one recorded finding first",
                "投诉成立须先记录调查结论",
            )

    def apply(self, case: Case, event: Event) -> None:
        case.response = Response(at=event.at, by=event.actor, method=self.method,
                                 text=self.text, outcome=self.outcome)
        case.outcome = self.outcome
        case.communications.append(
            CommunicationEntry(
                entry_id=f"C{len(case.communications) + 1}", at=event.at, by=event.actor,
                direction=Direction.TO_COMPLAINANT, method=self.method, summary=self.text,
            )
        )


class RecordFollowUp(Command):
    """回访: the satisfaction check, or a note that the complainant could not be reached."""

    name: ClassVar[str] = "record_follow_up"
    event_type: ClassVar[str] = "follow_up_recorded"

    method: ContactMethod
    satisfaction: int | None = Field(default=None, ge=1, le=5)
    comments: Text | None = None
    unreachable: bool = False

    def apply(self, case: Case, event: Event) -> None:
        case.follow_up = FollowUp(
            at=event.at, by=event.actor, method=self.method, satisfaction=self.satisfaction,
            comments=self.comments, unreachable=self.unreachable,
        )

    @model_validator(mode="after")
    def _result(self) -> Self:
        check_follow_up_result(self.satisfaction, self.unreachable)
        return self


class WaiveFollowUp(Command):
    name: ClassVar[str] = "waive_follow_up"
    event_type: ClassVar[str] = "follow_up_waived"

    reason: Text

    def apply(self, case: Case, event: Event) -> None:
        case.follow_up_waived = self.reason


class Close(Command):
    name: ClassVar[str] = "close"
    event_type: ClassVar[str] = "closed"

    summary: Text | None = None

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

    def apply(self, case: Case, event: Event) -> None:
        case.closed_at = event.at


class Withdraw(Command):
    name: ClassVar[str] = "withdraw"
    event_type: ClassVar[str] = "withdrawn"

    reason: Text

    def apply(self, case: Case, event: Event) -> None:
        case.outcome = Outcome(kind=OutcomeKind.WITHDRAWN, reason=self.reason)
        case.closed_at = event.at


class Refer(Command):
    """Refer to the competent body. This ends local handling."""

    name: ClassVar[str] = "refer"
    event_type: ClassVar[str] = "referred"

    referred_to: ShortText
    reason: Text

    def apply(self, case: Case, event: Event) -> None:
        case.outcome = Outcome(kind=OutcomeKind.REFERRED, referred_to=self.referred_to,
                               reason=self.reason)
        case.closed_at = event.at


class Decline(Command):
    """Not accepted (不予受理), with the reason given to the complainant."""

    name: ClassVar[str] = "decline"
    event_type: ClassVar[str] = "declined"

    reason: Text

    def apply(self, case: Case, event: Event) -> None:
        case.outcome = Outcome(kind=OutcomeKind.NOT_ACCEPTED, reason=self.reason)
        case.closed_at = event.at


class Reopen(Command):
    name: ClassVar[str] = "reopen"
    event_type: ClassVar[str] = "reopened"

    reason: Text

    def apply(self, case: Case, event: Event) -> None:
        case.reopen_count += 1
        case.closed_at = None
        case.outcome = None
        case.response = None
        case.follow_up = None
        case.follow_up_waived = None
        if case.investigation.started_at is None:
            case.investigation.started_at = event.at


class ExtendDeadline(Command):
    """Extend a milestone's deadline. The SLA policy decides how far, and whether the
    complainant's consent must be recorded; the service checks it before handling."""

    name: ClassVar[str] = "extend_deadline"
    event_type: ClassVar[str] = "deadline_extended"

    milestone: Milestone
    days: int = Field(ge=1, le=366)
    reason: Text
    consent: bool = False

    def apply(self, case: Case, event: Event) -> None:
        case.extensions.append(Extension(
            milestone=self.milestone.value, days=self.days, reason=self.reason,
            consent=self.consent, at=event.at, by=event.actor,
        ))


class RecordDeadlineAlert(Command):
    """A reminder (due soon, 催办) or escalation (overdue, 督办) raised by the SLA sweep."""

    name: ClassVar[str] = "record_deadline_alert"
    event_type: ClassVar[str] = "deadline_alert"

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

    def apply(self, case: Case, event: Event) -> None:
        case.deadline_alerts.add((self.milestone, self.kind.value))


class AddAttachment(Command):
    """Supporting material stored in the blob store (use ``service.attach``)."""

    name: ClassVar[str] = "add_attachment"
    event_type: ClassVar[str] = "attachment_added"

    attachment: Attachment

    def guard(self, case: Case, event_at: date) -> None:
        if any(a.sha256 == self.attachment.sha256 for a in case.complaint.attachments):
            raise self._fail(case, "this file is already attached", "该文件已附上")

    def apply(self, case: Case, event: Event) -> None:
        attachments = [*case.complaint.attachments, self.attachment]
        case.complaint = case.complaint.model_copy(update={"attachments": attachments})


class RevealIdentity(Command):
    """Audit record of someone seeing the complainant's and patient's identity unmasked.

    Recorded by ``service.reveal_identity`` after the access-control decision allowed it.
    """

    name: ClassVar[str] = "reveal_identity"
    event_type: ClassVar[str] = "identity_revealed"

    viewer: ShortText
    roles: list[ShortText] = Field(default_factory=list)
    viewer_department: ShortText | None = None
    purpose: Text
    decided_by: ShortText
    decision_reason: Text | None = None

    def apply(self, case: Case, event: Event) -> None:
        return None


class RefuseIdentity(Command):
    """Audit record of a refused attempt to see the identity (who asked, why, who refused).

    Recorded by the service whenever the access decision says no, before the refusal is
    raised to the caller.
    """

    name: ClassVar[str] = "refuse_identity"
    event_type: ClassVar[str] = "identity_reveal_refused"

    viewer: ShortText
    roles: list[ShortText] = Field(default_factory=list)
    viewer_department: ShortText | None = None
    purpose: Text
    decided_by: ShortText
    decision_reason: Text | None = None

    def apply(self, case: Case, event: Event) -> None:
        return None


ALL_COMMANDS: tuple[type[Command], ...] = (
    RegisterComplaint, Acknowledge, Classify, Assign, LinkExam, StartInvestigation,
    AddTeamMember, AddEvidence, RecordFinding, PlanAction, RecordProgress, VerifyAction,
    LogCommunication, Respond, RecordFollowUp, WaiveFollowUp, Close, Withdraw, Refer, Decline,
    Reopen, ExtendDeadline, RecordDeadlineAlert, AddAttachment, RevealIdentity, RefuseIdentity,
)

#: Commands only the service itself issues, after its own checks: registration (with
#: routing and idempotency), attachments (whose file it stored and checked), deadline
#: alerts (from the SLA sweep) and the identity audit records (after the access decision).
#: No door (CLI, HTTP, a plugin's ``execute``) may submit them.
SERVICE_ONLY_COMMANDS: dict[str, str] = {
    RegisterComplaint.name: "register() or intake()",
    AddAttachment.name: "attach()",
    RecordDeadlineAlert.name: "record_deadline_alerts() (the SLA sweep)",
    RevealIdentity.name: "reveal_identity()",
    RefuseIdentity.name: "reveal_identity()",
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

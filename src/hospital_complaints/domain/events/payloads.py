"""Event payloads: what each event records, one class per event type and schema version.

A payload class is the stored schema of its event (``schemas/events/<type>.v<N>.schema.json``
is generated from it) and owns ``apply``: how the event changes a case. ``apply`` runs both
when a command is handled and when a case is replayed from storage; it is the only code that
changes a case. It never checks anything: the decision was made, and recorded, when the
command ran (the transition table and the command's guard). Domain records are built with
:func:`.records.adopt` / ``model_construct``, so today's input rules never refuse what was
stored.

A released class is never changed. To change what an event records, add a class with the next
``version`` and register an upcaster from the previous one (:mod:`.registry`); only the
newest version of a type needs ``apply``. See docs/events.md.
"""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from pydantic import AwareDatetime, Field

from ..case import Case, Extension
from ..complaint import (
    Attachment,
    CategorySuggestion,
    CommunicationEntry,
    Complaint,
    EvidenceItem,
    ExamLink,
    Finding,
    FollowUp,
    Outcome,
    ProgressCheck,
    RectificationAction,
    Response,
    TeamMember,
    Verification,
)
from ..taxonomy import (
    ActionStatus,
    ActionType,
    AlertKind,
    CaseState,
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
from .event import Event
from .records import (
    AttachmentRecord,
    ComplaintRecord,
    ExamLinkRecord,
    OutcomeRecord,
    Record,
    SuggestionRecord,
    TeamMemberRecord,
    adopt,
)


class EventPayload(Record):
    """Base of every payload class: its event type, its schema version, and ``apply``."""

    event_type: ClassVar[str]
    version: ClassVar[int] = 1

    def apply(self, case: Case, event: Event) -> None:
        """Change ``case`` as this event says (runs live and on replay)."""
        raise NotImplementedError(
            f"{type(self).__name__} ({self.event_type} v{self.version}) is not the newest "
            "version of its event: it is upcast before it is applied")

    @classmethod
    def schema_id(cls) -> str:
        """``acknowledged/1``: the name of this payload schema in the stored envelope."""
        return f"{cls.event_type}/{cls.version}"


def _entry(case: Case, event: Event, direction: Direction, method: ContactMethod | None,
           summary: str) -> CommunicationEntry:
    return CommunicationEntry.model_construct(
        entry_id=f"C{len(case.communications) + 1}", at=event.at, by=event.actor,
        direction=direction, method=method, summary=summary)


# -- registration -----------------------------------------------------------------------------


class ComplaintRegistered(EventPayload):
    """The complaint as registered, and the classifiers' suggestions (never applied)."""

    event_type: ClassVar[str] = "complaint_registered"

    complaint: ComplaintRecord
    suggestions: list[SuggestionRecord] = Field(default_factory=list)

    def open(self, event: Event) -> Case:
        """The new case this registration creates (a case's first event)."""
        case = Case(complaint=adopt(Complaint, self.complaint, reference=event.complaint_ref),
                    state=CaseState.REGISTERED)
        case.suggestions = [adopt(CategorySuggestion, s) for s in self.suggestions]
        return case

    def apply(self, case: Case, event: Event) -> None:
        raise ValueError("complaint_registered opens a case; it cannot be applied to one")


# -- handling ---------------------------------------------------------------------------------


class Acknowledged(EventPayload):
    event_type: ClassVar[str] = "acknowledged"

    method: ContactMethod
    message: str
    expected_response_by: date | None = None

    def apply(self, case: Case, event: Event) -> None:
        case.acknowledged_at = event.at
        case.communications.append(
            _entry(case, event, Direction.TO_COMPLAINANT, self.method, self.message))


class Classified(EventPayload):
    event_type: ClassVar[str] = "classified"

    categories: list[Category] | None = None
    kind: ComplaintKind | None = None
    severity: Severity | None = None
    harm: Harm | None = None
    complexity: Complexity | None = None

    def apply(self, case: Case, event: Event) -> None:
        update = {k: v for k, v in {
            "categories": list(dict.fromkeys(self.categories)) if self.categories else None,
            "kind": self.kind, "severity": self.severity, "harm": self.harm,
            "complexity": self.complexity,
        }.items() if v is not None}
        case.complaint = case.complaint.model_copy(update=update)


class Assigned(EventPayload):
    event_type: ClassVar[str] = "assigned"

    department: str
    owner: str | None = None

    def apply(self, case: Case, event: Event) -> None:
        case.complaint = case.complaint.model_copy(update={"department": self.department})
        case.owner = self.owner


class ExamLinked(EventPayload):
    event_type: ClassVar[str] = "exam_linked"

    link: ExamLinkRecord

    def apply(self, case: Case, event: Event) -> None:
        links = [*case.complaint.exam_links, adopt(ExamLink, self.link)]
        case.complaint = case.complaint.model_copy(update={"exam_links": links})


class InvestigationStarted(EventPayload):
    event_type: ClassVar[str] = "investigation_started"

    team: list[TeamMemberRecord]

    def apply(self, case: Case, event: Event) -> None:
        if case.investigation.started_at is None:
            case.investigation.started_at = event.at
        case.investigation.team.extend(adopt(TeamMember, m) for m in self.team)


class TeamMemberAdded(EventPayload):
    event_type: ClassVar[str] = "team_member_added"

    member: TeamMemberRecord

    def apply(self, case: Case, event: Event) -> None:
        case.investigation.team.append(adopt(TeamMember, self.member))


class EvidenceAdded(EventPayload):
    event_type: ClassVar[str] = "evidence_added"

    type: EvidenceType
    description: str
    reference: str | None = None
    sha256: str | None = None
    evidence_id: str

    def apply(self, case: Case, event: Event) -> None:
        case.investigation.evidence.append(adopt(
            EvidenceItem, self, added_by=event.actor, added_at=event.at))


class FindingRecorded(EventPayload):
    event_type: ClassVar[str] = "finding_recorded"

    text: str
    root_causes: list[str] = Field(default_factory=list)

    def apply(self, case: Case, event: Event) -> None:
        case.investigation.findings.append(adopt(
            Finding, self, recorded_by=event.actor, recorded_at=event.at))


class ActionPlanned(EventPayload):
    event_type: ClassVar[str] = "action_planned"

    type: ActionType
    description: str
    owner: str
    due: date
    action_id: str

    def apply(self, case: Case, event: Event) -> None:
        case.actions[self.action_id] = adopt(RectificationAction, self)


class ActionProgressRecorded(EventPayload):
    event_type: ClassVar[str] = "action_progress_recorded"

    action_id: str
    status: ActionStatus
    note: str

    def apply(self, case: Case, event: Event) -> None:
        action = case.actions[self.action_id]
        check = ProgressCheck.model_construct(at=event.at, by=event.actor, status=self.status,
                                              note=self.note)
        case.actions[self.action_id] = action.model_copy(
            update={"status": self.status, "progress": [*action.progress, check]})


class ActionVerified(EventPayload):
    event_type: ClassVar[str] = "action_verified"

    action_id: str
    effective: bool
    note: str

    def apply(self, case: Case, event: Event) -> None:
        action = case.actions[self.action_id]
        verification = Verification.model_construct(at=event.at, by=event.actor,
                                                     effective=self.effective, note=self.note)
        # an ineffective action is reopened: the rectification is not finished
        status = ActionStatus.VERIFIED if self.effective else ActionStatus.IN_PROGRESS
        case.actions[self.action_id] = action.model_copy(
            update={"status": status, "verification": verification})


class CommunicationLogged(EventPayload):
    event_type: ClassVar[str] = "communication_logged"

    direction: Direction
    summary: str
    method: ContactMethod | None = None

    def apply(self, case: Case, event: Event) -> None:
        case.communications.append(
            _entry(case, event, self.direction, self.method, self.summary))


class Responded(EventPayload):
    event_type: ClassVar[str] = "responded"

    method: ContactMethod
    text: str
    outcome: OutcomeRecord

    def apply(self, case: Case, event: Event) -> None:
        outcome = adopt(Outcome, self.outcome)
        case.response = Response.model_construct(at=event.at, by=event.actor,
                                                 method=self.method, text=self.text,
                                                 outcome=outcome)
        case.outcome = outcome
        case.communications.append(
            _entry(case, event, Direction.TO_COMPLAINANT, self.method, self.text))


class FollowUpRecorded(EventPayload):
    event_type: ClassVar[str] = "follow_up_recorded"

    method: ContactMethod
    satisfaction: int | None = None
    comments: str | None = None
    unreachable: bool = False

    def apply(self, case: Case, event: Event) -> None:
        case.follow_up = adopt(FollowUp, self, at=event.at, by=event.actor)


class FollowUpWaived(EventPayload):
    event_type: ClassVar[str] = "follow_up_waived"

    reason: str

    def apply(self, case: Case, event: Event) -> None:
        case.follow_up_waived = self.reason


class Closed(EventPayload):
    event_type: ClassVar[str] = "closed"

    summary: str | None = None

    def apply(self, case: Case, event: Event) -> None:
        case.closed_at = event.at


def _end(case: Case, event: Event, outcome: Outcome) -> None:
    case.outcome = outcome
    case.closed_at = event.at


class Withdrawn(EventPayload):
    event_type: ClassVar[str] = "withdrawn"

    reason: str

    def apply(self, case: Case, event: Event) -> None:
        _end(case, event, adopt(Outcome, kind=OutcomeKind.WITHDRAWN, reason=self.reason))


class Referred(EventPayload):
    event_type: ClassVar[str] = "referred"

    referred_to: str
    reason: str

    def apply(self, case: Case, event: Event) -> None:
        _end(case, event, adopt(Outcome, kind=OutcomeKind.REFERRED,
                                referred_to=self.referred_to, reason=self.reason))


class Declined(EventPayload):
    event_type: ClassVar[str] = "declined"

    reason: str

    def apply(self, case: Case, event: Event) -> None:
        _end(case, event, adopt(Outcome, kind=OutcomeKind.NOT_ACCEPTED, reason=self.reason))


class Reopened(EventPayload):
    event_type: ClassVar[str] = "reopened"

    reason: str

    def apply(self, case: Case, event: Event) -> None:
        case.reopen_count += 1
        case.closed_at = None
        case.outcome = None
        case.response = None
        case.follow_up = None
        case.follow_up_waived = None
        if case.investigation.started_at is None:
            case.investigation.started_at = event.at


class DeadlineExtended(EventPayload):
    event_type: ClassVar[str] = "deadline_extended"

    milestone: Milestone
    days: int
    reason: str
    consent: bool = False

    def apply(self, case: Case, event: Event) -> None:
        case.extensions.append(Extension(
            milestone=self.milestone.value, days=self.days, reason=self.reason,
            consent=self.consent, at=event.at, by=event.actor))


class DeadlineAlertRecorded(EventPayload):
    """A reminder (due soon, 催办) or escalation (overdue, 督办) raised by the SLA sweep."""

    event_type: ClassVar[str] = "deadline_alert"

    milestone: str  # a Milestone value, or "action:A1" for a rectification action
    kind: AlertKind
    due: AwareDatetime
    policy: str

    def apply(self, case: Case, event: Event) -> None:
        case.deadline_alerts.add((self.milestone, self.kind.value))


class ClusterAlertRecorded(EventPayload):
    """A cluster of complaints (same device or delay pattern within ``window_days``) found
    by the correlation summary, recorded once on the cluster's latest complaint."""

    event_type: ClassVar[str] = "cluster_alert"

    kind: str
    key: str
    complaint_refs: list[str]
    first: AwareDatetime
    last: AwareDatetime
    window_days: int

    def apply(self, case: Case, event: Event) -> None:
        case.cluster_alerts.add((self.kind, self.key, self.first))


class AttachmentAdded(EventPayload):
    event_type: ClassVar[str] = "attachment_added"

    attachment: AttachmentRecord

    def apply(self, case: Case, event: Event) -> None:
        attachments = [*case.complaint.attachments, adopt(Attachment, self.attachment)]
        case.complaint = case.complaint.model_copy(update={"attachments": attachments})


class IdentityRevealed(EventPayload):
    """Audit record: someone saw the identity unmasked (the access decision allowed it).

    Version 1 is the shape of every payload stored before payloads had versions: release 0.1
    wrote it without ``decision_reason``, which later code added as an optional field.
    """

    event_type: ClassVar[str] = "identity_revealed"

    viewer: str
    roles: list[str] = Field(default_factory=list)
    viewer_department: str | None = None
    purpose: str
    decided_by: str
    decision_reason: str | None = None

    def apply(self, case: Case, event: Event) -> None:
        return None  # an audit record: the case itself does not change


class IdentityRevealRefused(EventPayload):
    """Audit record: an attempt to see the identity was refused (who asked, why, who said no)."""

    event_type: ClassVar[str] = "identity_reveal_refused"

    viewer: str
    roles: list[str] = Field(default_factory=list)
    viewer_department: str | None = None
    purpose: str
    decided_by: str
    decision_reason: str | None = None

    def apply(self, case: Case, event: Event) -> None:
        return None


class AttachmentViewed(EventPayload):
    """Audit record: someone opened an attachment (its content may identify a person)."""

    event_type: ClassVar[str] = "attachment_viewed"

    sha256: str
    viewer: str
    roles: list[str] = Field(default_factory=list)
    viewer_department: str | None = None
    purpose: str
    decided_by: str
    decision_reason: str | None = None

    def apply(self, case: Case, event: Event) -> None:
        return None


class AttachmentViewRefused(EventPayload):
    """Audit record: an attempt to open an attachment was refused."""

    event_type: ClassVar[str] = "attachment_view_refused"

    sha256: str
    viewer: str
    roles: list[str] = Field(default_factory=list)
    viewer_department: str | None = None
    purpose: str
    decided_by: str
    decision_reason: str | None = None

    def apply(self, case: Case, event: Event) -> None:
        return None


#: Every payload class, every version (old versions stay here for reading).
ALL_PAYLOADS: tuple[type[EventPayload], ...] = (
    ComplaintRegistered, Acknowledged, Classified, Assigned, ExamLinked, InvestigationStarted,
    TeamMemberAdded, EvidenceAdded, FindingRecorded, ActionPlanned, ActionProgressRecorded,
    ActionVerified, CommunicationLogged, Responded, FollowUpRecorded, FollowUpWaived, Closed,
    Withdrawn, Referred, Declined, Reopened, DeadlineExtended, DeadlineAlertRecorded,
    AttachmentAdded, IdentityRevealed, IdentityRevealRefused, ClusterAlertRecorded,
    AttachmentViewed, AttachmentViewRefused,
)

__all__ = [c.__name__ for c in ALL_PAYLOADS] + ["ALL_PAYLOADS", "EventPayload"]

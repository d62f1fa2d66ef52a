"""The case aggregate: a complaint and everything done about it, rebuilt from its events."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from .complaint import (
    CategorySuggestion,
    CommunicationEntry,
    Complaint,
    EvidenceItem,
    Finding,
    FollowUp,
    Outcome,
    RectificationAction,
    Response,
    TeamMember,
)
from .events import Event
from .taxonomy import OPEN_STATES, CaseState, NotAcceptedReason
from .workorders import WorkOrder


@dataclass
class Investigation:
    started_at: datetime | None = None
    team: list[TeamMember] = field(default_factory=list)
    evidence: list[EvidenceItem] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


@dataclass(frozen=True)
class Extension:
    """A deadline extension: which milestone, by how many days, why, and consent if needed."""

    milestone: str
    days: int
    reason: str
    consent: bool
    at: datetime
    by: str


@dataclass
class Case:
    """Changed only by an event payload's ``apply`` (``workflow.handle`` and ``rebuild``).

    ``version`` is the number of events applied; storage uses it for optimistic locking.
    """

    complaint: Complaint
    state: CaseState = CaseState.REGISTERED
    owner: str | None = None
    acknowledged_at: datetime | None = None
    suggestions: list[CategorySuggestion] = field(default_factory=list)
    investigation: Investigation = field(default_factory=Investigation)
    actions: dict[str, RectificationAction] = field(default_factory=dict)
    communications: list[CommunicationEntry] = field(default_factory=list)
    response: Response | None = None
    follow_up: FollowUp | None = None
    follow_up_waived: str | None = None
    outcome: Outcome | None = None
    closed_at: datetime | None = None
    reopen_count: int = 0
    extensions: list[Extension] = field(default_factory=list)
    #: (milestone, alert kind) pairs already raised, so a sweep raises each at most once;
    #: action alerts use the milestone "action:A1".
    deadline_alerts: set[tuple[str, str]] = field(default_factory=set)
    #: (kind, key, first complaint's time) of the complaint clusters recorded on this case,
    #: so that the correlation summary records each cluster at most once.
    cluster_alerts: set[tuple[str, str, datetime]] = field(default_factory=set)
    #: a hotline platform's work order (工单): see ``domain/workorders.py``
    work_order: WorkOrder | None = None
    #: 并单: the case this one was merged into, and the state it had before
    merged_into: str | None = None
    state_before_merge: CaseState | None = None
    #: the cases merged into this one (their histories stay theirs)
    absorbed: list[str] = field(default_factory=list)
    #: why it was not accepted (不予受理), when declined with a reason code
    not_accepted: NotAcceptedReason | None = None
    events: list[Event] = field(default_factory=list)

    @property
    def reference(self) -> str:
        return self.complaint.reference

    @property
    def version(self) -> int:
        return len(self.events)

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    def pending_events(self, since_version: int) -> list[Event]:
        return self.events[since_version:]

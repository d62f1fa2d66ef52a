"""What the API answers: response models, built from the core's read models (masked).

Request bodies are the core's own input models (``ComplaintDraft``, each command), so the
OpenAPI document describes exactly what the core validates.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from hospital_complaints.plugin_api import (
    Attachment,
    Case,
    CaseSummary,
    Category,
    CategorySuggestion,
    Channel,
    CommunicationEntry,
    ComplaintKind,
    Complexity,
    Event,
    ExamLink,
    Finding,
    FollowUp,
    Harm,
    Outcome,
    RectificationAction,
    Response,
    Severity,
    StaffRef,
    TeamMember,
    mask_dump,
    summarize,
)
from hospital_complaints.plugin_api import EvidenceItem as CoreEvidenceItem
from pydantic import BaseModel, ConfigDict, Field


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MaskedComplainant(_Out):
    """The complainant, masked (``张**``, ``138****5678``). A report's (举报) complainant is
    replaced by ``protected`` and nothing else."""

    role: str
    name: str | None = None
    phone: str | None = None
    email: str | None = None
    id_number: str | None = None
    address: str | None = None
    relationship_to_patient: str | None = None
    consent_to_contact: bool | None = None
    preferred_contact: str | None = None
    protected: str | None = None


class MaskedPatient(_Out):
    patient_id: str
    name: str | None = None


class ComplaintView(_Out):
    """The complaint as registered (and as later commands changed it), identity masked."""

    reference: str
    kind: ComplaintKind
    channel: Channel
    received_at: datetime
    complainant: MaskedComplainant
    patient: MaskedPatient | None = None
    subject: str
    description: str
    staff_involved: list[StaffRef] = Field(default_factory=list)
    concerns_department: str | None = None
    department: str | None = None
    demands: str | None = None
    attachments: list[Attachment] = Field(default_factory=list)
    severity: Severity
    harm: Harm
    categories: list[Category] = Field(default_factory=list)
    complexity: Complexity
    exam_links: list[ExamLink] = Field(default_factory=list)
    transferred_from: str | None = None
    external_id: str | None = None


class ExtensionView(_Out):
    milestone: str
    days: int
    reason: str
    consent: bool
    at: datetime
    by: str


class CaseDetail(_Out):
    """One case, everything a clerk's screen shows; identity masked. ``version`` is also
    the ``ETag`` to send back as ``If-Match`` with a command."""

    reference: str
    version: int
    summary: CaseSummary
    complaint: ComplaintView
    suggestions: list[CategorySuggestion]
    team: list[TeamMember]
    evidence: list[CoreEvidenceItem]
    findings: list[Finding]
    actions: list[RectificationAction]
    communications: list[CommunicationEntry]
    response: Response | None = None
    follow_up: FollowUp | None = None
    follow_up_waived: str | None = None
    outcome: Outcome | None = None
    extensions: list[ExtensionView]


def case_detail(case: Case) -> CaseDetail:
    c = case.complaint
    complaint = mask_dump(c)
    if c.is_whistleblowing:
        complaint["complainant"] = {"role": c.complainant.role.value,
                                    "protected": summarize(case).complainant}
    return CaseDetail(
        reference=case.reference, version=case.version, summary=summarize(case),
        complaint=ComplaintView.model_validate(complaint),
        suggestions=list(case.suggestions), team=list(case.investigation.team),
        evidence=list(case.investigation.evidence),
        findings=list(case.investigation.findings), actions=list(case.actions.values()),
        communications=list(case.communications), response=case.response,
        follow_up=case.follow_up, follow_up_waived=case.follow_up_waived,
        outcome=case.outcome,
        extensions=[ExtensionView(milestone=e.milestone, days=e.days, reason=e.reason,
                                  consent=e.consent, at=e.at, by=e.by) for e in case.extensions])


class CasePage(_Out):
    """One page of a listing. Pass ``next_cursor`` as ``cursor`` for the next page; it is
    ``null`` on the last page."""

    items: list[CaseSummary]
    next_cursor: str | None = None


class RegisterResult(_Out):
    """The registered case. ``created`` is false when the ``Idempotency-Key`` was used
    before: the first call's case is returned and nothing new is stored."""

    created: bool
    case: CaseDetail


class History(_Out):
    """Every event of the case, oldest first, personal data masked."""

    reference: str
    events: list[Event]


class CommandResult(_Out):
    """The event the command recorded and the case after it (its new ``version``)."""

    event: Event
    case: CaseSummary


class EventsResult(_Out):
    events: list[Event]
    case: CaseSummary


class CommandInfo(_Out):
    name: str
    event_type: str
    path: str
    description: str


class RevealRequest(_Out):
    purpose: str = Field(min_length=1, max_length=1000,
                         description="why the identity is needed; recorded with the decision")


class RevealedIdentity(_Out):
    """The complainant's and patient's identity, unmasked. The decision was recorded on the
    case (``identity_revealed``)."""

    reference: str
    complainant: dict[str, Any]
    patient: dict[str, Any] | None = None


class DeadlineView(_Out):
    milestone: str = Field(description="acknowledge, respond, close, follow_up, action:A1")
    due: datetime
    due_soon_from: datetime
    last_day: date
    provisional: bool = Field(description="a day counted is not yet in an official calendar")
    policy: str
    rule: str
    anchor: str
    anchor_at: datetime | None = None
    extended_by_days: int = 0


class CaseDeadlines(_Out):
    reference: str
    deadlines: list[DeadlineView]


class SweepItemView(_Out):
    reference: str
    milestone: str
    status: str = Field(description="due_soon, overdue or breached")
    due: datetime
    provisional: bool
    policy: str
    department: str | None = None


class SweepList(_Out):
    """Deadlines due soon (催办) or overdue (督办) at ``at``. Read only: no alert is
    recorded (the scheduled sweep, ``hospital-complaints sla sweep``, records them)."""

    at: datetime
    items: list[SweepItemView]


class ExamView(_Out):
    """One imaging exam with its milestones (patient identifiers are never shown)."""

    accession_number: str
    study_instance_uid: str | None = None
    modality: str | None = None
    station: str | None = None
    room: str | None = None
    ordered_at: datetime | None = None
    scheduled_at: datetime | None = None
    arrived_at: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    preliminary_at: datetime | None = None
    final_at: datetime | None = None
    corrected_at: datetime | None = None
    cancelled_at: datetime | None = None
    no_show_at: datetime | None = None
    source: str | None = None


def exam_view(exam: Any) -> ExamView:
    return ExamView.model_validate({name: getattr(exam, name, None)
                                    for name in ExamView.model_fields})


class ExamSuggestionView(_Out):
    exam: ExamView
    score: float
    reasons: list[str]


class ExamSuggestions(_Out):
    """Candidate exams for the complaint; nothing is linked (``link_exam`` does)."""

    reference: str
    suggestions: list[ExamSuggestionView]


class TimelineEntryView(_Out):
    event: str
    at: datetime


class ExamTimeline(_Out):
    accession_number: str
    timeline: list[TimelineEntryView]


class AcceptEvidence(_Out):
    accession_number: str | None = Field(
        default=None, max_length=200,
        description="the exam whose pack is accepted; default: the case's linked exam")


class ExportFormat(_Out):
    id: str
    description: str
    media_type: str


class ExportFormats(_Out):
    formats: list[ExportFormat]


class Me(_Out):
    """Who the API takes the caller for (to check an SSO claim mapping or a key)."""

    kind: str
    user: str
    roles: list[str]
    department: str | None = None
    department_id: str | None = None
    hospital_wide: bool
    scopes: list[str]


class Health(_Out):
    status: str


class Readiness(_Out):
    status: str = Field(description="ready or not_ready")
    database: str
    migrations: str


class PublicReceipt(_Out):
    """The answer to a public submission: keep ``status_token`` (or open ``status_url``) to
    follow the complaint; it is shown only once."""

    reference: str
    status_token: str
    status_url: str
    expires_at: datetime


class PublicStatus(_Out):
    """What a patient sees: the state and the next deadline, never staff names or notes."""

    reference: str
    subject: str = Field(description="the subject as the complainant wrote it")
    state: str
    state_zh: str
    state_en: str
    received_at: datetime
    next_deadline: datetime | None = None
    next_milestone: str | None = None
    finished: bool

"""The complaint as registered, and the records a case accumulates while it is handled."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Self

from pydantic import AfterValidator, Field, field_validator, model_validator

from .base import Instant, ShortText, StrictModel, Text
from .personal import Personal
from .taxonomy import (
    ActionStatus,
    ActionType,
    Category,
    Channel,
    ComplainantRole,
    ComplaintKind,
    Complexity,
    ContactMethod,
    Direction,
    EvidenceType,
    Harm,
    OutcomeKind,
    Severity,
    TeamRole,
)


def _pattern(regex: str, what: str, fold: str | None = None) -> AfterValidator:
    compiled = re.compile(regex)

    def check(value: str) -> str:
        value = value.strip()
        if fold == "upper":
            value = value.upper()
        elif fold == "lower":
            value = value.lower()
        if not compiled.fullmatch(value):
            raise ValueError(f"expected {what}")
        return value

    return AfterValidator(check)


Sha256 = Annotated[str, _pattern(r"[0-9a-f]{64}", "a SHA-256 digest: 64 hex digits", "lower")]
ModalityCode = Annotated[str, _pattern(
    r"[A-Z]{2,4}", "a DICOM modality code of 2-4 letters, e.g. CT, MR, DX, US", "upper")]
DicomUID = Annotated[str, _pattern(
    r"(?=.{1,64}\Z)(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*", "a DICOM UID: digits and dots, at most 64 "
    "characters, e.g. 1.2.840.10008.1")]

_PHONE = re.compile(r"^\+?[0-9][0-9 \-]{4,19}$")


class Complainant(StrictModel):
    """Who complained. Identity and contact details are personal data (masked, encrypted)."""

    role: ComplainantRole
    name: Annotated[str | None, Personal("name"), Field(max_length=200)] = None
    phone: Annotated[str | None, Personal("phone"), Field(max_length=40)] = None
    email: Annotated[str | None, Personal("email"), Field(max_length=254)] = None
    id_number: Annotated[str | None, Personal("id_number"), Field(max_length=64)] = None
    address: Annotated[str | None, Personal("address"), Field(max_length=1000)] = None
    relationship_to_patient: ShortText | None = None
    consent_to_contact: bool = False
    preferred_contact: ContactMethod | None = None

    @field_validator("phone")
    @classmethod
    def _phone(cls, v: str | None) -> str | None:
        if v is not None and not _PHONE.match(v):
            raise ValueError("a phone number has 5-20 digits, optionally with +, spaces or '-'")
        return v

    @field_validator("email")
    @classmethod
    def _email(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", v):
            raise ValueError("an e-mail address looks like name@example.org")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.role is ComplainantRole.ANONYMOUS and (self.name or self.id_number):
            raise ValueError(
                "an anonymous complainant has no name or ID number "
                "(匿名投诉人不应填写姓名或证件号)"
            )
        if self.consent_to_contact and not (self.phone or self.email or self.address):
            raise ValueError(
                "consent_to_contact needs a phone, e-mail or address to contact "
                "(同意联系时须提供电话、邮箱或地址)"
            )
        return self


class PatientRef(StrictModel):
    """The patient the complaint is about, as the HIS knows them."""

    patient_id: Annotated[str, Personal("id_number"), Field(min_length=1, max_length=200)]
    name: Annotated[str | None, Personal("name"), Field(max_length=200)] = None


class StaffRef(StrictModel):
    """A staff member named in the complaint (staff data is not masked like patients')."""

    name: ShortText
    staff_id: ShortText | None = None
    role: ShortText | None = None


class Attachment(StrictModel):
    """Supporting material, kept as a reference (URI or blob key) plus its SHA-256."""

    reference: ShortText
    sha256: Sha256
    filename: ShortText | None = None
    media_type: ShortText | None = None
    size_bytes: int | None = Field(default=None, ge=0)


class ExamLink(StrictModel):
    """The imaging exam a complaint is about."""

    accession_number: ShortText | None = None
    study_instance_uid: DicomUID | None = None
    modality: ModalityCode | None = None
    station: ShortText | None = None

    @model_validator(mode="after")
    def _identified(self) -> Self:
        if not (self.accession_number or self.study_instance_uid):
            raise ValueError(
                "an exam link needs accession_number or study_instance_uid "
                "(检查关联须填写检查号或 Study Instance UID)"
            )
        return self


class ComplaintDraft(StrictModel):
    """Everything registration records; the service adds the reference number."""

    kind: ComplaintKind = ComplaintKind.COMPLAINT
    channel: Channel
    received_at: Instant
    complainant: Complainant
    patient: PatientRef | None = None
    subject: ShortText
    description: Text
    staff_involved: list[StaffRef] = Field(default_factory=list)
    #: the department the complaint or report is about (被投诉科室); a report's complainant
    #: is never revealed to anyone of this department
    concerns_department: ShortText | None = None
    #: the department handling the case (set by routing when not given)
    department: ShortText | None = None
    demands: Text | None = None
    attachments: list[Attachment] = Field(default_factory=list)
    severity: Severity = Severity.NOT_ASSESSED
    harm: Harm = Harm.NONE
    categories: list[Category] = Field(default_factory=list)
    complexity: Complexity = Complexity.SIMPLE
    exam_links: list[ExamLink] = Field(default_factory=list)
    transferred_from: ShortText | None = None
    external_id: ShortText | None = None

    @field_validator("categories")
    @classmethod
    def _unique(cls, v: list[Category]) -> list[Category]:
        return list(dict.fromkeys(v))

    @property
    def is_whistleblowing(self) -> bool:
        """A report (举报): the complainant's identity never reaches the department concerned."""
        return self.kind is ComplaintKind.REPORT

    @model_validator(mode="after")
    def _transfer(self) -> Self:
        if self.channel.value in {"hotline_platform", "transferred"} and not self.transferred_from:
            raise ValueError(
                f"channel '{self.channel.value}' needs transferred_from naming the platform or "
                "body (转办渠道须填写来源，如 12320)"
            )
        return self


class Complaint(ComplaintDraft):
    """A registered complaint: the draft plus its human-readable reference number."""

    reference: ShortText


class CategorySuggestion(StrictModel):
    """A classifier's suggestion. It is never applied without a clerk's Classify command."""

    category: Category
    confidence: float = Field(ge=0.0, le=1.0)
    matched: list[str] = Field(default_factory=list)
    source: ShortText


# --- investigation ---------------------------------------------------------------------


class TeamMember(StrictModel):
    name: ShortText
    role: TeamRole
    staff_id: ShortText | None = None


class EvidenceItem(StrictModel):
    evidence_id: ShortText
    type: EvidenceType
    description: Text
    reference: ShortText | None = None
    sha256: Sha256 | None = None
    added_by: ShortText
    added_at: Instant


class Finding(StrictModel):
    text: Text
    root_causes: list[Text] = Field(default_factory=list)
    recorded_by: ShortText
    recorded_at: Instant


# --- rectification ---------------------------------------------------------------------


class ProgressCheck(StrictModel):
    at: Instant
    by: ShortText
    status: ActionStatus
    note: Text


class Verification(StrictModel):
    at: Instant
    by: ShortText
    effective: bool
    note: Text


class RectificationAction(StrictModel):
    action_id: ShortText
    type: ActionType
    description: Text
    owner: ShortText
    due: date
    status: ActionStatus = ActionStatus.PLANNED
    progress: list[ProgressCheck] = Field(default_factory=list)
    verification: Verification | None = None


# --- communication, outcome, follow-up -------------------------------------------------


class CommunicationEntry(StrictModel):
    entry_id: ShortText
    at: Instant
    by: ShortText
    direction: Direction
    method: ContactMethod | None = None
    summary: Text


class Outcome(StrictModel):
    kind: OutcomeKind
    reason: Text | None = None
    referred_to: ShortText | None = None

    @model_validator(mode="after")
    def _details(self) -> Self:
        if self.kind is OutcomeKind.REFERRED and not self.referred_to:
            raise ValueError("outcome 'referred' needs referred_to (转交须写明接收机构)")
        if self.kind is OutcomeKind.NOT_ACCEPTED and not self.reason:
            raise ValueError("outcome 'not_accepted' needs a reason (不予受理须说明理由)")
        return self


class Response(StrictModel):
    at: Instant
    by: ShortText
    method: ContactMethod
    text: Text
    outcome: Outcome


class FollowUp(StrictModel):
    """回访: a satisfaction check after the response and rectification."""

    at: Instant
    by: ShortText
    method: ContactMethod
    satisfaction: int | None = Field(default=None, ge=1, le=5)
    comments: Text | None = None
    unreachable: bool = False

    @model_validator(mode="after")
    def _result(self) -> Self:
        check_follow_up_result(self.satisfaction, self.unreachable)
        return self


def check_follow_up_result(satisfaction: int | None, unreachable: bool) -> None:
    """A follow-up records a satisfaction score or that the complainant was unreachable."""
    if unreachable == (satisfaction is not None):
        raise ValueError(
            "a follow-up has either a satisfaction score 1-5 or unreachable=true, not both "
            "(回访须填写满意度 1-5 或标记无法联系)"
        )

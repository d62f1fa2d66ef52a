"""Read models: what listings, exports and notifications show. Identity is masked."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from ..domain.base import StrictModel
from ..domain.case import Case
from ..domain.commands import RegisterComplaint
from ..domain.events import Event
from ..domain.personal import mask_dump
from ..domain.taxonomy import CaseState, Category, Channel, ComplaintKind

PROTECTED = "(举报人信息保护 whistle-blower protected)"


class CaseSummary(StrictModel):
    """One line of a listing. Personal data is masked; a whistle-blower is never named."""

    reference: str
    kind: ComplaintKind
    channel: Channel
    state: CaseState
    received_at: datetime
    subject: str
    department: str | None
    owner: str | None
    categories: list[Category]
    complainant: str
    patient: str | None
    accession_numbers: list[str] = Field(default_factory=list)
    outcome: str | None = None
    version: int


def summarize(case: Case) -> CaseSummary:
    c = case.complaint
    if c.is_whistleblowing:
        who = PROTECTED
    else:
        masked = mask_dump(c.complainant)
        who = f"{c.complainant.role.value}: {masked.get('name') or '-'} {masked.get('phone') or ''}"
    patient = mask_dump(c.patient)["patient_id"] if c.patient else None
    return CaseSummary(
        reference=c.reference, kind=c.kind, channel=c.channel, state=case.state,
        received_at=c.received_at, subject=c.subject, department=c.department, owner=case.owner,
        categories=list(c.categories), complainant=who.strip(), patient=patient,
        accession_numbers=[x.accession_number for x in c.exam_links if x.accession_number],
        outcome=case.outcome.kind.value if case.outcome else None, version=case.version,
    )


def masked_event(event: Event) -> Event:
    """The event with personal data in its payload masked (for hooks, logs and listings)."""
    if event.type != RegisterComplaint.event_type:
        return event
    cmd = RegisterComplaint.model_validate(event.payload)
    payload: dict[str, Any] = mask_dump(cmd)
    if cmd.complaint.is_whistleblowing:
        payload["complaint"]["complainant"] = {"role": cmd.complaint.complainant.role.value,
                                               "protected": PROTECTED}
    return event.model_copy(update={"payload": payload})

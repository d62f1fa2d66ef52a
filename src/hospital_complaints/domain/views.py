"""Read models: what listings, exports and notifications show. Identity is masked."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from .base import StrictModel
from .case import Case
from .events import Event
from .events.payloads import ComplaintRegistered
from .events.records import carries_personal
from .events.registry import PAYLOADS
from .personal import mask_dump, masked_field
from .taxonomy import CaseState, Category, Channel, ComplaintKind

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
        name, phone = (masked_field(c.complainant, f) for f in ("name", "phone"))
        who = f"{c.complainant.role.value}: {name or '-'} {phone or ''}"
    patient = masked_field(c.patient, "patient_id") if c.patient else None
    return CaseSummary(
        reference=c.reference, kind=c.kind, channel=c.channel, state=case.state,
        received_at=c.received_at, subject=c.subject, department=c.department, owner=case.owner,
        categories=list(c.categories), complainant=who.strip(), patient=patient,
        accession_numbers=[x.accession_number for x in c.exam_links if x.accession_number],
        outcome=case.outcome.kind.value if case.outcome else None, version=case.version,
    )


def masked_event(event: Event) -> Event:
    """The event with personal data in its payload masked (for hooks, logs and listings).

    The payload is read with its own (type, version) payload class, as recorded, so every
    field marked ``Personal`` is masked in every event type and version. A report's
    (举报) registration shows no complainant at all.
    """
    payload_cls = PAYLOADS.get(event.type, event.schema_version)
    if not carries_personal(payload_cls):
        return event
    recorded = PAYLOADS.read(event)
    payload: dict[str, Any] = mask_dump(recorded)
    if isinstance(recorded, ComplaintRegistered) \
            and recorded.complaint.kind is ComplaintKind.REPORT:
        payload["complaint"]["complainant"] = {"role": recorded.complaint.complainant.role.value,
                                               "protected": PROTECTED}
    return event.model_copy(update={"payload": payload})

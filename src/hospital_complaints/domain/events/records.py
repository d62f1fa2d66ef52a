"""The shapes of the records stored inside event payloads, frozen with the payload schemas.

These are *not* the input models of :mod:`..complaint`. An input model says what a clerk or a
host may submit today, and may get stricter (a length limit, a pattern); a record says what
was stored, and never changes once released: a change is a new payload version with an
upcaster (docs/events.md). So the records here check only what reading needs: the fields,
their types, the enumerations and timezone-aware times. They keep the ``Personal`` markers,
which tell storage what to encrypt and views what to mask.

:func:`adopt` turns a validated record into the domain model a case holds, without running
today's input rules again: a complainant name of 300 characters stored by release 0.1 stays
readable after a 200-character limit was added to the input.
"""

from __future__ import annotations

import functools
import types
import typing
from typing import Annotated, Any, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from ..base import DEFER_BUILD
from ..personal import Personal
from ..taxonomy import (
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

M = TypeVar("M", bound=BaseModel)

#: The pydantic validation context of stored data (``model_validate(..., context=STORED)``).
#: A validator that enforces an input-only rule can skip it when ``info.context`` says
#: ``stored``.
STORED: dict[str, Any] = {"stored": True}


class Record(BaseModel):
    """Base of stored records and payloads: unknown fields are refused (a mislabelled or
    damaged payload is noticed), values are kept exactly as stored (no stripping). Built on
    first use, as :class:`~hospital_complaints.domain.base.StrictModel`."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False,
                              defer_build=DEFER_BUILD)


# -- the complaint as registered (complaint_registered v1) ------------------------------------


class ComplainantRecord(Record):
    role: ComplainantRole
    name: Annotated[str | None, Personal("name")] = None
    phone: Annotated[str | None, Personal("phone")] = None
    email: Annotated[str | None, Personal("email")] = None
    id_number: Annotated[str | None, Personal("id_number")] = None
    address: Annotated[str | None, Personal("address")] = None
    relationship_to_patient: str | None = None
    consent_to_contact: bool = False
    preferred_contact: ContactMethod | None = None


class PatientRecord(Record):
    patient_id: Annotated[str, Personal("id_number")]
    name: Annotated[str | None, Personal("name")] = None


class StaffRecord(Record):
    name: str
    staff_id: str | None = None
    role: str | None = None


class AttachmentRecord(Record):
    reference: str
    sha256: str
    filename: str | None = None
    media_type: str | None = None
    size_bytes: int | None = None


class ExamLinkRecord(Record):
    accession_number: str | None = None
    study_instance_uid: str | None = None
    modality: str | None = None
    station: str | None = None


class ComplaintRecord(Record):
    kind: ComplaintKind = ComplaintKind.COMPLAINT
    channel: Channel
    received_at: AwareDatetime
    complainant: ComplainantRecord
    patient: PatientRecord | None = None
    subject: str
    description: str
    staff_involved: list[StaffRecord] = Field(default_factory=list)
    concerns_department: str | None = None
    department: str | None = None
    demands: str | None = None
    attachments: list[AttachmentRecord] = Field(default_factory=list)
    severity: Severity = Severity.NOT_ASSESSED
    harm: Harm = Harm.NONE
    categories: list[Category] = Field(default_factory=list)
    complexity: Complexity = Complexity.SIMPLE
    exam_links: list[ExamLinkRecord] = Field(default_factory=list)
    transferred_from: str | None = None
    external_id: str | None = None


class SuggestionRecord(Record):
    category: Category
    confidence: float
    matched: list[str] = Field(default_factory=list)
    source: str


# -- records of the handling ------------------------------------------------------------------


class TeamMemberRecord(Record):
    name: str
    role: TeamRole
    staff_id: str | None = None


class OutcomeRecord(Record):
    kind: OutcomeKind
    reason: str | None = None
    referred_to: str | None = None


__all__ = [
    "STORED", "AttachmentRecord", "ComplainantRecord", "ComplaintRecord", "ExamLinkRecord",
    "OutcomeRecord", "PatientRecord", "Record", "StaffRecord", "SuggestionRecord",
    "TeamMemberRecord", "adopt", "carries_personal", "models_in",
]


# -- from records to the case's models ----------------------------------------------------------


def adopt(target: type[M], record: BaseModel | None = None, **values: Any) -> M:
    """The domain model ``target`` holding ``record``'s fields (and ``values``), built
    without validation: the record was validated against its own stored schema already.

    Nested records become the nested domain models the target's fields name. A required
    field of ``target`` that neither the record nor ``values`` supplies is a programming
    error (a new required field needs an upcaster or a value given in ``apply``).
    """
    plan, required = _plan(target, None if record is None else type(record))
    fields: dict[str, Any] = {}
    for name, nested in plan:
        if name not in values:
            value = getattr(record, name)
            fields[name] = value if nested is None else _adopt_value(nested, value)
    if values:
        if not values.keys() <= target.model_fields.keys():
            unknown = ", ".join(sorted(values.keys() - target.model_fields.keys()))
            raise TypeError(f"{target.__name__} has no field {unknown}")
        fields.update(values)
    if not required <= fields.keys():
        missing = ", ".join(sorted(required - fields.keys()))
        raise TypeError(f"{target.__name__}.{missing} is required but the stored record "
                        f"{type(record).__name__} has no such field")
    return target.model_construct(**fields)


@functools.cache
def _plan(target: type[BaseModel], source: type[BaseModel] | None
          ) -> tuple[tuple[tuple[str, type[BaseModel] | None], ...], frozenset[str]]:
    """Which fields of ``source`` fill ``target`` (with the nested model each becomes), and
    which fields ``target`` requires."""
    shared = [] if source is None else [n for n in target.model_fields if n in source.model_fields]
    plan = []
    for name in shared:
        models = models_in(target.model_fields[name].annotation)
        plan.append((name, models[0] if models else None))
    required = frozenset(n for n, info in target.model_fields.items() if info.is_required())
    return tuple(plan), required


def _adopt_value(target: type[BaseModel], value: Any) -> Any:
    if isinstance(value, BaseModel):
        return adopt(target, value)
    if isinstance(value, list):
        return [_adopt_value(target, v) for v in value]
    return value


def models_in(annotation: Any) -> list[type[BaseModel]]:
    """The model classes an annotation names (``list[X]``, ``X | None`` ...)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    if typing.get_origin(annotation) is not None or isinstance(annotation, types.UnionType):
        for arg in typing.get_args(annotation):
            found += models_in(arg)
    return found


def carries_personal(model: type[BaseModel]) -> bool:
    """Whether ``model`` has a ``Personal`` field at any depth."""
    for info in model.model_fields.values():
        if any(isinstance(m, Personal) for m in info.metadata):
            return True
        if any(carries_personal(m) for m in models_in(info.annotation) if m is not model):
            return True
    return False


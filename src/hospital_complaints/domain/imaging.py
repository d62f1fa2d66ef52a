"""Imaging records that complaints are checked against: exam events and equipment faults.

Sources of these records (HL7 v2 feeds, FHIR servers, CSV/JSON files) are plugins that
implement :class:`ExamSource` or :class:`FaultSource` and register through the hooks
``hc_register_exam_sources`` and ``hc_register_fault_sources``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Protocol, runtime_checkable

from pydantic import Field

from .base import Instant, ShortText, StrictModel, Text
from .complaint import DicomUID, ModalityCode
from .personal import Personal
from .taxonomy import ExamEventType


class ExamEvent(StrictModel):
    """One milestone of one exam, from one source."""

    accession_number: ShortText
    event: ExamEventType
    occurred_at: Instant | None = None
    scheduled_start: Instant | None = None
    study_instance_uid: DicomUID | None = None
    placer_order: ShortText | None = None
    filler_order: ShortText | None = None
    patient_id: Annotated[str | None, Personal("id_number")] = None
    modality: ModalityCode | None = None
    station: ShortText | None = None
    room: ShortText | None = None
    source: ShortText
    source_message_id: ShortText | None = None
    #: the source gave only a date (``20251029``, read as midnight): such a time never
    #: replaces a stored time of the same milestone on the same day, from any source
    occurred_at_date_only: bool = False
    scheduled_start_date_only: bool = False


class EquipmentFault(StrictModel):
    """A fault and its repair work order (cause, action, acceptance)."""

    fault_id: ShortText
    device: ShortText
    modality: ModalityCode | None = None
    reported_at: Instant
    responder_on_site_at: Instant | None = None
    restored_at: Instant | None = None
    urgent: bool = False
    cause: Text | None = None
    action: Text | None = None
    acceptance: Text | None = None
    source: ShortText = "manual"


class RosterShift(StrictModel):
    staff: ShortText
    role: ShortText
    start: Instant
    end: Instant
    device: ShortText | None = None
    extra: dict[str, str] = Field(default_factory=dict)


@runtime_checkable
class ExamSource(Protocol):
    """Something that can produce exam events (a feed, a server, a file)."""

    id: str

    def read_exam_events(self) -> Iterator[ExamEvent]: ...


@runtime_checkable
class IncrementalExamSource(Protocol):
    """An exam source that can read only what changed since a watermark (a DICOMweb
    server queried by date, a feed with a cursor). The worker keeps the watermark per source
    and passes it back; ``None`` means "from the beginning" (the source decides how far
    back that is)."""

    id: str

    def read_exam_events(self) -> Iterator[ExamEvent]: ...

    def changes_since(self, watermark: str | None) -> tuple[str, Iterator[ExamEvent]]:
        """The new watermark, and the events since ``watermark``. The watermark is stored
        only after every event is merged; reading a little too much is harmless (merging is
        idempotent), reading too little loses exams: overlap when in doubt."""
        ...


@runtime_checkable
class FaultSource(Protocol):
    """Something that can produce equipment faults (a CMMS, a file)."""

    id: str

    def read_faults(self) -> Iterator[EquipmentFault]: ...

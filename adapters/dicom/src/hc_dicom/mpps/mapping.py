"""What one MPPS message says (DICOM PS3.4 Annex F, Modality Performed Procedure Step).

* **N-CREATE** (status ``IN PROGRESS``): the modality started the exam at
  PerformedProcedureStepStartDate/Time. The exams are the items of the Scheduled Step
  Attributes Sequence (0040,0270): each item's AccessionNumber and StudyInstanceUID. One
  step may perform several requested procedures (grouped): one milestone per accession.
* **N-SET** ``COMPLETED``: completed at PerformedProcedureStepEndDate/Time; ``DISCONTINUED``:
  cancelled at that time; ``IN PROGRESS``: an intermediate update, no milestone. An N-SET
  never carries the scheduled steps: the exams are those of its N-CREATE.

Times are local to the modality: its TimezoneOffsetFromUTC (0008,0201) when it sends one (an
N-SET without it uses its N-CREATE's), else the configured zone (``HC_DICOM_ZONE``, else
``HC_TIMEZONE``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any, Literal

from hospital_complaints.plugin_api import ExamEventType
from pydantic import AwareDatetime, BaseModel, ConfigDict
from pydicom.dataset import Dataset

from ..errors import DicomInputError
from ..times import combine, parse_offset

IN_PROGRESS = "IN PROGRESS"
COMPLETED = "COMPLETED"
DISCONTINUED = "DISCONTINUED"
FINAL = frozenset({COMPLETED, DISCONTINUED})
Operation = Literal["N-CREATE", "N-SET"]


class Milestone(BaseModel):
    """One exam milestone an MPPS message gives, before it is matched to an exam (its
    accession may be unknown yet). Stored, encrypted, with the raw message."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event: ExamEventType
    occurred_at: AwareDatetime
    accession: str | None = None
    study_uid: str | None = None
    modality: str | None = None
    station: str | None = None
    patient_id: str | None = None
    procedure: str | None = None


@dataclass(frozen=True)
class Reading:
    """What was read from one message."""

    status: str
    milestones: list[Milestone] = field(default_factory=list)
    accessions: tuple[str | None, ...] = ()
    study_uids: tuple[str | None, ...] = ()
    station: str | None = None
    modality: str | None = None
    tz_offset: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None


def _text(ds: Dataset, keyword: str) -> str | None:
    value = ds.get(keyword)
    if value is None:
        return None
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        value = value[0] if len(value) else None
        if value is None:
            return None
    text = str(value).strip()
    return text or None


def _status(ds: Dataset) -> str:
    if "PerformedProcedureStepStatus" not in ds:
        raise DicomInputError("PerformedProcedureStepStatus", "is missing", "缺失",
                              status=0x0120)
    status = (_text(ds, "PerformedProcedureStepStatus") or "").upper()
    if status not in (IN_PROGRESS, COMPLETED, DISCONTINUED):
        raise DicomInputError(
            "PerformedProcedureStepStatus",
            "must be IN PROGRESS, COMPLETED or DISCONTINUED",
            "须为 IN PROGRESS、COMPLETED 或 DISCONTINUED")
    return status


def _offset_text(ds: Dataset) -> str | None:
    text = _text(ds, "TimezoneOffsetFromUTC")
    if text is not None:
        parse_offset(text)  # checked now: a bad offset rejects the message
    return text


def _time(ds: Dataset, day: str, clock: str, zone: tzinfo, offset: str | None,
          required: bool) -> datetime | None:
    if required and not _text(ds, day):
        raise DicomInputError(day, "is missing or empty", "缺失或为空",
                              status=0x0120 if day not in ds else 0x0121)
    return combine(_text(ds, day), _text(ds, clock), zone=zone, offset=parse_offset(offset),
                   date_attribute=day, time_attribute=clock)


def read_create(ds: Dataset, *, calling_ae: str, zone: tzinfo) -> Reading:
    """An N-CREATE's attribute list; :class:`DicomInputError` (with the status to answer)
    when it cannot be used."""
    status = _status(ds)
    if status != IN_PROGRESS:
        raise DicomInputError("PerformedProcedureStepStatus",
                              "must be IN PROGRESS in an N-CREATE",
                              "N-CREATE 中须为 IN PROGRESS")
    offset = _offset_text(ds)
    started = _time(ds, "PerformedProcedureStepStartDate", "PerformedProcedureStepStartTime",
                    zone, offset, required=True)
    assert started is not None
    station = (_text(ds, "PerformedStationAETitle") or _text(ds, "PerformedStationName")
               or calling_ae.strip() or None)
    modality = _text(ds, "Modality")
    patient_id = _text(ds, "PatientID")
    procedure = _text(ds, "PerformedProcedureStepDescription")
    steps: list[tuple[str | None, str | None, str | None]] = []
    for item in ds.get("ScheduledStepAttributesSequence") or []:
        steps.append((_text(item, "AccessionNumber"), _text(item, "StudyInstanceUID"),
                      _text(item, "RequestedProcedureDescription")
                      or _text(item, "ScheduledProcedureStepDescription")))
    if not steps:
        steps.append((None, _text(ds, "StudyInstanceUID"), None))
    seen: set[tuple[str | None, str | None]] = set()
    milestones = []
    for accession, study_uid, requested in steps:
        if (accession, study_uid) in seen:
            continue
        seen.add((accession, study_uid))
        milestones.append(Milestone(
            event=ExamEventType.STARTED, occurred_at=started, accession=accession,
            study_uid=study_uid, modality=modality, station=station, patient_id=patient_id,
            procedure=requested or procedure))
    return Reading(status=status, milestones=milestones,
                   accessions=tuple(a for a, _ in seen), study_uids=tuple(s for _, s in seen),
                   station=station, modality=modality, tz_offset=offset, started_at=started)


def read_set(ds: Dataset, *, state: Any, zone: tzinfo) -> Reading:
    """An N-SET's modification list, for the step whose stored ``state`` (a row of
    ``dicom_mpps``) it updates."""
    import json

    status = _status(ds) if "PerformedProcedureStepStatus" in ds else str(state.status)
    offset = _offset_text(ds) or state.tz_offset
    ended = None
    if status in FINAL:
        ended = _time(ds, "PerformedProcedureStepEndDate", "PerformedProcedureStepEndTime",
                      zone, offset, required=True)
    reading = Reading(status=status, station=state.station, modality=state.modality,
                      tz_offset=offset, ended_at=ended)
    if ended is None:
        return reading
    event = ExamEventType.COMPLETED if status == COMPLETED else ExamEventType.CANCELLED
    accessions = json.loads(state.accessions)
    study_uids = json.loads(state.study_uids)
    milestones = [Milestone(event=event, occurred_at=ended, accession=a, study_uid=s,
                            modality=state.modality, station=state.station)
                  for a, s in zip(accessions, study_uids, strict=True)]
    return Reading(status=status, milestones=milestones, accessions=tuple(accessions),
                   study_uids=tuple(study_uids), station=state.station,
                   modality=state.modality, tz_offset=offset, ended_at=ended)

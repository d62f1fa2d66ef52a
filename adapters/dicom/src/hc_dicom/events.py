"""Building the core's ``ExamEvent`` from DICOM values that may not fit it.

A modality code of 5 letters, a Study Instance UID with a leading zero, an accession number
longer than 200 characters: the value is left out of the event (or the event is not made,
for the accession) and the problem is named, never quoted.
"""

from __future__ import annotations

import re
from datetime import datetime

from hospital_complaints.plugin_api import ExamEvent, ExamEventType

from .errors import describe

_MODALITY = re.compile(r"^[A-Z]{2,4}$")
_UID = re.compile(r"^(?=.{1,64}$)(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$")


def make_event(accession: str | None, event: ExamEventType, *, source: str,
               occurred_at: datetime | None = None, scheduled_start: datetime | None = None,
               study_uid: str | None = None, modality: str | None = None,
               station: str | None = None, patient_id: str | None = None,
               message_id: str | None = None,
               problems: list[str] | None = None) -> ExamEvent | None:
    """The event, with every value that does not fit left out and named in ``problems``;
    ``None`` when the accession number is missing or unusable."""
    notes = problems if problems is not None else []
    acc = (accession or "").strip()
    if not acc:
        return None
    if len(acc) > 200:
        notes.append(f"AccessionNumber: {describe(acc)} is longer than 200 characters")
        return None
    if modality is not None:
        modality = modality.strip().upper() or None
        if modality is not None and not _MODALITY.match(modality):
            notes.append(f"Modality: {describe(modality)} is not a 2-4 letter code; left out")
            modality = None
    if study_uid is not None:
        study_uid = study_uid.strip() or None
        if study_uid is not None and not _UID.match(study_uid):
            notes.append(f"StudyInstanceUID: {describe(study_uid)} is not a valid UID; left out")
            study_uid = None
    station = (station or "").strip()[:200] or None
    patient_id = (patient_id or "").strip()[:200] or None
    return ExamEvent(accession_number=acc, event=event, occurred_at=occurred_at,
                     scheduled_start=scheduled_start, study_instance_uid=study_uid,
                     modality=modality, station=station, patient_id=patient_id,
                     source=source, source_message_id=(message_id or None))

"""Worklist items into the exam table (``dicom worklist query --store``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hospital_complaints.plugin_api import ExamEvent, ExamEventType

from . import provenance
from ._core_gaps import exams_by_accession
from .events import make_event
from .provenance import Provenance
from .studies import SOURCE_WORKLIST
from .worklist import WorklistItem


def store_scheduled(app: Any, items: Sequence[WorklistItem]) -> tuple[int, int]:
    """Merge each item with an accession number and a start as a ``scheduled`` event (the
    station, modality, study UID and patient only where the exam has none); then match
    waiting MPPS. Returns (stored, skipped)."""
    exams = exams_by_accession(app.imaging.repo, (i.accession for i in items if i.accession))
    events: list[ExamEvent] = []
    rows: list[Provenance] = []
    skipped = 0
    for item in items:
        if not item.accession or item.scheduled_start is None:
            skipped += 1
            continue
        exam = exams.get(item.accession)
        event = make_event(
            item.accession, ExamEventType.SCHEDULED, source=SOURCE_WORKLIST,
            occurred_at=item.scheduled_start, scheduled_start=item.scheduled_start,
            study_uid=item.study_uid if exam is None or exam.study_instance_uid is None
            else None,
            modality=item.modality if exam is None or exam.modality is None else None,
            station=(item.station_ae or item.station_name)
            if exam is None or exam.station is None else None,
            patient_id=item.patient_id if exam is None or exam.patient_hash is None else None)
        if event is None:
            skipped += 1
            continue
        events.append(event)
        rows.append(Provenance(event.accession_number, "scheduled", SOURCE_WORKLIST,
                               item.scheduled_start))
    if events:
        with app.imaging.transaction() as tx:
            provenance.write(tx.connection, app.store, rows, app.clock.now())
            tx.merge(events)
    from .mpps.store import MppsStore

    MppsStore(app).match_pending()
    return len(events), skipped

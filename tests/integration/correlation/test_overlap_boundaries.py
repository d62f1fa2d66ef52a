"""Half-open fault/visit overlap on SQLite, PostgreSQL and MariaDB: the boundary scenario of
tests/unit/test_correlation_overlap.py gives the same answers from the SQL repository (the
evidence pack's fault lookup, the finding text, the summary's fault impacts, the roster, and
the set-based ``complaint_metrics``)."""

from __future__ import annotations

from datetime import timedelta

from unit.test_correlation_overlap import (
    REPORTED,
    SECOND,
    TZ,
    VISITS,
    check_boundaries,
    load_boundaries,
)

from hospital_complaints.correlation import ExamRecord
from hospital_complaints.correlation.repository import MAX_OUTAGE
from hospital_complaints.domain.imaging import EquipmentFault
from hospital_complaints.storage.sql import SqlStore
from hospital_complaints.storage.sql.exams import ImagingRepository


def test_boundaries_on_every_engine(store: SqlStore) -> None:
    repo = ImagingRepository(store, tz=TZ)
    load_boundaries(repo)
    check_boundaries(repo)
    metrics = {m.accession_number: m.fault_ids
               for m in repo.complaint_metrics("2026-11-16", "2026-11-16")}
    assert metrics == {acc: (["F-1"] if hit else []) for acc, (_, _, hit) in VISITS.items()}


def test_an_open_fault_counts_for_max_outage(store: SqlStore) -> None:
    repo = ImagingRepository(store, tz=TZ)
    until = REPORTED + MAX_OUTAGE
    repo.add_faults([EquipmentFault(fault_id="F-OPEN", device="CT1", reported_at=REPORTED)])
    repo.add_exams([
        ExamRecord("BEFORE-END", station="CT1", arrived_at=until - SECOND,
                   completed_at=until + timedelta(minutes=5)),
        ExamRecord("AT-END", station="CT1", arrived_at=until,
                   completed_at=until + timedelta(minutes=5))])
    assert [f.fault_id for f in repo.faults_between(until - SECOND, until)] == ["F-OPEN"]
    assert repo.faults_between(until, until + SECOND) == []
    (impact,) = repo.fault_impacts("2026-11-16", "2026-11-16")
    assert impact.exams_on_device == 1

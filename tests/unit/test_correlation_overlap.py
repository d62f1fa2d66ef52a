"""Fault/visit overlap is half-open: a visit that begins the minute a device is restored, or
ends the minute a fault is reported, did not overlap the fault (docs/correlation.md,
"Overlap"). Boundaries exactly at the start, exactly at the end and one second inside, on the
in-memory repository; tests/integration/correlation/test_overlap_boundaries.py runs the same
scenario on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from hospital_complaints.correlation import (
    ComplaintLink,
    ExamRecord,
    ImagingRecords,
    InMemoryImagingRepository,
    build_evidence,
    build_summary,
)
from hospital_complaints.correlation.percentiles import FaultIndex
from hospital_complaints.correlation.repository import MAX_OUTAGE, overlaps
from hospital_complaints.domain.complaint import Complaint
from hospital_complaints.domain.imaging import EquipmentFault, RosterShift

TZ = ZoneInfo("Asia/Shanghai")
SECOND = timedelta(seconds=1)
REPORTED = datetime(2026, 11, 16, 10, 28, tzinfo=TZ)
RESTORED = datetime(2026, 11, 16, 12, 38, tzinfo=TZ)


def at(hh: int, mm: int, ss: int = 0) -> datetime:
    return datetime(2026, 11, 16, hh, mm, ss, tzinfo=TZ)


#: accession -> (visit start, visit end, overlaps fault F-1 on CT1 10:28-12:38)
VISITS: dict[str, tuple[datetime, datetime, bool]] = {
    "ENDS-AT-REPORT": (at(10, 0), REPORTED, False),
    "ENDS-1S-AFTER-REPORT": (at(10, 0), REPORTED + SECOND, True),
    "BEGINS-AT-RESTORE": (RESTORED, at(12, 50), False),
    "BEGINS-1S-BEFORE-RESTORE": (RESTORED - SECOND, at(12, 50), True),
    "INSIDE": (at(11, 0), at(11, 30), True),
    "AROUND": (at(10, 0), at(13, 0), True),
    "INSTANT-AT-REPORT": (REPORTED, REPORTED, True),
    "INSTANT-AT-RESTORE": (RESTORED, RESTORED, False),
    "INSTANT-1S-BEFORE-REPORT": (REPORTED - SECOND, REPORTED - SECOND, False),
    "INSTANT-1S-BEFORE-RESTORE": (RESTORED - SECOND, RESTORED - SECOND, True),
}


def boundary_exams() -> list[ExamRecord]:
    """One CT1 exam per case of :data:`VISITS`: the visit from check-in (arrived) to the
    end of the exam (completed); an instant visit has a check-in only."""
    out = []
    for acc, (start, end, _) in VISITS.items():
        if start == end:
            out.append(ExamRecord(acc, modality="CT", station="CT1", arrived_at=start))
        else:
            out.append(ExamRecord(acc, modality="CT", station="CT1", arrived_at=start,
                                  started_at=start, completed_at=end))
    return out


def boundary_faults() -> list[EquipmentFault]:
    return [EquipmentFault(fault_id="F-1", device="CT1", modality="CT", reported_at=REPORTED,
                           responder_on_site_at=at(10, 50), restored_at=RESTORED, urgent=True)]


def complaint_about(acc: str, n: int = 1) -> Complaint:
    return Complaint(reference=f"HC-20261116-{n:04d}", channel="front_desk",
                     received_at=at(18, 0), complainant={"role": "anonymous"},
                     subject="等待太久", description="CT 等了很久",
                     exam_links=[{"accession_number": acc}])


def load_boundaries(repo: ImagingRecords) -> None:
    repo.add_exams(boundary_exams())
    repo.add_faults(boundary_faults())
    repo.add_shifts([RosterShift(staff="技师 T07", role="technologist", start=at(8, 0),
                                 end=REPORTED, device="CT1"),
                     RosterShift(staff="技师 T09", role="technologist", start=RESTORED,
                                 end=at(17, 0), device="CT1")])
    repo.set_complaint_links([ComplaintLink(f"C-{acc}", acc, at(18, 0)) for acc in VISITS])


def check_boundaries(repo: ImagingRecords) -> None:
    """The same answers from every implementation of :class:`ImagingRecords`."""
    for n, (acc, (start, end, hit)) in enumerate(VISITS.items(), 1):
        assert [f.fault_id for f in repo.faults_between(start, end)] == (
            ["F-1"] if hit else []), acc
        pack = build_evidence(repo, complaint_about(acc, n))
        assert [f.fault_id for f in pack.faults] == (["F-1"] if hit else []), acc
        assert ("CT1 was down 10:28–12:38" in pack.finding_en) is hit, (acc, pack.finding_en)
        assert ("CT1 于 10:28–12:38 故障停机" in pack.finding_zh) is hit, acc
    summary = build_summary(repo, "2026-11-16", "2026-11-16")
    (f1,) = summary.faults
    hits = sum(1 for _, _, hit in VISITS.values() if hit)
    assert (f1.exams_on_device, f1.exams_of_modality, f1.complaints) == (hits, hits, hits)
    # the roster: the shift ending at check-in / starting at the end of the exam is not on duty
    assert [s.staff for s in repo.shifts_between(REPORTED, RESTORED)] == []
    assert [s.staff for s in repo.shifts_between(REPORTED - SECOND, RESTORED)] == ["技师 T07"]
    assert [s.staff for s in repo.shifts_between(REPORTED, RESTORED + SECOND)] == ["技师 T09"]


@pytest.mark.parametrize(("acc", "case"), VISITS.items())
def test_the_rule_itself(acc: str, case: tuple[datetime, datetime, bool]) -> None:
    start, end, hit = case
    assert overlaps(start, end, REPORTED, RESTORED) is hit
    s, e, r0, r1 = (int(t.timestamp()) for t in (start, end, REPORTED, RESTORED))
    assert overlaps(s, e, r0, r1) is hit  # epoch seconds, as the SQL store keeps them
    index = FaultIndex([("F-1", "CT1", "CT", r0, r1)])
    assert index.overlapping("CT1", "CT", s, e) == (["F-1"] if hit else [])
    assert index.overlapping("CT9", "MR", s, e) == []


def test_boundaries_on_the_in_memory_repository() -> None:
    repo = InMemoryImagingRepository(tz=TZ)
    load_boundaries(repo)
    check_boundaries(repo)


def test_an_open_fault_counts_for_max_outage() -> None:
    """Not restored (or not recorded): down for MAX_OUTAGE after the report, then no more,
    in the evidence pack and the summary alike."""
    repo = InMemoryImagingRepository(tz=TZ)
    until = REPORTED + MAX_OUTAGE
    repo.add_faults([EquipmentFault(fault_id="F-OPEN", device="CT1", reported_at=REPORTED)])
    repo.add_exams([
        ExamRecord("BEFORE-END", station="CT1", arrived_at=until - SECOND,
                   completed_at=until + timedelta(minutes=5)),
        ExamRecord("AT-END", station="CT1", arrived_at=until,
                   completed_at=until + timedelta(minutes=5))])
    assert [f.fault_id for f in repo.faults_between(until - SECOND, until)] == ["F-OPEN"]
    assert repo.faults_between(until, until + SECOND) == []
    (f,) = build_summary(repo, "2026-11-16", "2026-11-16").faults
    assert f.exams_on_device == 1  # BEFORE-END; AT-END began when the outage is over

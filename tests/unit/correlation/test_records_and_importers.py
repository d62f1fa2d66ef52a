"""Exam records, flags, idempotent loads and the CSV/JSON importers (in-memory repository)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from hospital_complaints import ExamEvent, ExamEventType
from hospital_complaints.correlation import (
    ExamRecord,
    InMemoryImagingRepository,
    import_file,
    timeline_of,
)
from hospital_complaints.errors import InvalidInput

TZ = ZoneInfo("Asia/Shanghai")
EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "imaging"


def t(hh: int, mm: int = 0, day: int = 16) -> datetime:
    return datetime(2026, 11, day, hh, mm, tzinfo=TZ)


def test_delays_in_minutes():
    e = ExamRecord("A1", scheduled_at=t(8, 30), arrived_at=t(8, 21), started_at=t(10, 33),
                   completed_at=t(10, 41), final_at=t(11, 20))
    assert (e.minutes("wait"), e.minutes("slip"), e.minutes("report")) == (132, 123, 39)
    assert e.flags == ()


def test_out_of_order_and_missing_times_are_flagged_not_measured():
    e = ExamRecord("A2", arrived_at=t(9, 40), started_at=t(9, 30), final_at=t(10))
    assert "out_of_order:arrived>started" in e.flags
    assert "missing:completed" in e.flags
    assert e.minutes("wait") is None and e.minutes("report") is None
    early = ExamRecord("A3", scheduled_at=t(9), started_at=t(8, 50))
    assert early.minutes("slip") == -10  # starting early is not an error


def test_events_merge_into_one_exam_and_reloading_changes_nothing():
    repo = InMemoryImagingRepository()
    events = [
        ExamEvent(accession_number="A1", event=ExamEventType.ARRIVED, occurred_at=t(8, 21),
                  scheduled_start=t(8, 30), modality="CT", station="CT2",
                  patient_id="P0012345", source="ris"),
        ExamEvent(accession_number="A1", event=ExamEventType.STARTED, occurred_at=t(10, 33),
                  source="ris"),
    ]
    repo.add_exam_events(events)
    repo.add_exam_events(events)
    exam = repo.exam("A1")
    assert exam is not None and exam.minutes("wait") == 132
    assert exam.patient_id is None and exam.patient_hash  # only the keyed hash is kept
    assert "P0012345" not in repr(exam)
    assert [e.event for e in repo.timeline("A1")] == [
        ExamEventType.ARRIVED, ExamEventType.SCHEDULED, ExamEventType.STARTED]
    assert repo.dimension_counts("2026-11-16", "2026-11-16")[0]["modality"] == {"CT": 1}


def test_csv_import_reports_line_and_column_and_keeps_valid_rows():
    repo = InMemoryImagingRepository()
    report = import_file(repo, EXAMPLES / "exams.csv", "exams")
    assert report.read == 15 and report.imported == 14 and report.rejected_rows == 1
    problem = report.rejected[0]
    assert (problem.line, problem.column) == (16, "scheduled_start")
    assert "UTC offset" in problem.reason
    assert [acc for _, acc, _ in report.flagged] == ["CT20261116-0047"]
    assert repo.exam("CT20261116-0049") is None
    again = import_file(repo, EXAMPLES / "exams.csv", "exams")
    assert again.imported == 14
    assert sum(repo.dimension_counts("2026-11-01", "2026-11-30")[0]["modality"].values()) == 14


def test_timezone_option_accepts_naive_times(tmp_path):
    f = tmp_path / "e.csv"
    f.write_text("accession_number,modality,arrived_at,started_at\n"
                 "X1,CT,2026-11-16 08:00,2026-11-16 08:20\n"
                 "X2,C7,2026-11-16 08:00,soon\n", encoding="utf-8")
    repo = InMemoryImagingRepository()
    report = import_file(repo, f, "exams", tz=TZ)
    assert report.imported == 1
    assert {(p.line, p.column) for p in report.rejected} == {(3, "modality"), (3, "started_at")}
    x1 = repo.exam("X1")
    assert x1 is not None and x1.minutes("wait") == 20


def test_wrong_header_is_refused_with_the_allowed_columns(tmp_path):
    f = tmp_path / "e.csv"
    f.write_text("accession,modality\nX1,CT\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="missing accession_number; unknown accession"):
        import_file(InMemoryImagingRepository(), f, "exams")


def test_json_faults_and_roster(tmp_path):
    repo = InMemoryImagingRepository()
    assert import_file(repo, EXAMPLES / "exams.json", "exams").imported == 2
    faults = import_file(repo, EXAMPLES / "faults.csv", "faults")
    assert faults.imported == 2
    roster = import_file(repo, EXAMPLES / "roster.csv", "roster")
    assert roster.imported == 4
    assert [f.fault_id for f in repo.faults_between(t(8), t(9))] == ["F-17"]
    shifts = repo.shifts_between(t(8, 30), t(9))
    assert {s.staff for s in shifts} >= {"技师 T11", "医师 R03"}
    assert next(s for s in shifts if s.staff == "医师 R03").extra == {"team": "reading room"}
    bad = tmp_path / "f.jsonl"
    bad.write_text('{"fault_id": "F1", "device": "CT1", "reported_at": "2026-11-16T08:00:00'
                   '+08:00", "urgent": "maybe"}\n{"fault_id": "F2", "device": "CT1"}\n',
                   encoding="utf-8")
    report = import_file(repo, bad, "faults")
    assert report.imported == 0
    assert {(p.line, p.column) for p in report.rejected} == {(1, "urgent"), (2, "reported_at")}


def test_timeline_is_in_time_order():
    e = ExamRecord("A", ordered_at=t(7), arrived_at=t(8), scheduled_at=t(8, 30),
                   started_at=t(9), final_at=t(9) + timedelta(hours=1))
    assert [x.at for x in timeline_of(e)] == sorted(x.at for x in timeline_of(e))

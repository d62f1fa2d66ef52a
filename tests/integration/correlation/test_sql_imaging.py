"""Imaging records and correlation on SQLite, PostgreSQL and MariaDB: the SQL repository gives
the same answers as the in-memory one, loads are idempotent, patient ids are never stored."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from support import NOW, draft

from hospital_complaints import FixedClock, HCPluginManager, Settings, build_service
from hospital_complaints.correlation import (
    InMemoryImagingRepository,
    build_evidence,
    build_summary,
    import_file,
    refresh_complaint_links,
    suggest_exams,
)
from hospital_complaints.storage.sql import SqlStore
from hospital_complaints.storage.sql.exams import ImagingRepository

TZ = ZoneInfo("Asia/Shanghai")
EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "imaging"


def _load(repo):
    for name, kind in (("exams.csv", "exams"), ("exams.json", "exams"),
                       ("faults.csv", "faults"), ("roster.csv", "roster")):
        import_file(repo, EXAMPLES / name, kind)


def test_sql_answers_match_the_in_memory_repository(store: SqlStore):
    sql, mem = ImagingRepository(store, batch_size=4), InMemoryImagingRepository()
    _load(sql)
    _load(sql)  # idempotent: same rows, same answers
    _load(mem)
    service = build_service(Settings(), clock=FixedClock(NOW), plugins=HCPluginManager(),
                            uow_factory=store.unit_of_work)
    case = service.register(draft(
        received_at="2026-11-16T11:00:00+08:00", patient={"patient_id": "P0012345"},
        exam_links=[{"accession_number": "CT20261116-0042", "station": "CT2"}]), actor="t")
    other = service.register(draft(
        received_at="2026-11-17T12:00:00+08:00",
        exam_links=[{"study_instance_uid": "1.2.156.112605.20261113.107"}]), actor="t")
    assert refresh_complaint_links(sql, service) == 2
    refresh_complaint_links(mem, service)

    sql_pack = build_evidence(sql, case.complaint)
    mem_pack = build_evidence(mem, case.complaint)
    assert sql_pack == mem_pack
    assert "CT2 was down 08:10–09:40 (fault F-17)" in sql_pack.finding_en
    assert build_evidence(sql, other.complaint).accession_number == "MR20261113-0107"

    a = build_summary(sql, "2026-11-01", "2026-11-30")
    b = build_summary(mem, "2026-11-01", "2026-11-30")
    assert a.rates == b.rates
    assert a.wait_bands == b.wait_bands and a.report_bands == b.report_bands
    assert [(f.fault_id, f.exams_on_device, f.exams_of_modality, f.complaints)
            for f in a.faults] == [(f.fault_id, f.exams_on_device, f.exams_of_modality,
                                    f.complaints) for f in b.faults]
    assert a.exams == 16 and a.complaints == 2

    assert [s.exam.accession_number for s in suggest_exams(sql, case.complaint)] == [
        "CT20261117-0001"]  # the linked exam itself is not suggested again

    with store.read() as conn:
        n = conn.execute(sa.select(sa.func.count()).select_from(sql.exams)).scalar_one()
        dump = " ".join(str(r) for r in conn.execute(sa.select(sql.exams)).all())
    assert n == 16
    assert "P0012345" not in dump


def test_flagged_exams_and_time_zones_round_trip(store: SqlStore):
    repo = ImagingRepository(store)
    import_file(repo, EXAMPLES / "exams.csv", "exams")
    exam = repo.exam("CT20261116-0047")
    assert exam is not None and exam.flags == ("out_of_order:arrived>started",)
    assert exam.arrived_at == datetime(2026, 11, 16, 9, 40, tzinfo=TZ)
    assert repo.exam("missing") is None and repo.timeline("missing") == []


def test_batch_metrics_equal_the_evidence_packs(store: SqlStore):
    """The set-based numbers (window functions) agree with the one-at-a-time pack."""
    from hospital_complaints.demo.scenario import demo_imaging

    repo = ImagingRepository(store)
    exams, faults, _shifts = demo_imaging()
    repo.add_exams(exams)
    repo.add_faults(faults)
    service = build_service(Settings(), clock=FixedClock(NOW), plugins=HCPluginManager(),
                            uow_factory=store.unit_of_work)
    picks = ["CT20261116-0042", "CT20261116-0003", "CT20261117-0005", "MR20261118-0002",
             "US20261118-0003", "DX20261120-0010"]
    cases = [service.register(draft(received_at="2026-11-20T08:00:00+08:00",
                                    exam_links=[{"accession_number": acc}]), actor="t")
             for acc in picks]
    refresh_complaint_links(repo, service)
    batch = {m.complaint_ref: m for m in repo.complaint_metrics("2026-11-01", "2026-11-30")}
    assert set(batch) == {c.reference for c in cases}
    for case in cases:
        pack = build_evidence(repo, case.complaint)
        got = batch[case.reference]
        assert got.accession_number == pack.accession_number
        for m in pack.metrics:
            assert got.minutes[m.metric] == m.minutes
            assert got.day_percentile[m.metric] == m.day_percentile, (case.reference, m.metric)
            assert got.device_percentile[m.metric] == m.device_percentile
        assert got.fault_ids == [f.fault_id for f in pack.faults]
    assert batch[cases[0].reference].fault_ids == ["F-17"]


def test_analyze_runs_on_every_engine(store: SqlStore):
    repo = ImagingRepository(store)
    import_file(repo, EXAMPLES / "exams.csv", "exams")
    repo.analyze()
    assert repo.exam("CT20261116-0042") is not None


def test_fractional_minutes_keep_their_precision(store: SqlStore):
    from hospital_complaints.correlation import ExamRecord

    repo = ImagingRepository(store)
    t0 = datetime(2026, 11, 16, 8, 0, tzinfo=TZ)
    repo.add_exams([ExamRecord("P1", modality="CT", arrived_at=t0,
                               started_at=t0.replace(minute=12, second=21))])
    rank = repo.rank("wait", 12.35, day_from="2026-11-16", day_to="2026-11-16")
    assert (rank.at_or_below, rank.n) == (1, 1)
    assert repo.rank("wait", 12.34, day_from="2026-11-16", day_to="2026-11-16").at_or_below == 0

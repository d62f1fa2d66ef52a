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
    suggest_exams,
)
from hospital_complaints.correlation.repository import ComplaintLink
from hospital_complaints.storage.sql import SqlStore
from hospital_complaints.storage.sql.exams import ImagingRepository

TZ = ZoneInfo("Asia/Shanghai")
EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "imaging"


def _project(repo, service):
    """The complaint->exam links of every case, as the SQL store keeps them at commit."""
    links = []
    for case in service.iter_cases():
        for link in case.complaint.exam_links:
            acc = link.accession_number or getattr(
                repo.exam_by_study(link.study_instance_uid or ""), "accession_number", None)
            if acc:
                links.append(ComplaintLink(case.reference, acc, case.complaint.received_at))
    return repo.set_complaint_links(links)


def _link_rows(store):
    links = store.tables.complaint_exams
    with store.read() as conn:
        return sorted((r.complaint_ref, r.accession_number)
                      for r in conn.execute(sa.select(links)))


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
    # the store keeps the complaint->exam links as cases are registered (no refresh step)
    assert _link_rows(store) == [(case.reference, "CT20261116-0042"),
                                 (other.reference, "MR20261113-0107")]
    _project(mem, service)

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
    """The set-based numbers (per-cell delay lists) agree with the one-at-a-time pack."""
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


def test_bulk_metrics_equal_the_per_complaint_ranks_for_every_exam(store: SqlStore):
    """The bulk path (per-cell delay lists, month by month) gives every exam's complaint the
    ranks the one-at-a-time queries give: ties, missing delays, a complaint about two exams,
    exams of another month, and a range that starts mid-month (the device's month stays
    whole)."""
    from hospital_complaints.correlation import ComplaintLink, ExamRecord
    from hospital_complaints.demo.scenario import demo_imaging

    repo = ImagingRepository(store, batch_size=50)
    exams, faults, _shifts = demo_imaging()
    t0 = datetime(2026, 12, 1, 8, 0, tzinfo=TZ)
    extra = [ExamRecord(f"DEC-{i}", modality="CT", station="CT2", arrived_at=t0,
                        started_at=t0.replace(minute=10 + i % 3)) for i in range(6)]
    repo.add_exams([*exams, *extra])
    repo.add_faults(faults)
    received = datetime(2026, 12, 20, 8, 0, tzinfo=TZ)
    links = [ComplaintLink(f"C-{e.accession_number}", e.accession_number, received)
             for e in [*exams, *extra]]
    links.append(ComplaintLink("C-TWO", exams[0].accession_number, received))
    links.append(ComplaintLink("C-TWO", "DEC-0", received))
    repo.set_complaint_links(links)

    got = list(repo.complaint_metrics("2026-11-17", "2026-12-31"))
    keys = [(m.complaint_ref, m.accession_number) for m in got]
    assert len(keys) == len(set(keys))
    by_acc = {e.accession_number: e for e in [*exams, *extra]}
    in_range = {a for a, e in by_acc.items() if e.anchor is not None
                and "2026-11-17" <= f"{e.anchor.astimezone(TZ):%Y-%m-%d}" <= "2026-12-31"}
    assert {a for _, a in keys} == in_range
    assert ("C-TWO", "DEC-0") in keys and ("C-DEC-0", "DEC-0") in keys
    assert any(m.minutes["report"] is None for m in got)
    for m in got:
        exam = by_acc[m.accession_number]
        assert exam.anchor is not None
        day = f"{exam.anchor.astimezone(TZ):%Y-%m-%d}"
        for metric, value in m.minutes.items():
            assert value == exam.minutes(metric)
            if value is None:
                assert m.day_percentile[metric] is None and m.device_percentile[metric] is None
                continue
            day_rank = repo.rank(metric, value, day_from=day, day_to=day,
                                 modality=exam.modality)
            dev_rank = repo.rank(metric, value, day_from=f"{day[:7]}-01",
                                 day_to=f"{day[:7]}-31", station=exam.station)
            assert m.day_percentile[metric] == day_rank.percentile, (m.complaint_ref, metric)
            assert m.device_percentile[metric] == dev_rank.percentile, (m.complaint_ref, metric)

"""Evidence pack, finding text, exam suggestions and department analytics (in memory)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from support import draft

from hospital_complaints import (
    Acknowledge,
    AddEvidence,
    ContactMethod,
    Event,
     StartInvestigation,
    TeamMember,
    TeamRole,
)
from hospital_complaints.correlation import (
    ComplaintLink,
    ExamRecord,
    InMemoryImagingRepository,
    Targets,
    build_evidence,
    build_summary,
    find_clusters,
    import_file,
    suggest_exams,
)
from hospital_complaints.correlation.evidence import ordinal
from hospital_complaints.correlation.repository import ComplaintExamRow
from hospital_complaints.correlation.summary import band_rows
from hospital_complaints.errors import NotFound
from hospital_complaints.plugins import hookimpl

TZ = ZoneInfo("Asia/Shanghai")
EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "imaging"
CT_LINK = [{"accession_number": "CT20261116-0042", "modality": "CT", "station": "CT2"}]


@pytest.fixture
def service(app):
    return app.complaints


@pytest.fixture
def repo(app) -> InMemoryImagingRepository:
    r = app.imaging.repo
    assert isinstance(r, InMemoryImagingRepository)
    for name, kind in (("exams.csv", "exams"), ("faults.csv", "faults"),
                       ("roster.csv", "roster")):
        import_file(r, EXAMPLES / name, kind)  # type: ignore[arg-type]
    return r


def _register(service, **overrides):
    data = draft(received_at="2026-11-16T11:00:00+08:00",
                 patient={"patient_id": "P0012345"}, **overrides)
    return service.register(data, actor="clerk")


def test_evidence_pack_for_the_ct_complaint(service, repo):
    case = _register(service, exam_links=CT_LINK)
    pack = build_evidence(repo, case.complaint)
    wait = next(m for m in pack.metrics if m.metric == "wait")
    assert wait.minutes == 132 and wait.over_target and wait.target == 15
    assert wait.day_percentile == 100.0 and wait.day_n == 7
    assert [f.fault_id for f in pack.faults] == ["F-17"]
    assert pack.faults[0].same_device and pack.faults[0].response_met is True
    assert {s.staff for s in pack.staff} == {"技师 T11", "医师 R03"}  # not CT1's technologist
    assert "waited 132 min (100th percentile that day, target 15)" in pack.finding_en
    assert "CT2 was down 08:10–09:40 (fault F-17)" in pack.finding_en
    assert "等待 132 分钟（当日第 100 百分位" in pack.finding_zh
    assert "CT2 于 08:10–09:40 故障停机（故障单 F-17）" in pack.finding_zh
    assert "P0012345" not in pack.model_dump_json()


def test_percentile_against_the_day_and_the_device(repo):
    rank = repo.rank("wait", 25, day_from="2026-11-16", day_to="2026-11-16", modality="CT")
    assert (rank.at_or_below, rank.n) == (4, 7)
    assert rank.percentile == pytest.approx(57.1)
    assert repo.rank("wait", 25, day_from="2026-11-16", day_to="2026-11-16",
                     station="CT2").n == 2
    assert [ordinal(n) for n in (1, 2, 3, 11, 12, 22, 95)] == [
        "1st", "2nd", "3rd", "11th", "12th", "22nd", "95th"]


def test_flagged_exam_does_not_break_the_pack(service, repo):
    case = _register(service, exam_links=[{"accession_number": "CT20261116-0047"}])
    pack = build_evidence(repo, case.complaint)
    assert pack.flags == ["out_of_order:arrived>started"]
    assert next(m for m in pack.metrics if m.metric == "wait").minutes is None
    assert "out of order" in pack.finding_en and "时间顺序异常" in pack.finding_zh


def test_no_delay_gives_a_plain_negative_finding(service):
    r = InMemoryImagingRepository()
    t0 = datetime(2026, 11, 16, 8, 0, tzinfo=TZ)
    r.add_exams([ExamRecord("OK1", modality="DX", station="DR1", arrived_at=t0,
                            started_at=t0 + timedelta(minutes=5))])
    case = _register(service, exam_links=[{"accession_number": "OK1"}])
    pack = build_evidence(r, case.complaint)
    assert pack.finding_en.startswith("waited 5 min")
    pack2 = build_evidence(r, case.complaint.model_copy(update={"exam_links": []}), None, "OK1")
    assert pack2.accession_number == "OK1"


def test_unknown_or_missing_exam_is_a_clear_error(service, repo):
    case = _register(service, exam_links=[{"accession_number": "NOPE-1"}])
    with pytest.raises(NotFound, match="no imaging record for exam NOPE-1"):
        build_evidence(repo, case.complaint)
    unlinked = _register(service)
    with pytest.raises(NotFound, match="not linked to an exam"):
        build_evidence(repo, unlinked.complaint)


def test_accept_records_evidence_items_only_when_asked(app, service, repo):
    case = _register(service, exam_links=CT_LINK)
    pack = build_evidence(repo, case.complaint)
    assert service.get(case.reference).investigation.evidence == []
    service.execute(case.reference, Acknowledge(method=ContactMethod.PHONE, message="收到"),
                    actor="clerk")
    service.execute(case.reference, StartInvestigation(
        team=[TeamMember(name="赵静", role=TeamRole.QC)]), actor="lead")
    events = app.imaging.accept_evidence(case.reference, pack, actor="qc")
    assert [e.payload["type"] for e in events] == ["exam_record", "equipment_log",
                                                   "duty_roster"]
    evidence = service.get(case.reference).investigation.evidence
    assert evidence[1].reference == "fault:F-17"
    assert "tube arcing" in evidence[1].description
    assert isinstance(AddEvidence.name, str)


def test_suggestions_rank_the_patients_ct_exam_first(service, repo):
    import_file(repo, EXAMPLES / "exams.json", "exams")
    case = _register(service, subject="CT 等待太久", description="做 CT 等了两个小时")
    found = suggest_exams(repo, case.complaint)
    # the exam the day after is a candidate too, but ranked lower (further away)
    assert [s.exam.accession_number for s in found] == ["CT20261116-0042", "CT20261117-0001"]
    assert any("after the complaint" in r for r in found[1].reasons)
    assert any("modality CT named" in r for r in found[0].reasons)
    assert service.get(case.reference).complaint.exam_links == []  # never auto-linked
    assert suggest_exams(repo, case.complaint.model_copy(update={"patient": None})) == []


def test_bands_and_relative_risk():
    rows = band_rows({0: (1000, 2), 1: (500, 2), 3: (100, 3)}, (15, 30, 60))
    assert [r.band for r in rows] == ["<15 min", "15-30 min", "30-60 min", ">=60 min"]
    assert [r.per_1000 for r in rows] == [2.0, 4.0, None, 30.0]
    assert [r.relative_risk for r in rows] == [1.0, 2.0, None, 15.0]
    assert band_rows({0: (10, 0), 1: (5, 1)}, (15,))[1].relative_risk is None


def _row(ref: str, day: int, station: str = "CT2", report: float | None = None):
    at = datetime(2026, 11, day, 10, tzinfo=TZ)
    return ComplaintExamRow(ref, at, f"A{ref}", station, "CT", 10, report)


def test_clusters_by_device_and_by_report_delay():
    rows = [_row("1", 1), _row("2", 3), _row("3", 6), _row("4", 7), _row("5", 20),
            _row("6", 2, "MR1", 300), _row("7", 4, "MR2", 400), _row("8", 5, "MR1", 500)]
    clusters = find_clusters(rows, Targets())
    device = [c for c in clusters if c.kind == "device"]
    assert [(c.key, c.complaint_refs) for c in device] == [("CT2", ["1", "2", "3", "4"])]
    delay = [c for c in clusters if c.kind == "report_delay"]
    assert [(c.key, c.complaint_refs) for c in delay] == [("CT", ["6", "7", "8"])]


def test_summary_rates_faults_and_alerts(app, service, repo, plugins):
    case = _register(service, exam_links=CT_LINK)
    assert app.imaging.refresh_links() == 1
    s = build_summary(repo, "2026-11-01", "2026-11-30")
    ct = next(r for r in s.rates["modality"] if r.key == "CT")
    assert (ct.exams, ct.complaints) == (9, 1) and ct.per_1000 == 111.11
    assert s.exams == 14 and s.complaints == 1
    assert any(r.key == "Mon 10:00" and r.complaints == 1 for r in s.rates["weekday_hour"])
    f17 = next(f for f in s.faults if f.fault_id == "F-17")
    # CT20261116-0040 (CT1) ended at 08:10, the minute F-17 was reported: no overlap
    assert (f17.exams_on_device, f17.exams_of_modality, f17.complaints) == (3, 7, 1)
    assert f17.response_met is True and f17.downtime_min == 90
    f18 = next(f for f in s.faults if f.fault_id == "F-18")
    assert f18.response_met is False  # 150 min on site against 2 h
    assert s.wait_bands[-1].complaints == 1

    got: list[Event] = []

    class Listener:
        @hookimpl
        def hc_after_event(self, event: Event) -> None:
            got.append(event)

    plugins.register(Listener(), name="listener")
    repo.set_complaint_links([ComplaintLink(case.reference, "CT20261116-0042",
                                            case.complaint.received_at)])
    clusters = find_clusters([_row(case.reference, 16)] * 3, Targets())
    assert app.imaging.record_cluster_alerts(clusters) == 1
    assert app.imaging.record_cluster_alerts(clusters) == 0  # once per cluster
    assert [e.type for e in got] == ["cluster_alert"]
    assert got[0].payload["key"] == "CT2"
    assert service.get(case.reference).events[-1].type == "cluster_alert"  # stored


def test_targets_from_environment():
    t = Targets.from_env({"HC_TARGET_WAIT_MIN": "20", "HC_CLUSTER_SIZE": "5"})
    assert t.wait_min == 20 and t.cluster_size == 5
    from hospital_complaints.errors import ConfigError
    with pytest.raises(ConfigError, match="HC_TARGET_WAIT_MIN='soon'"):
        Targets.from_env({"HC_TARGET_WAIT_MIN": "soon"})

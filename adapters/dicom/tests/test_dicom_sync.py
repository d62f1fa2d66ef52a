"""The QIDO-RS sync from a real Orthanc into the exam table: start times and their sources,
what is never overwritten, the watermark, the exam source, the command line."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest
from hospital_complaints.plugin_api import ExamEvent, ExamEventType
from hospital_complaints.testing import run_cli
from pydicom.uid import generate_uid

from hc_dicom.mpps.scp import MppsScp
from hc_dicom.mpps.store import MppsStore
from hc_dicom.sync import QidoSync

pytestmark = pytest.mark.peer("orthanc")
TZ = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 10, 21)


def _acc() -> str:
    return f"S{uuid4().hex[:8].upper()}"


def _sync(app: Any, day: date = DAY) -> Any:
    sync = QidoSync(app)
    try:
        return sync.run(day, day)
    finally:
        sync.close()


def test_the_first_series_gives_the_start_and_its_source_is_shown(
        tmp_path: Any, app_for: Any, orthanc: Any, image: Any) -> None:
    pps, series, study = _acc(), _acc(), _acc()
    uid = generate_uid()
    # two series of one study, uploaded out of order: the earlier one is the start
    orthanc.upload(image(pps, study_uid=uid, pps_date="20261021", pps_time="083200",
                         series_date="20261021", series_time="084000", station="CT2"))
    orthanc.upload(image(pps, study_uid=uid, pps_date="20261021", pps_time="081900",
                         series_date="20261021", series_time="082000", station="CT2"))
    orthanc.upload(image(series, series_date="20261021", series_time="091500",
                         station="CT 3"))
    orthanc.upload(image(study, study_time="101000"))
    app = app_for(tmp_path, dicomweb_url=orthanc.dicomweb)
    report = _sync(app)
    assert report.started_from["dicom:series-pps"] >= 1
    first = app.imaging.exam(pps)
    assert first.started_at == datetime(2026, 10, 21, 8, 19, tzinfo=TZ)
    assert (first.modality, first.station, first.study_instance_uid) == ("CT", "CT2", uid)
    assert app.imaging.exam(series).started_at == datetime(2026, 10, 21, 9, 15, tzinfo=TZ)
    assert app.imaging.exam(series).station == "CT 3"
    assert app.imaging.exam(study).started_at == datetime(2026, 10, 21, 10, 10, tzinfo=TZ)
    texts = {acc: run_cli(app, "dicom", "show", acc).output for acc in (pps, series, study)}
    assert "performed procedure step start" in texts[pps]
    assert "start time from series time" in texts[series]
    assert "开始时间来自序列时间" in texts[series]
    assert "start time from study time" in texts[study]


def test_the_modalitys_timezone_offset_is_honoured(tmp_path: Any, app_for: Any,
                                                   orthanc: Any, image: Any) -> None:
    acc = _acc()
    orthanc.upload(image(acc, series_date="20261021", series_time="003000",
                         tz_offset="+0000"))
    app = app_for(tmp_path, dicomweb_url=orthanc.dicomweb)
    _sync(app)
    assert app.imaging.exam(acc).started_at == datetime(2026, 10, 21, 8, 30, tzinfo=TZ)


def test_an_mpps_start_is_never_replaced_by_a_series_time(tmp_path: Any, app_for: Any,
                                                          orthanc: Any, image: Any,
                                                          mpps: Any) -> None:
    acc = _acc()
    app = app_for(tmp_path, dicomweb_url=orthanc.dicomweb)
    app.imaging.ingest([ExamEvent(accession_number=acc, event=ExamEventType.SCHEDULED,
                                  source="ris", occurred_at=datetime(2026, 10, 21, 8, 0,
                                                                     tzinfo=TZ))])
    scp = MppsScp(MppsStore(app), port=0)
    scp.start()
    try:
        with mpps.Sender(scp.port) as sender:
            assert sender.create(mpps.create(acc, start_time="083005"),
                                 generate_uid()).Status == 0
    finally:
        scp.stop()
    orthanc.upload(image(acc, series_date="20261021", series_time="083500"))
    report = _sync(app)
    assert report.start_kept["dicom:mpps"] == 1
    assert app.imaging.exam(acc).started_at == datetime(2026, 10, 21, 8, 30, 5, tzinfo=TZ)
    assert "time from MPPS" in run_cli(app, "dicom", "show", acc).output


def test_a_start_another_source_gave_is_kept_and_a_later_mpps_wins(
        tmp_path: Any, app_for: Any, orthanc: Any, image: Any, mpps: Any) -> None:
    acc = _acc()
    app = app_for(tmp_path, dicomweb_url=orthanc.dicomweb)
    ris_start = datetime(2026, 10, 21, 8, 33, tzinfo=TZ)
    app.imaging.ingest([ExamEvent(accession_number=acc, event=ExamEventType.STARTED,
                                  source="hl7v2", occurred_at=ris_start, station="CT2")])
    orthanc.upload(image(acc, series_date="20261021", series_time="083500"))
    report = _sync(app)
    assert report.start_kept["other source"] == 1
    assert app.imaging.exam(acc).started_at == ris_start
    scp = MppsScp(MppsStore(app), port=0)
    scp.start()
    try:
        with mpps.Sender(scp.port) as sender:
            sender.create(mpps.create(acc, start_time="083112"), generate_uid())
    finally:
        scp.stop()
    assert app.imaging.exam(acc).started_at == datetime(2026, 10, 21, 8, 31, 12, tzinfo=TZ)


def test_a_later_earlier_series_moves_the_fallback_start(tmp_path: Any, app_for: Any,
                                                         orthanc: Any, image: Any) -> None:
    acc, uid = _acc(), generate_uid()
    orthanc.upload(image(acc, study_uid=uid, series_date="20261021", series_time="090000"))
    app = app_for(tmp_path, dicomweb_url=orthanc.dicomweb)
    _sync(app)
    orthanc.upload(image(acc, study_uid=uid, series_date="20261021", series_time="085000"))
    _sync(app)
    assert app.imaging.exam(acc).started_at == datetime(2026, 10, 21, 8, 50, tzinfo=TZ)


def test_a_waiting_mpps_is_matched_by_the_sync_that_brings_its_study(
        tmp_path: Any, app_for: Any, orthanc: Any, image: Any, mpps: Any) -> None:
    acc, uid = _acc(), generate_uid()
    app = app_for(tmp_path, dicomweb_url=orthanc.dicomweb)
    scp = MppsScp(MppsStore(app), port=0)
    scp.start()
    try:
        with mpps.Sender(scp.port) as sender:  # unscheduled: no accession, only the UID
            assert sender.create(mpps.create(None, study_uid=uid, start_time="081500"),
                                 generate_uid()).Status == 0
    finally:
        scp.stop()
    orthanc.upload(image(acc, study_uid=uid, series_date="20261021", series_time="081800"))
    report = _sync(app)
    assert report.mpps_matched == 1
    assert app.imaging.exam(acc).started_at == datetime(2026, 10, 21, 8, 15, tzinfo=TZ)


def test_the_watermark_makes_the_next_sync_incremental(tmp_path: Any, app_for: Any,
                                                       orthanc: Any) -> None:
    app = app_for(tmp_path, dicomweb_url=orthanc.dicomweb, dicomweb_lookback_days=1)
    first = QidoSync(app)
    try:
        assert first.window(None, None) == (date(2026, 10, 21), date(2026, 10, 22))
        first.run(date(2026, 10, 1))
        assert first.watermark() == date(2026, 10, 22)
        assert first.window(None, None) == (date(2026, 10, 21), date(2026, 10, 22))
    finally:
        first.close()


def test_the_worker_reads_the_pacs_as_an_incremental_exam_source(
        tmp_path: Any, app_for: Any, orthanc: Any, image: Any) -> None:
    acc = _acc()
    orthanc.upload(image(acc, study_date="20261022", series_date="20261022",
                         series_time="074500"))
    app = app_for(tmp_path, dicomweb_url=orthanc.dicomweb)
    assert "dicom:qido" in app.imaging.sources()
    read = app.imaging.sync("dicom:qido", incremental=True)
    assert read["dicom:qido"] >= 1
    assert app.imaging.watermark("dicom:qido") == "2026-10-22"
    assert app.imaging.exam(acc).started_at == datetime(2026, 10, 22, 7, 45, tzinfo=TZ)


def test_the_sync_command_and_its_errors(tmp_path: Any, app_for: Any, orthanc: Any,
                                         image: Any) -> None:
    acc = _acc()
    orthanc.upload(image(acc, series_date="20261021", series_time="111100"))
    app = app_for(tmp_path, dicomweb_url=orthanc.dicomweb)
    done = run_cli(app, "dicom", "sync", "--since", "2026-10-21", "--until", "2026-10-21")
    assert done.exit_code == 0, done.output
    assert "dicom sync 2026-10-21 .. 2026-10-21" in done.output
    assert app.imaging.exam(acc).started_at is not None
    bad = run_cli(app, "dicom", "sync", "--since", "21/10/2026")
    assert bad.exit_code == 1 and "YYYY-MM-DD" in bad.output and "Traceback" not in bad.output
    unset = run_cli(app_for(tmp_path / "other"), "dicom", "sync")
    assert unset.exit_code == 1 and "HC_DICOMWEB_URL" in unset.output
    assert "未配置" in unset.output
    down = run_cli(app_for(tmp_path / "down", dicomweb_url="http://127.0.0.1:9/dicom-web",
                           dicomweb_retries=0), "dicom", "sync")
    assert down.exit_code == 1 and "ConnectError" in down.output
    assert "HC_DICOMWEB_URL" in down.output and "Traceback" not in down.output


def test_find_shows_results_and_masks_patient_ids(tmp_path: Any, app_for: Any, orthanc: Any,
                                                  image: Any) -> None:
    acc = _acc()
    orthanc.upload(image(f"{acc}-1", station="CT 3", patient_id="110101199001011234"))
    orthanc.upload(image(f"{acc}-2", station="CT2"))
    app = app_for(tmp_path, dicomweb_url=orthanc.dicomweb)
    found = run_cli(app, "dicom", "find", "--accession", f"{acc}-*")
    assert found.exit_code == 0, found.output
    assert found.output.count(acc) == 2 and "110101199001011234" not in found.output
    series = run_cli(app, "dicom", "find", "--level", "series", "--accession", f"{acc}-*",
                     "--station", "CT?3")
    assert series.exit_code == 0 and '"StationName": "CT 3"' in series.output
    assert f"{acc}-2" not in series.output
    wrong = run_cli(app, "dicom", "find", "--station", "CT2")
    assert wrong.exit_code == 1 and "--level series" in wrong.output
    spaced = run_cli(app, "dicom", "find", "--level", "series", "--station", "CT 3")
    assert spaced.exit_code == 1 and "CT?3" in spaced.output and "空格" in spaced.output

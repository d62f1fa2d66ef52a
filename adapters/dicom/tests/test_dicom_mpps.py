"""The MPPS SCP with an independent sender (pynetdicom in the test process): what a modality's
N-CREATE / N-SET do to the exam table, what is answered, and what is kept."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from hospital_complaints.plugin_api import ExamEvent, ExamEventType
from hospital_complaints.testing import run_cli
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from hc_dicom.mpps.scp import MppsScp
from hc_dicom.mpps.store import MppsStore
from hc_dicom.tables import tables

TZ = ZoneInfo("Asia/Shanghai")


def _scheduled(app: Any, accession: str, **fields: Any) -> None:
    app.imaging.ingest([ExamEvent(
        accession_number=accession, event=ExamEventType.SCHEDULED, source="ris",
        occurred_at=datetime(2026, 10, 21, 8, 0, tzinfo=TZ), station="CT2", modality="CT",
        **fields)])


@pytest.fixture
def scp(tmp_path: Any, app_for: Any) -> Any:
    app = app_for(tmp_path)
    server = MppsScp(MppsStore(app), port=0)
    server.start()
    server.app = app  # type: ignore[attr-defined]
    yield server
    server.stop()


def test_started_and_completed_come_from_the_modality(scp: Any, mpps: Any) -> None:
    app = scp.app
    _scheduled(app, "CT-M1")
    uid = generate_uid()
    with mpps.Sender(scp.port) as sender:
        assert sender.create(mpps.create("CT-M1", start_time="083012"), uid).Status == 0
        assert sender.set(mpps.set("IN PROGRESS", end_date="", end_time=""), uid).Status == 0
        assert sender.set(mpps.set("COMPLETED", end_time="084501"), uid).Status == 0
    exam = app.imaging.exam("CT-M1")
    assert exam.started_at == datetime(2026, 10, 21, 8, 30, 12, tzinfo=TZ)
    assert exam.completed_at == datetime(2026, 10, 21, 8, 45, 1, tzinfo=TZ)
    assert exam.station == "CT2"  # the RIS's device name is kept, not the AE title
    shown = run_cli(app, "dicom", "show", "CT-M1")
    assert shown.exit_code == 0, shown.output
    assert "time from MPPS" in shown.output and "设备 MPPS" in shown.output


def test_discontinued_is_cancelled_and_the_offset_sent_wins(scp: Any, mpps: Any) -> None:
    app = scp.app
    _scheduled(app, "CT-M2")
    uid = generate_uid()
    with mpps.Sender(scp.port) as sender:
        assert sender.create(mpps.create("CT-M2", start_time="013000", tz_offset="+0000"),
                             uid).Status == 0
        assert sender.set(mpps.set("DISCONTINUED", end_time="014000"), uid).Status == 0
    exam = app.imaging.exam("CT-M2")
    assert exam.started_at == datetime(2026, 10, 21, 9, 30, tzinfo=TZ)  # 01:30 UTC
    # the N-SET sent no offset: its N-CREATE's is used
    assert exam.cancelled_at == datetime(2026, 10, 21, 9, 40, tzinfo=TZ)


def test_without_an_offset_the_configured_zone_is_used(tmp_path: Any, app_for: Any,
                                                       mpps: Any) -> None:
    app = app_for(tmp_path, zone="Europe/London")
    _scheduled(app, "CT-M3")
    server = MppsScp(MppsStore(app), port=0)
    server.start()
    try:
        with mpps.Sender(server.port) as sender:
            assert sender.create(mpps.create("CT-M3", start_time="083000"),
                                 generate_uid()).Status == 0
    finally:
        server.stop()
    assert app.imaging.exam("CT-M3").started_at == datetime(
        2026, 10, 21, 8, 30, tzinfo=ZoneInfo("Europe/London"))


def test_an_mpps_for_an_unknown_exam_is_kept_and_matched_when_the_exam_appears(
        scp: Any, mpps: Any) -> None:
    app = scp.app
    uid = generate_uid()
    with mpps.Sender(scp.port) as sender:
        assert sender.create(mpps.create("CT-LATE"), uid).Status == 0
        assert sender.set(mpps.set("COMPLETED"), uid).Status == 0
    assert app.imaging.repo.exam("CT-LATE") is None
    waiting = run_cli(app, "dicom", "mpps", "list", "--pending")
    assert waiting.output.count("CT-LATE") == 2
    _scheduled(app, "CT-LATE")
    matched = run_cli(app, "dicom", "mpps", "match")
    assert "2 waiting milestones matched; 0 still waiting" in matched.output
    exam = app.imaging.exam("CT-LATE")
    assert exam.started_at == datetime(2026, 10, 21, 8, 30, tzinfo=TZ)
    assert exam.completed_at == datetime(2026, 10, 21, 8, 45, tzinfo=TZ)


def test_an_mpps_without_accession_is_matched_by_its_study_uid(scp: Any, mpps: Any) -> None:
    app = scp.app
    study = generate_uid()
    with mpps.Sender(scp.port) as sender:
        assert sender.create(mpps.create(None, study_uid=study), generate_uid()).Status == 0
    assert len(MppsStore(app).pending()) == 1
    _scheduled(app, "CT-UID", study_instance_uid=study)
    assert MppsStore(app).match_pending() == 1
    assert app.imaging.exam("CT-UID").started_at is not None


def test_grouped_procedures_start_every_exam_of_the_step(scp: Any, mpps: Any) -> None:
    app = scp.app
    _scheduled(app, "CT-G1")
    _scheduled(app, "CT-G2")
    with mpps.Sender(scp.port) as sender:
        assert sender.create(mpps.create(None, accessions=["CT-G1", "CT-G2"]),
                             generate_uid()).Status == 0
    assert app.imaging.exam("CT-G1").started_at == app.imaging.exam("CT-G2").started_at


@pytest.mark.filterwarnings("ignore:Invalid value for VR TM")
def test_unusable_messages_get_the_failure_that_says_why_and_are_kept(scp: Any,
                                                                      mpps: Any) -> None:
    app = scp.app
    _scheduled(app, "CT-BAD")
    uid = generate_uid()
    with mpps.Sender(scp.port) as sender:
        bad_time = sender.create(mpps.create("CT-BAD", start_time="25:99"), generate_uid())
        assert bad_time.Status == 0x0106
        assert "PerformedProcedureStepStartTime" in bad_time.ErrorComment
        no_start = mpps.create("CT-BAD")
        del no_start.PerformedProcedureStepStartDate
        assert sender.create(no_start, generate_uid()).Status == 0x0120
        assert sender.set(mpps.set("COMPLETED"), generate_uid()).Status == 0x0112
        assert sender.create(mpps.create("CT-BAD"), uid).Status == 0
        assert sender.create(mpps.create("CT-BAD", start_time="090000"), uid).Status == 0x0111
        assert sender.set(mpps.set("COMPLETED"), uid).Status == 0
        late = sender.set(mpps.set("DISCONTINUED", end_time="090000"), uid)
        assert late.Status == 0x0110
        assert late.ErrorComment.startswith("Performed Procedure Step Object may no longer")
    stored = MppsStore(app).messages()
    assert [m.disposition for m in stored] == ["rejected", "rejected", "rejected", "applied",
                                               "rejected", "applied", "rejected"]
    assert all(m.raw for m in stored)  # every message kept raw, bad ones too
    exam = app.imaging.exam("CT-BAD")
    assert exam.completed_at == datetime(2026, 10, 21, 8, 45, tzinfo=TZ)
    assert exam.cancelled_at is None


def test_a_message_sent_again_is_answered_success_and_applied_once(scp: Any,
                                                                    mpps: Any) -> None:
    app = scp.app
    _scheduled(app, "CT-DUP")
    uid = generate_uid()
    create, done = mpps.create("CT-DUP"), mpps.set("COMPLETED")
    with mpps.Sender(scp.port) as sender:
        for _ in range(2):
            assert sender.create(create, uid).Status == 0
            assert sender.set(done, uid).Status == 0
    stored = MppsStore(app).messages()
    assert [m.disposition for m in stored] == ["applied", "applied", "duplicate", "duplicate"]
    t = tables(app.store.prefix, app.store.schema).messages
    with app.store.read() as conn:
        keys = conn.execute(sa.select(t.c.applied_key).where(
            t.c.applied_key.is_not(None))).scalars().all()
    assert len(keys) == len(set(keys)) == 2


def test_when_the_database_fails_the_modality_is_told_to_send_again(tmp_path: Any,
                                                                     app_for: Any,
                                                                     mpps: Any) -> None:
    class FullDisk(MppsStore):
        def accept(self, incoming: Any) -> Any:
            raise OSError("disk full")

    app = app_for(tmp_path)
    server = MppsScp(FullDisk(app), port=0)
    server.start()
    try:
        with mpps.Sender(server.port) as sender:
            answer = sender.create(mpps.create("CT-X"), generate_uid())
    finally:
        server.stop()
    assert answer.Status == 0x0110 and "send it again" in answer.ErrorComment


def test_the_raw_messages_are_encrypted_and_tampering_shows_in_audit_verify(
        scp: Any, mpps: Any) -> None:
    app = scp.app
    _scheduled(app, "CT-T")
    with mpps.Sender(scp.port) as sender:
        sender.create(mpps.create("CT-T", patient_id="SECRET-PID-77"), generate_uid())
    t = tables(app.store.prefix, app.store.schema).messages
    with app.store.read() as conn:
        row = conn.execute(sa.select(t)).one()
    assert "SECRET" not in row.raw and "SECRET" not in row.events
    assert b"SECRET-PID-77" in MppsStore(app).messages()[0].raw
    ok = run_cli(app, "audit", "verify")
    assert ok.exit_code == 0, ok.output
    with app.store.write() as conn:
        conn.execute(sa.update(t).values(disposition="rejected"))
    bad = run_cli(app, "audit", "verify")
    assert bad.exit_code != 0
    assert "dicom_mpps_messages row 1: its content does not match its hash" in bad.output


def test_a_message_with_a_broken_element_is_rejected_and_kept(tmp_path: Any,
                                                               app_for: Any) -> None:
    """A value of the wrong length (a US element of 3 bytes) shows only when pydicom reads
    it: the message is still answered (0x0107, not "send it again") and kept raw."""
    import io
    import struct

    from pydicom.filebase import DicomBytesIO
    from pydicom.filereader import read_dataset
    from pydicom.filewriter import write_dataset
    from pydicom.uid import ImplicitVRLittleEndian

    from hc_dicom.mpps.store import Incoming

    ds = Dataset()
    ds.PerformedProcedureStepStatus = "IN PROGRESS"
    buf = DicomBytesIO()
    buf.is_little_endian, buf.is_implicit_VR = True, True
    write_dataset(buf, ds)
    raw = buf.getvalue() + struct.pack("<HHI", 0x0028, 0x0010, 3) + b"\x01\x02\x03"
    decoded = read_dataset(io.BytesIO(raw), is_implicit_VR=True, is_little_endian=True)
    store = MppsStore(app_for(tmp_path))
    answer = store.accept(Incoming(operation="N-CREATE", sop_instance_uid=generate_uid(),
                                   calling_ae="CT2", raw=raw,
                                   transfer_syntax=str(ImplicitVRLittleEndian),
                                   dataset=decoded))
    assert answer.status == 0x0107 and "could not be read" in (answer.comment or "")
    (kept,) = store.messages()
    assert kept.disposition == "rejected" and kept.raw == raw

"""The fast extraction path: every fixture gives the exam event an interface engineer would
expect, as a core ``ExamEvent`` with source "hl7v2" and the message control id."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hospital_complaints.domain.taxonomy import ExamEventType as E

from hc_hl7v2 import ExtractOptions, Hl7InputError, extract_bytes
from hc_hl7v2.extract import order_event

FIXTURES = Path(__file__).parent / "fixtures"
SH = ZoneInfo("Asia/Shanghai")


def t(s: str) -> datetime:
    return datetime.strptime(s, "%Y%m%d%H%M%S").replace(tzinfo=SH)


EXPECTED: dict[str, dict[str, Any]] = {
    "orm_o01_new_scheduled.hl7": dict(
        event=E.SCHEDULED, accession_number="ACC20261120001", placer_order="PLC1001",
        filler_order="FIL1001", requested_procedure_id="RP1001", modality="CT",
        study_instance_uid="1.2.840.113619.2.55.3.2831164356.781.1600000001.1",
        occurred_at=t("20261120083000"), scheduled_start=t("20261120093000")),
    "orm_o01_new_ordered.hl7": dict(event=E.ORDERED, accession_number="ACC20261120002",
                                    filler_order=None, modality="MR"),
    "orm_o01_cancel.hl7": dict(event=E.CANCELLED, occurred_at=t("20261120095500")),
    "orm_o01_in_progress.hl7": dict(event=E.STARTED, occurred_at=t("20261120093712")),
    "orm_o01_completed.hl7": dict(event=E.COMPLETED, occurred_at=t("20261120100300")),
    "omi_o23_scheduled.hl7": dict(
        event=E.SCHEDULED, accession_number="ACC20261121001", requested_procedure_id="RP2001",
        study_instance_uid="1.2.156.112605.14.1.20261121.1", modality="MR", station="MR3T_AE",
        room="MR Room 3", scheduled_start=t("20261121100000")),
    "omg_o19_reschedule.hl7": dict(event=E.RESCHEDULED, scheduled_start=t("20261122090000"),
                                   modality="US"),
    "siu_s12_booked.hl7": dict(
        event=E.SCHEDULED, accession_number="ACC20261122001", placer_order="PLC3001",
        station="CT2_AE", room="CT-ROOM-2", scheduled_start=t("20261122140000"),
        occurred_at=t("20261119150000")),
    "siu_s13_rescheduled.hl7": dict(event=E.RESCHEDULED, scheduled_start=t("20261123100000"),
                                    occurred_at=t("20261120085900")),
    "siu_s15_cancelled.hl7": dict(event=E.CANCELLED, occurred_at=t("20261120110000")),
    "siu_s26_no_show.hl7": dict(
        event=E.NO_SHOW, accession_number="ACC20261123002",
        occurred_at=datetime(2026, 11, 23, 12, 0, tzinfo=UTC)),
    "siu_s14_arrived.hl7": dict(event=E.ARRIVED, room="CT-ROOM-2"),
    "oru_r01_preliminary.hl7": dict(
        event=E.PRELIMINARY_REPORT, occurred_at=t("20261120112900"),
        study_instance_uid="1.2.840.113619.2.55.3.2831164356.781.1600000001.1"),
    "oru_r01_final.hl7": dict(event=E.FINAL_REPORT, occurred_at=t("20261120142800")),
    "oru_r01_corrected.hl7": dict(event=E.CORRECTED_REPORT),
    "mdm_t02_final.hl7": dict(event=E.FINAL_REPORT, accession_number="ACC20261120001",
                              occurred_at=t("20261120150000")),
    "mdm_t04_corrected.hl7": dict(event=E.CORRECTED_REPORT),
    "odd_escapes.hl7": dict(accession_number="ACC&9003", placer_order="PLC^9003",
                            patient_id="P77|A", station="CT1_AE", room="Room | 1"),
    "odd_gb18030.hl7": dict(accession_number="ACC9005", study_instance_uid="1.2.156.9005"),
    "odd_custom_encoding.hl7": dict(accession_number="ACC9008", placer_order="PLC9008",
                                    scheduled_start=t("20261124090000")),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_gives_the_expected_exam_event(name: str) -> None:
    x = extract_bytes((FIXTURES / name).read_bytes())
    assert len(x.exam_events) == 1
    ev = x.exam_events[0]
    record = x.events[0]  # the richer record also has requested_procedure_id
    for key, value in EXPECTED[name].items():
        assert getattr(record, key) == value, key
        if key in type(ev).model_fields:
            assert getattr(ev, key) == value, key
    assert ev.source == "hl7v2"
    assert ev.source_message_id == x.message.control_id
    assert ev.patient_id
    for when in (ev.occurred_at, ev.scheduled_start):
        assert when is None or when.tzinfo is not None


@pytest.mark.parametrize("name", ["adt_a04_registered.hl7", "adt_a10_arriving.hl7"])
def test_adt_arrival_without_accession_is_a_record_but_no_exam_event(name: str) -> None:
    x = extract_bytes((FIXTURES / name).read_bytes())
    assert [e.event for e in x.events] == [E.ARRIVED]
    assert x.events[0].accession_number is None and x.events[0].patient_id == "P20261101"
    assert x.exam_events == []


def test_adt_a04_uses_evn_6_when_the_event_occurred() -> None:
    x = extract_bytes((FIXTURES / "adt_a04_registered.hl7").read_bytes())
    assert x.events[0].occurred_at == t("20261120083800")


def test_unused_type_is_not_an_error() -> None:
    x = extract_bytes((FIXTURES / "adt_a08_update.hl7").read_bytes())
    assert x.events == [] and x.note and "ADT^A08" in x.note


def test_configured_zone_applies_to_times_without_offset() -> None:
    raw = (FIXTURES / "orm_o01_cancel.hl7").read_bytes()
    x = extract_bytes(raw, ExtractOptions(zone=ZoneInfo("Europe/Berlin")))
    at = x.exam_events[0].occurred_at
    assert at is not None and at.utcoffset() == timedelta(hours=1)


def test_offset_in_message_wins_over_zone() -> None:
    raw = (FIXTURES / "omi_o23_scheduled.hl7").read_bytes()
    x = extract_bytes(raw, ExtractOptions(zone=ZoneInfo("UTC")))
    assert x.exam_events[0].occurred_at == t("20261121081500")


def test_filler_order_fallback_can_be_switched_off() -> None:
    raw = (FIXTURES / "siu_s15_cancelled.hl7").read_bytes()
    x = extract_bytes(raw, ExtractOptions(accession_from_filler_order=False))
    assert x.exam_events == [] and x.events[0].accession_number is None


def test_sources_name_the_field_used() -> None:
    x = extract_bytes((FIXTURES / "omi_o23_scheduled.hl7").read_bytes())
    segs = x.message.segments
    idx, field, comp = x.events[0].sources["accession_number"]
    assert segs[idx].startswith("IPC") and (field, comp) == (1, 1)


def test_several_orders_in_one_message_give_several_events() -> None:
    one = (FIXTURES / "orm_o01_new_scheduled.hl7").read_bytes().decode()
    orc_obr = [s for s in one.split("\r") if s[:3] in ("ORC", "OBR")]
    second = [s.replace("1001", "1009").replace("ACC20261120001", "ACC20261120009")
              for s in orc_obr]
    x = extract_bytes((one + "\r".join(second) + "\r").encode())
    assert [e.accession_number for e in x.exam_events] == ["ACC20261120001",
                                                           "ACC20261120009"]


def test_invalid_uid_and_modality_are_left_out_with_a_warning() -> None:
    raw = (FIXTURES / "omi_o23_scheduled.hl7").read_bytes()
    raw = raw.replace(b"1.2.156.112605.14.1.20261121.1", b"not-a-uid").replace(
        b"|MR|BRAIN", b"|Magnetic|BRAIN").replace(b"||||MR|||", b"|||||||")
    x = extract_bytes(raw)
    ev = x.events[0]
    assert ev.study_instance_uid is None and ev.modality is None
    assert any("not a DICOM UID" in w for w in ev.warnings)
    assert any("modality" in w for w in ev.warnings)


@pytest.mark.parametrize(("name", "location"), [
    ("bad_time.hl7", "MSH-7"), ("bad_no_control_id.hl7", "MSH-10")])
def test_unusable_messages_name_the_field(name: str, location: str) -> None:
    with pytest.raises(Hl7InputError) as err:
        extract_bytes((FIXTURES / name).read_bytes())
    assert err.value.location == location
    assert err.value.ack_code == "AE"


def test_siu_without_sch_is_an_error() -> None:
    raw = b"MSH|^~\\&|S|F|||20261120||SIU^S12|X1|P|2.5\rPID|||P1\r"
    with pytest.raises(Hl7InputError, match="no SCH"):
        extract_bytes(raw)


def test_a_version_that_is_not_2_x_is_read_with_a_warning() -> None:
    raw = b"MSH|^~\\&|S|F|||20261120||ORM^O01|X1|P|1.0\rPID|||P1\rORC|NW|P1|F1\r"
    x = extract_bytes(raw)
    assert x.exam_events[0].accession_number == "F1"
    assert any(w.startswith("MSH-12: the version is not HL7 v2.x") for w in x.warnings)


def test_too_long_accession_is_an_error_not_a_crash() -> None:
    raw = (FIXTURES / "orm_o01_cancel.hl7").read_bytes().replace(
        b"|ACC20261120001|", b"|" + b"A" * 300 + b"|")
    with pytest.raises(Hl7InputError, match="accession_number"):
        extract_bytes(raw)


@pytest.mark.parametrize(("control", "status", "event"), [
    ("NW", "", E.ORDERED), ("NW", "SC", E.SCHEDULED), ("CA", "", E.CANCELLED),
    ("OC", "CA", E.CANCELLED), ("DC", "", E.CANCELLED), ("XO", "SC", E.RESCHEDULED),
    ("XO", "", E.RESCHEDULED), ("SC", "IP", E.STARTED), ("SC", "CM", E.COMPLETED),
    ("SC", "HD", E.OTHER), ("SC", "ZZ", E.OTHER), ("sc", "cm", E.COMPLETED),
])
def test_order_control_and_status_pairs(control: str, status: str, event: E) -> None:
    assert order_event(control, status) is event


def test_hl7apy_structure_validation_is_available_and_tolerant() -> None:
    from hc_hl7v2 import parse_message, validate_structure

    for name in ("omi_o23_scheduled.hl7", "orm_o01_new_scheduled.hl7", "siu_s12_booked.hl7"):
        assert validate_structure(parse_message((FIXTURES / name).read_bytes())) == []


def test_fast_exam_events_equal_validated_ones() -> None:
    """The fast path builds ``ExamEvent``s without re-validating them: on every fixture they
    must equal what pydantic's validation builds, field for field and as JSON."""
    from hospital_complaints.domain.imaging import ExamEvent

    from hc_hl7v2 import split_batch

    count = 0
    for path in sorted(FIXTURES.glob("*.hl7")):
        for _, raw in split_batch(path.read_bytes()):
            try:
                x = extract_bytes(raw)
            except Hl7InputError:
                continue
            for exam in x.exam_events:
                validated = ExamEvent.model_validate(exam.model_dump())
                assert exam == validated and exam.model_dump_json() == \
                    validated.model_dump_json(), path.name
                count += 1
    assert count >= 25


def test_an_accession_number_too_long_for_the_core_is_an_error() -> None:
    raw = (FIXTURES / "orm_o01_new_scheduled.hl7").read_bytes().replace(
        b"ACC20261120001", b"A" * 201)
    with pytest.raises(Hl7InputError) as info:
        extract_bytes(raw)
    assert "accession_number" in str(info.value) and info.value.ack_code == "AE"

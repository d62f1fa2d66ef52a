"""Issue #17: messages as real feeds send them (``feeds.py``), one test per class of problem.
Each gives the exam event an interface engineer expects, with the built-in rules or with a
sender profile, and every value the rules pass over is named in a warning that quotes
nothing."""

from __future__ import annotations

import importlib.util
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hospital_complaints.domain.taxonomy import ExamEventType as E
from hospital_complaints.plugin_api import ConfigError

from hc_hl7v2 import ExtractOptions, Hl7InputError, extract_bytes
from hc_hl7v2.profiles import from_data, load

_spec = importlib.util.spec_from_file_location("hl7_feeds", Path(__file__).with_name("feeds.py"))
assert _spec is not None and _spec.loader is not None
feeds = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(feeds)

SH = ZoneInfo("Asia/Shanghai")


def at(text: str, zone: ZoneInfo = SH) -> datetime:
    return datetime.strptime(text, "%Y%m%d%H%M%S").replace(tzinfo=zone)


def with_profile(**profile: object) -> ExtractOptions:
    return ExtractOptions(profiles=from_data({"profile": [{"name": "site", **profile}]}))


# -- accession numbers in site-specific fields ---------------------------------------------


def test_cerner_accession_in_obr_20_needs_its_profile() -> None:
    raw = feeds.cerner_order()
    plain = extract_bytes(raw)
    assert plain.exam_events == [] and plain.note and "no accession number" in plain.note
    opts = with_profile(sending_application="CERNER",
                        fields={"accession_number": ["OBR-20", "OBR-18"]})
    x = extract_bytes(raw, opts)
    (ev,) = x.exam_events
    assert ev.accession_number == "MR-25-0012044" and ev.placer_order == "55012"
    assert x.events[0].sources["accession_number"][1:] == (20, 1)


def test_impax_accession_in_obr_19_and_scheduled_time_in_obr_36() -> None:
    opts = with_profile(sending_application="IMPAX", fields={"accession_number": ["OBR-19"]})
    (ev,) = extract_bytes(feeds.impax_order(), opts).exam_events
    assert ev.accession_number == "SL7730215"
    assert ev.scheduled_start == at("20250312113000")  # OBR-36, read by default
    assert ev.modality == "DX"  # DR is not a DICOM term: the built-in alias


def test_visit_number_in_pv1_19() -> None:
    opts = with_profile(sending_facility="NORTH", fields={"accession_number": ["PV1-19"]})
    (ev,) = extract_bytes(feeds.pv1_site_order(), opts).exam_events
    assert ev.accession_number == "V99120045" and ev.modality == "US"


def test_a_profile_for_another_sender_changes_nothing() -> None:
    opts = with_profile(sending_application="IMPAX", fields={"accession_number": ["PV1-19"]})
    assert extract_bytes(feeds.pv1_site_order(), opts).exam_events == []


def test_scheduling_feed_with_only_sch_1_and_sch_2() -> None:
    x = extract_bytes(feeds.scheduling_only())
    (ev,) = x.exam_events
    assert ev.event is E.SCHEDULED
    assert ev.placer_order == "APT-88120" and ev.filler_order == "RIS-88120"
    assert ev.accession_number == "RIS-88120"  # the filler appointment id, as filler order
    # AIS-4 gives only the date; SCH-11.4 the precise slot of that day wins
    assert ev.scheduled_start == at("20251110141500")
    assert x.events[0].date_only == ()


# -- times ---------------------------------------------------------------------------------


def test_a_date_only_time_gives_way_to_a_precise_one_of_the_same_day() -> None:
    opts = with_profile(fields={"accession_number": ["OBR-20"]})
    x = extract_bytes(feeds.cerner_order(), opts)
    ev = x.exam_events[0]
    assert ev.occurred_at == at("20251029081839")  # ORC-9 says 20251029; MSH-7 says 08:18:39
    assert x.events[0].sources["occurred_at"][1:] == (7, 1)


def test_a_date_only_time_without_a_precise_one_is_kept_and_said() -> None:
    raw = feeds.cerner_order().replace(b"|20251029081839|", b"|20251028093000|", 1)
    x = extract_bytes(raw, with_profile(fields={"accession_number": ["OBR-20"]}))
    assert x.exam_events[0].occurred_at == at("20251029000000")  # MSH-7 is another day
    assert x.events[0].date_only == ("occurred_at",)
    assert any(w.startswith("ORC-9: a date without a time") for w in x.warnings)


def test_odd_time_formats_are_read_with_a_warning() -> None:
    x = extract_bytes(feeds.odd_times())
    ev = x.exam_events[0]
    assert ev.event is E.COMPLETED
    assert ev.occurred_at == datetime(2017, 4, 25, 7, 31, 13, 123456, tzinfo=SH)
    assert any("YYYY-MM-DD hh:mm:ss" in w for w in x.warnings)
    cancelled = feeds.odd_times().replace(b"|SC|P-1|F-1||CM|", b"|CA|P-1|F-1|||")
    cancelled = cancelled.replace(b"|2017-04-25 07:31:13.123456\r", b"|\r", 1)
    y = extract_bytes(cancelled)  # ORC-9 empty: MSH-7, with hundredths and no dot
    assert y.exam_events[0].occurred_at == datetime(1994, 5, 2, 16, 16, 33, 600000, tzinfo=SH)
    assert any("fraction of a second" in w for w in y.warnings)


def test_an_ambiguous_time_is_not_guessed() -> None:
    raw = feeds.odd_times().replace(b"2017-04-25 07:31:13.123456", b"25/04/2017 07:31")
    x = extract_bytes(raw)  # OBR-7 and ORC-9 left out with a warning each: MSH-7 is used
    assert x.exam_events[0].occurred_at == datetime(1994, 5, 2, 16, 16, 33, 600000, tzinfo=SH)
    assert sum("not an HL7 date/time" in w for w in x.warnings) == 2
    assert not any("25/04" in w for w in x.warnings)


# -- one bad optional field no longer rejects the message ----------------------------------


def test_tq1_7_holding_a_priority_is_a_warning_and_the_rest_is_kept() -> None:
    x = extract_bytes(feeds.ihe_tq1_s())
    (ev,) = x.exam_events
    assert ev.accession_number == "AC-3001" and ev.modality == "CT"
    assert ev.patient_id == "MRN4471" and ev.scheduled_start is None
    assert ev.study_instance_uid == "1.2.826.0.1.3680043.9.3001"
    assert any(w.startswith("TQ1-7: not an HL7 date/time") for w in x.warnings)


def test_an_optional_value_too_long_to_store_is_left_out_with_a_warning() -> None:
    raw = feeds.ihe_tq1_s().replace(b"PL-3001", b"P" * 300)
    x = extract_bytes(raw)
    (ev,) = x.exam_events
    assert ev.placer_order is None and ev.accession_number == "AC-3001"
    assert any(w.startswith("placer_order") for w in x.warnings)


# -- report events -------------------------------------------------------------------------


@pytest.mark.parametrize(("trigger", "status", "control", "event"), [
    ("T10", "AU", "", E.CORRECTED_REPORT),  # document replaced: a corrected report
    ("T10", "", "", E.CORRECTED_REPORT),
    ("T10", "LA", "SC", E.CORRECTED_REPORT),
    ("T04", "AU", "CA", E.CANCELLED),  # cancellation: never a corrected report
    ("T04", "AU", "DC", E.CANCELLED),
    ("T11", "", "", E.CANCELLED),  # document cancel notification
    ("T02", "AU", "", E.FINAL_REPORT),
    ("T02", "DI", "", E.PRELIMINARY_REPORT),
    ("T06", "LA", "", E.CORRECTED_REPORT),  # an addendum to a signed report
])
def test_document_events(trigger: str, status: str, control: str, event: E) -> None:
    (ev,) = extract_bytes(feeds.mdm(trigger, status, control)).exam_events
    assert ev.event is event and ev.accession_number == "MR-25-0012044"


# -- modality --------------------------------------------------------------------------------


def test_nmr_is_mr_and_the_check_is_real() -> None:
    opts = with_profile(fields={"accession_number": ["OBR-20"]})
    assert extract_bytes(feeds.cerner_order(), opts).exam_events[0].modality == "MR"
    bogus = feeds.cerner_order().replace(b"|NMR|", b"|XYZ|")
    x = extract_bytes(bogus, opts)
    assert x.exam_events[0].modality is None
    (warning,) = [w for w in x.warnings if w.startswith("modality")]
    assert "OBR-24" in warning and "PS3.3" in warning and "XYZ" not in warning


def test_modality_in_an_obx() -> None:
    (ev,) = extract_bytes(feeds.obx_modality_report()).exam_events
    assert ev.modality == "CT" and ev.event is E.FINAL_REPORT


def test_modality_in_obr_21_and_site_aliases() -> None:
    raw = feeds.cerner_order().replace(b"|NMR|", b"||").replace(
        b"|MR-25-0012044|", "|MR-25-0012044|胸片|".encode())
    opts = with_profile(fields={"accession_number": ["OBR-20"], "modality": ["OBR-21"]},
                        modality_aliases={"胸片": "DX"})
    assert extract_bytes(raw, opts).exam_events[0].modality == "DX"


# -- AIG -------------------------------------------------------------------------------------


def test_aig_3_naming_a_person_is_not_the_station() -> None:
    x = extract_bytes(feeds.scheduling_only())
    assert x.exam_events[0].station == "CT2"  # the AIG whose AIG-4 says EQUIPMENT
    assert any("person" in w for w in x.warnings)
    assert not any("MENSAH" in w for w in x.warnings)
    only_person = feeds.scheduling_only().replace(
        b"AIG|2||CT2^Somatom CT 2^L|EQUIPMENT\r", b"")
    assert extract_bytes(only_person).exam_events[0].station is None
    typed_staff = feeds.scheduling_only().replace(b"|D4471^MENSAH^KOFI|", b"|D4471|STAFF")
    y = extract_bytes(typed_staff)  # a person by its resource type: passed over silently
    assert y.exam_events[0].station == "CT2" and not y.warnings
    unknown = feeds.scheduling_only().replace(b"|D4471^MENSAH^KOFI|", b"|D4471|GANTRY")
    z = extract_bytes(unknown)
    assert z.exam_events[0].station == "CT2"
    assert any("station_resource_types" in w for w in z.warnings)


# -- character sets, line breaks, versions -------------------------------------------------


def test_a_wrong_declared_charset_is_overridden_by_the_profile() -> None:
    raw = feeds.latin1_declared_ascii()
    with pytest.raises(Hl7InputError) as err:
        extract_bytes(raw)
    assert err.value.location and err.value.location.startswith("byte")
    opts = with_profile(sending_application="OLDRIS", charset="8859/1", force_charset=True)
    x = extract_bytes(raw, opts)
    assert x.exam_events[0].accession_number == "SE-77" and x.exam_events[0].modality == "MG"
    assert x.message.value("PID", 5) == "LEFÈVRE"


def test_a_stray_cr_inside_a_field_is_joined_with_a_warning() -> None:
    x = extract_bytes(feeds.stray_cr())
    (ev,) = x.exam_events
    assert ev.accession_number == "AC-55013" and ev.modality == "CT"
    assert x.message.value("OBR", 13) == "Headache for 3 weeksno trauma"
    assert any("line break inside a field" in w for w in x.warnings)


def test_version_1_0_is_read_with_a_warning() -> None:
    x = extract_bytes(feeds.version_one())
    assert x.exam_events[0].accession_number == "AC-5"
    assert any(w.startswith("MSH-12") for w in x.warnings)


# -- profiles: the file and its errors -----------------------------------------------------


def test_profile_file_loads_and_picks_the_most_specific(tmp_path: Path) -> None:
    path = tmp_path / "profiles.toml"
    path.write_text('''
[[profile]]
name = "any"
zone = "UTC"

[[profile]]
name = "cerner"
sending_application = "cerner"
[profile.fields]
accession_number = ["obr-20"]

[[profile]]
name = "cerner-mercy"
sending_application = "CERNER"
sending_facility = "MERCY"
zone = "America/Chicago"
[profile.fields]
accession_number = ["OBR-20"]
''', encoding="utf-8")
    profiles = load(path)
    assert [p.name for p in profiles.profiles] == ["any", "cerner", "cerner-mercy"]
    chosen = profiles.for_sender("CERNER", "MERCY")
    assert chosen is not None and chosen.name == "cerner-mercy"
    other = profiles.for_sender("CERNER", "ELSEWHERE")
    assert other is not None and other.name == "cerner"
    x = extract_bytes(feeds.cerner_order(), ExtractOptions(profiles=profiles))
    chicago = ZoneInfo("America/Chicago")
    assert x.exam_events[0].occurred_at == at("20251029081839", chicago)


@pytest.mark.parametrize(("profile", "names"), [
    ({"fields": {"accession": ["OBR-20"]}}, ["fields.accession", "accession_number"]),
    ({"fields": {"accession_number": ["OBR20"]}}, ["fields.accession_number", "OBR-20"]),
    ({"modality_aliases": {"NMR": "MRI"}}, ["modality_aliases", "DICOM"]),
    ({"charset": "klingon"}, ["charset", "8859/1"]),
    ({"zone": "Mars/Olympus"}, ["zone", "IANA"]),
    ({"colour": "red"}, ["colour", "sending_application"]),
])
def test_profile_errors_name_the_key_and_what_is_allowed(
        profile: dict[str, object], names: list[str]) -> None:
    with pytest.raises(ConfigError) as err:
        from_data({"profile": [{"name": "bad", **profile}]}, "site.toml")
    text = str(err.value)
    assert "site.toml" in text and "'bad'" in text
    for name in names:
        assert name in text, text


def test_a_broken_profile_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text("[[profile]\nname=", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load(path)
    with pytest.raises(ConfigError, match="cannot read"):
        load(tmp_path / "missing.toml")


def test_a_later_date_only_message_keeps_the_stored_time_of_that_day(
        sql_store: object) -> None:
    """Across messages: the core's merge keeps a stored time of that day when a later
    message gives only the date (``ExamEvent.occurred_at_date_only``)."""
    from hc_hl7v2 import SqlSink
    from hc_hl7v2.backfill import import_messages

    opts = with_profile(fields={"accession_number": ["OBR-20"]})
    orc = b"ORC|NW|55012^CERNER|||SC||||20251029"
    precise = feeds.cerner_order("P1").replace(  # completed at 09:15
        orc, b"ORC|SC|55012^CERNER|||CM||||20251029091500")
    date_only = feeds.cerner_order("P2").replace(  # the same, sent the next day, date only
        orc, b"ORC|SC|55012^CERNER|||CM||||20251029").replace(
        b"|20251029081839|", b"|20251030000500|")
    assert extract_bytes(date_only, opts).events[0].date_only == ("occurred_at",)
    sink = SqlSink(sql_store)  # type: ignore[arg-type]
    import_messages([("a", precise), ("b", date_only)], sink, opts)
    exam = sink.exams.exam("MR-25-0012044")
    assert exam is not None and exam.completed_at == at("20251029091500")


def test_the_site_wide_aliases_apply_under_a_sender_s_profile() -> None:
    profiles = from_data({"profile": [
        {"name": "site", "modality_aliases": {"XYZ": "CT"}},
        {"name": "cerner", "sending_application": "CERNER",
         "fields": {"accession_number": ["OBR-20"]}}]})
    raw = feeds.cerner_order().replace(b"|NMR|", b"|XYZ|")
    (ev,) = extract_bytes(raw, ExtractOptions(profiles=profiles)).exam_events
    assert ev.accession_number == "MR-25-0012044" and ev.modality == "CT"

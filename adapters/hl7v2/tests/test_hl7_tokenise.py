"""The tokeniser: delimiters, escapes, segment terminators, character sets, batches, and bad
input that must fail with a message naming where and what."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from hc_hl7v2 import (
    Encoding,
    Hl7InputError,
    Message,
    escape,
    parse_dtm,
    parse_message,
    split_batch,
    unescape,
)
from hc_hl7v2.charsets import declared_charset

FIXTURES = Path(__file__).parent / "fixtures"
SH = ZoneInfo("Asia/Shanghai")


def read(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@pytest.mark.parametrize("name", ["odd_crlf.hl7", "odd_lf.hl7", "orm_o01_new_scheduled.hl7"])
def test_cr_lf_and_crlf_give_the_same_segments(name: str) -> None:
    m = parse_message(read(name))
    assert [s[:3] for s in m.segments][:4] == ["MSH", "PID", "ORC", "OBR"] or \
        [s[:3] for s in m.segments][:5] == ["MSH", "PID", "PV1", "ORC", "OBR"]
    assert all("\r" not in s and "\n" not in s for s in m.segments)


def test_msh_numbering_matches_the_standard() -> None:
    m = parse_message(read("orm_o01_new_scheduled.hl7"))
    assert m.value("MSH", 1) == "|"
    assert m.raw_field("MSH", 2) == "^~\\&"
    assert m.value("MSH", 9, 1) == "ORM" and m.value("MSH", 9, 2) == "O01"
    assert m.control_id == "ORM0001"
    assert m.value("MSH", 12) == "2.3.1"


def test_custom_encoding_characters_come_from_msh_2() -> None:
    m = parse_message(read("odd_custom_encoding.hl7"))
    assert m.encoding == Encoding("|", "$", "*", "/", "%")
    assert m.message_type == "ORM^O01"
    assert m.value("PID", 3, 4, repetition=1) == "CHN"
    assert m.value("OBR", 4, 2) == "DX $ Chest"  # /S/ is the component separator, $


def test_escape_sequences() -> None:
    m = parse_message(read("odd_escapes.hl7"))
    assert m.value("PID", 3) == "P77|A"
    assert m.value("PID", 5) == "O\\BRIEN"
    assert m.value("IPC", 1) == "ACC&9003"
    assert m.value("OBR", 4, 1) == "CT~1"
    assert m.value("OBR", 4, 2) == "CT Abdomen\nline2"


@pytest.mark.parametrize(("raw", "text"), [
    ("a\\F\\b", "a|b"), ("a\\S\\b\\T\\c\\R\\d\\E\\e", "a^b&c~d\\e"), ("\\X4142\\", "AB"),
    ("x\\.br\\y", "x\ny"), ("\\H\\bold\\N\\", "bold"), ("\\Z99\\", "\\Z99\\"),
    ("tail\\", "tail\\"), ("\\XZZ\\", "\\XZZ\\"), ("no escapes", "no escapes"),
])
def test_unescape(raw: str, text: str) -> None:
    assert unescape(raw) == text


def test_escape_is_the_inverse_of_unescape() -> None:
    value = "a|b^c&d~e\\f\ng"
    assert unescape(escape(value)) == value


def test_repetitions() -> None:
    m = parse_message(read("odd_repetitions.hl7"))
    assert m.value("PID", 3) == "P9004"
    assert m.value("PID", 3, repetition=1) == "X1"
    assert m.value("PID", 3, 4, repetition=1) == "OTHER"
    assert m.value("PID", 3, repetition=9) == ""
    assert len(m.repetitions("PID", 3)) == 3


def test_gb18030_is_decoded_per_msh_18() -> None:
    raw = read("odd_gb18030.hl7")
    assert declared_charset(raw) == "GB 18030-2000"
    m = parse_message(raw)
    assert m.charset == "gb18030"
    assert m.value("PID", 5, 1) == "张" and m.value("PID", 5, 2) == "三丰"
    assert m.value("OBR", 4, 2) == "胸部正位片"


def test_utf8_is_decoded_per_msh_18() -> None:
    m = parse_message(read("odd_utf8.hl7"))
    assert m.charset == "utf-8"
    assert m.value("PID", 5, 1) == "欧阳"


def test_gb18030_without_msh_18_needs_a_configured_default() -> None:
    raw = read("odd_gb18030.hl7").replace(b"GB 18030-2000", b"")
    with pytest.raises(Hl7InputError) as err:
        parse_message(raw)
    assert "not valid utf-8" in err.value.problem
    assert parse_message(raw, default_charset="gb18030").value("PID", 5, 1) == "张"


def test_z_segments_are_kept() -> None:
    m = parse_message(read("odd_zsegments.hl7"))
    assert m.has("ZDS") and m.has("ZPV")
    assert m.value("ZPV", 1, 2) == "vendor"


def test_batch_is_split_into_messages() -> None:
    parts = list(split_batch(read("odd_batch.hl7")))
    assert len(parts) == 3
    ids = [parse_message(raw).control_id for _, raw in parts]
    assert ids == ["BAT0001", "BAT0002", "BAT0003"]


def test_concatenated_messages_are_split() -> None:
    data = read("orm_o01_cancel.hl7") + read("odd_lf.hl7") + read("odd_crlf.hl7")
    assert [parse_message(r).control_id for _, r in split_batch(data)] == [
        "ORM0003", "ODD0002", "ODD0001"]


def test_garbage_before_the_first_msh_is_reported() -> None:
    parts = list(split_batch(b"hello\r" + read("orm_o01_cancel.hl7")))
    assert len(parts) == 2
    with pytest.raises(Hl7InputError, match="must start with an MSH"):
        parse_message(parts[0][1])


@pytest.mark.parametrize(("name", "location", "words"), [
    ("bad_truncated.hl7", "MSH-2", "truncated"),
    ("bad_binary.hl7", "MSH", "must start with an MSH"),
    ("bad_no_msh.hl7", "MSH", "starts with 'PID'"),
    ("bad_wrong_encoding.hl7", "byte", "not valid ascii"),
])
def test_bad_input_names_the_place_and_the_problem(name: str, location: str,
                                                   words: str) -> None:
    with pytest.raises(Hl7InputError) as err:
        parse_message(read(name))
    assert (err.value.location or "").startswith(location)
    assert words in err.value.problem
    assert err.value.ack_code == "AR"


def test_two_msh_in_one_message_is_refused() -> None:
    data = read("orm_o01_cancel.hl7") + read("orm_o01_cancel.hl7")
    with pytest.raises(Hl7InputError, match="more than one MSH"):
        parse_message(data)


def test_a_non_segment_line_is_refused_with_its_position() -> None:
    data = read("orm_o01_cancel.hl7") + b"\x00\x01garbage\r"
    with pytest.raises(Hl7InputError) as err:
        parse_message(data)
    assert err.value.location == "segment 5"


def test_unknown_charset_is_refused() -> None:
    raw = read("odd_utf8.hl7").replace(b"UNICODE UTF-8", b"KLINGON")
    with pytest.raises(Hl7InputError) as err:
        parse_message(raw)
    assert err.value.location == "MSH-18"


def test_message_doctest_example() -> None:
    m = Message.from_text("MSH|^~\\&|RIS||||||ORM^O01|42|P|2.3.1\rPID|||P1")
    assert (m.value("MSH", 9, 2), m.value("PID", 3)) == ("O01", "P1")


# -- times -------------------------------------------------------------------------------------


def test_time_without_offset_is_in_the_configured_zone() -> None:
    assert parse_dtm("20261120093000", "ORC-9") == datetime(2026, 11, 20, 9, 30, tzinfo=SH)
    utc = parse_dtm("20261120093000", "ORC-9", UTC)
    assert utc == datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


def test_offset_is_honoured() -> None:
    t = parse_dtm("20261120093000-0500", "ORC-9")
    assert t is not None and t.utcoffset() == -timedelta(hours=5)
    assert t == datetime(2026, 11, 20, 14, 30, tzinfo=UTC)


@pytest.mark.parametrize(("value", "expected"), [
    ("2026", datetime(2026, 1, 1, tzinfo=SH)),
    ("20261120", datetime(2026, 11, 20, tzinfo=SH)),
    ("202611200930", datetime(2026, 11, 20, 9, 30, tzinfo=SH)),
    ("20261120093012.5", datetime(2026, 11, 20, 9, 30, 12, 500000, tzinfo=SH)),
    ("20261120093012.1234+0800", datetime(2026, 11, 20, 9, 30, 12, 123400, tzinfo=SH)),
])
def test_partial_precision(value: str, expected: datetime) -> None:
    assert parse_dtm(value, "X-1") == expected


@pytest.mark.parametrize("value", ["2026-11-20", "20261340", "20261120256000", "abc"])
def test_bad_times_name_the_field(value: str) -> None:
    with pytest.raises(Hl7InputError) as err:
        parse_dtm(value, "TQ1-7")
    assert err.value.location == "TQ1-7"
    assert "date/time" in err.value.problem
    assert value not in err.value.reason  # a value is described, never quoted


def test_empty_time_is_none() -> None:
    assert parse_dtm("  ", "OBR-7") is None

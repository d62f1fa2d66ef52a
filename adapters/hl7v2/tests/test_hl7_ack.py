"""ACK/NAK built with hl7apy: the code in MSA-1, the original control id in MSA-2, and an
ERR segment naming the problem (v2.5 layout, or ERR-1 for v2.3.1/2.4); python-hl7 (an
independent parser) must read them."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import hl7

from hc_hl7v2 import Hl7InputError, build_ack, read_header

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
RAW = b"MSH|^~\\&|RIS|RADHOSP|PACS|RADHOSP|20261120||ORM^O01|C123|P|2.5.1\rPID|||P1\r"
OLD = RAW.replace(b"2.5.1", b"2.3.1")


def test_aa_echoes_control_id_and_swaps_applications() -> None:
    ack = hl7.parse(build_ack(read_header(RAW), "AA", now=NOW).decode())
    assert str(ack.segment("MSA")[1]) == "AA"
    assert str(ack.segment("MSA")[2]) == "C123"
    msh = ack.segment("MSH")
    assert str(msh[5]) == "RIS" and str(msh[6]) == "RADHOSP"
    assert str(msh[9]) == "ACK^O01^ACK"
    assert str(msh[12]) == "2.5.1"
    assert str(msh[7]).startswith("20261120090000")


def test_ae_has_an_err_segment_naming_the_field() -> None:
    err = Hl7InputError("ORC-9", "'2026-11-24' is not an HL7 date/time", code="102")
    ack = hl7.parse(build_ack(read_header(RAW), "AE", now=NOW, error=err).decode())
    assert str(ack.segment("MSA")[1]) == "AE"
    seg = ack.segment("ERR")
    assert str(seg[2]) == "ORC^1^9"
    assert str(seg[3][0][0]) == "102"
    assert str(seg[4]) == "E"
    assert "not an HL7 date/time" in str(seg[8])


def test_old_versions_get_err_1() -> None:
    err = Hl7InputError("MSH-10", "message control id is empty", code="101")
    ack = hl7.parse(build_ack(read_header(OLD), "AE", now=NOW, error=err).decode())
    assert str(ack.segment("MSH")[9]) == "ACK^O01"
    assert str(ack.segment("ERR")[1]).startswith("MSH^^10^101&")


def test_ar_without_any_header_still_answers() -> None:
    err = Hl7InputError("MSH", "a message must start with an MSH segment", code="100",
                        ack_code="AR")
    text = build_ack(read_header(b"\x00\x01junk"), "AR", now=NOW, error=err).decode()
    ack = hl7.parse(text)
    assert str(ack.segment("MSA")[1]) == "AR"
    assert str(ack.segment("MSH")[12]) == "2.5"


def test_delimiters_and_non_ascii_in_problem_text_are_escaped() -> None:
    err = Hl7InputError("OBR-7", "bad value 'a|b^c' 张")
    out = build_ack(read_header(RAW), "AE", now=NOW, error=err)
    out.decode("ascii")
    ack = hl7.parse(out.decode())
    assert len(ack.segment("ERR")) == 9


def test_header_is_read_from_gb18030_bytes() -> None:
    raw = ("MSH|^~\\&|RIS|医院|PACS|RADHOSP|20261120||ORM^O01|C9|P|2.4|||||||GB 18030-2000\r"
           "PID|||P1||张^三\r").encode("gb18030")
    h = read_header(raw)
    assert h is not None and h.control_id == "C9" and h.version == "2.4"
    hl7.parse(build_ack(h, "AA", now=NOW).decode("ascii"))

"""The caches and shortcuts of the fast path give exactly what the plain path gives.

- the per-shape plans (``extract._SHAPES``: groups and resolved paths, built once per message
  type and segment ids) give the same events, sources and errors cold and warm;
- the time cache (``times.DTM_CACHE``) returns what parsing returns, per zone, and never
  caches an error;
- the tokeniser's one-pass check of common messages agrees with the general path on blank
  lines, leading blanks and bad segments;
- ``split_batch`` finds the same message starts as a plain look-behind search and loses no
  byte.
"""

from __future__ import annotations

import random
import re
import sys
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from hc_hl7v2 import Hl7InputError, Message, extract_bytes, parse_dtm, split_batch
from hc_hl7v2 import times as times_module
from hc_hl7v2.tokenise import split_segments

FIXTURES = Path(__file__).parent / "fixtures"
ALL = sorted(p.name for p in FIXTURES.glob("*.hl7"))
extract_module = sys.modules["hc_hl7v2.extract"]  # the package exports a function `extract`
tokenise_module = sys.modules["hc_hl7v2.tokenise"]


def _messages() -> list[bytes]:
    out = []
    for name in ALL:
        data = (FIXTURES / name).read_bytes()
        out.append(data)
        out.extend(raw for _, raw in split_batch(data))
    return out


def _outcome(raw: bytes) -> Any:
    try:
        x = extract_bytes(raw)
    except Hl7InputError as exc:
        return ("error", exc.location, exc.problem, exc.code, exc.ack_code)
    return (x.note, [tuple(ev) for ev in x.events], [e.model_dump() for e in x.exam_events],
            x.message.segments, x.message.names)


def _clear_caches() -> None:
    extract_module._SHAPES.clear()
    extract_module._ORDER_KINDS.clear()
    extract_module.DEFAULT_OPTIONS._rules.modalities.clear()
    extract_module._UIDS_SEEN.clear()
    extract_module._AIG_SEEN.clear()
    tokenise_module._INDEXES.clear()
    tokenise_module._HEADS.clear()
    times_module.DTM_CACHE.clear()


def _variants() -> list[bytes]:
    """Every fixture and message, plus mutations that change types, shapes and values."""
    base = _messages()
    rng = random.Random(7)
    out = list(base)
    for raw in base:
        out.append(raw.replace(b"ORM^O01", b"orm^o01").replace(b"SIU^S12", b"SIU^S14"))
        out.append(raw.replace(b"|NW|", b"|SC|").replace(b"|SC|", b"|CM|"))
        out.append(raw.replace(b"20261120", b"20261321"))  # a bad month: an error
        for _ in range(3):
            mutated = bytearray(raw)
            i = rng.randrange(len(mutated))
            mutated[i] = rng.choice(b"|^~\\&\r\nX0 9+-.\"")
            out.append(bytes(mutated))
    return out


def test_cold_and_warm_caches_give_the_same_results() -> None:
    msgs = _variants()
    cold = []
    for raw in msgs:
        _clear_caches()
        cold.append(_outcome(raw))
    _clear_caches()
    warm_once = [_outcome(raw) for raw in msgs]
    warm_twice = [_outcome(raw) for raw in msgs]
    assert cold == warm_once == warm_twice


def test_one_shape_with_two_types_is_planned_per_type() -> None:
    orm = (FIXTURES / "orm_o01_new_scheduled.hl7").read_bytes()
    as_oru = orm.replace(b"ORM^O01", b"ORU^R01")
    as_adt = orm.replace(b"ORM^O01", b"ADT^A08")
    x_orm, x_oru, x_adt = (extract_bytes(r) for r in (orm, as_oru, as_adt))
    assert x_orm.message.names == x_oru.message.names
    assert x_orm.events[0].event.value == "scheduled"
    assert x_oru.events[0].event.value == "other"  # no OBR-25: a report of unknown status
    assert x_adt.events == [] and x_adt.note and "ADT^A08" in x_adt.note


def test_order_kind_cache_keeps_encodings_apart() -> None:
    """``NW^X`` is ``NW`` with the standard delimiters but a different value when ``^`` is
    not the component separator: the cache of ORC-1/ORC-5 pairs must tell them apart."""
    std = (b"MSH|^~\\&|RIS|H|||20261120083000||ORM^O01|A1|P|2.3\r"
           b"ORC|NW^X|P1||||||||20261120083000\rOBR|1|P1||CT|||||||||||||ACC1\r")
    custom = std.replace(b"|^~\\&|", b"|#~\\&|").replace(b"ORM^O01", b"ORM#O01")
    assert extract_bytes(std).events[0].event.value == "ordered"
    assert extract_bytes(custom).events[0].event.value == "other"


# -- times ---------------------------------------------------------------------------------


def test_time_cache_returns_what_parsing_returns_per_zone() -> None:
    times_module.DTM_CACHE.clear()
    berlin, shanghai = ZoneInfo("Europe/Berlin"), ZoneInfo("Asia/Shanghai")
    first = parse_dtm("202611200830", "OBR-7", berlin)
    again = parse_dtm("202611200830", "OBR-7", berlin)
    other = parse_dtm("202611200830", "OBR-7", shanghai)
    assert first is again  # served from the cache
    assert first == datetime(2026, 11, 20, 8, 30, tzinfo=berlin)
    assert other == datetime(2026, 11, 20, 8, 30, tzinfo=shanghai) and other != first
    assert times_module.cached_dtm("202611200830", berlin) is first
    assert times_module.cached_dtm("202611200831", berlin) is None


def test_time_errors_are_never_cached_and_name_each_location() -> None:
    times_module.DTM_CACHE.clear()
    for location in ("ORC-9", "EVN-6"):
        with pytest.raises(Hl7InputError) as err:
            parse_dtm("20261320", location)
        assert err.value.location == location
    assert not times_module.DTM_CACHE


def test_time_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    times_module.DTM_CACHE.clear()
    monkeypatch.setattr(times_module, "DTM_CACHE_MAX", 10)
    for minute in range(25):
        parse_dtm(f"2026112008{minute:02d}", "MSH-7")
    assert 0 < len(times_module.DTM_CACHE) <= 10
    assert parse_dtm("202611200824", "MSH-7") == datetime(
        2026, 11, 20, 8, 24, tzinfo=ZoneInfo("Asia/Shanghai"))


def test_a_bad_time_in_a_cached_shape_still_names_its_field() -> None:
    raw = (FIXTURES / "orm_o01_cancel.hl7").read_bytes()
    extract_bytes(raw)  # the shape is planned and cached
    bad = raw.replace(b"20261120095500", b"20261120995500")
    x = extract_bytes(bad)  # an optional time: left out with a warning, MSH-7 used instead
    (warning,) = [w for w in x.warnings if w.startswith("ORC-9")]
    assert "hour must be in 0..23" in warning and "20261120995500" not in warning
    assert x.events[0].sources["occurred_at"][1:] == (7, 1)  # MSH-7


# -- tokeniser -----------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "MSH|^~\\&|A|B|||20261120||ADT^A08|1|P|2.5\rPID|||P1",
    "MSH|^~\\&|A|B|||20261120||ADT^A08|1|P|2.5\r\rPID|||P1\r   \r",
    "MSH|^~\\&|A|B|||20261120||ADT^A08|1|P|2.5\nPID|||P1\n\n",
    "  MSH|^~\\&|A|B|||20261120||ADT^A08|1|P|2.5\rPID|||P1",
    "MSH|^~\\&|A|B|||20261120||ADT^A08|1|P|2.5\rZZZ\rPID|||P1",
    "MSH|^~\\&|A|B|||20261120||ADT^A08|1|P|2.5\r \t \rPID|||P1",
])
def test_one_pass_check_agrees_with_the_general_path(text: str) -> None:
    fast = Message.from_text(text)
    general = Message._from_segments(split_segments(text), text, "utf-8")
    assert fast.segments == general.segments
    assert fast.names == general.names == tuple(s[:3] for s in general.segments)
    assert fast.value("PID", 3) == "P1"


@pytest.mark.parametrize(("text", "location"), [
    # a line that is no segment and not text (a control character): the first one is named
    ("MSH|^~\\&|A|B|||1||ADT^A08|1|P|2.5\r\x01pid|||P1\rPV1\x02 x", "segment 2"),
    ("MSH|^~\\&|A|B|||1||ADT^A08|1|P|2.5\rPID|||P1\rPV1\x02 x\r\x01pid|1", "segment 3"),
    ("MSH|^~\\&|A|B|||1||ADT^A08|1|P|2.5\rPID|||P1\rMSH|^~\\&|A", "MSH"),
])
def test_the_first_bad_segment_is_the_one_reported(text: str, location: str) -> None:
    with pytest.raises(Hl7InputError) as err:
        Message.from_text(text)
    assert err.value.location == location


_LOOK_BEHIND = re.compile(rb"(?:\A|(?<=[\r\n\x0b]))MSH(?=[^A-Za-z0-9\r\n])")
_BLANK = b"\r\n\t \x0b\x1c\x00\xef\xbb\xbf"


def _starts_by_look_behind(data: bytes) -> list[int]:
    return [m.start() for m in _LOOK_BEHIND.finditer(data)]


def _envelope_or_blank(head: bytes) -> bool:
    """Line by line: every line is blank or a batch envelope line (FHS/BHS/BTS/FTS, then a
    separator or nothing)."""
    for line in re.split(rb"\r\n|\r|\n", head):
        line = line.lstrip(_BLANK)
        if line and not (line[:3] in (b"FHS", b"BHS", b"BTS", b"FTS") and
                         (len(line) == 3 or not line[3:4].isalnum())):
            return False
    return True


def test_split_batch_loses_no_byte_and_starts_messages_only_at_msh() -> None:
    """Every MSH at a line start begins a piece, pieces run from one MSH to the next (so no
    byte after the first MSH is lost, envelope lines included), and what comes before the
    first MSH is a piece of its own unless it is only blank and envelope lines."""
    rng = random.Random(11)
    samples = [(FIXTURES / name).read_bytes() for name in ALL]
    pieces = [b"MSH|", b"MSH", b"FHS|", b"BTS|1", b"\r", b"\n", b"\r\n", b"MSHX", b"xMSH|",
              b"PID|1", b"FTS^", b"MSH\r", b"BHS|", b"\x0b", b" ", b"BTS", b"BTSX|"]
    for _ in range(600):
        samples.append(b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 12))))
    for data in samples:
        starts = _starts_by_look_behind(data)
        got = list(split_batch(data))
        head = data[:starts[0]] if starts else data
        expected = starts if _envelope_or_blank(head) else [0, *starts]
        assert [offset for offset, _ in got] == expected, data
        if got:  # contiguous from the first piece to the end
            assert b"".join(raw for _, raw in got) == data[got[0][0]:], data


def test_events_built_field_by_field_equal_keyword_built_ones() -> None:
    """The fast path builds ``Hl7Event`` tuples positionally: each must equal the event built
    by keyword from its own fields (a field added to ``Hl7Event`` must be added there too)."""
    from hc_hl7v2 import Hl7Event

    assert len(Hl7Event._fields) == 17
    for raw in _messages():
        try:
            x = extract_bytes(raw)
        except Hl7InputError:
            continue
        for ev in x.events:
            assert type(ev) is Hl7Event and ev == Hl7Event(**ev._asdict())
            assert ev.message_control_id == x.message.control_id
            assert ev.message_type == x.message.message_type


def test_import_leaves_the_garbage_collector_as_it_found_it() -> None:
    import gc

    from hc_hl7v2 import ExtractOptions, MemorySink
    from hc_hl7v2.backfill import import_messages

    chunks = [(f"m{i}", raw) for i, raw in enumerate(_messages())]
    was = gc.isenabled()
    try:
        for enabled in (True, False):
            (gc.enable if enabled else gc.disable)()
            summary = import_messages(chunks, MemorySink(), ExtractOptions(), batch_size=7)
            assert summary.messages == len(chunks) and summary.rejected
            assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()


def test_fast_built_extraction_equals_a_constructed_one() -> None:
    import dataclasses

    from hc_hl7v2 import Extraction

    x = extract_bytes((FIXTURES / "orm_o01_new_scheduled.hl7").read_bytes())
    assert type(x) is Extraction
    assert x == Extraction(x.message, x.events, x.exam_events, x.note)
    assert dataclasses.replace(x) == x and x.note is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        x.note = "changed"  # type: ignore[misc]


_SPECS = ("order_done", "order", "report", "document", "siu", "adt")  # attributes of _Rules


def test_compiled_values_read_what_the_loop_reads() -> None:
    """``_Reader.values`` runs code compiled per group and spec; the loop it unrolls
    (``_Reader._values_loop``) is the reference: same values, same sources, same errors."""
    from hc_hl7v2 import parse_message

    checked = 0
    for raw in _variants():
        try:
            msg = parse_message(raw)
            _, mtype, _ = msg.header()
            shape = extract_module._shape(msg, mtype)
        except Hl7InputError:
            continue
        if shape is None:
            continue
        for group in shape.groups:
            for name in _SPECS:
                rules = extract_module.DEFAULT_OPTIONS._rules
                spec = getattr(rules, name)
                fresh = parse_message(raw)  # its own cache of split segments
                fresh.header()
                r1 = extract_module._Reader(msg, group, rules)
                r2 = extract_module._Reader(fresh, group, rules)
                assert r1.values(spec) == r2._values_loop(spec)
                assert r1.sources == r2.sources
                checked += 1
    assert checked > 100


def test_the_common_path_tokenises_as_the_general_path() -> None:
    """``extract._common`` (bytes -> message and header in one go, for the common message)
    gives the segments, names, charset and header :func:`parse_message` gives, on every
    fixture and mutation it takes; whatever it declines goes the general way."""
    from hc_hl7v2 import parse_message

    taken = 0
    for raw in _variants():
        try:
            general = parse_message(raw)
            header = general.header()
        except Hl7InputError:
            general = None
        common = extract_module._common(raw, "utf-8") if raw[:9] == b"MSH|^~\\&|" else None
        if common is None:
            continue
        assert general is not None, raw
        msg, cid, mtype, version = common
        assert (msg.segments, msg.names, msg.charset) == (
            general.segments, general.names, general.charset)
        assert (cid, mtype) == header[:2]
        assert version[:2] == "2." or version == header[2]
        taken += 1
    assert taken > 100

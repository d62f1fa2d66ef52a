"""Error texts never carry message content: what is stored in ``hc_hl7_messages.error``,
printed by ``hl7 import`` and sent back in the ACK (MSA-3, ERR-8, ERR-1) names the field and
the problem, describes a value at most by its length and kinds of characters, and is at most
200 characters long. Texts stored by older versions are masked by the migration
``hl7v2_0002``."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import hl7
import pytest
import sqlalchemy as sa
from hospital_complaints.domain.imaging import ExamEvent
from hospital_complaints.storage.sql import SqlStore

from hc_hl7v2 import Disposition, Hl7InputError, Incoming, SqlSink, extract_bytes, receive
from hc_hl7v2.backfill import import_files
from hc_hl7v2.errors import MAX_TEXT, describe, scrub
from hc_hl7v2.extract import ExtractOptions
from hc_hl7v2.migrations import DIRECTORY

FIXTURES = Path(__file__).parent / "fixtures"
GOOD = sorted(p for p in FIXTURES.glob("*.hl7")
              if not p.name.startswith("bad_") and p.name != "odd_batch.hl7")
NAME = "ZHANGSANFENG"  # stands for anything personal a sender may put in any field
NID = "110101199003074518"


def leaks(text: str) -> list[str]:
    """Every 6-character piece of the markers found in ``text``."""
    found = []
    for marker in (NAME, NID):
        for i in range(len(marker) - 5):
            if marker[i:i + 6] in text:
                found.append(marker[i:i + 6])
    return found


def patient(raw: bytes) -> bytes:
    """``raw`` with the patient's name and national id replaced by the markers."""
    return raw.replace(b"ZHANG^SAN^", f"{NAME}^X^".encode()).replace(
        b"110101199001011234", NID.encode())


def set_field(raw: bytes, segment: str, n: int, value: str) -> bytes:
    """``raw`` with field ``n`` of the first ``segment`` set to ``value`` (added when the
    segment is shorter); unchanged when there is no such segment."""
    lines = raw.split(b"\r")
    for i, line in enumerate(lines):
        if line[:3] != segment.encode():
            continue
        fields = line.split(b"|")
        k = n - 1 if segment == "MSH" else n  # MSH-1 is the separator itself
        fields += [b""] * (k + 1 - len(fields))
        fields[k] = value.encode()
        lines[i] = b"|".join(fields)
        break
    return b"\r".join(lines)


def read(name: str) -> bytes:
    return patient((FIXTURES / name).read_bytes())


def ack_texts(ack: bytes) -> str:
    """The answer's text without what the receiver makes up itself: MSH-7 (its clock) and
    MSH-10 (a random message id, which may contain any six digits)."""
    segments = ack.decode("ascii").split("\r")
    fields = segments[0].split("|")
    for n in (7, 10):  # MSH-n is fields[n - 1]
        if len(fields) >= n:
            fields[n - 1] = ""
    return "\r".join(["|".join(fields), *segments[1:]])


def test_unknown_character_set_names_msh18_and_quotes_nothing(sql_store: SqlStore) -> None:
    sink = SqlSink(sql_store)
    for version in ("2.5.1", "2.3.1"):  # ERR-8 and ERR-1
        raw = set_field(set_field(read("omi_o23_scheduled.hl7"), "MSH", 18, "ZHANG^SANFENG"),
                        "MSH", 12, version)
        out = receive(raw, "peer", sink)
        assert out.ack_code == "AR"
        ack = hl7.parse(out.ack.decode())
        err = str(ack.segment("ERR"))
        assert "MSH" in err and "unknown character set" in err
        assert "ZHANG" not in out.ack.decode() and "SANFENG" not in out.ack.decode()
    stored = list(sink.read())
    assert [m.disposition for m in stored] == ["rejected", "rejected"]
    for m in stored:
        assert m.error is not None and m.error.startswith("MSH-18: unknown character set")
        assert "ZHANG" not in m.error and "SANFENG" not in m.error


def test_msh2_error_does_not_echo_the_message(sql_store: SqlStore) -> None:
    """A message on one line (segments not ended by CR/LF) with a field separator that does
    not come again: the former text quoted everything after MSH-1, PID included."""
    raw = read("omi_o23_scheduled.hl7").replace(b"MSH|", b"MSH#", 1).replace(b"\r", b"\x1e")
    sink = SqlSink(sql_store)
    out = receive(raw, "peer", sink)
    assert out.ack_code == "AR"
    error = next(iter(sink.read())).error or ""
    assert error.startswith("MSH-2: ") and len(error) <= MAX_TEXT
    assert not leaks(error) and not leaks(ack_texts(out.ack))


@pytest.mark.parametrize(("segment", "n", "value", "location"), [
    ("MSH", 7, NID + "X", "MSH-7"),  # not a date/time (ORC-9 empty: MSH-7 is the time)
    ("MSH", 7, NID[:14], "MSH-7"),  # shaped like one, but month 01, day 01, hour 19...
    ("MSH", 18, NAME, "MSH-18"),  # not a character set
    ("MSH", 18, "rot13", "MSH-18"),  # a Python codec, but no character set
])
def test_field_errors_describe_the_value_and_never_quote_it(
        segment: str, n: int, value: str, location: str) -> None:
    raw = set_field(set_field(read("omi_o23_scheduled.hl7"), "ORC", 9, ""), segment, n, value)
    with pytest.raises(Hl7InputError) as err:
        extract_bytes(raw)
    assert err.value.location == location
    assert value not in err.value.reason and not leaks(err.value.reason)
    assert "characters (" in err.value.reason  # the description: length and kinds


@pytest.mark.parametrize(("segment", "n", "value", "location"), [
    ("ORC", 9, NID + "X", "ORC-9"),  # an optional time that is none: a warning
    ("ORC", 9, NID[:14], "ORC-9"),
    ("TQ1", 7, NAME, "TQ1-7"),
    ("MSH", 12, NAME, "MSH-12"),  # not a version: read as v2, with a warning
])
def test_field_warnings_describe_the_value_and_never_quote_it(
        segment: str, n: int, value: str, location: str) -> None:
    raw = set_field(read("omi_o23_scheduled.hl7"), segment, n, value)
    x = extract_bytes(raw)
    assert x.exam_events, "the rest of the event is kept"
    shown = [w for w in x.warnings if w.startswith(location)]
    assert shown and "characters (" in shown[0]
    assert not any(value in w or leaks(w) for w in x.warnings)


def test_a_line_that_is_no_segment_is_described_not_shown() -> None:
    raw = read("omi_o23_scheduled.hl7") + f"\r\x01{NAME} {NID}\r".encode()
    with pytest.raises(Hl7InputError) as err:
        extract_bytes(raw)
    assert err.value.location == "segment 8"
    assert "ZHA" not in err.value.reason and not leaks(err.value.reason)
    # text without control characters: a line break inside a field, joined with a warning
    x = extract_bytes(read("omi_o23_scheduled.hl7") + f"\r{NAME} {NID}\r".encode())
    assert any(w.startswith("segment 8") for w in x.warnings)
    assert not any("ZHA" in w or leaks(w) for w in x.warnings)


def test_a_message_that_does_not_start_with_msh_shows_only_a_standard_segment_id() -> None:
    with pytest.raises(Hl7InputError) as err:
        extract_bytes(f"{NAME}|{NID}\r".encode())
    assert "ZHA" not in err.value.reason
    with pytest.raises(Hl7InputError) as err:
        extract_bytes(b"PID|1||P1\r")
    assert "'PID'" in err.value.reason  # a segment id is no value


def test_warnings_and_notes_describe_values() -> None:
    raw = set_field(set_field(set_field(read("omi_o23_scheduled.hl7"), "IPC", 3, NAME + ".1"),
                              "IPC", 5, NAME), "OBR", 24, "")
    x = extract_bytes(raw)
    warnings = x.events[0].warnings
    assert any("not a DICOM UID" in w for w in warnings)
    assert any("modality" in w for w in warnings)
    assert not any(leaks(w) for w in warnings)
    other = extract_bytes(set_field(read("adt_a08_update.hl7"), "MSH", 9, f"{NAME}^A08"))
    assert other.note is not None and not leaks(other.note)
    known = extract_bytes(read("adt_a08_update.hl7"))
    assert known.note is not None and "ADT^A08" in known.note  # a message type is named


# every field an error or warning can be about, with personal-looking values in each
_FIELDS = [("MSH", 9), ("MSH", 12), ("MSH", 18), ("EVN", 2), ("EVN", 6), ("ORC", 1),
           ("ORC", 5), ("ORC", 7), ("ORC", 9), ("OBR", 7), ("OBR", 18), ("OBR", 22),
           ("OBR", 24), ("OBR", 25), ("OBR", 27), ("IPC", 1), ("IPC", 3), ("IPC", 5),
           ("IPC", 9), ("TQ1", 7), ("SCH", 11), ("SCH", 25), ("AIS", 4), ("AIL", 3),
           ("TXA", 4), ("TXA", 13), ("TXA", 17), ("PV1", 44), ("ZDS", 1), ("PID", 3)]
_VALUES = [NAME, NID, NID + "X", f"{NAME}^{NID}", NID * 20, f"{NAME}.{NID}", f"\\X{NID}\\"]


def test_no_error_warning_or_note_carries_a_value_of_any_field() -> None:
    checked = 0
    for path in GOOD:
        base = patient(path.read_bytes())
        for segment, n in _FIELDS:
            for value in _VALUES:
                raw = set_field(base, segment, n, value)
                out = receive(raw, "peer", _Sink())
                texts = [out.prepared.incoming.error or "", ack_texts(out.ack)]
                if out.prepared.extraction is not None:
                    texts.append(out.prepared.extraction.note or "")
                    texts += [w for ev in out.prepared.extraction.events for w in ev.warnings]
                for text in texts:
                    assert not leaks(text), (path.name, segment, n, value, text)
                error = out.prepared.incoming.error
                assert error is None or len(error) <= MAX_TEXT
                checked += 1
    assert checked > 5000


class _Sink:
    """A sink that keeps nothing and says "rejected" or "applied" (the loop above makes
    thousands of messages; only the texts matter)."""

    def accept(self, raw: bytes, sender: str, control_id: str | None,
               events: Sequence[ExamEvent], error: str | None) -> Disposition:
        return self.accept_many([Incoming(raw, sender, control_id, events, error)])[0]

    def accept_many(self, items: Sequence[Incoming]) -> list[Disposition]:
        return [Disposition.rejected if i.error else Disposition.applied for i in items]


def test_import_summary_shows_no_value(tmp_path: Path, sql_store: SqlStore) -> None:
    bad = [f"{NAME} {NID}".encode(),  # before the first MSH: a piece of its own
           set_field(read("omi_o23_scheduled.hl7"), "MSH", 18, "ZHANG^SANFENG"),
           set_field(set_field(read("orm_o01_cancel.hl7"), "ORC", 9, ""), "MSH", 7,
                     NID + "Z"),
           read("orm_o01_cancel.hl7").replace(b"MSH|", b"MSH#", 1).replace(b"\r", b"\x1e")]
    feed = tmp_path / "feed.hl7"
    feed.write_bytes(b"\r".join(bad) + b"\r")
    summary = import_files([feed], SqlSink(sql_store), ExtractOptions())
    text = summary.render()
    assert len(summary.rejected) == 4, text
    assert "MSH-18" in text and "MSH-7" in text and "MSH-2" in text
    assert "ZHANG" not in text and "SANFENG" not in text and not leaks(text)


def test_texts_are_capped() -> None:
    err = Hl7InputError("OBR-7", "x" * 1000)
    assert len(err.reason) == MAX_TEXT and err.reason.endswith("...")
    assert len(scrub("y" * 1000)) == MAX_TEXT


def test_rot13_as_charset_is_refused_not_a_crash(caplog: pytest.LogCaptureFixture) -> None:
    """``codecs.lookup("rot13")`` succeeds, but it decodes no bytes: it must be an ``AR``
    naming MSH-18, not an internal error with a traceback."""
    raw = set_field(read("omi_o23_scheduled.hl7"), "MSH", 18, "rot13")
    with caplog.at_level(logging.ERROR):
        out = receive(raw, "peer", _Sink())
    assert out.ack_code == "AR" and b"MSH-18" in out.ack
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_describe_and_scrub() -> None:
    assert describe("ZHANG^SANFENG") == "a value of 13 characters (letters, punctuation)"
    assert describe("2026-11-24") == "a value of 10 characters (digits, punctuation)"
    assert describe("张三") == "a value of 2 characters (non-ASCII)"
    assert describe(b"\x00\x01") == "a value of 2 bytes (control characters)"
    assert describe("") == "an empty value"
    assert scrub("MSH-18: unknown character set 'ZHANG^SANFENG'; supported: ASCII") == (
        "MSH-18: unknown character set <a value of 13 characters (letters, punctuation)>; "
        "supported: ASCII")
    assert scrub('segment 5: "O\'BRIEN" is not') == (
        "segment 5: <a value of 7 characters (letters, punctuation)> is not")


# -- texts stored by older versions -------------------------------------------------------


OLD_TEXTS = [
    "MSH-18: unknown character set 'ZHANG^SANFENG'; supported: 8859/1, ASCII, BIG-5",
    "MSH-2: encoding characters '^~\\\\&|RIS|RADHOSP\\x1ePID|||110101199003074518||ZHANG"
    "^SANFENG' must be 2 to 5 characters (component, repetition, escape, subcomponent)",
    "ORC-9: '110101199003074518' is not an HL7 date/time (YYYYMMDD[HHMM[SS[.SSSS]]][+/-ZZZZ])",
    "segment 5: '\\x00\\x01ZH' is not a segment (a segment starts with a 3-character id and "
    "'|'); the message is binary, truncated or wrongly framed",
    "MSH-12: version \"ZHANG'S\" is not HL7 v2.x",
    "MSH-10: message control id is empty",  # nothing quoted: kept as it is
]


def test_migration_masks_error_texts_stored_by_older_versions(sql_store: SqlStore) -> None:
    """A database at revision hl7v2_0001 (the adapter before this change) holding rejected
    rows whose errors quote values: upgrading masks them, keeps everything else, and the
    rows are then chained like new ones."""
    _old_texts_are_masked(sql_store)


def test_migration_masks_old_error_texts_on_servers(server_store: SqlStore) -> None:
    _old_texts_are_masked(server_store)


def _old_texts_are_masked(sql_store: SqlStore) -> None:
    from hc_hl7v2.chain import MessageChainCheck
    from hc_hl7v2.sink import _aad

    sql_store.upgrade()
    sql_store.upgrade("hl7v2_0001", version_locations=[DIRECTORY])
    old = sa.Table("hc_hl7_messages", sa.MetaData(), autoload_with=sql_store.engine,
                   schema=sql_store.schema)
    assert "hash" not in old.c  # the table as 0001 made it
    ring = sql_store.key_ring
    rows = []
    for i, text in enumerate(OLD_TEXTS):
        key_id, raw = ring.encrypt(f"raw {i}".encode(), _aad("A^B", f"C{i}"))
        _, events = ring.encrypt(b"[]", _aad("A^B", f"C{i}"))
        rows.append({"received_at": "2026-11-20T00:00:00+00:00", "sender": "A^B",
                     "control_id": f"C{i}", "message_type": "ORM^O01",
                     "disposition": "rejected", "error": text, "event_count": 0,
                     "applied_key": None, "key_id": key_id, "raw": raw, "events": events})
    with sql_store.write() as conn:
        conn.execute(old.insert(), rows)

    sql_store.upgrade(version_locations=[DIRECTORY])

    sink = SqlSink(sql_store)
    stored = list(sink.read())
    errors = [m.error or "" for m in stored]
    assert len(errors) == len(OLD_TEXTS)
    for before, after in zip(OLD_TEXTS, errors, strict=True):
        assert not leaks(after) and "ZHANG" not in after and "'" not in after.split(":")[-1]
        assert len(after) <= MAX_TEXT
        assert after.split(":")[0] == before.split(":")[0]  # the location is kept
    assert errors[0].startswith("MSH-18: unknown character set <a value of 13 characters")
    assert errors[-1] == OLD_TEXTS[-1]
    assert [m.raw for m in stored] == [f"raw {i}".encode() for i in range(len(OLD_TEXTS))]
    assert MessageChainCheck().check(sql_store) == []  # the old rows were chained
    receive((FIXTURES / "orm_o01_cancel.hl7").read_bytes(), "peer", sink)
    assert MessageChainCheck().check(sql_store) == []  # and new rows chain after them

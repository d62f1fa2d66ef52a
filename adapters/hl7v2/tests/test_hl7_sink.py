"""Sinks: raw messages (good and bad) are kept, duplicates (sender + MSH-10) are kept but not
applied twice, and the SQL sink encrypts the personal data it stores."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from hospital_complaints.storage.sql import SqlStore

from hc_hl7v2 import Disposition, Incoming, MemorySink, SqlSink, extract_bytes, receive

FIXTURES = Path(__file__).parent / "fixtures"


def _good() -> tuple[bytes, list]:  # type: ignore[type-arg]
    raw = (FIXTURES / "omi_o23_scheduled.hl7").read_bytes()
    return raw, extract_bytes(raw).exam_events


def test_memory_sink_dedups_by_sender_and_control_id() -> None:
    sink = MemorySink()
    raw, events = _good()
    assert sink.accept(raw, "RIS^RADHOSP", "OMI0001", events, None) is Disposition.applied
    assert sink.accept(raw, "RIS^RADHOSP", "OMI0001", events, None) is Disposition.duplicate
    assert sink.accept(raw, "OTHER^X", "OMI0001", events, None) is Disposition.applied
    assert len(sink.messages) == 3  # the duplicate's bytes are kept too
    assert len(sink.events) == 2


def test_rejected_message_is_kept_and_does_not_block_a_corrected_resend() -> None:
    sink = MemorySink()
    raw, events = _good()
    assert sink.accept(b"garbage", "RIS^RADHOSP", "OMI0001", [], "MSH: bad") is \
        Disposition.rejected
    assert sink.accept(raw, "RIS^RADHOSP", "OMI0001", events, None) is Disposition.applied
    assert sink.messages[0].raw == b"garbage" and sink.messages[0].error == "MSH: bad"


def test_sql_sink_round_trip_and_duplicates(sql_store: SqlStore) -> None:
    sink = SqlSink(sql_store)
    raw, events = _good()
    assert sink.accept(raw, "RIS^RADHOSP", "OMI0001", events, None) is Disposition.applied
    assert sink.accept(raw, "RIS^RADHOSP", "OMI0001", events, None) is Disposition.duplicate
    assert sink.accept(b"\x00junk", "127.0.0.1:5", None, [], "MSH: not HL7") is \
        Disposition.rejected
    stored = list(sink.read())
    assert [m.disposition for m in stored] == ["applied", "duplicate", "rejected"]
    assert stored[0].raw == raw and stored[0].events == events
    assert stored[1].events == [] and stored[2].raw == b"\x00junk"


def test_sql_sink_batch_with_duplicates_inside_the_batch(sql_store: SqlStore) -> None:
    sink = SqlSink(sql_store)
    raw, events = _good()
    items = [Incoming(raw, "A^B", "1", events), Incoming(raw, "A^B", "1", events),
             Incoming(raw, "A^B", "2", events), Incoming(raw, "A^B", "3", (), "bad")]
    assert sink.accept_many(items) == [Disposition.applied, Disposition.duplicate,
                                       Disposition.applied, Disposition.rejected]
    assert sink.accept_many(items[:1]) == [Disposition.duplicate]


def test_sql_sink_stores_no_personal_data_in_clear(sql_store: SqlStore) -> None:
    sink = SqlSink(sql_store)
    raw, events = _good()
    sink.accept(raw, "RIS^RADHOSP", "OMI0001", events, None)
    with sql_store.read() as conn:
        row = conn.execute(sa.select(sink.table)).one()
    dump = repr(tuple(row))
    assert "P20261101" not in dump and "ZHANG" not in dump
    assert row.control_id == "OMI0001" and row.event_count == 1
    assert sink.table.name == "hc_hl7_messages"


def test_receive_acknowledges_after_storing(sql_store: SqlStore) -> None:
    sink = SqlSink(sql_store)
    raw, _ = _good()
    first = receive(raw, "peer", sink)
    again = receive(raw, "peer", sink)
    bad = receive((FIXTURES / "bad_time.hl7").read_bytes(), "peer", sink)
    assert (first.ack_code, again.ack_code, bad.ack_code) == ("AA", "AA", "AE")
    assert b"duplicate" in again.ack
    assert b"ERR|" in bad.ack and b"ORC" in bad.ack
    assert [m.disposition for m in sink.read()] == ["applied", "duplicate", "rejected"]


class _BrokenSink(MemorySink):
    def accept_many(self, items):  # type: ignore[no-untyped-def]
        raise OSError("disk full")


def test_a_failing_sink_gives_ae_never_aa() -> None:
    raw, _ = _good()
    out = receive(raw, "peer", _BrokenSink())
    assert out.ack_code == "AE" and out.disposition is None
    assert b"could not be stored" in out.ack

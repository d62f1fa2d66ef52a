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
    assert b"ERR|" in bad.ack and b"MSH-7" in bad.ack
    assert [m.disposition for m in sink.read()] == ["applied", "duplicate", "rejected"]


class _BrokenSink(MemorySink):
    def accept_many(self, items):  # type: ignore[no-untyped-def]
        raise OSError("disk full")


def test_a_failing_sink_gives_ae_never_aa() -> None:
    raw, _ = _good()
    out = receive(raw, "peer", _BrokenSink())
    assert out.ack_code == "AE" and out.disposition is None
    assert b"could not be stored" in out.ack


def test_sql_sink_finds_duplicates_across_key_chunks(sql_store: SqlStore) -> None:
    """The applied-key look-up binds at most 500 keys per query: a batch of 1,200 with old
    and new messages mixed gets every disposition right."""
    sink = SqlSink(sql_store)
    raw, events = _good()
    first = [Incoming(raw, "A^B", f"C{i:05d}", events) for i in range(0, 1200, 2)]
    assert set(sink.accept_many(first)) == {Disposition.applied}
    mixed = [Incoming(raw, "A^B", f"C{i:05d}", events) for i in range(1200)]
    got = sink.accept_many(mixed)
    assert got == [Disposition.duplicate if i % 2 == 0 else Disposition.applied
                   for i in range(1200)]


def test_sql_sink_events_json_is_each_events_model_dump_json(sql_store: SqlStore) -> None:
    """The events column holds ``[e.model_dump_json(), ...]`` joined, written in one call."""
    from hc_hl7v2.sink import _aad

    sink = SqlSink(sql_store)
    raw, events = _good()
    several = [*events, *events]
    sink.accept_many([Incoming(raw, "A^B", "J1", several), Incoming(raw, "A^B", "J2", ()),
                      Incoming(raw, "A^B", "J3", tuple(events))])
    with sql_store.read() as conn:
        rows = list(conn.execute(sa.select(sink.table).order_by(sink.table.c.id)))
    texts = [sql_store.key_ring.decrypt(r.key_id, r.events, _aad(r.sender, r.control_id), "t")
             for r in rows]
    assert texts == [("[" + ",".join(e.model_dump_json() for e in evs) + "]").encode()
                     for evs in (several, [], events)]


def test_events_json_of_a_subclass_keeps_its_own_fields() -> None:
    from hospital_complaints.domain.imaging import ExamEvent

    from hc_hl7v2.sink import _events_json

    class Tagged(ExamEvent):
        tag: str = "x"

    _, events = _good()
    tagged = Tagged(**events[0].model_dump())
    assert _events_json([]) == b"[]"
    assert _events_json(events) == ("[" + events[0].model_dump_json() + "]").encode()
    assert _events_json([tagged]) == ("[" + tagged.model_dump_json() + "]").encode()
    assert b'"tag":"x"' in _events_json([tagged])

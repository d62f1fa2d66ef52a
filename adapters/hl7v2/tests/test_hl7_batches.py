"""Batch envelopes (FHS/BHS/BTS/FTS) are read the same way by ``hl7 import`` and by the MLLP
listener, and nothing is dropped in silence: what cannot be placed is stored as a rejected
message and counted. A message the sender must fix (an order without ORC, a report without
OBR, ...) is answered AE and stored rejected, never AA "applied with 0 events"."""

from __future__ import annotations

import asyncio
from pathlib import Path

import hl7
import pytest
from hl7.mllp import open_hl7_connection
from hospital_complaints.storage.sql import SqlStore

from hc_hl7v2 import MemorySink, MllpListener, SqlSink, receive
from hc_hl7v2.backfill import import_files
from hc_hl7v2.extract import ExtractOptions

FIXTURES = Path(__file__).parent / "fixtures"
ORDER = (FIXTURES / "orm_o01_new_scheduled.hl7").read_bytes()
STRAY = ORDER.replace(b"\rORC|", b"\rBTS|1\rORC|", 1)  # a stray trailer inside the message


def import_bytes(tmp_path: Path, data: bytes, sink: SqlSink) -> tuple[str, int, int]:
    feed = tmp_path / "feed.hl7"
    feed.write_bytes(data)
    summary = import_files([feed], sink, ExtractOptions())
    rows = list(sink.read())
    return summary.render(), summary.messages, len(rows)


def listen(sink: MemorySink, frames: list[bytes]) -> list[hl7.Message]:
    async def main() -> list[hl7.Message]:
        listener = MllpListener(sink, port=0)
        await listener.start()
        try:
            reader, writer = await open_hl7_connection("127.0.0.1", listener.port)
            acks = []
            for raw in frames:
                writer.writeblock(raw)
                await writer.drain()
                acks.append(await asyncio.wait_for(reader.readmessage(), 10))
            writer.close()
            await writer.wait_closed()
            return acks
        finally:
            await listener.stop()
    return asyncio.run(main())


def test_segments_after_a_stray_envelope_line_are_imported(tmp_path: Path,
                                                           sql_store: SqlStore) -> None:
    """Before, ``hl7 import`` split the message at the BTS line and dropped ORC and OBR:
    the order was "applied" with no exam event."""
    sink = SqlSink(sql_store)
    text, messages, rows = import_bytes(tmp_path, STRAY, sink)
    assert (messages, rows) == (1, 1), text
    assert "exam events: 1" in text and "applied: 1" in text
    assert sink.exams.exam("ACC20261120001") is not None


def test_import_and_listener_read_the_same_bytes_alike(tmp_path: Path,
                                                       sql_store: SqlStore) -> None:
    batch = (b"FHS|^~\\&|RIS\rBHS|^~\\&|RIS\r" + STRAY
             + ORDER.replace(b"ORM0001", b"ORM0002") + b"BTS|2\rFTS|1\r")
    sink = SqlSink(sql_store)
    import_bytes(tmp_path, batch, sink)
    imported = [(m.control_id, [e.accession_number for e in m.events]) for m in sink.read()]
    memory = MemorySink()
    acks = listen(memory, [STRAY, ORDER.replace(b"ORM0001", b"ORM0002") + b"BTS|2\rFTS|1\r"])
    assert [str(a.segment("MSA")[1]) for a in acks] == ["AA", "AA"]
    heard = [(m.control_id, [e.accession_number for e in m.events]) for m in memory.messages]
    assert imported == heard == [("ORM0001", ["ACC20261120001"]),
                                 ("ORM0002", ["ACC20261120001"])]


def test_one_message_wrapped_in_a_batch_in_one_frame_is_read() -> None:
    sink = MemorySink()
    [ack] = listen(sink, [b"BHS|^~\\&|RIS|RADHOSP\r" + ORDER + b"BTS|1\r"])
    assert str(ack.segment("MSA")[1]) == "AA"
    assert [e.accession_number for e in sink.events] == ["ACC20261120001"]


def test_what_the_importer_cannot_place_is_stored_and_counted(tmp_path: Path,
                                                              sql_store: SqlStore) -> None:
    data = (b"FHS|^~\\&|RIS\rBHS|^~\\&|RIS\rPID|1||P1\rOBR|1|PLC9||X\r"  # orphans
            + ORDER + b"BTS|1\rFTS|1\r")
    sink = SqlSink(sql_store)
    text, messages, rows = import_bytes(tmp_path, data, sink)
    assert (messages, rows) == (2, 2), text
    assert "rejected: 1" in text and "applied: 1" in text
    assert "must start with an MSH segment" in text and "feed.hl7@0" in text
    orphan = next(iter(sink.read()))
    assert orphan.disposition == "rejected" and b"PID|1||P1" in orphan.raw


def test_a_file_of_captured_mllp_frames_is_split_at_each_start_block(
        tmp_path: Path, sql_store: SqlStore) -> None:
    second = ORDER.replace(b"ORM0001", b"ORM0002")
    data = b"\x0b" + ORDER + b"\x1c\r\x0b" + second + b"\x1c\r"
    sink = SqlSink(sql_store)
    text, messages, rows = import_bytes(tmp_path, data, sink)
    assert (messages, rows) == (2, 2) and "applied: 2" in text, text


# -- required segments ---------------------------------------------------------------------

OMI = (FIXTURES / "omi_o23_scheduled.hl7").read_bytes()


def without(raw: bytes, *segments: str) -> bytes:
    return b"\r".join(s for s in raw.split(b"\r") if s[:3].decode() not in segments)


@pytest.mark.parametrize(("name", "raw", "segment"), [
    ("OMI without ORC", without(OMI, "ORC"), "ORC"),
    ("ORM without ORC", without(ORDER, "ORC"), "ORC"),
    ("OMI on one line", OMI.replace(b"\r", b"\x1e"), "ORC"),  # no segment terminator known
    ("ORU without OBR", without((FIXTURES / "oru_r01_final.hl7").read_bytes(), "OBR"), "OBR"),
    ("ADT^A04 without PID", without((FIXTURES / "adt_a04_registered.hl7").read_bytes(), "PID"),
     "PID"),
    ("MDM without TXA", without((FIXTURES / "mdm_t02_final.hl7").read_bytes(), "TXA"), "TXA"),
    ("SIU without SCH", without((FIXTURES / "siu_s12_booked.hl7").read_bytes(), "SCH"), "SCH"),
])
def test_a_message_missing_a_segment_its_type_needs_is_ae_and_stored_rejected(
        name: str, raw: bytes, segment: str, sql_store: SqlStore) -> None:
    sink = SqlSink(sql_store)
    out = receive(raw, "peer", sink)
    assert out.ack_code == "AE", name
    err = hl7.parse(out.ack.decode()).segment("ERR")
    assert segment in str(err), name
    [stored] = list(sink.read())
    assert stored.disposition == "rejected"
    assert stored.error is not None and stored.error.startswith(f"{segment}: ")


def test_a_message_type_not_used_is_still_aa_with_a_note() -> None:
    out = receive((FIXTURES / "adt_a08_update.hl7").read_bytes(), "peer", MemorySink())
    ack = hl7.parse(out.ack.decode())
    assert out.ack_code == "AA" and "not used" in str(ack.segment("MSA")[3])


def test_an_order_without_accession_is_aa_with_a_note() -> None:
    """An order the RIS has not numbered yet is usable (nothing to fix): AA, and the
    answer says why no exam event came of it."""
    raw = (FIXTURES / "orm_o01_new_ordered.hl7").read_bytes()
    raw = raw.replace(b"ACC20261120002", b"")
    out = receive(raw, "peer", MemorySink())
    assert out.ack_code == "AA"
    assert b"no accession number" in out.ack

"""The MLLP listener over loopback, with python-hl7's asyncio client as the independent peer:
persistent connections, concurrent senders, bad input, duplicates, broken framing."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import hl7
from hl7.mllp import open_hl7_connection
from hospital_complaints.storage.sql import SqlStore

from hc_hl7v2 import Disposition, MemorySink, MllpListener, SqlSink

FIXTURES = Path(__file__).parent / "fixtures"
ORDER = (FIXTURES / "orm_o01_new_scheduled.hl7").read_bytes()


def numbered(n: int, sender: str = "RIS") -> bytes:
    return ORDER.replace(b"ORM0001", f"M{n:06d}".encode()).replace(
        b"|RIS|RADHOSP|PACS", f"|{sender}|RADHOSP|PACS".encode())


def run(sink: Any, body: Callable[[MllpListener], Awaitable[None]]) -> MllpListener:
    async def main() -> MllpListener:
        listener = MllpListener(sink, host="127.0.0.1", port=0)
        await listener.start()
        try:
            await body(listener)
        finally:
            await listener.stop()
        return listener
    return asyncio.run(main())


async def send_all(port: int, messages: list[bytes]) -> list[hl7.Message]:
    reader, writer = await open_hl7_connection("127.0.0.1", port)
    acks = []
    try:
        for raw in messages:
            writer.writeblock(raw)
            await writer.drain()
            acks.append(await asyncio.wait_for(reader.readmessage(), 10))
    finally:
        writer.close()
        await writer.wait_closed()
    return acks


def code(ack: hl7.Message) -> str:
    return str(ack.segment("MSA")[1])


def test_many_messages_on_one_connection(sql_store: SqlStore) -> None:
    sink = SqlSink(sql_store)
    msgs = [numbered(i) for i in range(50)]
    acks: list[hl7.Message] = []

    async def body(listener: MllpListener) -> None:
        acks.extend(await send_all(listener.port, msgs))

    listener = run(sink, body)
    assert [code(a) for a in acks] == ["AA"] * 50
    assert [str(a.segment("MSA")[2]) for a in acks] == [f"M{i:06d}" for i in range(50)]
    stored = list(sink.read())
    assert len(stored) == 50 and all(m.disposition == "applied" for m in stored)
    assert listener.stats.connections == 1


def test_concurrent_senders_each_get_their_own_answers() -> None:
    sink = MemorySink()
    results: list[list[hl7.Message]] = []

    async def body(listener: MllpListener) -> None:
        batches = [[numbered(i, f"RIS{s}") for i in range(30)] for s in range(5)]
        results.extend(await asyncio.gather(*(send_all(listener.port, b) for b in batches)))

    run(sink, body)
    for acks in results:
        assert [code(a) for a in acks] == ["AA"] * 30
        assert [str(a.segment("MSA")[2]) for a in acks] == [f"M{i:06d}" for i in range(30)]
    assert len(sink.events) == 150


def test_bad_message_gets_a_nak_and_is_stored() -> None:
    sink = MemorySink()
    acks: list[hl7.Message] = []
    bad_time = (FIXTURES / "bad_time.hl7").read_bytes()
    not_hl7 = b"PID|1||P1\rORC|NW|X\r"

    async def body(listener: MllpListener) -> None:
        acks.extend(await send_all(listener.port, [bad_time, not_hl7, numbered(1)]))

    run(sink, body)
    assert [code(a) for a in acks] == ["AE", "AR", "AA"]
    assert "ORC" in str(acks[0].segment("ERR")) and "date/time" in str(acks[0].segment("ERR"))
    assert [m.disposition for m in sink.messages] == ["rejected", "rejected", "applied"]
    assert sink.messages[0].raw == bad_time and sink.messages[1].raw == not_hl7


def test_duplicate_is_acknowledged_but_applied_once() -> None:
    sink = MemorySink()
    acks: list[hl7.Message] = []

    async def body(listener: MllpListener) -> None:
        acks.extend(await send_all(listener.port, [numbered(7), numbered(7)]))
        acks.extend(await send_all(listener.port, [numbered(7)]))  # after a reconnect

    run(sink, body)
    assert [code(a) for a in acks] == ["AA", "AA", "AA"]
    assert [m.disposition for m in sink.messages] == [
        Disposition.applied, Disposition.duplicate, Disposition.duplicate]
    assert len(sink.events) == 1


def test_gb18030_message_over_mllp() -> None:
    sink = MemorySink()
    acks: list[hl7.Message] = []

    async def body(listener: MllpListener) -> None:
        acks.extend(await send_all(listener.port, [(FIXTURES / "odd_gb18030.hl7").read_bytes()]))

    run(sink, body)
    assert code(acks[0]) == "AA"
    assert sink.events[0].accession_number == "ACC9005"


async def _raw_exchange(port: int, data: bytes, answers: int) -> list[bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    out = []
    for _ in range(answers):
        block = await asyncio.wait_for(reader.readuntil(b"\x1c\x0d"), 10)
        out.append(block)
    writer.close()
    await writer.wait_closed()
    return out


def test_broken_framing_is_answered_and_kept() -> None:
    sink = MemorySink()
    out: list[bytes] = []
    good = numbered(1)
    data = (b"\r\n"  # blank between frames: ignored
            + b"junk" + b"\x0b" + good + b"\x1c\x0d"  # junk, then a good frame
            + b"\x0b" + good[:40] + b"\x0b" + numbered(2) + b"\x1c\x0d")  # truncated, good

    async def body(listener: MllpListener) -> None:
        out.extend(await _raw_exchange(listener.port, data, 4))

    run(sink, body)
    codes = [hl7.parse(b.strip(b"\x0b\x1c\x0d").decode()).segment("MSA")[1] for b in out]
    assert [str(c) for c in codes] == ["AR", "AA", "AR", "AA"]
    assert [m.disposition for m in sink.messages] == ["rejected", "applied", "rejected",
                                                      "applied"]
    assert sink.messages[0].raw == b"\r\njunk"  # kept exactly as received
    assert sink.messages[2].raw == good[:40]


def test_frame_cut_off_by_close_is_kept() -> None:
    sink = MemorySink()

    async def body(listener: MllpListener) -> None:
        _, writer = await asyncio.open_connection("127.0.0.1", listener.port)
        writer.write(b"\x0b" + numbered(3)[:60])
        await writer.drain()
        writer.close()
        await writer.wait_closed()
        for _ in range(100):
            if sink.messages:
                break
            await asyncio.sleep(0.02)

    run(sink, body)
    assert sink.messages[0].disposition == "rejected"
    assert "cut off" in (sink.messages[0].error or "")

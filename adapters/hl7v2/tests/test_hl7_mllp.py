"""The MLLP listener over loopback, with python-hl7's asyncio client as the independent peer:
persistent connections, concurrent senders, bad input, duplicates, broken framing, and the
limits that keep a hostile or broken sender from exhausting the listener (frame size, idle
connections, connection count)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import hl7
import pytest
from hl7.mllp import open_hl7_connection
from hospital_complaints.storage.sql import SqlStore

from hc_hl7v2 import Disposition, MemorySink, MllpListener, SqlSink
from hc_hl7v2.mllp import KEPT_PREFIX, Framer, frame

FIXTURES = Path(__file__).parent / "fixtures"
ORDER = (FIXTURES / "orm_o01_new_scheduled.hl7").read_bytes()


def numbered(n: int, sender: str = "RIS") -> bytes:
    return ORDER.replace(b"ORM0001", f"M{n:06d}".encode()).replace(
        b"|RIS|RADHOSP|PACS", f"|{sender}|RADHOSP|PACS".encode())


def run(sink: Any, body: Callable[[MllpListener], Awaitable[None]],
        **limits: Any) -> MllpListener:
    async def main() -> MllpListener:
        listener = MllpListener(sink, host="127.0.0.1", port=0, **limits)
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
    assert "MSH-7" in str(acks[0].segment("ERR")) and "date/time" in str(acks[0].segment("ERR"))
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


# -- limits ----------------------------------------------------------------------------------


def _codes(blocks: list[bytes]) -> list[str]:
    return [str(hl7.parse(b.strip(b"\x0b\x1c\x0d").decode()).segment("MSA")[1])
            for b in blocks]


def test_oversized_frame_is_answered_ar_kept_truncated_and_the_connection_goes_on(
        sql_store: SqlStore) -> None:
    sink = SqlSink(sql_store)
    big = numbered(1) + b"NTE|1||" + b"x" * 1_000_000 + b"\r"  # a message, but too large
    out: list[bytes] = []

    async def body(listener: MllpListener) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
        data = frame(big) + frame(numbered(2))
        for i in range(0, len(data), 4096):  # streamed in, as a network delivers it
            writer.write(data[i:i + 4096])
            await writer.drain()
        for _ in range(2):
            out.append(await asyncio.wait_for(reader.readuntil(b"\x1c\x0d"), 30))
        writer.close()
        await writer.wait_closed()

    listener = run(sink, body, max_frame=100_000)
    assert _codes(out) == ["AR", "AA"]  # the same connection goes on after the AR
    stored = list(sink.read())
    assert [m.disposition for m in stored] == ["rejected", "applied"]
    assert stored[0].raw == big[:KEPT_PREFIX] and stored[0].raw_length == len(big)
    assert "larger than the limit of 100,000 bytes" in (stored[0].error or "")
    assert stored[1].raw_length == len(numbered(2))
    assert listener.stats.oversized == 1
    # the frame was never held whole: at most the limit (and one byte) at a time
    assert listener.stats.peak_buffered <= 100_000 + 64 * 1024


def test_idle_connection_is_closed_and_its_unfinished_frame_kept() -> None:
    sink = MemorySink()
    seen: list[bytes] = []

    async def body(listener: MllpListener) -> None:
        quiet_reader, quiet_writer = await asyncio.open_connection("127.0.0.1", listener.port)
        reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
        writer.write(b"\x0b" + numbered(4)[:50])  # a frame begun, then silence
        await writer.drain()
        seen.append(await asyncio.wait_for(reader.read(), 30))  # EOF: closed by the listener
        seen.append(await asyncio.wait_for(quiet_reader.read(), 30))
        for w in (writer, quiet_writer):
            w.close()

    listener = run(sink, body, idle_timeout=0.3)
    assert seen == [b"", b""]
    assert listener.stats.idle_closed == 2
    [kept] = sink.messages  # the silent connection left nothing to keep
    assert kept.raw == numbered(4)[:50] and kept.disposition == "rejected"
    assert "idle timeout" in (kept.error or "") and "cut off" in (kept.error or "")


def test_a_connection_over_the_limit_is_refused_while_the_others_go_on() -> None:
    sink = MemorySink()
    results: dict[str, Any] = {}

    async def body(listener: MllpListener) -> None:
        first = await open_hl7_connection("127.0.0.1", listener.port)
        second = await open_hl7_connection("127.0.0.1", listener.port)
        for i, (reader, writer) in enumerate((first, second)):  # both open and in use
            writer.writeblock(numbered(10 + i))
            await writer.drain()
            await asyncio.wait_for(reader.readmessage(), 10)
        third_reader, third_writer = await asyncio.open_connection("127.0.0.1", listener.port)
        results["third"] = await asyncio.wait_for(third_reader.read(), 10)  # closed at once
        third_writer.close()
        reader, writer = first
        writer.writeblock(numbered(12))
        await writer.drain()
        results["first"] = code(await asyncio.wait_for(reader.readmessage(), 10))
        second[1].close()  # one leaves: a new connection is taken again
        await second[1].wait_closed()
        for _ in range(500):
            if listener.stats.connections == 2 and len(listener._writers) < 2:
                break
            await asyncio.sleep(0.01)
        results["fourth"] = code((await send_all(listener.port, [numbered(13)]))[0])
        writer.close()

    listener = run(sink, body, max_connections=2)
    assert results == {"third": b"", "first": "AA", "fourth": "AA"}
    assert listener.stats.refused == 1 and listener.stats.connections == 3
    assert len(sink.messages) == 4  # the refused connection sent nothing that was lost


def _pieces(framer: Framer, stream: bytes, chunk: int) -> list[tuple[bytes, int, str | None]]:
    out = []
    for i in range(0, len(stream), chunk):
        out += [(p.raw, p.length, p.problem) for p in framer.feed(stream[i:i + chunk])]
    end = framer.end("the connection closed")
    if end is not None:
        out.append((end.raw, end.length, end.problem))
    return out


def test_framer_never_holds_more_than_the_limit_whatever_the_sender_does() -> None:
    good = numbered(1)
    stream = (frame(good) + b"\x0b" + b"y" * 3_000_000 + b"\x1c\x0d"  # too large, ended
              + b"z" * 200_000  # stray bytes, too many
              + b"\x0b" + b"w" * 500_000 + b"\x0b" + good + b"\x1c\x0d"  # too large, cut
              + b"\x0b" + b"v" * 2_000_000)  # too large, then the connection closes
    framer = Framer(max_frame=100_000)
    pieces = _pieces(framer, stream, 65536)
    assert framer.peak <= 100_001
    assert [(len(raw), n) for raw, n, _ in pieces] == [
        (len(good), len(good)), (KEPT_PREFIX, 3_000_000), (KEPT_PREFIX, 200_000),
        (KEPT_PREFIX, 500_000), (len(good), len(good)), (KEPT_PREFIX, 2_000_000)]
    problems = [p for _, _, p in pieces]
    assert problems[0] is None and problems[4] is None
    assert "larger than the limit" in (problems[1] or "")
    assert "outside an MLLP frame" in (problems[2] or "")
    assert "truncated" in (problems[3] or "") and "cut off" in (problems[5] or "")


@pytest.mark.parametrize("max_frame", [40, 200, 100_000])
def test_framer_gives_the_same_pieces_however_the_bytes_arrive(max_frame: int) -> None:
    """End blocks split across reads, over-limit frames, stray bytes: one byte at a time, a
    few, or all at once, the pieces are the same."""
    good = numbered(1)[:150]
    stream = (b"\r\n" + frame(good) + b"junk" + frame(good + b"\x1c") + b"\x0b" + good[:30]
              + frame(b"x" * 300) + b"\x1c\x0d\r\n" + frame(b"") + b"\x0b" + b"tail\x1c")
    expected = _pieces(Framer(max_frame), stream, len(stream))
    for chunk in (1, 2, 3, 7, 64):
        assert _pieces(Framer(max_frame), stream, chunk) == expected, chunk
    assert [n for _, n, _ in expected] == [150, 4, 151, 30, 300, 0, 5]

"""Fuzzing: the tokeniser and extraction never crash (only ``Hl7InputError``), and the
listener's framing always answers every complete frame and keeps every byte (hypothesis);
and, marked slow, 100,000 mutated messages through ``hl7 import`` into SQLite and 10,000
through the live MLLP listener over TCP: no traceback, no message lost, none half-written."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from hospital_complaints.storage.sql import SqlStore
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hc_hl7v2 import (
    Hl7InputError,
    MemorySink,
    MllpListener,
    SqlSink,
    StoredMessage,
    extract_bytes,
    split_batch,
)
from hc_hl7v2.receive import receive

FIXTURES = Path(__file__).parent / "fixtures"
SAMPLES = [p.read_bytes() for p in sorted(FIXTURES.glob("*.hl7"))]
DELIMS = b"|^~\\&\r\n\x0b\x1c"


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SAMPLES)))
    for _ in range(draw(st.integers(0, 8))):
        if not data:
            break
        pos = draw(st.integers(0, len(data) - 1))
        action = draw(st.sampled_from(["flip", "delim", "cut", "dup", "insert"]))
        if action == "flip":
            data[pos] = draw(st.integers(0, 255))
        elif action == "delim":
            data[pos] = draw(st.sampled_from(DELIMS))
        elif action == "cut":
            del data[pos:pos + draw(st.integers(1, 40))]
        elif action == "dup":
            data[pos:pos] = data[pos:pos + draw(st.integers(1, 40))]
        else:
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
    return bytes(data)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(mutated(), st.binary(max_size=300)))
def test_tokeniser_and_extraction_never_crash(data: bytes) -> None:
    for _, raw in split_batch(data):
        try:
            x = extract_bytes(raw)
        except Hl7InputError as exc:
            assert exc.reason and exc.ack_code in ("AE", "AR")
        else:
            for ev in x.exam_events:
                assert ev.source == "hl7v2"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_every_message_is_answered_and_kept(raw: bytes) -> None:
    sink = MemorySink()
    out = receive(raw, "fuzz", sink)
    assert out.ack_code in ("AA", "AE", "AR")
    assert out.ack.startswith(b"MSH|")
    assert len(sink.messages) == 1 and sink.messages[0].raw == raw


class _Writer:
    """Collects what the listener writes (a real class, not a mock)."""

    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, data: bytes) -> None:
        self.data += data

    async def drain(self) -> None:
        return None


frames = st.lists(st.one_of(mutated(), st.binary(max_size=60)), min_size=1, max_size=5)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames, st.lists(st.sampled_from([b"", b"\r\n", b"junk", b"\x0b", b"\x1c\x0d"]),
                        min_size=0, max_size=3), st.integers(1, 64))
def test_framing_always_answers_and_keeps_raw(bodies: list[bytes], noise: list[bytes],
                                              chunk: int) -> None:
    clean = [b.replace(b"\x0b", b"").replace(b"\x1c\x0d", b"") for b in bodies]
    stream = b"".join(b"\x0b" + b + b"\x1c\x0d" for b in clean) + b"".join(noise)

    async def main() -> tuple[MemorySink, _Writer]:
        sink = MemorySink()
        listener = MllpListener(sink, port=0, max_frame=4096)
        reader = asyncio.StreamReader()
        for i in range(0, len(stream), chunk):
            reader.feed_data(stream[i:i + chunk])
        reader.feed_eof()
        writer = _Writer()
        await listener._connection(reader, writer, "fuzz")  # type: ignore[arg-type]
        return sink, writer

    sink, writer = asyncio.run(main())
    answers = [a for a in bytes(writer.data).split(b"\x1c\x0d") if a]
    assert all(a.startswith(b"\x0bMSH|") for a in answers)
    kept = [m.raw for m in sink.messages]
    assert kept[:len(clean)] == clean  # every complete frame kept, byte for byte, in order
    assert len(answers) >= len(clean)  # and answered
    assert len(answers) <= len(sink.messages)  # nothing answered that was not kept



# -- the large fuzz run (slow) -----------------------------------------------------------------

ENVELOPES = [b"FHS|^~\\&|RIS|RADHOSP\r", b"BHS|^~\\&|RIS|RADHOSP\r", b"BTS|1\r", b"FTS|1\r",
             b"BTS\r", b"FHS^x\r", b"BHS|^~\\&\n"]
CHARSETS = [b"UNICODE UTF-8", b"GB 18030-2000", b"8859/1", b"ASCII", b"KLINGON", b"rot13",
            b"base64", b"UNICODE UTF-16", b"ISO IR87", b"BIG-5", b"zlib", b"\x00", b"ZHANG^SAN"]
TYPES = [b"ORM^O01", b"OMI^O23", b"OMG^O19", b"ORU^R01", b"SIU^S12", b"SIU^S14", b"SIU^S26",
         b"MDM^T02", b"ADT^A04", b"ADT^A10", b"ADT^A08", b"ACK", b"", b"^", b"ZZZ^Z99"]


class Mutator:
    """Mutated HL7 messages made from the fixtures, reproducibly (``seed``): each message is
    a fixture (one of a batch file's messages included) with its own MSH-10 (most of the
    time), then one to four of: byte flips, delimiters put anywhere, truncation, CR/LF/CRLF
    inserted, envelope lines, huge fields, a wrong MSH-1 or MSH-2, a bad or unknown MSH-18,
    another MSH-9, NULs and bytes that decode in no character set, segments deleted,
    duplicated or swapped, times made bad, MLLP block bytes."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.base = [raw for sample in SAMPLES for _, raw in split_batch(sample)] or SAMPLES
        self.count = 0
        self.ops = [self.flip, self.delim, self.truncate, self.newline, self.envelope,
                    self.huge, self.msh1, self.msh2, self.charset, self.mtype, self.nul,
                    self.delete, self.duplicate, self.swap, self.bad_time, self.block,
                    self.junk_line]

    def messages(self, n: int) -> Iterator[bytes]:
        for _ in range(n):
            yield self.one()

    def one(self) -> bytes:
        rng = self.rng
        self.count += 1
        data = bytearray(rng.choice(self.base))
        if rng.random() < 0.85:  # mostly its own MSH-10: the applied path, not duplicates
            end = min(i for i in (data.find(b"\r"), data.find(b"\n"), len(data)) if i >= 0)
            fields = bytes(data[:end]).split(b"|")
            if len(fields) > 9:  # MSH-n is fields[n - 1]
                fields[9] = f"F{self.count:08d}".encode()
                data[:end] = b"|".join(fields)
        for _ in range(rng.choice((0, 1, 1, 1, 2, 2, 3, 4))):
            rng.choice(self.ops)(data)
        return bytes(data)

    def _pos(self, data: bytearray) -> int:
        return self.rng.randrange(len(data) + 1)

    def _lines(self, data: bytearray) -> list[bytes]:
        return bytes(data).split(b"\r")

    def _set_lines(self, data: bytearray, lines: list[bytes]) -> None:
        data[:] = b"\r".join(lines)

    def flip(self, data: bytearray) -> None:
        for _ in range(self.rng.randint(1, 4)):
            if data:
                data[self.rng.randrange(len(data))] = self.rng.randrange(256)

    def delim(self, data: bytearray) -> None:
        if data:
            data[self.rng.randrange(len(data))] = self.rng.choice(b"|^~\\&\r\n$*")

    def truncate(self, data: bytearray) -> None:
        del data[self._pos(data):]

    def newline(self, data: bytearray) -> None:
        pos = self._pos(data)
        data[pos:pos] = self.rng.choice((b"\r", b"\n", b"\r\n", b"\r\r", b"\n\n"))

    def envelope(self, data: bytearray) -> None:
        lines = self._lines(data)
        at = self.rng.randrange(len(lines) + 1)
        lines.insert(at, self.rng.choice(ENVELOPES).rstrip(b"\r"))
        self._set_lines(data, lines)

    def huge(self, data: bytearray) -> None:
        # mostly long, sometimes huge (over the MLLP test's 128 KiB frame limit): rare
        # enough that 100,000 messages stay ~100 MB
        size = self.rng.choices((300, 2_000, 20_000, 200_000), (70, 21, 8, 1))[0]
        pos = data.rfind(b"|", 0, self._pos(data) or 1)
        pos = pos + 1 if pos >= 0 else len(data)
        data[pos:pos] = bytes([self.rng.choice(b"AZaz09 .")]) * size

    def msh1(self, data: bytearray) -> None:
        if len(data) > 3:
            data[3] = self.rng.choice(b"|#A \x00\r^\xe4")

    def msh2(self, data: bytearray) -> None:
        end = data.find(b"|", 4)
        if end > 0:
            data[4:end] = self.rng.choice((b"", b"^", b"^~", b"^^\\&", b"abcd", b"^~\\&#!",
                                           b"\xe4\xb8\xad", b"|||"))

    def charset(self, data: bytearray) -> None:
        lines = self._lines(data)
        fields = lines[0].split(b"|")
        fields += [b""] * (18 - len(fields))
        fields[17] = self.rng.choice(CHARSETS)
        lines[0] = b"|".join(fields)
        self._set_lines(data, lines)

    def mtype(self, data: bytearray) -> None:
        lines = self._lines(data)
        fields = lines[0].split(b"|")
        if len(fields) > 8:
            fields[8] = self.rng.choice(TYPES)
            lines[0] = b"|".join(fields)
            self._set_lines(data, lines)

    def nul(self, data: bytearray) -> None:
        pos = self._pos(data)
        data[pos:pos] = self.rng.choice((b"\x00", b"\x00" * 7, b"\xff\xfe", b"\xc3\x28",
                                         "张三".encode("gb18030")))

    def delete(self, data: bytearray) -> None:
        lines = self._lines(data)
        if len(lines) > 1:
            del lines[self.rng.randrange(len(lines))]
            self._set_lines(data, lines)

    def duplicate(self, data: bytearray) -> None:
        lines = self._lines(data)
        k = self.rng.randrange(len(lines))
        lines.insert(k, lines[k])
        self._set_lines(data, lines)

    def swap(self, data: bytearray) -> None:
        lines = self._lines(data)
        if len(lines) > 2:
            i, j = self.rng.sample(range(len(lines)), 2)
            lines[i], lines[j] = lines[j], lines[i]
            self._set_lines(data, lines)

    def bad_time(self, data: bytearray) -> None:
        pos = data.find(b"2026", self._pos(data))
        if pos >= 0:
            data[pos:pos + 8] = self.rng.choice((b"2026-11-", b"20261399", b"99999999", b"",
                                                 b"2026112025", b"0000"))

    def block(self, data: bytearray) -> None:
        pos = self._pos(data)
        data[pos:pos] = self.rng.choice((b"\x0b", b"\x1c", b"\x1c\r"))

    def junk_line(self, data: bytearray) -> None:
        lines = self._lines(data)
        lines.insert(self.rng.randrange(len(lines) + 1),
                     self.rng.choice((b"hello", b"\x01\x02garbage", b"PID", b"  ", b"MSH",
                                      b"ZHANG SANFENG 110101199003074518")))
        self._set_lines(data, lines)


def _envelope_or_blank(head: bytes) -> bool:
    """Line by line: every line is blank or a batch envelope line."""
    for line in head.replace(b"\r\n", b"\r").replace(b"\n", b"\r").split(b"\r"):
        line = line.lstrip(b"\t \x0b\x1c\x00\xef\xbb\xbf")
        if line and not (line[:3] in (b"FHS", b"BHS", b"BTS", b"FTS") and
                         (len(line) == 3 or not line[3:4].isalnum())):
            return False
    return True


def _no_errors_logged(caplog: pytest.LogCaptureFixture) -> None:
    bad = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not bad, [(r.name, r.getMessage(), r.exc_text) for r in bad[:5]]


def _check_store(store: SqlStore, sink: SqlSink) -> tuple[list[StoredMessage], dict[str, int]]:
    """Read everything back and check nothing is half-written: every applied row's exam
    events are in the exam table (and every exam there came from an applied row), every
    rejected row has an error text, and the hash chain is intact."""
    from hc_hl7v2.chain import MessageChainCheck

    stored = list(sink.read())
    exams = store.tables.exams
    with store.read() as conn:
        in_table = {r[0] for r in conn.execute(sa.select(exams.c.accession_number))}
    applied_accessions = {e.accession_number for m in stored
                          if m.disposition == "applied" for e in m.events}
    assert applied_accessions == in_table  # no exam lost, none from nowhere
    for m in stored:
        if m.disposition == "rejected":
            assert m.error and m.error.strip(), m
            assert not m.events
        else:
            assert m.error is None, m
    assert MessageChainCheck().check(store) == []
    counts: dict[str, int] = {}
    for m in stored:
        counts[m.disposition.value] = counts.get(m.disposition.value, 0) + 1
    return stored, counts


@pytest.mark.slow
def test_100k_mutated_messages_through_import_into_sqlite(
        sql_store: SqlStore, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from hc_hl7v2.backfill import import_files, import_messages
    from hc_hl7v2.extract import ExtractOptions

    t0 = time.perf_counter()
    sent = list(Mutator(seed=20261120).messages(100_000))
    generated = time.perf_counter() - t0
    sink = SqlSink(sql_store)
    opts = ExtractOptions()
    with caplog.at_level(logging.ERROR):
        # one piece per message, as `hl7 import` hands split pieces to the sink
        summary = import_messages([(f"m{i}", raw) for i, raw in enumerate(sent)], sink, opts)
        # and a part of them as files, through split_batch: every byte of a file is kept
        files = []
        for k in range(10):
            path = tmp_path / f"feed{k}.hl7"
            path.write_bytes(b"\r".join(sent[k * 500:(k + 1) * 500]))
            files.append(path)
        from_files = import_files(files, sink, opts)
    imported = time.perf_counter() - t0 - generated
    _no_errors_logged(caplog)
    assert (summary.sink_failed, from_files.sink_failed) == (0, 0), caplog.text[-3000:]
    assert summary.messages == len(sent)
    stored, counts = _check_store(sql_store, sink)
    assert len(stored) == len(sent) + from_files.messages  # every message kept, none more
    assert [m.raw for m in stored[:len(sent)]] == sent  # byte for byte, in order
    expected = b""
    for path in files:  # each file from its first piece on; before it, only blank/envelope
        data = path.read_bytes()
        first = next(iter(split_batch(data)), (len(data), b""))[0]
        assert _envelope_or_blank(data[:first]), path
        expected += data[first:]
    assert b"".join(m.raw for m in stored[len(sent):]) == expected
    for part in (summary, from_files):
        assert part.applied + part.duplicates + len(part.rejected) == part.messages
    print(f"\nimport fuzz: {len(sent):,} mutated messages + {from_files.messages:,} pieces of "
          f"{len(files)} files; {counts}; generated in {generated:.1f} s, imported in "
          f"{imported:.1f} s, checked in {time.perf_counter() - t0 - generated - imported:.1f} s")


@pytest.mark.slow
def test_10k_mutated_messages_through_the_live_mllp_listener(
        sql_store: SqlStore, caplog: pytest.LogCaptureFixture) -> None:
    from hc_hl7v2.mllp import KEPT_PREFIX, frame

    t0 = time.perf_counter()
    # a frame's content cannot hold the block bytes (the framing would split it: the
    # framing's own fuzz test above covers that)
    bodies = [raw.replace(b"\x0b", b"").replace(b"\x1c", b"")
              for raw in Mutator(seed=20261121).messages(10_000)]
    sink = SqlSink(sql_store)
    sink.accept_many([])  # migrate before the clock starts
    connections = 4
    max_frame = 128 * 1024  # the huge-field mutations (200 kB) take the over-limit path
    answers: list[list[bytes]] = []

    async def sender(port: int, part: list[bytes]) -> list[bytes]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        got = []
        for body in part:
            writer.write(frame(body))
            await writer.drain()
            got.append(await asyncio.wait_for(reader.readuntil(b"\x1c\r"), 60))
        writer.close()
        await writer.wait_closed()
        return got

    async def main() -> MllpListener:
        listener = MllpListener(sink, port=0, max_frame=max_frame, idle_timeout=60)
        await listener.start()
        try:
            parts = [bodies[k::connections] for k in range(connections)]
            answers.extend(await asyncio.gather(*(sender(listener.port, p) for p in parts)))
        finally:
            await listener.stop()
        return listener

    with caplog.at_level(logging.ERROR):
        listener = asyncio.run(main())
    elapsed = time.perf_counter() - t0
    _no_errors_logged(caplog)
    flat = [a for got in answers for a in got]
    assert len(flat) == len(bodies)  # exactly one answer per frame
    assert all(a.startswith(b"\x0bMSH|") and b"\rMSA|A" in a for a in flat)
    assert listener.stats.messages == len(bodies)
    stored, counts = _check_store(sql_store, sink)
    assert len(stored) == len(bodies)  # every frame kept
    expected = sorted((b if len(b) <= max_frame else b[:KEPT_PREFIX], len(b)) for b in bodies)
    assert sorted((m.raw, m.raw_length or 0) for m in stored) == expected
    codes: dict[str, int] = {}
    for a in flat:
        code = a[a.find(b"\rMSA|") + 5:][:2].decode()
        codes[code] = codes.get(code, 0) + 1
    print(f"\nMLLP fuzz: {len(bodies):,} frames over {connections} connections in "
          f"{elapsed:.1f} s; answers {codes}; stored {counts}; "
          f"{listener.stats.oversized} over the limit")

"""Fuzzing (hypothesis): the tokeniser and extraction never crash (only ``Hl7InputError``),
and the listener's framing always answers every complete frame and keeps every byte."""

from __future__ import annotations

import asyncio
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hc_hl7v2 import Hl7InputError, MemorySink, MllpListener, extract_bytes, split_batch
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

"""The MLLP listener (asyncio): persistent connections, many messages per connection,
several senders at once, one answer per frame in order.

Framing is ``0x0B message 0x1C 0x0D`` (:class:`Framer`). What does not fit is still answered
and kept, and a hostile or broken sender cannot make the listener hold more than about
``max_frame`` bytes per connection:

- bytes before a start block (other than blank lines) are stored as a rejected message and
  answered with ``AR``;
- a start block inside an unfinished frame ends that frame as truncated (stored, ``AR``);
- a frame larger than ``max_frame`` bytes is not buffered: its first :data:`KEPT_PREFIX`
  bytes are kept, the rest is counted and dropped as it streams in, and when its end block
  arrives it is stored (the first bytes and its true length) and answered with ``AR``; the
  connection then goes on;
- a frame cut off by the sender closing the connection, or by ``idle_timeout`` seconds
  without a byte, is stored (nobody is left to answer) and the connection closed;
- a connection beyond ``max_connections`` open at once is closed at once (logged);
- a sender that does not read its answers for ``idle_timeout`` seconds is disconnected.

Each message is stored through the sink in a worker thread (the sink may block on its
database) and acknowledged only after the sink returned.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from .errors import SEGMENT_SEQUENCE_ERROR, Hl7InputError
from .extract import DEFAULT_OPTIONS, ExtractOptions
from .receive import Outcome, Prepared, answer, prepare, receive, store
from .sink import Incoming, MessageSink

log = logging.getLogger(__name__)

START, END = b"\x0b", b"\x1c\x0d"
#: defaults of the limits (``hl7 listen --max-frame-bytes --idle-timeout --max-connections``)
DEFAULT_MAX_FRAME = 4 * 1024 * 1024
DEFAULT_IDLE_TIMEOUT = 300.0
DEFAULT_MAX_CONNECTIONS = 32
#: how much the listener reads from a connection at a time
READ_CHUNK = 64 * 1024
#: of a frame over ``max_frame``, the bytes kept (and stored) from its start
KEPT_PREFIX = 64 * 1024
_CONTENT = re.compile(rb"[^\r\n\t \x00\x1c]")  # bytes that are more than blank


def frame(message: bytes) -> bytes:
    """Wrap one message in MLLP framing."""
    return START + message + END


@dataclass(frozen=True, slots=True)
class Piece:
    """What the framing gave: a frame's content, or bytes that are none.

    :ivar raw: the content, or its first :data:`KEPT_PREFIX` bytes when it was longer than
        the limit.
    :ivar length: its true length in bytes.
    :ivar problem: ``None`` for a complete frame (a message to read), else why it is refused.
    """

    raw: bytes
    length: int
    problem: str | None


class Framer:
    """MLLP framing as a state machine without I/O: :meth:`feed` bytes as they arrive, get
    the pieces they complete; :meth:`end` when the connection ends.

    It never holds more than ``max_frame + 1`` bytes (:attr:`peak` says how many it held
    at most): beyond that, a frame (or stray bytes outside frames) keeps its first
    ``keep`` bytes and only counts the rest."""

    def __init__(self, max_frame: int = DEFAULT_MAX_FRAME, keep: int = KEPT_PREFIX) -> None:
        if max_frame < 1:
            raise ValueError("max_frame must be at least 1 byte")
        self.max_frame = max_frame
        self.keep = min(keep, max_frame)
        self.inside = False  # within a frame (after its start block)
        self.peak = 0  # the most bytes held at once
        self._buf = bytearray()
        self._over = False  # the current piece passed max_frame: counting only
        self._kept = b""  # its first bytes, once over
        self._length = 0  # the current piece's length so far
        self._content = False  # outside a frame: some byte was not blank
        self._last_fs = False  # the last byte taken was 0x1C (an end block may straddle)

    @property
    def buffered(self) -> int:
        """Bytes held now."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[Piece]:
        """The pieces ``data`` completes, in order."""
        out: list[Piece] = []
        pos, n = 0, len(data)
        while pos < n:
            if not self.inside:
                start = data.find(START, pos)
                self._take(data, pos, n if start < 0 else start)
                if start < 0:
                    break
                junk = self._finish_outside("")
                if junk is not None:
                    out.append(junk)
                self.inside = True
                pos = start + 1
                continue
            if self._last_fs and data[pos:pos + 1] == b"\r":  # 0x1C | 0x0D across two reads
                self._length -= 1
                if not self._over:
                    del self._buf[-1:]
                out.append(self._finish_frame(None))
                self.inside = False
                pos += 1
                continue
            end = data.find(END, pos)
            restart = data.find(START, pos, n if end < 0 else end)
            if restart >= 0:
                self._take(data, pos, restart)
                out.append(self._finish_frame("MLLP frame truncated: a new 0x0B start block "
                                              "came before the 0x1C 0x0D end block"))
                pos = restart + 1  # still inside: the new frame
            elif end >= 0:
                self._take(data, pos, end)
                out.append(self._finish_frame(None))
                self.inside = False
                pos = end + len(END)
            else:
                self._take(data, pos, n)
                pos = n
        return out

    def end(self, why: str) -> Piece | None:
        """The connection ended (``why``, e.g. "the connection closed"): the unfinished
        piece, if it holds anything but blank bytes."""
        if self.inside:
            self.inside = False
            if not self._length:
                return None
            return self._finish_frame(f"MLLP frame cut off: {why} before the 0x1C 0x0D end "
                                      "block")
        return self._finish_outside(f", then {why}")

    # -- internals ---------------------------------------------------------------------------

    def _take(self, data: bytes, a: int, b: int) -> None:
        """Add ``data[a:b]`` to the current piece, keeping at most ``max_frame + 1`` bytes."""
        if a >= b:
            return
        self._length += b - a
        self._last_fs = data[b - 1] == 0x1C
        if not self.inside and not self._content and _CONTENT.search(data, a, b):
            self._content = True
        if self._over:
            return  # only counted
        room = self.max_frame + 1 - len(self._buf)
        self._buf += memoryview(data)[a:min(b, a + room)]
        self.peak = max(self.peak, len(self._buf))
        if len(self._buf) > self.max_frame:
            self._over = True
            self._kept = bytes(self._buf[:self.keep])
            self._buf = bytearray()

    def _take_piece(self) -> tuple[bytes, int, str]:
        """The current piece's bytes, length and what to say when it was too large; reset."""
        raw = self._kept if self._over else bytes(self._buf)
        length = self._length
        over = (f"larger than the limit of {self.max_frame:,} bytes ({length:,} bytes; the "
                f"first {len(raw):,} kept)") if self._over else ""
        self._buf = bytearray()
        self._over, self._kept, self._length = False, b"", 0
        self._content = self._last_fs = False
        return raw, length, over

    def _finish_frame(self, problem: str | None) -> Piece:
        raw, length, over = self._take_piece()
        if over:
            problem = f"MLLP frame {over}" + (f"; {problem}" if problem else "")
        return Piece(raw, length, problem)

    def _finish_outside(self, then: str) -> Piece | None:
        content = self._content
        raw, length, over = self._take_piece()
        if not content:
            return None  # blank lines between frames
        problem = "bytes outside an MLLP frame (no 0x0B start block before them)" + then
        return Piece(raw, length, problem + (f"; {over}" if over else ""))


@dataclass
class ListenerStats:
    """What the listener did: connections accepted and refused (over ``max_connections``),
    closed for being idle, messages answered by ACK code, frames over the limit, and the
    most bytes one connection's framing held at once (bounded by ``max_frame + 1``)."""

    connections: int = 0
    messages: int = 0
    by_code: dict[str, int] = field(default_factory=dict)
    refused: int = 0
    idle_closed: int = 0
    oversized: int = 0
    peak_buffered: int = 0


class MllpListener:
    """``await listener.start()``, then ``listener.port``; ``await listener.stop()``.

    :param max_frame: the largest frame read as a message, in bytes (default 4 MiB); a
        larger one is answered ``AR`` and only its first :data:`KEPT_PREFIX` bytes and its
        length are stored.
    :param idle_timeout: seconds without a byte from the sender (or without it reading our
        answer) after which its connection is closed; ``None``: never.
    :param max_connections: connections open at once; more are closed at once.
    """

    def __init__(self, sink: MessageSink, *, host: str = "127.0.0.1", port: int = 2575,
                 opts: ExtractOptions = DEFAULT_OPTIONS, max_frame: int = DEFAULT_MAX_FRAME,
                 idle_timeout: float | None = DEFAULT_IDLE_TIMEOUT,
                 max_connections: int = DEFAULT_MAX_CONNECTIONS,
                 clock: Callable[[], datetime] | None = None,
                 on_outcome: Callable[[Outcome], None] | None = None) -> None:
        if max_frame < 1:
            raise ValueError("max_frame must be at least 1 byte")
        if idle_timeout is not None and idle_timeout <= 0:
            raise ValueError("idle_timeout must be more than 0 seconds (or None: never)")
        if max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        self.sink = sink
        self.host = host
        self.port = port
        self.opts = opts
        self.max_frame = max_frame
        self.idle_timeout = idle_timeout
        self.max_connections = max_connections
        self.clock = clock
        self.on_outcome = on_outcome
        self.stats = ListenerStats()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        sock = self._server.sockets[0].getsockname()
        self.port = int(sock[1])
        log.info("HL7 MLLP listener on %s:%d (frames up to %d bytes, idle timeout %s, "
                 "at most %d connections)", self.host, self.port, self.max_frame,
                 f"{self.idle_timeout:g} s" if self.idle_timeout else "none",
                 self.max_connections)

    async def serve_forever(self) -> None:
        if self._server is None:
            await self.start()
        assert self._server is not None
        async with self._server:
            await self._server.serve_forever()

    async def stop(self, timeout: float = 10.0) -> None:
        """Stop accepting, close every connection (a message being stored is finished and
        answered first if it can be), then return."""
        if self._server is not None:
            self._server.close()
            for writer in list(self._writers):
                writer.close()  # the reader sees EOF: the connection loop ends by itself
            pending = list(self._tasks)
            if pending:
                _, late = await asyncio.wait(pending, timeout=timeout)
                for task in late:
                    task.cancel()
                await asyncio.gather(*late, return_exceptions=True)
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer_info = writer.get_extra_info("peername")
        peer = f"{peer_info[0]}:{peer_info[1]}" if peer_info else "unknown"
        if len(self._writers) >= self.max_connections:
            self.stats.refused += 1
            log.warning("HL7 connection from %s refused: %d connections are open, as many "
                        "as max_connections (--max-connections) allows", peer,
                        len(self._writers))
            await _close(writer)
            return
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        self._writers.add(writer)
        self.stats.connections += 1
        try:
            await self._connection(reader, writer, peer)
        except (ConnectionError, asyncio.IncompleteReadError):
            log.info("HL7 sender %s went away", peer)
        except TimeoutError:  # from _send: the sender does not take its answers
            self.stats.idle_closed += 1
            log.info("HL7 sender %s did not read its answer for %g s: disconnected", peer,
                     self.idle_timeout)
        except asyncio.CancelledError:
            pass
        except Exception:  # a bug of ours: this connection ends, the listener goes on
            log.exception("HL7 connection from %s failed", peer)
        finally:
            self._writers.discard(writer)
            if task is not None:
                self._tasks.discard(task)
            await _close(writer)

    async def _read(self, reader: asyncio.StreamReader) -> bytes:
        if self.idle_timeout is None:
            return await reader.read(READ_CHUNK)
        async with asyncio.timeout(self.idle_timeout):
            return await reader.read(READ_CHUNK)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                          peer: str) -> None:
        framer = Framer(self.max_frame)
        while True:
            try:
                chunk = await self._read(reader)
            except TimeoutError:
                self.stats.idle_closed += 1
                log.info("HL7 connection from %s idle for %g s: closed", peer,
                         self.idle_timeout)
                why = f"no byte for {self.idle_timeout:g} s (idle timeout)"
                await self._end(framer, peer, why)
                return
            if not chunk:
                await self._end(framer, peer, "the connection closed")
                return
            pieces = framer.feed(chunk)
            self.stats.peak_buffered = max(self.stats.peak_buffered, framer.peak)
            for piece in pieces:
                if piece.problem is None:
                    await self._message(writer, piece.raw, peer)
                else:
                    await self._refuse(writer, piece, peer)

    async def _end(self, framer: Framer, peer: str, why: str) -> None:
        """Keep what the connection left unfinished (nobody is left to answer)."""
        piece = framer.end(why)
        if piece is not None:
            self._count_oversized(piece)
            outcome = await asyncio.to_thread(self._store_bad, piece, peer)
            self._count(outcome)

    async def _message(self, writer: asyncio.StreamWriter, body: bytes, peer: str) -> None:
        outcome = await asyncio.to_thread(receive, body, peer, self.sink, self.opts,
                                          self.clock)
        await self._send(writer, outcome)

    async def _refuse(self, writer: asyncio.StreamWriter, piece: Piece, peer: str) -> None:
        self._count_oversized(piece)
        outcome = await asyncio.to_thread(self._store_bad, piece, peer)
        await self._send(writer, outcome)

    def _count_oversized(self, piece: Piece) -> None:
        if piece.length > len(piece.raw):
            self.stats.oversized += 1

    def _store_bad(self, piece: Piece, peer: str) -> Outcome:
        """Store bytes that are no message (in a worker thread) and make their answer."""
        assert piece.problem is not None
        truncated = piece.length > len(piece.raw)
        if truncated:
            log.warning("HL7 sender %s: %s", peer, piece.problem)  # sizes only
        p = prepare(piece.raw, peer, self.opts)
        err = Hl7InputError("MLLP", piece.problem, code=SEGMENT_SEQUENCE_ERROR, ack_code="AR")
        bad = Prepared(Incoming(piece.raw, p.incoming.sender, p.incoming.control_id, (),
                                err.reason, p.incoming.message_type,
                                piece.length if truncated else None), None, err)
        result = store(self.sink, [bad.incoming])
        now = (self.clock or (lambda: datetime.now(self.opts.zone)))()
        return answer(bad, result[0] if result else None, now)

    def _count(self, outcome: Outcome) -> None:
        self.stats.messages += 1
        self.stats.by_code[outcome.ack_code] = self.stats.by_code.get(outcome.ack_code, 0) + 1
        if self.on_outcome is not None:
            self.on_outcome(outcome)

    async def _send(self, writer: asyncio.StreamWriter, outcome: Outcome) -> None:
        self._count(outcome)
        writer.write(frame(outcome.ack))
        if self.idle_timeout is None:
            await writer.drain()
        else:
            async with asyncio.timeout(self.idle_timeout):
                await writer.drain()


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    # the connection is over either way; a second cancellation here must not escape
    # (Python 3.11's start_server callback would report it as an unhandled error)
    with contextlib.suppress(ConnectionError, OSError, asyncio.CancelledError):
        await writer.wait_closed()

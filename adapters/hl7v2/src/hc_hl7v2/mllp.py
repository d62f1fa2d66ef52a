"""The MLLP listener (asyncio): persistent connections, many messages per connection,
several senders at once, one answer per frame in order.

Framing is ``0x0B message 0x1C 0x0D``. What does not fit is still answered and kept:

- bytes before a start block (other than blank lines) are stored as a rejected message and
  answered with ``AR``;
- a start block inside an unfinished frame ends that frame as truncated (stored, ``AR``);
- a frame larger than ``max_frame`` bytes is stored truncated, answered with ``AR``, and the
  connection is closed;
- a frame cut off by the sender closing the connection is stored (nobody is left to answer).

Each message is stored through the sink in a worker thread (the sink may block on its
database) and acknowledged only after the sink returned.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from .errors import SEGMENT_SEQUENCE_ERROR, Hl7InputError
from .extract import DEFAULT_OPTIONS, ExtractOptions
from .receive import Outcome, Prepared, answer, prepare, receive, store
from .sink import Incoming, MessageSink

log = logging.getLogger(__name__)

START, END = b"\x0b", b"\x1c\x0d"
DEFAULT_MAX_FRAME = 16 * 1024 * 1024


def frame(message: bytes) -> bytes:
    """Wrap one message in MLLP framing."""
    return START + message + END


@dataclass
class ListenerStats:
    connections: int = 0
    messages: int = 0
    by_code: dict[str, int] = field(default_factory=dict)


class MllpListener:
    """``await listener.start()``, then ``listener.port``; ``await listener.stop()``."""

    def __init__(self, sink: MessageSink, *, host: str = "127.0.0.1", port: int = 2575,
                 opts: ExtractOptions = DEFAULT_OPTIONS, max_frame: int = DEFAULT_MAX_FRAME,
                 clock: Callable[[], datetime] | None = None,
                 on_outcome: Callable[[Outcome], None] | None = None) -> None:
        self.sink = sink
        self.host = host
        self.port = port
        self.opts = opts
        self.max_frame = max_frame
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
        log.info("HL7 MLLP listener on %s:%d", self.host, self.port)

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
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        self._writers.add(writer)
        peer_info = writer.get_extra_info("peername")
        peer = f"{peer_info[0]}:{peer_info[1]}" if peer_info else "unknown"
        self.stats.connections += 1
        try:
            await self._connection(reader, writer, peer)
        except (ConnectionError, asyncio.IncompleteReadError):
            log.info("HL7 sender %s went away", peer)
        except asyncio.CancelledError:
            pass
        except Exception:  # a bug of ours: this connection ends, the listener goes on
            log.exception("HL7 connection from %s failed", peer)
        finally:
            self._writers.discard(writer)
            if task is not None:
                self._tasks.discard(task)
            writer.close()
            # the connection is over either way; a second cancellation here must not escape
            # (Python 3.11's start_server callback would report it as an unhandled error)
            with contextlib.suppress(ConnectionError, OSError, asyncio.CancelledError):
                await writer.wait_closed()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                          peer: str) -> None:
        buf = bytearray()
        while True:
            # 1. find a start block; anything before it that is not blank is kept and refused
            while True:
                start = buf.find(START)
                if start >= 0:
                    junk = bytes(buf[:start])
                    del buf[:start + 1]
                    if junk.strip(b"\r\n\t \x00\x1c"):
                        await self._refuse(writer, junk, peer, "bytes outside an MLLP frame "
                                           "(no 0x0B start block before them)")
                    break
                if len(buf) > self.max_frame:
                    await self._refuse(writer, bytes(buf[:self.max_frame]), peer,
                                       "bytes outside an MLLP frame")
                    return
                chunk = await reader.read(65536)
                if not chunk:
                    if bytes(buf).strip(b"\r\n\t \x00\x1c"):
                        await self._keep(bytes(buf), peer, "bytes outside an MLLP frame, "
                                         "then the connection closed")
                    return
                buf += chunk
            # 2. read up to the end block
            scanned = 0
            while True:
                end = buf.find(END, scanned)
                restart = buf.find(START, scanned)
                if restart >= 0 and (end < 0 or restart < end):
                    body = bytes(buf[:restart])
                    del buf[:restart]
                    await self._refuse(writer, body, peer, "MLLP frame truncated: a new 0x0B "
                                       "start block came before the 0x1C 0x0D end block")
                    break
                if end >= 0:
                    body = bytes(buf[:end])
                    del buf[:end + len(END)]
                    await self._message(writer, body, peer)
                    break
                if len(buf) > self.max_frame:
                    await self._refuse(writer, bytes(buf[:self.max_frame]), peer,
                                       f"MLLP frame larger than {self.max_frame} bytes")
                    return
                scanned = max(0, len(buf) - 1)
                chunk = await reader.read(65536)
                if not chunk:
                    if buf:
                        await self._keep(bytes(buf), peer, "MLLP frame cut off: the "
                                         "connection closed before the 0x1C 0x0D end block")
                    return
                buf += chunk

    async def _message(self, writer: asyncio.StreamWriter, body: bytes, peer: str) -> None:
        outcome = await asyncio.to_thread(receive, body, peer, self.sink, self.opts,
                                          self.clock)
        await self._send(writer, outcome)

    async def _refuse(self, writer: asyncio.StreamWriter, raw: bytes, peer: str,
                      problem: str) -> None:
        outcome = await asyncio.to_thread(self._store_bad, raw, peer, problem)
        await self._send(writer, outcome)

    async def _keep(self, raw: bytes, peer: str, problem: str) -> None:
        outcome = await asyncio.to_thread(self._store_bad, raw, peer, problem)
        self._count(outcome)

    def _store_bad(self, raw: bytes, peer: str, problem: str) -> Outcome:
        p = prepare(raw, peer, self.opts)
        err = Hl7InputError("MLLP", problem, code=SEGMENT_SEQUENCE_ERROR, ack_code="AR")
        bad = Prepared(Incoming(raw, p.incoming.sender, p.incoming.control_id, (), err.reason,
                                p.incoming.message_type), None, err)
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
        await writer.drain()

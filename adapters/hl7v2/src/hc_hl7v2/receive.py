"""One received message, start to finish: tokenise, extract, store through the sink, answer.

Used by the MLLP listener (one message per frame) and by ``hl7 import`` (many per file).
Nothing here raises for bad input: an unusable message becomes a stored ``rejected`` record
and an ``AE``/``AR`` answer naming the problem.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from .ack import build_ack, read_header
from .errors import APPLICATION_INTERNAL_ERROR, Hl7InputError
from .extract import DEFAULT_OPTIONS, Extraction, ExtractOptions, extract_bytes
from .sink import Disposition, Incoming, MessageSink

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Prepared:
    """A message ready for the sink: what it is and what it gave (or why not)."""

    incoming: Incoming
    extraction: Extraction | None
    error: Hl7InputError | None


def prepare(raw: bytes, peer: str, opts: ExtractOptions = DEFAULT_OPTIONS) -> Prepared:
    """Extract without storing. Never raises for bad input."""
    try:
        extraction: Extraction | None = extract_bytes(raw, opts)
        error: Hl7InputError | None = None
    except Hl7InputError as exc:
        extraction, error = None, exc
    except Exception as exc:  # a bug of ours must still be answered, and is logged
        log.exception("unexpected failure extracting a message from %s", peer)
        extraction = None
        error = Hl7InputError(None, f"internal error while reading the message "
                              f"({type(exc).__name__})", code=APPLICATION_INTERNAL_ERROR)
    if extraction is not None:
        control_id: str | None = extraction.message.control_id
        mtype: str | None = extraction.message.message_type
        sender = f"{extraction.message.value('MSH', 3)}^{extraction.message.value('MSH', 4)}"
    else:
        header = read_header(raw)
        control_id = (header.control_id or None) if header else None
        mtype = None
        sender = header.sender if header else peer
    incoming = Incoming(raw=raw, sender=sender, control_id=control_id,
                        events=extraction.exam_events if extraction else (),
                        error=error.reason if error else None, message_type=mtype)
    return Prepared(incoming, extraction, error)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one message, and the answer for the sender."""

    prepared: Prepared
    disposition: Disposition | None  # None: the sink failed, nothing is stored
    ack_code: str
    ack: bytes


def answer(p: Prepared, disposition: Disposition | None, now: datetime) -> Outcome:
    """The ACK/NAK for a stored (or not stored: ``disposition`` None) message."""
    header = read_header(p.incoming.raw)
    if disposition is None:
        err = Hl7InputError(None, "the message could not be stored; send it again",
                            code=APPLICATION_INTERNAL_ERROR)
        return Outcome(p, None, "AE", build_ack(header, "AE", now=now, error=err))
    if p.error is not None:
        code = p.error.ack_code
        return Outcome(p, disposition, code, build_ack(header, code, now=now, error=p.error))
    note = ("duplicate: already received and applied" if disposition is Disposition.duplicate
            else p.extraction.note if p.extraction else None)
    return Outcome(p, disposition, "AA", build_ack(header, "AA", now=now, note=note))


def store(sink: MessageSink, batch: Sequence[Incoming]) -> list[Disposition] | None:
    """Hand messages to the sink; ``None`` when the sink failed (logged)."""
    try:
        return sink.accept_many(batch)
    except Exception:
        log.exception("the message sink failed to store %d message(s)", len(batch))
        return None


def receive(raw: bytes, peer: str, sink: MessageSink, opts: ExtractOptions = DEFAULT_OPTIONS,
            clock: Callable[[], datetime] | None = None) -> Outcome:
    """Prepare, store and answer one message (blocking: call it from a worker thread)."""
    p = prepare(raw, peer, opts)
    result = store(sink, [p.incoming])
    now = (clock or (lambda: datetime.now(opts.zone)))()
    return answer(p, result[0] if result else None, now)



"""Where received messages go: the :class:`MessageSink` protocol and two real sinks.

A sink must, before ``accept`` returns, durably store the raw message (good or bad) and the
events extracted from it, and say whether it is a duplicate: a message whose sender
(``MSH-3^MSH-4``) and control id (MSH-10) equal those of a message already *applied*. A
duplicate's raw bytes are kept too, but its events are not applied again. A rejected message
(``error`` set) never counts as applied, so a corrected re-send with the same MSH-10 is taken.
The listener sends ``AA`` only after ``accept`` returned.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import sqlalchemy as sa
from hospital_complaints.domain.imaging import ExamEvent
from pydantic import TypeAdapter
from sqlalchemy.dialects import mysql
from sqlalchemy.exc import IntegrityError

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from hospital_complaints.storage.sql import SqlStore
    from hospital_complaints.storage.sql.exams import ImagingRepository


class Disposition(StrEnum):
    """What the sink did with one message."""

    applied = "applied"  # stored, events to be applied
    duplicate = "duplicate"  # stored, same sender + MSH-10 already applied: events ignored
    rejected = "rejected"  # stored, unusable (error given): nothing to apply


@dataclass(frozen=True, slots=True)
class Incoming:
    """One message as handed to a sink.

    :ivar raw: the bytes exactly as received (without MLLP framing).
    :ivar sender: ``MSH-3^MSH-4`` (sending application and facility), or the peer address
        when no MSH could be read.
    :ivar control_id: MSH-10, or ``None`` when it could not be read.
    :ivar events: the exam events extracted (empty for a rejected message).
    :ivar error: why the message is unusable, or ``None``.
    :ivar message_type: MSH-9 (``ORM^O01``), or ``None``.
    """

    raw: bytes
    sender: str
    control_id: str | None
    events: Sequence[ExamEvent] = ()
    error: str | None = None
    message_type: str | None = None


@runtime_checkable
class MessageSink(Protocol):
    """Durable storage of received HL7 messages. Implementations must be thread-safe: the
    listener calls them from worker threads, one call per message, several at a time."""

    def accept(self, raw: bytes, sender: str, control_id: str | None,
               events: Sequence[ExamEvent], error: str | None) -> Disposition:
        """Store one message and its events durably, then say what was done."""
        ...

    def accept_many(self, items: Sequence[Incoming]) -> list[Disposition]:
        """Store several messages at once (one transaction where possible), in order."""
        ...


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """A message as a sink holds it."""

    received_at: datetime
    sender: str
    control_id: str | None
    message_type: str | None
    disposition: Disposition
    error: str | None
    raw: bytes
    events: list[ExamEvent] = field(default_factory=list)


def _disposition(item: Incoming, applied: Callable[[str, str], bool]) -> Disposition:
    if item.error is not None:
        return Disposition.rejected
    if item.control_id and applied(item.sender, item.control_id):
        return Disposition.duplicate
    return Disposition.applied


class MemorySink:
    """Keeps everything in memory (tests, ``hl7 inspect``-like tools, dry runs)."""

    def __init__(self, clock: Callable[[], datetime] | None = None) -> None:
        self._clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.Lock()
        self._applied: set[tuple[str, str]] = set()
        self.messages: list[StoredMessage] = []

    def accept(self, raw: bytes, sender: str, control_id: str | None,
               events: Sequence[ExamEvent], error: str | None) -> Disposition:
        return self.accept_many([Incoming(raw, sender, control_id, events, error)])[0]

    def accept_many(self, items: Sequence[Incoming]) -> list[Disposition]:
        out = []
        with self._lock:
            for item in items:
                d = _disposition(item, lambda s, c: (s, c) in self._applied)
                if d is Disposition.applied and item.control_id:
                    self._applied.add((item.sender, item.control_id))
                self.messages.append(StoredMessage(
                    self._clock(), item.sender, item.control_id, item.message_type, d,
                    item.error, bytes(item.raw),
                    list(item.events) if d is Disposition.applied else []))
                out.append(d)
        return out

    @property
    def events(self) -> list[ExamEvent]:
        """Every applied event, in arrival order."""
        with self._lock:
            return [e for m in self.messages for e in m.events]


TABLE = "hl7_messages"
_EVENT_LIST = TypeAdapter(list[ExamEvent])
_LONG = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")


def _table(metadata: sa.MetaData, prefix: str, schema: str | None) -> sa.Table:
    return sa.Table(
        f"{prefix}{TABLE}", metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("received_at", sa.String(40), nullable=False),
        sa.Column("sender", sa.String(200), nullable=False),
        sa.Column("control_id", sa.String(200), nullable=True),
        sa.Column("message_type", sa.String(20), nullable=True),
        sa.Column("disposition", sa.String(12), nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("event_count", sa.Integer, nullable=False),
        # sender + US + control id, set only on applied messages: the duplicate guard.
        sa.Column("applied_key", sa.String(450), nullable=True, unique=True),
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.Column("raw", _LONG, nullable=False),  # encrypted bytes (base64)
        sa.Column("events", _LONG, nullable=False),  # encrypted JSON list of ExamEvent
        schema=schema,
    )


class SqlSink:
    """Stores messages in the table ``<prefix>hl7_messages`` (``hc_hl7_messages`` by
    default) of a core :class:`~hospital_complaints.storage.sql.SqlStore` and applies the
    events of each applied message to the core's exam table, in the same transaction: a
    message counts as received only when its raw bytes and its exam milestones are both
    committed, and a failure of either leaves nothing of the batch behind.

    The table comes from the adapter's Alembic branch ``hl7v2``; the sink upgrades the store
    to it on first use (a no-op when ``hospital-complaints`` already did).

    The raw message and the events JSON contain personal data (PID), so both are encrypted
    with the store's key ring (AES-GCM, the same keys as the core's events); the columns
    ``sender``, ``control_id``, ``message_type``, ``disposition`` and ``error`` are not
    personal and stay readable. :meth:`read` decrypts. In the exam table the patient id is
    only a keyed hash (the core's ``ImagingRepository``).

    :param tz: the zone of the exams' local day/hour (the deployment's ``HC_TIMEZONE``).
    """

    def __init__(self, store: SqlStore, clock: Callable[[], datetime] | None = None,
                 tz: ZoneInfo | str = "Asia/Shanghai") -> None:
        self.store = store
        self._clock = clock or (lambda: datetime.now(UTC))
        self.table = _table(sa.MetaData(), store.prefix, store.schema)
        self._applied_query = sa.select(self.table.c.applied_key).where(
            self.table.c.applied_key.in_(sa.bindparam("keys", expanding=True)))
        self._tz = tz
        self._exams: ImagingRepository | None = None
        self._ready = False
        self._lock = threading.Lock()

    def _ensure(self) -> None:
        if not self._ready:
            with self._lock:
                if not self._ready:
                    from hospital_complaints.storage.sql.exams import ImagingRepository

                    from .migrations import DIRECTORY

                    self.store.upgrade(version_locations=[DIRECTORY])
                    self._exams = ImagingRepository(self.store, tz=self._tz)
                    self._ready = True

    @property
    def exams(self) -> ImagingRepository:
        """The core's imaging repository the events are applied to."""
        self._ensure()
        assert self._exams is not None
        return self._exams

    def accept(self, raw: bytes, sender: str, control_id: str | None,
               events: Sequence[ExamEvent], error: str | None) -> Disposition:
        return self.accept_many([Incoming(raw, sender, control_id, events, error)])[0]

    def accept_many(self, items: Sequence[Incoming]) -> list[Disposition]:
        self._ensure()
        if not items:
            return []
        try:
            return self._write(items)
        except IntegrityError:
            # Another writer applied one of these between our check and insert: redo; the
            # check now sees its row and our copy becomes a duplicate.
            return self._write(items)

    def _write(self, items: Sequence[Incoming]) -> list[Disposition]:
        t = self.table
        keys = {_key(i.sender, i.control_id) for i in items
                if i.control_id and i.error is None}
        now = self._clock().isoformat()
        ring = self.store.key_ring
        out: list[Disposition] = []
        rows: list[dict[str, Any]] = []
        to_apply: list[ExamEvent] = []
        with self.store.write() as conn:
            seen: set[str] = set()
            if keys:
                # one statement for every chunk: the keys are bound at execution ("expanding"),
                # not coerced one by one into the statement (a third of the batch's time)
                query = self._applied_query
                for chunk in _chunks(sorted(keys), 500):
                    seen.update(r[0] for r in conn.execute(query, {"keys": chunk}))
            for item in items:
                key = _key(item.sender, item.control_id) if item.control_id else None
                d = _disposition(item, lambda _s, _c: key in seen)  # noqa: B023 (used now)
                if d is Disposition.applied and key is not None:
                    seen.add(key)
                applied = d is Disposition.applied
                events = _events_json(item.events) if applied else b"[]"
                aad = _aad(item.sender, item.control_id)
                key_id, raw_enc = ring.encrypt(item.raw, aad)
                _, events_enc = ring.encrypt(events, aad)
                rows.append({
                    "received_at": now, "sender": item.sender[:200],
                    "control_id": item.control_id[:200] if item.control_id else None,
                    "message_type": (item.message_type or "")[:20] or None,
                    "disposition": d.value, "error": item.error,
                    "event_count": len(item.events) if applied else 0,
                    "applied_key": key if applied else None, "key_id": key_id,
                    "raw": raw_enc, "events": events_enc})
                out.append(d)
                if applied:
                    to_apply.extend(item.events)
            conn.execute(t.insert(), rows)
            if to_apply:
                self.exams.merge_exam_events(conn, to_apply)
        return out

    def read(self) -> Iterator[StoredMessage]:
        """Every stored message, oldest first, decrypted."""
        self._ensure()
        ring = self.store.key_ring
        with self.store.read() as conn:
            rows = list(conn.execute(sa.select(self.table).order_by(self.table.c.id)))
        for r in rows:
            aad = _aad(r.sender, r.control_id)
            where = f"{TABLE} row {r.id}"
            raw = ring.decrypt(r.key_id, r.raw, aad, where)
            events = json.loads(ring.decrypt(r.key_id, r.events, aad, where))
            yield StoredMessage(datetime.fromisoformat(r.received_at), r.sender, r.control_id,
                                r.message_type, Disposition(r.disposition), r.error, raw,
                                [ExamEvent.model_validate(e) for e in events])


def _events_json(events: Sequence[ExamEvent]) -> bytes:
    """The JSON list of ``events``, each as its ``model_dump_json()`` writes it: in one call
    when every event is exactly an ``ExamEvent`` (a subclass may add fields)."""
    if all(type(e) is ExamEvent for e in events):
        return _EVENT_LIST.dump_json(list(events))
    return ("[" + ",".join(e.model_dump_json() for e in events) + "]").encode()


def _key(sender: str, control_id: str | None) -> str:
    return f"{sender}\x1f{control_id}"[:450]


def _aad(sender: str, control_id: str | None) -> bytes:
    return f"hl7:{sender[:200]}:{(control_id or '')[:200]}".encode()


def _chunks(items: list[str], n: int) -> Iterator[list[str]]:
    for i in range(0, len(items), n):
        yield items[i:i + n]

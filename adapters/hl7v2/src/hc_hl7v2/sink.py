"""Where received messages go: the :class:`MessageSink` protocol and two real sinks.

A sink must, before ``accept`` returns, durably store the raw message (good or bad) and the
events extracted from it, and say whether it is a duplicate: a message whose sender
(``MSH-3^MSH-4``) and control id (MSH-10) equal those of a message already *applied*. A
duplicate's raw bytes are kept too, but its events are not applied again. A rejected message
(``error`` set) never counts as applied, so a corrected re-send with the same MSH-10 is taken.
The listener sends ``AA`` only after ``accept`` returned.

:class:`SqlSink` keeps its rows in a hash chain (:mod:`hc_hl7v2.chain`): a changed, deleted or
reordered row shows in ``hospital-complaints audit verify``.
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
from hospital_complaints.plugin_api import ExamEvent
from pydantic import TypeAdapter
from sqlalchemy.dialects import mysql
from sqlalchemy.exc import IntegrityError

from .chain import HASHED, head_table, values_hash

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from hospital_complaints.plugin_api import ImagingRepository, SqlStore


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
    :ivar raw_length: the message's length in bytes as received, when ``raw`` holds only its
        first bytes (an MLLP frame over the listener's limit); ``None``: ``raw`` is all of it.
    """

    raw: bytes
    sender: str
    control_id: str | None
    events: Sequence[ExamEvent] = ()
    error: str | None = None
    message_type: str | None = None
    raw_length: int | None = None


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
    """A message as a sink holds it. ``raw_length`` is its length in bytes as received:
    more than ``len(raw)`` when only its first bytes were kept (a frame over the listener's
    limit); ``None`` for rows stored before the adapter recorded it."""

    received_at: datetime
    sender: str
    control_id: str | None
    message_type: str | None
    disposition: Disposition
    error: str | None
    raw: bytes
    events: list[ExamEvent] = field(default_factory=list)
    raw_length: int | None = None


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
                    list(item.events) if d is Disposition.applied else [],
                    len(item.raw) if item.raw_length is None else item.raw_length))
                out.append(d)
        return out

    @property
    def events(self) -> list[ExamEvent]:
        """Every applied event, in arrival order."""
        with self._lock:
            return [e for m in self.messages for e in m.events]


TABLE = "hl7_messages"
#: every column of the table, in the order :meth:`SqlSink._insert` binds them
_COLUMNS = (*HASHED, "prev_hash", "hash")
_IDENTITY = list(range(len(_COLUMNS)))
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
        # hl7v2_0003: length as received (raw may be a prefix) and the hash chain (chain.py)
        sa.Column("raw_length", sa.BigInteger, nullable=True),
        sa.Column("prev_hash", sa.String(64), nullable=True),
        sa.Column("hash", sa.String(64), nullable=True),
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
    personal and stay readable (``error`` never quotes the message: ``errors.describe``).
    :meth:`read` decrypts. In the exam table the patient id is only a keyed hash (the core's
    ``ImagingRepository``).

    Rows are hash-chained (:mod:`hc_hl7v2.chain`): each write transaction first locks the
    chain head, gives its rows the ids after the last one and chains them.

    :param tz: the zone of the exams' local day/hour (the deployment's ``HC_TIMEZONE``).
    """

    def __init__(self, store: SqlStore, clock: Callable[[], datetime] | None = None,
                 tz: ZoneInfo | str = "Asia/Shanghai") -> None:
        self.store = store
        self._clock = clock or (lambda: datetime.now(UTC))
        metadata = sa.MetaData()
        self.table = _table(metadata, store.prefix, store.schema)
        self.head = head_table(metadata, store.prefix, store.schema)
        self._applied_query = sa.select(self.table.c.applied_key).where(
            self.table.c.applied_key.in_(sa.bindparam("keys", expanding=True)))
        self._head_query = sa.select(self.head.c.last_id, self.head.c.hash).where(
            self.head.c.id == 1).with_for_update()
        self._max_id_query = sa.select(sa.func.max(self.table.c.id))
        self._head_update = sa.update(self.head).where(self.head.c.id == 1)
        self._inserts: dict[str, tuple[str, list[int] | None]] = {}
        self._tz = tz
        self._exams: ImagingRepository | None = None
        self._ready = False
        self._lock = threading.Lock()

    def _ensure(self) -> None:
        if not self._ready:
            with self._lock:
                if not self._ready:
                    from hospital_complaints.plugin_api import ImagingRepository

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
            # A writer that does not lock the chain head (an older version still running)
            # took one of our ids or applied one of these messages: redo after its rows; a
            # message it applied is now found, and ours becomes a duplicate.
            return self._write(items, after_max_id=True)

    def _write(self, items: Sequence[Incoming],
               after_max_id: bool = False) -> list[Disposition]:
        keys = {_key(i.sender, i.control_id) for i in items
                if i.control_id and i.error is None}
        now = self._clock().isoformat()
        ring = self.store.key_ring
        out: list[Disposition] = []
        rows: list[tuple[Any, ...]] = []
        to_apply: list[ExamEvent] = []
        with self.store.write() as conn:
            # the chain's end, locked until commit: concurrent writers chain one after another
            top = conn.execute(self._head_query).first()
            if top is None:
                raise RuntimeError(f"{self.head.name} has no chain head row: the message table "
                                   "was tampered with or not migrated; run `hospital-complaints "
                                   "audit verify`. Nothing was stored")
            prev_hash = str(top.hash)
            next_id = int(top.last_id)
            if after_max_id:
                next_id = max(next_id, int(conn.execute(self._max_id_query).scalar() or 0))
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
                next_id += 1
                values = (  # the columns of HASHED, in its order
                    next_id, now, item.sender[:200],
                    item.control_id[:200] if item.control_id else None,
                    (item.message_type or "")[:20] or None, d.value, item.error,
                    len(item.events) if applied else 0, key if applied else None, key_id,
                    raw_enc, events_enc,
                    len(item.raw) if item.raw_length is None else item.raw_length)
                digest = values_hash(values, prev_hash)
                rows.append((*values, prev_hash, digest))
                prev_hash = digest
                out.append(d)
                if applied:
                    to_apply.extend(item.events)
            self._insert(conn, rows)
            conn.execute(self._head_update, {"last_id": next_id, "hash": prev_hash})
            if to_apply:
                self.exams.merge_exam_events(conn, to_apply)
        return out

    def _insert(self, conn: sa.Connection, rows: list[tuple[Any, ...]]) -> None:
        """Insert ``rows`` (tuples in the order of :data:`_COLUMNS`) with the driver's own
        ``executemany``: the statement is compiled by SQLAlchemy once per dialect, but its
        per-row parameter processing (a third of the insert's time) is skipped, which is
        safe because every value is a ``str``, an ``int`` or ``None``, which every driver
        takes as it is."""
        dialect = conn.dialect
        cached = self._inserts.get(dialect.name)
        if cached is None:
            compiled = self.table.insert().compile(dialect=dialect, column_keys=list(_COLUMNS))
            if compiled.positional:
                names = list(compiled.positiontup or ())
                order: list[int] | None = [_COLUMNS.index(name) for name in names]
            else:
                order = None
            cached = self._inserts[dialect.name] = (str(compiled), order)
        sql, order = cached
        if order is None:  # named parameters (psycopg's pyformat)
            conn.exec_driver_sql(sql, [dict(zip(_COLUMNS, row, strict=True)) for row in rows])
        elif order == _IDENTITY:
            conn.exec_driver_sql(sql, rows)
        else:
            conn.exec_driver_sql(sql, [tuple([row[i] for i in order]) for row in rows])

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
                                [ExamEvent.model_validate(e) for e in events], r.raw_length)


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

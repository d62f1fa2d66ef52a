"""What the connector keeps besides the cases: which case each ticket became (and the time
limit the order carried), which platform results were applied, and the records that could
not be used.

An unusable record is never dropped: it is kept whole, encrypted with the store's key ring
(it may name the caller), with the reason in Chinese and English (which never quotes personal
data), until someone fixes the mapping and runs ``hotline rejects --retry`` or marks it done.

:class:`SqlHotlineStore` keeps them in the connector's tables (Alembic branch ``hotline``),
:class:`MemoryHotlineStore` in memory for ``memory://`` applications.
"""

from __future__ import annotations

import json
import threading
import uuid
import weakref
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.exc import IntegrityError

if TYPE_CHECKING:
    from hospital_complaints.plugin_api import App, SqlStore


@dataclass(frozen=True)
class TicketRow:
    connector: str
    ticket: str
    reference: str
    due: datetime | None
    time_limit_class: str | None


@dataclass(frozen=True)
class RejectRow:
    """A kept record, without its content."""

    id: int
    connector: str
    source: str
    ticket: str | None
    at: str
    error_en: str
    error_zh: str
    resolved_at: str | None


class HotlineStore(Protocol):
    def ticket(self, connector: str, ticket: str) -> TicketRow | None: ...

    def tickets_of(self, reference: str) -> list[TicketRow]: ...

    def remember(self, row: TicketRow, now: datetime) -> None: ...

    def applied(self, connector: str, key: str) -> bool: ...

    def mark_applied(self, connector: str, key: str, reference: str, outcome: str,
                     now: datetime) -> bool: ...

    def keep(self, connector: str, source: str, ticket: str | None, en: str, zh: str,
             raw: Any, now: datetime) -> int:
        """Keep an unusable record (once: the same ticket, source and reason still kept
        is not kept again); returns its id."""
        ...

    def rejects(self, connector: str | None = None, *,
                include_resolved: bool = False) -> list[RejectRow]: ...

    def reject_raw(self, reject_id: int) -> Any: ...

    def resolve(self, reject_id: int, now: datetime) -> bool: ...


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def _dt(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


# -- in memory ---------------------------------------------------------------------------------


class MemoryHotlineStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tickets: dict[tuple[str, str], TicketRow] = {}
        self._applied: dict[tuple[str, str], str] = {}
        self._rejects: dict[int, tuple[RejectRow, Any]] = {}

    def ticket(self, connector: str, ticket: str) -> TicketRow | None:
        return self._tickets.get((connector, ticket))

    def tickets_of(self, reference: str) -> list[TicketRow]:
        return [r for r in self._tickets.values() if r.reference == reference]

    def remember(self, row: TicketRow, now: datetime) -> None:
        with self._lock:
            self._tickets.setdefault((row.connector, row.ticket), row)

    def applied(self, connector: str, key: str) -> bool:
        return (connector, key) in self._applied

    def mark_applied(self, connector: str, key: str, reference: str, outcome: str,
                     now: datetime) -> bool:
        with self._lock:
            if (connector, key) in self._applied:
                return False
            self._applied[(connector, key)] = outcome
            return True

    def keep(self, connector: str, source: str, ticket: str | None, en: str, zh: str,
             raw: Any, now: datetime) -> int:
        with self._lock:
            for row, _raw in self._rejects.values():
                if ticket and row.resolved_at is None and (row.connector, row.source,
                                                           row.ticket, row.error_en) == (
                        connector, source[:300], ticket, en):
                    return row.id
            rid = len(self._rejects) + 1
            self._rejects[rid] = (RejectRow(rid, connector, source[:300], ticket, now.isoformat(),
                                            en, zh, None), json.loads(json.dumps(raw,
                                                                                 default=str)))
            return rid

    def rejects(self, connector: str | None = None, *,
                include_resolved: bool = False) -> list[RejectRow]:
        return [r for r, _ in self._rejects.values()
                if (connector is None or r.connector == connector)
                and (include_resolved or r.resolved_at is None)]

    def reject_raw(self, reject_id: int) -> Any:
        return self._rejects[reject_id][1]

    def resolve(self, reject_id: int, now: datetime) -> bool:
        with self._lock:
            found = self._rejects.get(reject_id)
            if found is None or found[0].resolved_at is not None:
                return False
            row, raw = found
            self._rejects[reject_id] = (RejectRow(**{**row.__dict__,
                                                     "resolved_at": now.isoformat()}), raw)
            return True


# -- SQL ---------------------------------------------------------------------------------------

_LONG = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")


def tables(prefix: str, schema: str | None) -> tuple[sa.Table, sa.Table, sa.Table]:
    md = sa.MetaData()
    tickets = sa.Table(
        f"{prefix}hotline_tickets", md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("connector", sa.String(64), nullable=False),
        sa.Column("ticket", sa.String(120), nullable=False),
        sa.Column("reference", sa.String(40), nullable=False),
        sa.Column("due", sa.String(40), nullable=True),
        sa.Column("time_limit_class", sa.String(40), nullable=True),
        sa.Column("registered_at", sa.String(40), nullable=False), schema=schema)
    results = sa.Table(
        f"{prefix}hotline_results", md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("connector", sa.String(64), nullable=False),
        sa.Column("result_key", sa.String(300), nullable=False),
        sa.Column("reference", sa.String(40), nullable=False),
        sa.Column("outcome", sa.String(40), nullable=False),
        sa.Column("applied_at", sa.String(40), nullable=False), schema=schema)
    rejects = sa.Table(
        f"{prefix}hotline_rejects", md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("uid", sa.String(32), nullable=False),
        sa.Column("connector", sa.String(64), nullable=False),
        sa.Column("source", sa.String(300), nullable=False),
        sa.Column("ticket", sa.String(120), nullable=True),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("error_en", sa.Text, nullable=False),
        sa.Column("error_zh", sa.Text, nullable=False),
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.Column("raw", _LONG, nullable=False),
        sa.Column("resolved_at", sa.String(40), nullable=True), schema=schema)
    return tickets, results, rejects


def _aad(uid: str) -> bytes:
    return f"hotline-reject:{uid}".encode()


class SqlHotlineStore:
    """The connector's tables in the application's SQL store (upgraded on first use)."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store
        self.tickets, self.results, self.rejects_table = tables(store.prefix, store.schema)
        self._ready = False
        self._lock = threading.Lock()

    def _ensure(self) -> None:
        if not self._ready:
            with self._lock:
                if not self._ready:
                    from .migrations import DIRECTORY

                    self.store.upgrade(version_locations=[DIRECTORY])
                    self._ready = True

    def _ticket_row(self, r: Any) -> TicketRow:
        return TicketRow(r.connector, r.ticket, r.reference, _dt(r.due), r.time_limit_class)

    def ticket(self, connector: str, ticket: str) -> TicketRow | None:
        self._ensure()
        t = self.tickets
        with self.store.read() as conn:
            r = conn.execute(sa.select(t).where(t.c.connector == connector,
                                                t.c.ticket == ticket)).first()
        return self._ticket_row(r) if r is not None else None

    def tickets_of(self, reference: str) -> list[TicketRow]:
        self._ensure()
        t = self.tickets
        with self.store.read() as conn:
            rows = conn.execute(sa.select(t).where(t.c.reference == reference)
                                .order_by(t.c.id)).all()
        return [self._ticket_row(r) for r in rows]

    def remember(self, row: TicketRow, now: datetime) -> None:
        self._ensure()
        try:
            with self.store.write() as conn:
                conn.execute(sa.insert(self.tickets).values(
                    connector=row.connector, ticket=row.ticket, reference=row.reference,
                    due=_iso(row.due), time_limit_class=row.time_limit_class,
                    registered_at=now.isoformat()))
        except IntegrityError:
            pass  # remembered before (a re-import, a repeated page)

    def applied(self, connector: str, key: str) -> bool:
        self._ensure()
        r = self.results
        with self.store.read() as conn:
            return conn.execute(sa.select(r.c.id).where(
                r.c.connector == connector, r.c.result_key == key[:300])).first() is not None

    def mark_applied(self, connector: str, key: str, reference: str, outcome: str,
                     now: datetime) -> bool:
        self._ensure()
        try:
            with self.store.write() as conn:
                conn.execute(sa.insert(self.results).values(
                    connector=connector, result_key=key[:300], reference=reference,
                    outcome=outcome[:40], applied_at=now.isoformat()))
        except IntegrityError:
            return False
        return True

    def keep(self, connector: str, source: str, ticket: str | None, en: str, zh: str,
             raw: Any, now: datetime) -> int:
        self._ensure()
        t = self.rejects_table
        if ticket:
            with self.store.read() as conn:
                same = conn.execute(sa.select(t.c.id).where(
                    t.c.connector == connector, t.c.source == source[:300],
                    t.c.ticket == ticket[:120], t.c.error_en == en,
                    t.c.resolved_at.is_(None))).first()
            if same is not None:
                return int(same.id)  # the same record, read again (a boundary re-read)
        uid = uuid.uuid4().hex
        data = json.dumps(raw, ensure_ascii=False, default=str).encode("utf-8")
        key_id, blob = self.store.key_ring.encrypt(data, _aad(uid))
        with self.store.write() as conn:
            result = conn.execute(sa.insert(self.rejects_table).values(
                uid=uid, connector=connector, source=source[:300],
                ticket=ticket[:120] if ticket else None, at=now.isoformat(), error_en=en,
                error_zh=zh, key_id=key_id, raw=blob))
            return int(result.inserted_primary_key[0])  # type: ignore[index]

    def rejects(self, connector: str | None = None, *,
                include_resolved: bool = False) -> list[RejectRow]:
        self._ensure()
        t = self.rejects_table
        query = sa.select(t.c.id, t.c.connector, t.c.source, t.c.ticket, t.c.at, t.c.error_en,
                          t.c.error_zh, t.c.resolved_at).order_by(t.c.id)
        if connector is not None:
            query = query.where(t.c.connector == connector)
        if not include_resolved:
            query = query.where(t.c.resolved_at.is_(None))
        with self.store.read() as conn:
            return [RejectRow(*r) for r in conn.execute(query)]

    def reject_raw(self, reject_id: int) -> Any:
        self._ensure()
        t = self.rejects_table
        with self.store.read() as conn:
            r = conn.execute(sa.select(t.c.uid, t.c.key_id, t.c.raw)
                             .where(t.c.id == reject_id)).first()
        if r is None:
            raise KeyError(reject_id)
        data = self.store.key_ring.decrypt(r.key_id, r.raw, _aad(r.uid),
                                           f"hotline reject {reject_id}")
        return json.loads(data)

    def resolve(self, reject_id: int, now: datetime) -> bool:
        self._ensure()
        t = self.rejects_table
        with self.store.write() as conn:
            result = conn.execute(sa.update(t).where(t.c.id == reject_id,
                                                     t.c.resolved_at.is_(None))
                                  .values(resolved_at=now.isoformat()))
            return bool(result.rowcount)

    # -- key rotation (hc_register_encrypted_data) ---------------------------------------------

    def key_ids(self) -> dict[str, int]:
        self._ensure()
        t = self.rejects_table
        with self.store.read() as conn:
            return {str(k): int(n) for k, n in conn.execute(
                sa.select(t.c.key_id, sa.func.count()).group_by(t.c.key_id))}

    def rotate(self) -> int:
        self._ensure()
        ring = self.store.key_ring
        t = self.rejects_table
        done = 0
        with self.store.write() as conn:
            rows = conn.execute(sa.select(t.c.id, t.c.uid, t.c.key_id, t.c.raw)
                                .where(t.c.key_id != ring.current_id)).all()
            for r in rows:
                data = ring.decrypt(r.key_id, r.raw, _aad(r.uid), f"hotline reject {r.id}")
                key_id, blob = ring.encrypt(data, _aad(r.uid))
                conn.execute(sa.update(t).where(t.c.id == r.id).values(key_id=key_id,
                                                                        raw=blob))
                done += 1
        return done


class RejectKeys:
    """The kept records' encryption keys, for ``keys status`` and ``keys rotate``."""

    id = "hotline:rejects"
    description = "hotline records that could not be used, kept for correction (热线不可用记录)"

    def key_ids(self, store: SqlStore) -> dict[str, int]:
        return SqlHotlineStore(store).key_ids()

    def rotate(self, store: SqlStore) -> int:
        return SqlHotlineStore(store).rotate()


_STORES: weakref.WeakKeyDictionary[Any, HotlineStore] = weakref.WeakKeyDictionary()


def store_for(app: App) -> HotlineStore:
    """The connector's store of ``app`` (one per application)."""
    found = _STORES.get(app)
    if found is None:
        found = MemoryHotlineStore() if app.in_memory else SqlHotlineStore(app.store)
        _STORES[app] = found
    return found

"""The delivery queue in SQL: one row per (event or message, notifier), handed out with
leases.

Several workers may claim at once. On PostgreSQL and MariaDB a claim reads due rows
``FOR UPDATE SKIP LOCKED`` and leases them for ``lease_s`` seconds in the same transaction;
a worker that dies loses nothing, because an expired lease is claimed again. On SQLite claims
are serialised by the database's single writer (and ``hospital-complaints worker`` holds a
lock so that one worker runs).

Order per (case, notifier): a row is claimable only while no earlier row of its case and
notifier is still pending and waiting (backing off, or leased by another worker). After the
claim commits, :meth:`claim` checks again and lets go of rows whose earlier rows another
worker took in the meantime, so two workers never send one case's events out of order.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ...domain.notifications import DEAD, DELIVERED, PENDING
from ..base import EVENT, MESSAGE, QueuedDelivery

if TYPE_CHECKING:
    from .uow import SqlStore

class SqlDeliveryQueue:
    def __init__(self, store: SqlStore) -> None:
        self._store = store
        table = store.tables.deliveries
        assert table is not None
        self.t = table

    # -- writing -----------------------------------------------------------------------------

    def enqueue_events(self, conn: Connection, rows: Sequence[dict[str, Any]],
                       route: Callable[[str], Sequence[str]]) -> int:
        """In the event's transaction: one pending row per (event row, notifier that wants
        its type), due at once (the event's own time, on the application's clock)."""
        values = []
        for r in rows:
            notifiers = route(r["type"])
            if notifiers:
                at = datetime.fromisoformat(r["at"]).timestamp()
                values += [{"global_seq": r["global_seq"], "event_id": r["event_id"],
                            "complaint_ref": r["complaint_ref"], "notifier": n, "kind": EVENT,
                            "type": r["type"], "status": PENDING, "attempts": 0,
                            "next_attempt_s": at, "created_s": at} for n in notifiers]
        if values:
            conn.execute(sa.insert(self.t), values)
        return len(values)

    def enqueue_message(self, message_id: str, subject: str, message_type: str,
                        notifiers: Iterable[str], payload: dict[str, Any], now_s: float,
                        conn: Connection | None = None) -> int:
        """A message to a person (a survey invitation): its payload, which names the
        recipient, is encrypted with the key ring. Returns the rows added (0 if this message
        id was queued before: queuing is idempotent)."""
        plain = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode("utf-8")
        key_id, blob = self._store.key_ring.encrypt(plain, self._aad(message_id))
        rows = [{"global_seq": 0, "event_id": message_id, "complaint_ref": subject,
                 "notifier": n, "kind": MESSAGE, "type": message_type, "status": PENDING,
                 "attempts": 0, "next_attempt_s": now_s, "created_s": now_s,
                 "payload": blob, "key_id": key_id} for n in notifiers]
        if not rows:
            return 0
        if conn is not None:
            return self._insert_new(conn, rows)
        with self._store.write() as c:
            return self._insert_new(c, rows)

    def _insert_new(self, conn: Connection, rows: list[dict[str, Any]]) -> int:
        t = self.t
        taken = set(conn.execute(sa.select(t.c.notifier).where(
            t.c.event_id == rows[0]["event_id"])).scalars())
        fresh = [r for r in rows if r["notifier"] not in taken]
        if fresh:
            conn.execute(sa.insert(t), fresh)
        return len(fresh)

    @staticmethod
    def _aad(message_id: str) -> bytes:
        return f"delivery|{message_id}".encode()

    # -- claiming ----------------------------------------------------------------------------

    def claim(self, owner: str, now_s: float, limit: int, lease_s: float,
              notifiers: Sequence[str] | None = None) -> list[QueuedDelivery]:
        """Lease up to ``limit`` due rows for ``owner``, oldest first, respecting order per
        (case, notifier); returns them in delivery order."""
        t = self.t
        earlier = t.alias("earlier")
        waiting = sa.exists().where(
            earlier.c.complaint_ref == t.c.complaint_ref,
            earlier.c.notifier == t.c.notifier,
            # coalesce() keeps PostgreSQL off the (status, due) index here: on a fresh table
            # without statistics it scanned that index once per pending row (1.5 s per claim
            # with 2,000 rows); this way only the (case, notifier, seq) index fits (4 ms)
            sa.func.coalesce(earlier.c.status, "") == PENDING,
            earlier.c.global_seq < t.c.global_seq,
            sa.or_(earlier.c.next_attempt_s > now_s, earlier.c.leased_until_s >= now_s))
        due = sa.and_(t.c.status == PENDING, t.c.next_attempt_s <= now_s,
                      sa.or_(t.c.leased_until_s.is_(None), t.c.leased_until_s < now_s))
        query = sa.select(t.c.id).where(due, ~waiting)
        if notifiers is not None:
            query = query.where(t.c.notifier.in_(list(notifiers)))
        query = query.order_by(t.c.global_seq, t.c.id).limit(limit)
        if self._store.dialect != "sqlite":
            query = query.with_for_update(skip_locked=True, of=t)
        with self._store.write() as conn:
            ids = list(conn.execute(query).scalars())
            if not ids:
                return []
            conn.execute(sa.update(t).where(t.c.id.in_(ids)).values(
                leased_until_s=now_s + lease_s, lease_owner=owner))
        rows = self._rows(sa.select(t).where(t.c.id.in_(ids)))
        return self._in_order(rows, owner, now_s)

    def _in_order(self, rows: list[QueuedDelivery], owner: str,
                  now_s: float) -> list[QueuedDelivery]:
        """Let go of rows that another worker's row of the same case and notifier precedes
        (claims that ran at the same moment): per group, keep only the rows before the first
        pending row that is not ours."""
        t = self.t
        rows.sort(key=lambda r: (r.global_seq, r.id))
        events = [r for r in rows if r.kind == EVENT]
        if not events:
            return rows
        mine = {r.id for r in rows}
        cutoff: dict[tuple[str, str], int] = {}
        refs = sorted({r.complaint_ref for r in events})
        top = max(r.global_seq for r in events)
        with self._store.read() as conn:
            for i in range(0, len(refs), 500):
                for ref, notifier, seq, row_id in conn.execute(
                        sa.select(t.c.complaint_ref, t.c.notifier, t.c.global_seq, t.c.id)
                        .where(t.c.status == PENDING, t.c.kind == EVENT,
                               t.c.complaint_ref.in_(refs[i:i + 500]),
                               t.c.global_seq < top)):
                    if row_id not in mine:
                        key = (ref, notifier)
                        cutoff[key] = min(cutoff.get(key, seq), seq)
        keep: list[QueuedDelivery] = []
        drop: list[QueuedDelivery] = []
        for r in rows:
            limit = cutoff.get((r.complaint_ref, r.notifier))
            (drop if r.kind == EVENT and limit is not None and r.global_seq > limit
             else keep).append(r)
        if drop:
            self.release([r.id for r in drop], owner)
        return keep

    # -- outcomes ----------------------------------------------------------------------------

    def delivered(self, ids: Sequence[int], owner: str, now_s: float) -> int:
        """Mark delivered (only rows this owner still leases; a row whose lease expired and
        was taken again is left to the other worker, which delivers it again: at least once)."""
        if not ids:
            return 0
        t = self.t
        with self._store.write() as conn:
            result = conn.execute(sa.update(t).where(t.c.id.in_(list(ids)),
                                                     t.c.lease_owner == owner,
                                                     t.c.status == PENDING).values(
                status=DELIVERED, delivered_s=now_s, leased_until_s=None, lease_owner=None,
                attempts=t.c.attempts + 1, last_error=None))
        return int(result.rowcount or 0)

    def failed(self, row_id: int, owner: str, error: str, *, retry_at_s: float | None) -> None:
        """One failed attempt: pending again at ``retry_at_s``, or dead (``None``)."""
        t = self.t
        values: dict[str, Any] = {"attempts": t.c.attempts + 1, "last_error": error[:4000],
                                  "leased_until_s": None, "lease_owner": None}
        if retry_at_s is None:
            values["status"] = DEAD
        else:
            values["next_attempt_s"] = retry_at_s
        with self._store.write() as conn:
            conn.execute(sa.update(t).where(t.c.id == row_id, t.c.lease_owner == owner,
                                            t.c.status == PENDING).values(**values))

    def release(self, ids: Sequence[int], owner: str) -> None:
        """Give leased rows back untried (shutting down, or waiting for an earlier row)."""
        if not ids:
            return
        t = self.t
        with self._store.write() as conn:
            conn.execute(sa.update(t).where(t.c.id.in_(list(ids)), t.c.lease_owner == owner)
                         .values(leased_until_s=None, lease_owner=None))

    def retry(self, ids: Sequence[int] | None, now_s: float,
              notifier: str | None = None) -> int:
        """Dead letters back to pending, due now, attempts reset (``ids=None``: all of them,
        or all of one notifier's)."""
        t = self.t
        where = [t.c.status == DEAD]
        if ids is not None:
            where.append(t.c.id.in_(list(ids)))
        if notifier is not None:
            where.append(t.c.notifier == notifier)
        with self._store.write() as conn:
            result = conn.execute(sa.update(t).where(*where).values(
                status=PENDING, attempts=0, next_attempt_s=now_s, leased_until_s=None,
                lease_owner=None))
        return int(result.rowcount or 0)

    # -- reading -----------------------------------------------------------------------------

    def get(self, row_id: int) -> QueuedDelivery | None:
        rows = self._rows(sa.select(self.t).where(self.t.c.id == row_id))
        return rows[0] if rows else None

    def find(self, *, status: str | None = None, notifier: str | None = None,
             reference: str | None = None, limit: int = 100) -> list[QueuedDelivery]:
        t = self.t
        query = sa.select(t)
        if status is not None:
            query = query.where(t.c.status == status)
        if notifier is not None:
            query = query.where(t.c.notifier == notifier)
        if reference is not None:
            query = query.where(t.c.complaint_ref == reference)
        return self._rows(query.order_by(t.c.id).limit(limit), decrypt=False)

    def counts(self, states: Sequence[str] | None = None) -> dict[tuple[str, str], int]:
        """Rows per (notifier, status), of ``states`` (default all)."""
        t = self.t
        query = sa.select(t.c.notifier, t.c.status, sa.func.count())
        if states is not None:
            query = query.where(t.c.status.in_(list(states)))
        with self._store.read() as conn:
            return {(n, s): int(c) for n, s, c in conn.execute(
                query.group_by(t.c.notifier, t.c.status))}

    def oldest_pending_s(self) -> float | None:
        """When the oldest undelivered row was queued (the lag's start)."""
        t = self.t
        with self._store.read() as conn:
            found = conn.execute(sa.select(sa.func.min(t.c.created_s))
                                 .where(t.c.status == PENDING)).scalar()
        return float(found) if found is not None else None

    def _rows(self, query: sa.Select[Any], decrypt: bool = True) -> list[QueuedDelivery]:
        with self._store.read() as conn:
            found = [dict(r._mapping) for r in conn.execute(query)]
        out = []
        for r in found:
            payload = None
            if decrypt and r["payload"] is not None:
                plain = self._store.key_ring.decrypt(
                    r["key_id"], r["payload"], self._aad(r["event_id"]),
                    f"message {r['event_id']} for {r['notifier']}")
                payload = json.loads(plain)
            out.append(QueuedDelivery(
                id=int(r["id"]), global_seq=int(r["global_seq"]), event_id=r["event_id"],
                complaint_ref=r["complaint_ref"], notifier=r["notifier"], kind=r["kind"],
                type=r["type"], status=r["status"], attempts=int(r["attempts"]),
                next_attempt_s=float(r["next_attempt_s"]), created_s=float(r["created_s"]),
                delivered_s=r["delivered_s"], last_error=r["last_error"], payload=payload))
        return out

    # -- key rotation ------------------------------------------------------------------------

    def key_ids(self) -> dict[str, int]:
        t = self.t
        with self._store.read() as conn:
            return {k: int(c) for k, c in conn.execute(
                sa.select(t.c.key_id, sa.func.count()).where(t.c.key_id.is_not(None))
                .group_by(t.c.key_id))}

    def rotate(self, batch: int = 500) -> int:
        t, ring = self.t, self._store.key_ring
        changed = 0
        while True:
            with self._store.write() as conn:
                rows = conn.execute(sa.select(t.c.id, t.c.event_id, t.c.payload, t.c.key_id)
                                    .where(t.c.key_id.is_not(None),
                                           t.c.key_id != ring.current_id)
                                    .order_by(t.c.id).limit(batch)).all()
                for row in rows:
                    plain = ring.decrypt(row.key_id, row.payload, self._aad(row.event_id),
                                         f"message {row.event_id}")
                    key_id, blob = ring.encrypt(plain, self._aad(row.event_id))
                    conn.execute(sa.update(t).where(t.c.id == row.id)
                                 .values(payload=blob, key_id=key_id))
            changed += len(rows)
            if len(rows) < batch:
                return changed


class SqlLocks:
    """Named locks with an expiry, and exam-source watermarks."""

    def __init__(self, store: SqlStore) -> None:
        self._store = store
        locks, marks = store.tables.worker_locks, store.tables.sync_watermarks
        assert locks is not None and marks is not None
        self.locks, self.marks = locks, marks

    def acquire(self, name: str, owner: str, now_s: float, ttl_s: float) -> bool:
        """Take or renew ``name`` for ``ttl_s`` seconds; ``False`` while another owner holds
        it unexpired."""
        t = self.locks
        with self._store.write() as conn:
            row = conn.execute(sa.select(t.c.owner, t.c.expires_s).where(t.c.name == name)
                               .with_for_update()).first()
            if row is None:
                try:
                    with conn.begin_nested():
                        conn.execute(sa.insert(t).values(name=name, owner=owner,
                                                         expires_s=now_s + ttl_s))
                except sa.exc.IntegrityError:
                    return False
                return True
            if row.owner != owner and row.expires_s > now_s:
                return False
            conn.execute(sa.update(t).where(t.c.name == name).values(
                owner=owner, expires_s=now_s + ttl_s))
            return True

    def holder(self, name: str) -> tuple[str, float] | None:
        t = self.locks
        with self._store.read() as conn:
            row = conn.execute(sa.select(t.c.owner, t.c.expires_s)
                               .where(t.c.name == name)).first()
        return (row.owner, float(row.expires_s)) if row is not None else None

    def release(self, name: str, owner: str) -> None:
        t = self.locks
        with self._store.write() as conn:
            conn.execute(sa.delete(t).where(t.c.name == name, t.c.owner == owner))

    def watermark(self, source: str) -> str | None:
        t = self.marks
        with self._store.read() as conn:
            found = conn.execute(sa.select(t.c.watermark).where(t.c.source == source)).scalar()
        return str(found) if found is not None else None

    def set_watermark(self, source: str, watermark: str, now_s: float) -> None:
        t = self.marks
        with self._store.write() as conn:
            done = conn.execute(sa.update(t).where(t.c.source == source).values(
                watermark=watermark, updated_s=now_s)).rowcount
            if not done:
                conn.execute(sa.insert(t).values(source=source, watermark=watermark,
                                                 updated_s=now_s))

"""The delivery queue, locks, watermarks and surveys of the in-memory store: the same behaviour as
``storage/sql/deliveries.py`` (leases, order per case and notifier, dead letters), for tests,
trials and embedding without a database."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Any

from ..domain.events import Event
from ..domain.notifications import DEAD, DELIVERED, PENDING
from ..surveys.records import SurveyInvitation, SurveyResponse
from .base import EVENT, MESSAGE, QueuedDelivery


class InMemoryDeliveryQueue:
    def __init__(self) -> None:
        self._rows: dict[int, QueuedDelivery] = {}
        self._leases: dict[int, tuple[str, float]] = {}
        self._seq = 0
        self._next_id = 0
        self._lock = threading.Lock()

    def enqueue_events(self, events: Sequence[Event],
                       route: Callable[[str], Sequence[str]]) -> int:
        added = 0
        with self._lock:
            for e in events:
                self._seq += 1
                at = e.at.timestamp()
                for n in route(e.type):
                    self._add(QueuedDelivery(
                        id=0, global_seq=self._seq, event_id=e.event_id,
                        complaint_ref=e.complaint_ref, notifier=n, kind=EVENT, type=e.type,
                        status=PENDING, attempts=0, next_attempt_s=at, created_s=at))
                    added += 1
        return added

    def enqueue_message(self, message_id: str, subject: str, message_type: str,
                        notifiers: Iterable[str], payload: dict[str, Any], now_s: float,
                        conn: Any = None) -> int:
        with self._lock:
            taken = {r.notifier for r in self._rows.values() if r.event_id == message_id}
            fresh = [n for n in notifiers if n not in taken]
            for n in fresh:
                self._add(QueuedDelivery(
                    id=0, global_seq=0, event_id=message_id, complaint_ref=subject,
                    notifier=n, kind=MESSAGE, type=message_type, status=PENDING, attempts=0,
                    next_attempt_s=now_s, created_s=now_s, payload=dict(payload)))
        return len(fresh)

    def _add(self, row: QueuedDelivery) -> None:
        self._next_id += 1
        self._rows[self._next_id] = replace(row, id=self._next_id)

    def claim(self, owner: str, now_s: float, limit: int, lease_s: float,
              notifiers: Sequence[str] | None = None) -> list[QueuedDelivery]:
        with self._lock:
            pending = sorted((r for r in self._rows.values() if r.status == PENDING),
                             key=lambda r: (r.global_seq, r.id))
            blocked: set[tuple[str, str]] = set()
            out: list[QueuedDelivery] = []
            for r in pending:
                group = (r.complaint_ref, r.notifier)
                lease = self._leases.get(r.id)
                ready = r.next_attempt_s <= now_s and (lease is None or lease[1] < now_s)
                if r.kind == EVENT and group in blocked:
                    continue
                if not ready:
                    if r.kind == EVENT:
                        blocked.add(group)
                    continue
                if notifiers is not None and r.notifier not in notifiers:
                    continue
                if len(out) >= limit:
                    break
                self._leases[r.id] = (owner, now_s + lease_s)
                out.append(r)
            return out

    def _owned(self, row_id: int, owner: str) -> QueuedDelivery | None:
        row = self._rows.get(row_id)
        lease = self._leases.get(row_id)
        if row is None or row.status != PENDING or lease is None or lease[0] != owner:
            return None
        return row

    def delivered(self, ids: Sequence[int], owner: str, now_s: float) -> int:
        done = 0
        with self._lock:
            for i in ids:
                row = self._owned(i, owner)
                if row is not None:
                    self._rows[i] = replace(row, status=DELIVERED, delivered_s=now_s,
                                            attempts=row.attempts + 1, last_error=None)
                    self._leases.pop(i, None)
                    done += 1
        return done

    def failed(self, row_id: int, owner: str, error: str, *, retry_at_s: float | None) -> None:
        with self._lock:
            row = self._owned(row_id, owner)
            if row is None:
                return
            self._leases.pop(row_id, None)
            if retry_at_s is None:
                self._rows[row_id] = replace(row, status=DEAD, attempts=row.attempts + 1,
                                             last_error=error[:4000])
            else:
                self._rows[row_id] = replace(row, attempts=row.attempts + 1,
                                             next_attempt_s=retry_at_s,
                                             last_error=error[:4000])

    def release(self, ids: Sequence[int], owner: str) -> None:
        with self._lock:
            for i in ids:
                if self._leases.get(i, ("", 0))[0] == owner:
                    self._leases.pop(i, None)

    def retry(self, ids: Sequence[int] | None, now_s: float,
              notifier: str | None = None) -> int:
        done = 0
        with self._lock:
            for i, row in list(self._rows.items()):
                if row.status == DEAD and (ids is None or i in ids) \
                        and (notifier is None or row.notifier == notifier):
                    self._rows[i] = replace(row, status=PENDING, attempts=0,
                                            next_attempt_s=now_s)
                    done += 1
        return done

    def get(self, row_id: int) -> QueuedDelivery | None:
        with self._lock:
            return self._rows.get(row_id)

    def find(self, *, status: str | None = None, notifier: str | None = None,
             reference: str | None = None, limit: int = 100) -> list[QueuedDelivery]:
        with self._lock:
            rows = [r for r in self._rows.values()
                    if (status is None or r.status == status)
                    and (notifier is None or r.notifier == notifier)
                    and (reference is None or r.complaint_ref == reference)]
        return [replace(r, payload=None) for r in rows[:limit]]

    def counts(self, states: Sequence[str] | None = None) -> dict[tuple[str, str], int]:
        out: dict[tuple[str, str], int] = {}
        with self._lock:
            for r in self._rows.values():
                if states is not None and r.status not in states:
                    continue
                out[(r.notifier, r.status)] = out.get((r.notifier, r.status), 0) + 1
        return out

    def oldest_pending_s(self) -> float | None:
        with self._lock:
            times = [r.created_s for r in self._rows.values() if r.status == PENDING]
        return min(times) if times else None

    def key_ids(self) -> dict[str, int]:
        return {}

    def rotate(self, batch: int = 500) -> int:
        return 0


class InMemoryLocks:
    def __init__(self) -> None:
        self._locks: dict[str, tuple[str, float]] = {}
        self._marks: dict[str, str] = {}
        self._lock = threading.Lock()

    def acquire(self, name: str, owner: str, now_s: float, ttl_s: float) -> bool:
        with self._lock:
            held = self._locks.get(name)
            if held is not None and held[0] != owner and held[1] > now_s:
                return False
            self._locks[name] = (owner, now_s + ttl_s)
            return True

    def holder(self, name: str) -> tuple[str, float] | None:
        with self._lock:
            return self._locks.get(name)

    def release(self, name: str, owner: str) -> None:
        with self._lock:
            if self._locks.get(name, ("",))[0] == owner:
                self._locks.pop(name, None)

    def watermark(self, source: str) -> str | None:
        with self._lock:
            return self._marks.get(source)

    def set_watermark(self, source: str, watermark: str, now_s: float) -> None:
        with self._lock:
            self._marks[source] = watermark


class InMemorySurveyStore:
    """Survey invitations and responses in dictionaries (``memory://``)."""

    def __init__(self) -> None:
        self._inv: dict[str, SurveyInvitation] = {}
        self._resp: list[SurveyResponse] = []
        self._lock = threading.Lock()

    def add_invitation(self, invitation: SurveyInvitation) -> bool:
        with self._lock:
            key = (invitation.questionnaire, invitation.subject_kind, invitation.subject)
            if any((i.questionnaire, i.subject_kind, i.subject) == key
                   for i in self._inv.values()):
                return False
            self._inv[invitation.id] = invitation
            return True

    def invitation(self, *, token_hash: str | None = None, invitation_id: str | None = None,
                   subject: tuple[str, str, str] | None = None) -> SurveyInvitation | None:
        with self._lock:
            for i in self._inv.values():
                if (token_hash is not None and i.token_hash == token_hash) \
                        or (invitation_id is not None and i.id == invitation_id) \
                        or (subject is not None
                            and (i.questionnaire, i.subject_kind, i.subject) == subject):
                    return i
        return None

    def answer(self, invitation: SurveyInvitation, response: SurveyResponse) -> bool:
        with self._lock:
            current = self._inv.get(invitation.id)
            if current is None or current.answered_s is not None:
                return False
            self._inv[invitation.id] = replace(current, answered_s=response.answered_s)
            self._resp.append(response)
            return True

    def responses(self, from_s: float | None = None, to_s: float | None = None,
                  questionnaire: str | None = None) -> list[SurveyResponse]:
        with self._lock:
            return [r for r in self._resp
                    if (from_s is None or r.answered_s >= from_s)
                    and (to_s is None or r.answered_s < to_s)
                    and (questionnaire is None or r.questionnaire == questionnaire)]

    def invitations(self, from_s: float | None = None, to_s: float | None = None,
                    questionnaire: str | None = None) -> list[SurveyInvitation]:
        with self._lock:
            return [i for i in self._inv.values()
                    if (from_s is None or i.created_s >= from_s)
                    and (to_s is None or i.created_s < to_s)
                    and (questionnaire is None or i.questionnaire == questionnaire)]

    def key_ids(self) -> dict[str, int]:
        return {}

    def rotate(self, batch: int = 500) -> int:
        return 0

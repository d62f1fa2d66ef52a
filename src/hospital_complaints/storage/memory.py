"""The in-memory store: a real implementation for tests, demos and embedding.

Events are the source of truth; a case is rebuilt from them on every load, exactly as the SQL
store does, so behaviour seen here is behaviour seen there.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from types import TracebackType
from typing import Self

from ..domain.case import Case
from ..domain.events import Event
from ..domain.workflow import rebuild
from ..errors import ConcurrencyConflict, NotFound
from ..plugins.types import NotificationFailure
from .base import DuplicateIntake


@dataclass
class InMemoryStore:
    events: dict[str, list[Event]] = field(default_factory=dict)
    idempotency: dict[str, str] = field(default_factory=dict)
    counters: dict[tuple[str, date], int] = field(default_factory=dict)
    failures: list[NotificationFailure] = field(default_factory=list)
    outbox: dict[str, Event] = field(default_factory=dict)  # event_id -> event, insertion order
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Repository:
    def __init__(self, store: InMemoryStore) -> None:
        self._store = store
        self.seen: dict[str, tuple[Case, int]] = {}
        self.keys: dict[str, str] = {}

    def get(self, reference: str) -> Case:
        if reference in self.seen:
            return self.seen[reference][0]
        with self._store.lock:
            events = list(self._store.events.get(reference, ()))
        if not events:
            raise NotFound(f"no complaint with reference {reference!r}",
                           f"找不到编号为 {reference!r} 的投诉")
        case = rebuild(events)
        self.seen[reference] = (case, case.version)
        return case

    def add(self, case: Case, idempotency_key: str | None = None) -> None:
        self.seen[case.reference] = (case, 0)
        if idempotency_key is not None:
            self.keys[idempotency_key] = case.reference

    def find_by_idempotency_key(self, key: str) -> str | None:
        with self._store.lock:
            return self._store.idempotency.get(key)

    def iter_cases(self, *, open_only: bool = False) -> Iterator[Case]:
        with self._store.lock:
            histories = [list(v) for v in self._store.events.values()]
        for events in histories:
            case = rebuild(events)
            if not open_only or case.is_open:
                yield case

    def next_reference(self, prefix: str, day: date) -> str:
        return self.reserve_references(prefix, day, 1)[0]

    def reserve_references(self, prefix: str, day: date, count: int) -> list[str]:
        with self._store.lock:
            first = self._store.counters.get((prefix, day), 0) + 1
            self._store.counters[(prefix, day)] = first + count - 1
        return [f"{prefix}-{day:%Y%m%d}-{n:04d}" for n in range(first, first + count)]


class InMemoryUnitOfWork:
    def __init__(self, store: InMemoryStore) -> None:
        self._store = store
        self.cases = _Repository(store)

    def __enter__(self) -> Self:
        self.cases = _Repository(self._store)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.rollback()

    def commit(self) -> None:
        repo = self.cases
        with self._store.lock:
            # check everything first, then write: all or nothing
            for key in repo.keys:
                if key in self._store.idempotency:
                    raise DuplicateIntake(key, self._store.idempotency[key])
            for ref, (_case, loaded) in repo.seen.items():
                stored = len(self._store.events.get(ref, ()))
                if stored != loaded:
                    raise ConcurrencyConflict(
                        f"complaint {ref} was changed by someone else (now at version "
                        f"{stored}, you loaded {loaded}); reload it and try again - nothing "
                        "was saved",
                        f"投诉 {ref} 已被他人修改（当前版本 {stored}，您载入的是 {loaded}）；"
                        "请重新载入后再试，本次未保存任何内容",
                    )
            for ref, (case, loaded) in repo.seen.items():
                new = case.events[loaded:]
                if new:
                    self._store.events.setdefault(ref, []).extend(new)
                    self._store.outbox.update((e.event_id, e) for e in new)
                repo.seen[ref] = (case, case.version)
            self._store.idempotency.update(repo.keys)
            repo.keys.clear()

    def rollback(self) -> None:
        self.cases = _Repository(self._store)

    def record_notification_failure(self, failure: NotificationFailure) -> None:
        with self._store.lock:
            self._store.failures.append(failure)

    def pending_notifications(self, *, limit: int = 500) -> list[Event]:
        with self._store.lock:
            return list(self._store.outbox.values())[:limit]

    def mark_notified(self, event_ids: Sequence[str]) -> None:
        with self._store.lock:
            for i in event_ids:
                self._store.outbox.pop(i, None)

    def notification_failures(self, reference: str | None = None) -> list[NotificationFailure]:
        with self._store.lock:
            return [f for f in self._store.failures
                    if reference is None or f.complaint_ref == reference]

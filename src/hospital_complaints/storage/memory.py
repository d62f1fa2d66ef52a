"""The in-memory store: a real implementation for tests, demos and embedding.

Events are the source of truth; a case is rebuilt from them on every load, exactly as the SQL
store does, so behaviour seen here is behaviour seen there. The store keeps the events as the
workflow recorded them, each with its from- and to-state and payload schema version (what the
SQL store writes into its envelope, docs/events.md).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from types import TracebackType
from typing import Any, Self

from ..domain.case import Case
from ..domain.departments import normalise
from ..domain.events import Event
from ..domain.views import summarize
from ..domain.workflow import rebuild
from ..errors import ConcurrencyConflict, NotFound
from ..plugins.types import NotificationFailure
from .base import DuplicateIntake, ListingQuery
from .memory_queue import InMemoryDeliveryQueue, InMemoryLocks, InMemorySurveyStore


@dataclass
class InMemoryStore:
    events: dict[str, list[Event]] = field(default_factory=dict)
    idempotency: dict[str, str] = field(default_factory=dict)
    counters: dict[tuple[str, date], int] = field(default_factory=dict)
    failures: list[NotificationFailure] = field(default_factory=list)
    outbox: dict[str, Event] = field(default_factory=dict)  # event_id -> event, insertion order
    lock: threading.Lock = field(default_factory=threading.Lock)
    deliveries: InMemoryDeliveryQueue = field(default_factory=InMemoryDeliveryQueue)
    locks: InMemoryLocks = field(default_factory=InMemoryLocks)
    surveys: InMemorySurveyStore = field(default_factory=InMemorySurveyStore)
    #: event type -> notifiers (set by the App from ``hc_register_notifiers``)
    delivery_route: Callable[[str], Sequence[str]] | None = None


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

    def find_by_idempotency_keys(self, keys: Sequence[str]) -> dict[str, str]:
        with self._store.lock:
            return {k: self._store.idempotency[k] for k in keys if k in self._store.idempotency}

    def iter_cases(self, *, open_only: bool = False) -> Iterator[Case]:
        with self._store.lock:
            histories = [list(v) for v in self._store.events.values()]
        for events in histories:
            case = rebuild(events)
            if not open_only or case.is_open:
                yield case

    def _selected(self, query: ListingQuery) -> list[Case]:
        with self._store.lock:
            histories = [list(v) for v in self._store.events.values()]
        cases = [rebuild(h) for h in histories]
        order = {ref: i for i, ref in enumerate(self._store.events)}
        cases.sort(key=lambda c: (int(c.complaint.received_at.timestamp()),
                                  order[c.reference]))
        out = [c for c in cases if _matches(c, query)]
        if query.after:
            all_refs = [c.reference for c in cases]
            if query.after not in all_refs:
                raise NotFound(f"--after {query.after!r}: no complaint with that reference",
                               f"--after {query.after!r}：找不到该编号的投诉")
            anchor = all_refs.index(query.after)
            out = [c for c in out if all_refs.index(c.reference) > anchor]
        return out[:query.limit] if query.limit is not None else out

    def list_summaries(self, query: ListingQuery) -> list[dict[str, Any]]:
        return [summarize(c).model_dump(mode="json") for c in self._selected(query)]

    def references(self, query: ListingQuery) -> list[str]:
        return [c.reference for c in self._selected(query)]

    def get_many(self, references: Sequence[str]) -> list[Case]:
        out = []
        for ref in references:
            try:
                out.append(self.get(ref))
            except NotFound:
                continue
        return out

    def events_by_id(self, event_ids: Sequence[str]) -> dict[str, Event]:
        wanted = set(event_ids)
        with self._store.lock:
            return {e.event_id: e for events in self._store.events.values() for e in events
                    if e.event_id in wanted}

    def summaries(self, references: Sequence[str]) -> dict[str, dict[str, Any]]:
        return {c.reference: summarize(c).model_dump(mode="json")
                for c in self.get_many(references)}

    def reserve_for_days(self, prefix: str,
                         counts: Mapping[date, int]) -> dict[date, list[str]]:
        return {day: self.reserve_references(prefix, day, n) for day, n in sorted(counts.items())}

    def next_reference(self, prefix: str, day: date) -> str:
        return self.reserve_references(prefix, day, 1)[0]

    def reserve_references(self, prefix: str, day: date, count: int) -> list[str]:
        with self._store.lock:
            first = self._store.counters.get((prefix, day), 0) + 1
            self._store.counters[(prefix, day)] = first + count - 1
        return [f"{prefix}-{day:%Y%m%d}-{n:04d}" for n in range(first, first + count)]


def _matches(case: Case, q: ListingQuery) -> bool:
    c = case.complaint
    received = int(c.received_at.timestamp())
    return not (
        (q.states and case.state.value not in q.states)
        or (q.channel and c.channel.value != q.channel)
        or (q.kind and c.kind.value != q.kind)
        or (q.category and q.category not in {x.value for x in c.categories})
        or (q.department_keys is not None
            and (not c.department or normalise(c.department) not in q.department_keys))
        or (q.received_from_s is not None and received < q.received_from_s)
        or (q.received_before_s is not None and received >= q.received_before_s))


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
                    if self._store.delivery_route is not None:
                        self._store.deliveries.enqueue_events(new, self._store.delivery_route)
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

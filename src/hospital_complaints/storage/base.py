"""What the service needs from storage. Any implementation (memory, SQL) provides these.

The service never knows which one it has: it opens a unit of work, loads and adds cases
through ``uow.cases``, and calls ``commit()``. Leaving the ``with`` block without committing
discards everything, so a failed command leaves no partial state.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from types import TracebackType
from typing import Any, Protocol, Self

from ..domain.case import Case
from ..domain.events import Event
from ..errors import HospitalComplaintsError
from ..plugins.types import NotificationFailure


class DuplicateIntake(HospitalComplaintsError):
    """The idempotency key was used by another intake that committed first."""

    def __init__(self, key: str, reference: str) -> None:
        self.key = key
        self.reference = reference
        super().__init__(
            f"idempotency key {key!r} already registered complaint {reference}",
            f"幂等键 {key!r} 已登记为投诉 {reference}",
        )


@dataclass(frozen=True)
class ListingQuery:
    """Which rows of the cases listing to read, as the store understands it (the service
    turns a person's filter into this). ``department_keys`` are normalised department names
    (``domain.departments.normalise``); ``received_*_s`` are UTC epoch seconds, the end
    exclusive. Results are ordered by time received, then by registration."""

    states: tuple[str, ...] = ()
    channel: str | None = None
    kind: str | None = None
    category: str | None = None
    department_keys: frozenset[str] | None = None
    received_from_s: int | None = None
    received_before_s: int | None = None
    limit: int | None = None
    after: str | None = None


class CaseRepository(Protocol):
    def get(self, reference: str) -> Case:
        """The case, rebuilt from its events; raises ``NotFound``."""
        ...

    def add(self, case: Case, idempotency_key: str | None = None) -> None:
        """Track a new case; it is stored on commit."""
        ...

    def find_by_idempotency_key(self, key: str) -> str | None:
        """The reference of the complaint an earlier intake with ``key`` created, if any."""
        ...

    def iter_cases(self, *, open_only: bool = False) -> Iterator[Case]:
        """Every stored case (read-only use), oldest first."""
        ...

    def list_summaries(self, query: ListingQuery) -> list[dict[str, Any]]:
        """The masked summaries (``CaseSummary`` as JSON) the query selects."""
        ...

    def references(self, query: ListingQuery) -> list[str]:
        """The references the query selects, in listing order."""
        ...

    def get_many(self, references: Sequence[str]) -> list[Case]:
        """Several cases at once (read-only use), in the order given."""
        ...

    def next_reference(self, prefix: str, day: date) -> str:
        """A new human-readable reference such as ``HC-20261122-0007``."""
        ...

    def reserve_references(self, prefix: str, day: date, count: int) -> list[str]:
        """``count`` new consecutive references for one day, reserved in one step."""
        ...


class UnitOfWork(Protocol):
    @property
    def cases(self) -> CaseRepository: ...

    def __enter__(self) -> Self: ...

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None: ...

    def commit(self) -> None:
        """Store every tracked case's new events atomically, or raise and store nothing."""
        ...

    def rollback(self) -> None: ...

    def record_notification_failure(self, failure: NotificationFailure) -> None: ...

    # -- transactional outbox: one row per committed event, written in the same transaction

    def pending_notifications(self, *, limit: int = 500) -> list[Event]:
        """Committed events whose notifications have not been dispatched yet, oldest first."""
        ...

    def mark_notified(self, event_ids: Sequence[str]) -> None:
        """Record that these events' notifications were dispatched (in its own transaction)."""
        ...

    def notification_failures(self, reference: str | None = None) -> list[NotificationFailure]:
        ...

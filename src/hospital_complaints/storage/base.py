"""What the service needs from storage. Any implementation (memory, SQL) provides these.

The service never knows which one it has: it opens a unit of work, loads and adds cases
through ``uow.cases``, and calls ``commit()``. Leaving the ``with`` block without committing
discards everything, so a failed command leaves no partial state.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from types import TracebackType
from typing import Any, Protocol, Self

from ..domain.case import Case
from ..domain.events import Event
from ..errors import HospitalComplaintsError
from ..plugins.types import NotificationFailure
from ..surveys.records import SurveyInvitation, SurveyResponse


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

    def find_by_idempotency_keys(self, keys: Sequence[str]) -> dict[str, str]:
        """key -> reference, for those of ``keys`` earlier intakes used."""
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

    def events_by_id(self, event_ids: Sequence[str]) -> dict[str, Event]:
        """Stored events by id (ids not found are left out)."""
        ...

    def summaries(self, references: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The masked listing summaries (``CaseSummary`` as JSON) of these cases, now."""
        ...

    def reserve_for_days(self, prefix: str,
                         counts: Mapping[date, int]) -> dict[date, list[str]]:
        """:meth:`reserve_references` for several days in one step."""
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


# -- durable notifications (docs/notifications.md) -------------------------------------------

#: what a delivery row carries: a committed event, or a message to a person
EVENT, MESSAGE = "event", "message"


@dataclass(frozen=True)
class QueuedDelivery:
    """A delivery row as the dispatcher sees it (``payload``: a message's data, decrypted)."""

    id: int
    global_seq: int
    event_id: str
    complaint_ref: str
    notifier: str
    kind: str
    type: str
    status: str
    attempts: int
    next_attempt_s: float
    created_s: float
    delivered_s: float | None = None
    last_error: str | None = None
    payload: dict[str, Any] | None = None


class DeliveryQueue(Protocol):
    """One row per (event or message, notifier), handed out with leases. Times are epoch
    seconds on the application's clock."""

    def enqueue_message(self, message_id: str, subject: str, message_type: str,
                        notifiers: Iterable[str], payload: dict[str, Any], now_s: float,
                        conn: Any = None) -> int: ...

    def claim(self, owner: str, now_s: float, limit: int, lease_s: float,
              notifiers: Sequence[str] | None = None) -> list[QueuedDelivery]:
        """Lease due rows, oldest first, never two of one case and notifier out of order."""
        ...

    def delivered(self, ids: Sequence[int], owner: str, now_s: float) -> int: ...

    def failed(self, row_id: int, owner: str, error: str, *,
               retry_at_s: float | None) -> None: ...

    def release(self, ids: Sequence[int], owner: str) -> None: ...

    def retry(self, ids: Sequence[int] | None, now_s: float,
              notifier: str | None = None) -> int: ...

    def get(self, row_id: int) -> QueuedDelivery | None: ...

    def find(self, *, status: str | None = None, notifier: str | None = None,
             reference: str | None = None, limit: int = 100) -> list[QueuedDelivery]: ...

    def counts(self, states: Sequence[str] | None = None) -> dict[tuple[str, str], int]: ...

    def oldest_pending_s(self) -> float | None: ...

    def key_ids(self) -> dict[str, int]: ...

    def rotate(self, batch: int = 500) -> int: ...


class Locks(Protocol):
    """Named locks with an expiry (one worker per job), and exam-source watermarks."""

    def acquire(self, name: str, owner: str, now_s: float, ttl_s: float) -> bool: ...

    def holder(self, name: str) -> tuple[str, float] | None: ...

    def release(self, name: str, owner: str) -> None: ...

    def watermark(self, source: str) -> str | None: ...

    def set_watermark(self, source: str, watermark: str, now_s: float) -> None: ...


# -- patient surveys (docs/surveys.md) ---------------------------------------------------------


class SurveyStore(Protocol):
    def add_invitation(self, invitation: SurveyInvitation) -> bool: ...

    def invitation(self, *, token_hash: str | None = None, invitation_id: str | None = None,
                   subject: tuple[str, str, str] | None = None) -> SurveyInvitation | None: ...

    def answer(self, invitation: SurveyInvitation, response: SurveyResponse) -> bool: ...

    def responses(self, from_s: float | None = None, to_s: float | None = None,
                  questionnaire: str | None = None) -> list[SurveyResponse]: ...

    def invitations(self, from_s: float | None = None, to_s: float | None = None,
                    questionnaire: str | None = None) -> list[SurveyInvitation]: ...

    def key_ids(self) -> dict[str, int]: ...

    def rotate(self, batch: int = 500) -> int: ...

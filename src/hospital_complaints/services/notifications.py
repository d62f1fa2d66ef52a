"""Durable notifications: the registered notifiers, the queue's dispatcher, dead letters.

``app.notifications.dispatch(owner)`` is one round of the worker's delivery job: claim due
rows, hand each to its notifier in order, record the outcome. A failure is retried with
exponential backoff and jitter until the notifier's attempts run out; then the row is a dead
letter until someone re-queues it (``outbox retry``). Rows of one case and notifier go out in
order: after a failure, the rest of that group waits for the retry.
"""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..domain.events import Event
from ..domain.notifications import (
    DEAD,
    DELIVERED,
    PENDING,
    Backoff,
    Delivery,
    DeliveryRefused,
    Notifier,
    Recipient,
    wants,
)
from ..domain.personal import mask_text
from ..domain.taxonomy import ComplaintKind
from ..domain.views import masked_event
from ..errors import FieldProblem, InvalidInput, NotFound
from ..storage.base import EVENT, DeliveryQueue, Locks, QueuedDelivery

if TYPE_CHECKING:
    from ..app import App

log = logging.getLogger(__name__)


@dataclass
class DispatchResult:
    """What one round did, per notifier: ``{notifier: {"delivered": n, "retry": n,
    "dead": n}}``, and how many rows were claimed."""

    claimed: int = 0
    outcomes: dict[str, dict[str, int]] = field(default_factory=dict)

    def count(self, notifier: str, outcome: str, n: int = 1) -> None:
        per = self.outcomes.setdefault(notifier, {"delivered": 0, "retry": 0, "dead": 0})
        per[outcome] = per.get(outcome, 0) + n

    def total(self, outcome: str) -> int:
        return sum(v.get(outcome, 0) for v in self.outcomes.values())


class NotificationService:
    def __init__(self, app: App) -> None:
        self.app = app
        self._routes: dict[str, tuple[str, ...]] = {}
        self._rng = random.Random()
        settings = app.settings.notifications
        self.backoff = Backoff(settings.backoff_s, settings.backoff_cap_s)

    # -- registry ----------------------------------------------------------------------------

    @property
    def notifiers(self) -> dict[str, Notifier]:
        found: dict[str, Notifier] | None = getattr(self, "_notifiers", None)
        if found is None:
            found = self._notifiers = self.app.plugins.notifiers(self.app)
        return found

    def route(self, event_type: str) -> tuple[str, ...]:
        """The notifiers that get a delivery of an event of this type."""
        found = self._routes.get(event_type)
        if found is None:
            found = self._routes[event_type] = tuple(
                nid for nid, n in self.notifiers.items() if wants(n, event_type))
        return found

    def trusted(self, notifier_id: str) -> bool:
        return notifier_id in self.app.settings.notifications.trusted

    def max_attempts(self, notifier: Notifier | None) -> int:
        own = getattr(notifier, "max_attempts", None)
        return int(own) if own else self.app.settings.notifications.max_attempts

    @property
    def queue(self) -> DeliveryQueue:
        return self.app.deliveries

    @property
    def locks(self) -> Locks:
        return self.app.locks

    def _now_s(self) -> float:
        return self.app.clock.now().timestamp()

    # -- dispatching -------------------------------------------------------------------------

    def dispatch(self, owner: str, *, limit: int | None = None,
                 stop: Callable[[], bool] | None = None,
                 notifiers: Sequence[str] | None = None) -> DispatchResult:
        """One round: claim up to ``limit`` due rows and deliver them. ``stop`` is asked
        before each delivery (SIGTERM): the current one finishes, the rest are given back."""
        limit = limit or self.app.settings.worker.batch
        lease = self.app.settings.notifications.lease_s
        rows = self.queue.claim(owner, self._now_s(), limit, lease, notifiers)
        result = DispatchResult(claimed=len(rows))
        if not rows:
            return result
        deliveries = self._deliveries(rows)
        done: list[int] = []
        held: set[tuple[str, str]] = set()
        release: list[int] = []
        for row in rows:
            group = (row.complaint_ref, row.notifier)
            if (stop is not None and stop()) or group in held:
                release.append(row.id)
                continue
            notifier = self.notifiers.get(row.notifier)
            delivery = deliveries.get(row.id)
            try:
                if notifier is None:
                    raise RuntimeError(f"notifier {row.notifier!r} is not installed or is "
                                       "disabled (HC_DISABLE_PLUGINS)")
                if delivery is None:
                    raise DeliveryRefused(f"event {row.event_id} is no longer stored")
                notifier.deliver(delivery)
            except DeliveryRefused as exc:
                self._failed(row, notifier, exc, owner, result, permanent=True)
                held.add(group)
            except Exception as exc:  # a transport's failure: retried, never lost
                self._failed(row, notifier, exc, owner, result, permanent=False)
                held.add(group)
            else:
                done.append(row.id)
                result.count(row.notifier, "delivered")
        self.queue.delivered(done, owner, self._now_s())
        self.queue.release(release, owner)
        return result

    def _failed(self, row: QueuedDelivery, notifier: Notifier | None, exc: Exception,
                owner: str, result: DispatchResult, *, permanent: bool) -> None:
        attempt = row.attempts + 1
        # the text may quote what was sent: keep the exception's type and its first line with
        # addresses and numbers masked, and never log it (the outbox shows it to staff)
        first = str(exc).splitlines()[0] if str(exc) else ""
        error = f"{type(exc).__name__}: {mask_text(first)}"
        dead = permanent or attempt >= self.max_attempts(notifier)
        retry_at = None if dead else self._now_s() + self.backoff.delay(attempt, self._rng)
        self.queue.failed(row.id, owner, error, retry_at_s=retry_at)
        result.count(row.notifier, "dead" if dead else "retry")
        log.warning("delivery %s of %s %s through %s failed (attempt %d, %s): %s", row.id,
                    row.complaint_ref, row.type, row.notifier, attempt,
                    "dead letter" if dead else "will retry", type(exc).__name__)

    def _deliveries(self, rows: Sequence[QueuedDelivery]) -> dict[int, Delivery]:
        """The deliveries of claimed rows: events read and masked per notifier, summaries of
        their cases, messages with their recipient."""
        event_ids = sorted({r.event_id for r in rows if r.kind == EVENT})
        refs = sorted({r.complaint_ref for r in rows if r.kind == EVENT})
        with self.app.unit_of_work() as uow:
            events = uow.cases.events_by_id(event_ids) if event_ids else {}
            summaries = uow.cases.summaries(refs) if refs else {}
        masked: dict[str, Event] = {}
        out: dict[int, Delivery] = {}
        for r in rows:
            if r.kind == EVENT:
                event = events.get(r.event_id)
                if event is None:
                    continue
                summary = summaries.get(r.complaint_ref)
                report = summary is not None and summary.get("kind") == ComplaintKind.REPORT.value
                if self.trusted(r.notifier) and not report:
                    shown = event
                else:
                    shown = masked.get(r.event_id) or masked.setdefault(r.event_id,
                                                                        masked_event(event))
                out[r.id] = Delivery(
                    id=event.event_id, type=event.type, subject=event.complaint_ref,
                    at=event.at, data=event_data(shown), case=summary,
                    attempt=r.attempts + 1, delivery_id=r.id)
            else:
                payload = dict(r.payload or {})
                who = payload.pop("recipient", None)
                at = payload.pop("at", None)
                out[r.id] = Delivery(
                    id=r.event_id, type=r.type, subject=r.complaint_ref,
                    at=datetime.fromisoformat(at) if at else datetime.fromtimestamp(
                        r.created_s, UTC),
                    data=payload, attempt=r.attempts + 1, delivery_id=r.id,
                    recipient=Recipient(**who) if isinstance(who, dict) else None)
        return out

    # -- messages to people (survey invitations) ---------------------------------------------

    def send_message(self, message_type: str, subject: str, data: dict[str, Any], *,
                     recipient: Recipient | None = None, message_id: str | None = None,
                     due: datetime | None = None) -> str:
        """Queue a message to a person through every notifier that lists ``message_type``
        in its ``event_types``, to be sent from ``due`` (default now). ``message_id`` makes
        queuing idempotent (a second call with it adds nothing). Returns the message id."""
        message_id = message_id or f"msg-{uuid.uuid4()}"
        targets = [nid for nid, n in self.notifiers.items()
                   if wants(n, message_type, message=True)]
        payload = dict(data)
        payload["at"] = self.app.clock.now().isoformat()
        if recipient is not None:
            payload["recipient"] = {"name": recipient.name, "phone": recipient.phone,
                                    "email": recipient.email, "language": recipient.language}
        self.queue.enqueue_message(message_id, subject, message_type, targets, payload,
                                   due.timestamp() if due is not None else self._now_s())
        return message_id

    # -- the outbox, for people ----------------------------------------------------------------

    def failed(self, *, notifier: str | None = None, reference: str | None = None,
               limit: int = 100) -> list[QueuedDelivery]:
        """Dead letters, oldest first."""
        return self.queue.find(status=DEAD, notifier=notifier, reference=reference,
                               limit=limit)

    def deliveries(self, *, status: str | None = None, notifier: str | None = None,
                   reference: str | None = None, limit: int = 100) -> list[QueuedDelivery]:
        if status is not None and status not in (PENDING, DELIVERED, DEAD):
            raise InvalidInput("outbox", [FieldProblem(
                "status", status, f"one of: {PENDING}, {DELIVERED}, {DEAD}")],
                [f"  - 投递状态 {status!r} 无效（{PENDING}、{DELIVERED}、{DEAD}）"])
        return self.queue.find(status=status, notifier=notifier, reference=reference,
                               limit=limit)

    def retry(self, ids: Sequence[int] | None = None, *, notifier: str | None = None) -> int:
        """Re-queue dead letters (by id, or every one, or every one of a notifier); they
        are due at once with their attempts reset. An id that is not a dead letter is an
        error naming it."""
        if ids is not None:
            for i in ids:
                row = self.queue.get(i)
                if row is None:
                    raise NotFound(f"outbox: no delivery with id {i}",
                                   f"投递队列中没有编号为 {i} 的投递")
                if row.status != DEAD:
                    raise InvalidInput("outbox retry", [FieldProblem(
                        "id", str(i), f"a dead letter (this one is {row.status})")],
                        [f"  - 投递 {i} 不是死信（当前状态：{row.status}）"])
        return self.queue.retry(ids, self._now_s(), notifier)

    def status(self, *, delivered: bool = True) -> dict[str, Any]:
        """Rows per notifier and state (``delivered=False``: pending and dead only, which is
        cheap), the oldest undelivered row's age (the lag), and notifiers with rows but no
        longer installed."""
        counts = self.queue.counts(None if delivered else (PENDING, DEAD))
        per: dict[str, dict[str, int]] = {}
        for (nid, state), n in counts.items():
            per.setdefault(nid, {PENDING: 0, DELIVERED: 0, DEAD: 0})[state] = n
        for nid in self.notifiers:
            per.setdefault(nid, {PENDING: 0, DELIVERED: 0, DEAD: 0})
        oldest = self.queue.oldest_pending_s()
        return {
            "notifiers": {nid: {"description": getattr(self.notifiers.get(nid), "description",
                                                       "(not installed)"),
                                "installed": nid in self.notifiers,
                                "trusted": self.trusted(nid), **states}
                          for nid, states in sorted(per.items())},
            "lag_s": max(0.0, self._now_s() - oldest) if oldest is not None else 0.0,
        }


def event_data(event: Event) -> dict[str, Any]:
    """What a delivery of an event carries besides its id, type and case."""
    return {"seq": event.seq, "actor": event.actor, "reason": event.reason,
            "from_state": event.from_state, "to_state": event.to_state,
            "schema_version": event.schema_version,
            "payload": event.payload}

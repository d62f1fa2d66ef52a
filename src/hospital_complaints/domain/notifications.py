"""Durable notifications: what a transport (webhook, e-mail, AMQP, NATS, WeCom, SMS) receives,
what it promises, and how long the dispatcher waits before trying again.

Every committed event becomes one *delivery* per registered notifier that wants its type,
written in the event's own transaction. The worker's dispatcher hands each delivery to its
notifier out of band: at least once, in order per case and notifier, with exponential
backoff and jitter, until it succeeds or runs out of attempts (a *dead letter*, listed by
``outbox failed`` and re-queued by ``outbox retry``).

A notifier never sees personal data unless the site names it in ``HC_NOTIFY_TRUSTED``; a
report's (举报) complainant is never revealed to any notifier.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

#: delivery states, as stored
PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"
DELIVERY_STATES = {
    PENDING: ("待投递", "pending"),
    DELIVERED: ("已投递", "delivered"),
    DEAD: ("投递失败（死信）", "dead letter"),
}


@dataclass(frozen=True)
class Recipient:
    """A person a message is addressed to (a patient invited to a survey). Personal data:
    stored encrypted, shown masked, given only to the notifier that sends the message."""

    name: str | None = None
    phone: str | None = None
    email: str | None = None
    language: str = "zh"


@dataclass(frozen=True)
class Delivery:
    """One thing to send through one notifier.

    :param id: the idempotency key every transport sends (the event id, or the message id);
        a receiver that sees it twice has seen the same thing twice.
    :param type: the event type (``complaint_registered``, ``deadline_alert_recorded`` ...)
        or a message type (``survey_invitation``); templates are chosen by it.
    :param subject: the case reference (or, for an exam's survey, ``exam:<accession>``).
    :param at: when the event happened.
    :param data: the event's payload, masked unless the notifier is trusted (JSON values).
    :param case: the case's masked summary after the event, as JSON (``None`` for messages).
    :param attempt: 1 for the first try.
    :param recipient: for messages to a person; ``None`` for events.
    """

    id: str
    type: str
    subject: str
    at: datetime
    data: Mapping[str, Any]
    case: Mapping[str, Any] | None = None
    attempt: int = 1
    recipient: Recipient | None = None
    delivery_id: int = 0
    extra: Mapping[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """The JSON body transports send (no recipient: it is addressed, not forwarded)."""
        return {"id": self.id, "type": self.type, "subject": self.subject,
                "at": self.at.isoformat(), "data": dict(self.data),
                "case": dict(self.case) if self.case is not None else None}


class DeliveryRefused(Exception):
    """Raised by a notifier when trying again cannot help (the receiver rejected the
    request as invalid, the address does not exist): the delivery becomes a dead letter at
    once. Any other exception is a temporary failure and is retried with backoff."""


@runtime_checkable
class Notifier(Protocol):
    """A transport, registered through ``hc_register_notifiers``.

    ``id`` names its deliveries in the outbox; keep it stable (renaming it leaves the old
    rows to a notifier that no longer exists, shown by ``outbox status``).
    ``description`` is shown by ``outbox status`` and ``plugins``.

    Optional attributes: ``event_types`` (a set of event or message types it wants; absent
    or ``None``: every event, no messages) and ``max_attempts`` (default: the site's
    ``HC_NOTIFY_MAX_ATTEMPTS``).
    """

    id: str
    description: str

    def deliver(self, delivery: Delivery) -> None:
        """Send it; return when the receiver has confirmed it (HTTP 2xx, SMTP 250, broker
        ack). Raise to fail: :class:`DeliveryRefused` for a permanent refusal, anything else
        to try again later. Must be safe to call again with the same ``delivery.id``."""
        ...


def wants(notifier: Notifier, delivery_type: str, *, message: bool = False) -> bool:
    """Whether ``notifier`` takes deliveries of this type (messages only when it lists
    their type explicitly)."""
    types: Sequence[str] | None = getattr(notifier, "event_types", None)
    if types is None:
        return not message
    return delivery_type in types


@dataclass(frozen=True)
class Backoff:
    """When to try again: ``base * 2**(attempt-1)`` seconds, at most ``cap``, spread by
    "full jitter" over the upper half (so many failing deliveries do not retry in step)."""

    base_s: float = 5.0
    cap_s: float = 3600.0

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        ceiling = min(self.cap_s, self.base_s * float(2 ** min(max(0, attempt - 1), 60)))
        r = float((rng or random).random())
        return ceiling / 2 + r * ceiling / 2


@dataclass(frozen=True)
class ExamContact:
    """How to reach the patient of an exam, and whether they agreed to be contacted
    (``hc_exam_contact``: the HIS knows; the exam table keeps no identity)."""

    recipient: Recipient
    consented: bool

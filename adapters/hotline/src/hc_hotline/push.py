"""Pushing the hospital's acts to the platform: a notifier per connector
(``hotline:<id>``), wanting only the event types its mapping has a push endpoint for.

- sign (``work_order_signed``), return (``work_order_returned``), extension
  (``extension_requested``), re-route (``reroute_requested``), dispute
  (``dispatch_disputed``): sent for the case's own ticket;
- reply (``work_order_replied``): sent for **every ticket** the event lists, the case's own
  and those merged into it (并单).

The request id (the idempotency key) is the event id (``delivery.id``); a reply to several
tickets uses the event id for the first ticket and ``<event id>:<ticket>`` for each other,
so a retry after a partial failure repeats exactly the same requests and the platform can
drop the ones it already has. A platform that answers 4xx (not 408/429), or refuses with an
error code, refuses for good: the delivery becomes a dead letter (``outbox failed``).
Timeouts, connection failures, 408/429/5xx and the mapping's ``retry_values`` are retried
by the worker with backoff.

Nothing here needs identity: the pushes carry the ticket, times, codes and the hospital's
own texts. If a site's platform wants the caller's name back, the notifier must be listed in
``HC_NOTIFY_TRUSTED`` (docs/hotline.md).
"""

from __future__ import annotations

from collections.abc import Mapping as MappingT
from datetime import datetime
from typing import TYPE_CHECKING, Any

from hospital_complaints.plugin_api import Delivery, DeliveryRefused, NotFound

from .client import path_for
from .errors import PlatformError
from .mapping import PUSH_EVENTS, format_time
from .store import store_for

if TYPE_CHECKING:
    from hospital_complaints.plugin_api import App

    from .settings import Connector

_KIND_OF = {event: kind for kind, event in PUSH_EVENTS.items()}


class PushFailed(Exception):
    """A temporary failure: the worker tries again later. Its text is safe to show."""


class PlatformNotifier:
    def __init__(self, app: App, connector: Connector) -> None:
        self.app = app
        self.connector = connector
        self.m = connector.mapping
        self.id = connector.name
        self.description = f"hotline platform {self.m.title.en} ({self.m.title.zh})"
        self.event_types = frozenset(PUSH_EVENTS[k] for k in self.m.push_kinds)

    def deliver(self, delivery: Delivery) -> None:
        kind = _KIND_OF.get(delivery.type)
        push = self.m.push.get(kind) if kind else None
        if kind is None or push is None:
            return  # not an event this platform takes
        try:
            case = self.app.complaints.get(delivery.subject)
        except NotFound:
            raise DeliveryRefused(f"case {delivery.subject} does not exist (案件不存在)") from None
        own = self._own_tickets(delivery.subject, case)
        if not own:
            return  # not a work order of this platform: nothing to send
        payload: MappingT[str, Any] = delivery.data.get("payload", {}) or {}
        tickets = list(payload.get("tickets") or []) if kind == "reply" else []
        if not tickets:
            tickets = own[:1]
        for i, ticket in enumerate(tickets):
            request_id = delivery.id if i == 0 else f"{delivery.id}:{ticket}"
            fields = self._fields(kind, push.fields, delivery, payload, ticket, request_id)
            try:
                self.connector.client.call(push.method, path_for(push.path, ticket),
                                           fields=fields, request_id=request_id)
            except PlatformError as exc:
                text = f"{kind} of ticket {ticket}: {exc.en} ({exc.zh})"
                if exc.temporary:
                    raise PushFailed(text) from None
                raise DeliveryRefused(text) from None

    def _own_tickets(self, reference: str, case: Any) -> list[str]:
        rows = [r.ticket for r in store_for(self.app).tickets_of(reference)
                if r.connector == self.m.id]
        if rows:
            return rows
        c = case.complaint
        if c.channel.value == "hotline_platform" and c.transferred_from == self.m.platform \
                and c.external_id:
            return [c.external_id]
        return []

    def _fields(self, kind: str, wanted: MappingT[str, str], delivery: Delivery,
                payload: MappingT[str, Any], ticket: str, request_id: str) -> dict[str, Any]:
        data = delivery.data
        values: dict[str, Any] = {
            "ticket": ticket, "request_id": request_id,
            "at": format_time(delivery.at, self.m), "actor": data.get("actor"),
            "reference": delivery.subject, "platform": self.m.platform,
        }
        codes = self.m.codes
        if kind == "sign":
            due = payload.get("due")
            values.update(note=payload.get("note"),
                          due=format_time(datetime.fromisoformat(due), self.m) if due else None,
                          time_limit_class=payload.get("time_limit_class"))
        elif kind == "return":
            ours = str(payload.get("reason_code", "other"))
            values.update(reason=payload.get("reason"),
                          reason_code=codes.platform_code("return_reason", ours)
                          or codes.platform_code("return_reason", "other") or ours)
        elif kind == "extension":
            values.update(days=payload.get("days"), reason=payload.get("reason"),
                          consent=bool(payload.get("consent")))
        elif kind == "reroute":
            values.update(target=payload.get("target"), reason=payload.get("reason"))
        elif kind == "dispute":
            values.update(reason=payload.get("reason"))
        elif kind == "reply":
            method = str(payload.get("method", ""))
            resolution = str(payload.get("resolution", ""))
            outcome = payload.get("outcome") or {}
            values.update(text=payload.get("text"),
                          method=codes.platform_code("method", method) or method,
                          resolution=codes.platform_code("resolution", resolution) or resolution,
                          outcome=outcome.get("kind") if isinstance(outcome, dict) else None,
                          outcome_reason=outcome.get("reason") if isinstance(outcome, dict)
                          else None)
        out: dict[str, Any] = {}
        for name, source in wanted.items():
            value = source[1:] if source.startswith("=") else values.get(source)
            if value is not None:
                out[name] = value
        return out

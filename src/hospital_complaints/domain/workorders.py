"""A work order (工单) from a hotline platform (12345 / 12320), as the case carries it.

A complaint that arrives through the ``hotline_platform`` channel is a work order: the
platform's ticket id is its ``external_id`` and the platform its ``transferred_from``. Its
platform-facing state lives beside the case's own workflow state: signed for (签收) or not,
returned, re-routing and disputes asked, extensions asked and decided, the reply, the
platform's call-back and its result, redo rounds, supervision tiers already recorded, and
every ticket id (the case's own and those of cases merged into it).

Only event payloads change it (``events/payloads.py``), like every other part of a case.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from .taxonomy import (
    CallbackSatisfaction,
    Channel,
    PlatformRequest,
    RequestType,
    Resolution,
    ReturnReason,
    WorkOrderStatus,
)

if TYPE_CHECKING:
    from .case import Case


@dataclass
class PendingRequest:
    """An extension, re-route or dispute asked of the platform, and its decision."""

    kind: PlatformRequest
    at: datetime
    reason: str
    days: int | None = None  # an extension's working days asked
    target: str | None = None  # a re-route's suggested unit
    decided_at: datetime | None = None
    approved: bool | None = None
    granted_days: int | None = None
    note: str | None = None


@dataclass
class Callback:
    """The platform's call-back (回访) and its result."""

    at: datetime
    satisfaction: CallbackSatisfaction
    resolved: bool | None
    note: str | None


@dataclass
class WorkOrder:
    platform: str
    tickets: list[str]
    request_type: RequestType = RequestType.COMPLAINT
    #: when the current round was dispatched: the registration, or the last redo
    dispatched_at: datetime | None = None
    status: WorkOrderStatus = WorkOrderStatus.DISPATCHED
    signed_at: datetime | None = None
    #: signing per round (a redo asks for a new signature)
    signatures: list[datetime] = field(default_factory=list)
    returned: tuple[ReturnReason, str] | None = None
    requests: list[PendingRequest] = field(default_factory=list)
    replied_at: datetime | None = None
    resolution: Resolution | None = None
    callbacks: list[Callback] = field(default_factory=list)
    redo_count: int = 0
    #: the deadline a redo set (the platform gives a new one)
    redo_due: datetime | None = None
    #: the deadline printed on the work order, recorded when signing (overrides the profile)
    platform_due: datetime | None = None
    #: the platform's time-limit class (时限等级), for profiles with classes
    time_limit_class: str | None = None
    #: (tier, round) already recorded by the supervision sweep
    supervision: set[tuple[str, int]] = field(default_factory=set)

    @property
    def pending(self) -> PendingRequest | None:
        """The request still waiting for the platform's decision, if any."""
        return next((r for r in reversed(self.requests) if r.approved is None), None)

    @property
    def last_callback(self) -> Callback | None:
        return self.callbacks[-1] if self.callbacks else None

    def granted_extension_days(self) -> int:
        """Working days of extension the platform approved in this round."""
        return sum(r.granted_days or 0 for r in self.requests
                   if r.kind is PlatformRequest.EXTENSION and r.approved
                   and (self.dispatched_at is None or r.at >= self.dispatched_at))


def is_work_order(case: Case) -> bool:
    return case.complaint.channel is Channel.HOTLINE_PLATFORM


def work_order_of(case: Case) -> WorkOrder:
    """The case's work order (read only: before its first work-order event, a fresh one
    made from the registered complaint, not kept on the case)."""
    if case.work_order is not None:
        return case.work_order
    c = case.complaint
    return WorkOrder(platform=c.transferred_from or "hotline",
                     tickets=[c.external_id] if c.external_id else [],
                     request_type=_request_type(case), dispatched_at=c.received_at)


def ensure_work_order(case: Case) -> WorkOrder:
    """The case's work order, kept on the case (event payloads' ``apply`` only)."""
    if case.work_order is None:
        case.work_order = work_order_of(case)
    return case.work_order


def _request_type(case: Case) -> RequestType:
    kind = case.complaint.kind.value
    return {"report": RequestType.REPORT, "suggestion": RequestType.SUGGESTION,
            "consultation": RequestType.CONSULTATION, "help": RequestType.HELP
            }.get(kind, RequestType.COMPLAINT)


#: the 1-5 satisfaction a platform call-back stands for on the case's follow-up (回访)
CALLBACK_SCORE = {CallbackSatisfaction.SATISFIED: 5,
                  CallbackSatisfaction.BASICALLY_SATISFIED: 4,
                  CallbackSatisfaction.DISSATISFIED: 2}

"""Event payloads of hotline work orders (工单) and of merging cases (并单).

Like every payload, each is the stored schema of its event and owns ``apply``; ``apply`` never
checks (docs/events.md). The work order's state is ``case.work_order``
(``domain/workorders.py``), created from the registered complaint on first use.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import AwareDatetime

from ..case import Case
from ..complaint import FollowUp, Outcome, Response
from ..taxonomy import (
    CallbackSatisfaction,
    CaseState,
    ContactMethod,
    Direction,
    NotAcceptedReason,
    OutcomeKind,
    PlatformRequest,
    Resolution,
    ReturnReason,
    SupervisionTier,
    WorkOrderStatus,
)
from ..workorders import (
    CALLBACK_SCORE,
    Callback,
    PendingRequest,
    ensure_work_order,
    is_work_order,
)
from .event import Event
from .payloads import EventPayload, _end, _entry
from .records import OutcomeRecord, adopt


class WorkOrderSigned(EventPayload):
    """签收: the unit takes the work order (the first feedback of the case)."""

    event_type: ClassVar[str] = "work_order_signed"

    note: str | None = None
    #: the deadline printed on the work order (办理时限), if the platform set one
    due: AwareDatetime | None = None
    #: the platform's time-limit class (时限等级), for profiles that have classes
    time_limit_class: str | None = None

    def apply(self, case: Case, event: Event) -> None:
        wo = ensure_work_order(case)
        if self.due is not None:
            wo.platform_due = self.due
        if self.time_limit_class is not None:
            wo.time_limit_class = self.time_limit_class
        wo.signed_at = event.at
        wo.signatures.append(event.at)
        wo.status = WorkOrderStatus.SIGNED
        if case.acknowledged_at is None:
            case.acknowledged_at = event.at


class WorkOrderReturned(EventPayload):
    """退回: sent back to the platform, with a reason from the list. Ends local handling."""

    event_type: ClassVar[str] = "work_order_returned"

    reason_code: ReturnReason
    reason: str

    def apply(self, case: Case, event: Event) -> None:
        wo = ensure_work_order(case)
        wo.returned = (self.reason_code, self.reason)
        wo.status = WorkOrderStatus.RETURNED
        _end(case, event, adopt(Outcome, kind=OutcomeKind.REFERRED, reason=self.reason,
                                referred_to=wo.platform))


class _RequestMade(EventPayload):
    """A request to the platform, which decides (``platform_decision_recorded``)."""

    kind: ClassVar[PlatformRequest]
    reason: str

    def apply(self, case: Case, event: Event) -> None:
        wo = ensure_work_order(case)
        wo.requests.append(PendingRequest(kind=self.kind, at=event.at, reason=self.reason,
                                          days=getattr(self, "days", None),
                                          target=getattr(self, "target", None)))
        wo.status = {PlatformRequest.EXTENSION: WorkOrderStatus.EXTENSION_REQUESTED,
                     PlatformRequest.REROUTE: WorkOrderStatus.REROUTE_REQUESTED,
                     PlatformRequest.DISPUTE: WorkOrderStatus.DISPUTED}[self.kind]


class RerouteRequested(_RequestMade):
    """改派申请: the unit asks the platform to send the work order to ``target``."""

    event_type: ClassVar[str] = "reroute_requested"
    kind: ClassVar[PlatformRequest] = PlatformRequest.REROUTE

    target: str


class DispatchDisputed(_RequestMade):
    """派单异议: the unit disputes that the work order is its own."""

    event_type: ClassVar[str] = "dispatch_disputed"
    kind: ClassVar[PlatformRequest] = PlatformRequest.DISPUTE


class ExtensionRequested(_RequestMade):
    """延期申请: the unit asks for ``days`` more working days, before the deadline."""

    event_type: ClassVar[str] = "extension_requested"
    kind: ClassVar[PlatformRequest] = PlatformRequest.EXTENSION

    days: int
    consent: bool = False


class PlatformDecisionRecorded(EventPayload):
    """The platform's decision on the pending request. An approved re-route or dispute
    takes the work order away (the case ends as referred); an approved extension moves the
    deadline by the working days granted."""

    event_type: ClassVar[str] = "platform_decision_recorded"

    kind: PlatformRequest
    approved: bool
    granted_days: int | None = None
    note: str | None = None

    def apply(self, case: Case, event: Event) -> None:
        wo = ensure_work_order(case)
        pending = wo.pending
        if pending is not None and pending.kind is self.kind:
            pending.decided_at = event.at
            pending.approved = self.approved
            pending.granted_days = self.granted_days if self.approved else None
            pending.note = self.note
        wo.status = WorkOrderStatus.SIGNED if wo.signed_at else WorkOrderStatus.DISPATCHED
        if self.approved and self.kind is not PlatformRequest.EXTENSION:
            wo.status = WorkOrderStatus.RETURNED
            target = pending.target if pending is not None else None
            _end(case, event, adopt(Outcome, kind=OutcomeKind.REFERRED,
                                    reason=self.note or self.kind.value,
                                    referred_to=target or wo.platform))


class WorkOrderReplied(EventPayload):
    """办结 / 答复: the reply to the caller and the platform, for every ticket id."""

    event_type: ClassVar[str] = "work_order_replied"

    method: ContactMethod
    text: str
    resolution: Resolution
    outcome: OutcomeRecord
    tickets: list[str]

    def apply(self, case: Case, event: Event) -> None:
        wo = ensure_work_order(case)
        wo.replied_at = event.at
        wo.resolution = self.resolution
        wo.status = WorkOrderStatus.REPLIED
        outcome = adopt(Outcome, self.outcome)
        case.response = Response.model_construct(at=event.at, by=event.actor,
                                                 method=self.method, text=self.text,
                                                 outcome=outcome)
        case.outcome = outcome
        case.communications.append(
            _entry(case, event, Direction.TO_COMPLAINANT, self.method, self.text))


class CallbackRecorded(EventPayload):
    """回访: the platform called the caller back; its satisfaction and resolution result.
    It stands as the case's follow-up (satisfied 5, basically 4, dissatisfied 2)."""

    event_type: ClassVar[str] = "callback_recorded"

    satisfaction: CallbackSatisfaction
    resolved: bool | None = None
    note: str | None = None

    def apply(self, case: Case, event: Event) -> None:
        wo = ensure_work_order(case)
        wo.callbacks.append(Callback(at=event.at, satisfaction=self.satisfaction,
                                     resolved=self.resolved, note=self.note))
        wo.status = WorkOrderStatus.CALLED_BACK
        if case.state is CaseState.RESPONDED and case.follow_up is None:
            case.follow_up = FollowUp.model_construct(
                at=event.at, by=event.actor, method=ContactMethod.PHONE,
                satisfaction=CALLBACK_SCORE[self.satisfaction], comments=self.note,
                unreachable=False)


class WorkOrderRedone(EventPayload):
    """重办: the caller was not satisfied; the order is handled again by a new deadline."""

    event_type: ClassVar[str] = "work_order_redone"

    reason: str
    due: AwareDatetime

    def apply(self, case: Case, event: Event) -> None:
        wo = ensure_work_order(case)
        wo.redo_count += 1
        wo.redo_due = self.due
        wo.dispatched_at = event.at
        wo.signed_at = None
        wo.replied_at = None
        wo.resolution = None
        wo.status = WorkOrderStatus.REDO
        case.reopen_count += 1
        case.closed_at = None
        case.outcome = None
        case.response = None
        case.follow_up = None
        case.follow_up_waived = None
        if case.investigation.started_at is None:
            case.investigation.started_at = event.at


class SupervisionRecorded(EventPayload):
    """催办 / 督办 / 通报 of a work order's deadline, recorded once per tier and round."""

    event_type: ClassVar[str] = "supervision_recorded"

    tier: SupervisionTier
    due: AwareDatetime
    profile: str
    round: int = 0

    def apply(self, case: Case, event: Event) -> None:
        ensure_work_order(case).supervision.add((self.tier.value, self.round))


# -- merging duplicates (并单) ------------------------------------------------------------------


class MergedInto(EventPayload):
    """This case was merged into ``survivor`` (并单); its history stays here."""

    event_type: ClassVar[str] = "merged_into"

    survivor: str
    reason: str

    def apply(self, case: Case, event: Event) -> None:
        case.merged_into = self.survivor
        case.state_before_merge = CaseState(event.from_state) if event.from_state else None
        case.closed_at = event.at  # local handling ends here; the survivor carries on


class CaseAbsorbed(EventPayload):
    """Another case was merged into this one: its ticket ids are answered with this one's."""

    event_type: ClassVar[str] = "case_absorbed"

    merged: str
    tickets: list[str]
    reason: str

    def apply(self, case: Case, event: Event) -> None:
        case.absorbed.append(self.merged)
        if is_work_order(case):
            wo = ensure_work_order(case)
            wo.tickets.extend(t for t in self.tickets if t not in wo.tickets)


class MergeUndone(EventPayload):
    """拆单: a wrong merge undone. On the merged case it restores the state it had; on the
    survivor it takes the merged case's ticket ids back."""

    event_type: ClassVar[str] = "merge_undone"

    other: str
    tickets: list[str]
    reason: str

    def apply(self, case: Case, event: Event) -> None:
        if case.merged_into == self.other:
            case.merged_into = None
            case.state_before_merge = None
            case.closed_at = None  # merged only from open states: open again
        if self.other in case.absorbed:
            case.absorbed.remove(self.other)
            if case.work_order is not None:
                case.work_order.tickets = [t for t in case.work_order.tickets
                                           if t not in self.tickets]


# -- not accepted (不予受理), with a reason code ------------------------------------------------


class DeclinedV2(EventPayload):
    """Not accepted (不予受理): the reason told, and its code from the list
    (``NotAcceptedReason``). Version 1 had the text only; it is upcast with no code."""

    event_type: ClassVar[str] = "declined"
    version: ClassVar[int] = 2

    reason: str
    reason_code: NotAcceptedReason | None = None

    def apply(self, case: Case, event: Event) -> None:
        case.not_accepted = self.reason_code
        _end(case, event, adopt(Outcome, kind=OutcomeKind.NOT_ACCEPTED, reason=self.reason))


WORK_ORDER_PAYLOADS: tuple[type[EventPayload], ...] = (
    WorkOrderSigned, WorkOrderReturned, RerouteRequested, DispatchDisputed, ExtensionRequested,
    PlatformDecisionRecorded,
    WorkOrderReplied, CallbackRecorded, WorkOrderRedone, SupervisionRecorded, MergedInto,
    CaseAbsorbed, MergeUndone, DeclinedV2,
)

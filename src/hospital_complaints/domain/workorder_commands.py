"""Commands of hotline work orders (工单) and of merging duplicate cases (并单).

Time limits that depend on the region's profile and the working-day calendar (sign within,
return within, extend before expiry and at most so far, the redo's new deadline) are checked
by ``app.workorders`` before it hands a command to the workflow; the guards here check what
the case itself shows.
"""

from __future__ import annotations

from datetime import date
from typing import ClassVar, Self

from pydantic import Field

from .base import Instant, ShortText, Text
from .case import Case
from .command_base import Command, check_response
from .complaint import Outcome
from .events import workorder_payloads as wp
from .events.payloads import EventPayload
from .taxonomy import (
    CallbackSatisfaction,
    CaseState,
    ContactMethod,
    PlatformRequest,
    Resolution,
    ReturnReason,
    SupervisionTier,
    WorkOrderStatus,
    label,
)
from .workorders import is_work_order, work_order_of


class _WorkOrderCommand(Command):
    """A command only a work order takes."""

    def guard(self, case: Case, event_at: date) -> None:
        if not is_work_order(case):
            raise self._fail(
                case, f"{case.reference} did not come from a hotline platform (channel "
                f"{case.complaint.channel.value}); work-order commands need a work order",
                f"{case.reference} 不是热线平台转办的工单，不能执行工单操作")
        self.check(case, event_at)

    def check(self, case: Case, event_at: date) -> None:
        return None

    def _status(self, case: Case, *allowed: WorkOrderStatus) -> None:
        status = work_order_of(case).status
        if status not in allowed:
            names = ", ".join(s.value for s in allowed)
            zh = "、".join(label(s).zh for s in allowed)
            raise self._fail(
                case, f"the work order is {status.value}; {self.name} needs it to be {names}",
                f"工单当前为「{label(status).zh}」，此操作要求：{zh}")

    def _no_pending(self, case: Case) -> None:
        pending = work_order_of(case).pending
        if pending is not None:
            raise self._fail(
                case, f"the platform has not yet decided the {pending.kind.value} request of "
                f"{pending.at.date().isoformat()}; record its decision first "
                "(record_platform_decision)",
                f"平台尚未审核{label(pending.kind).zh}（{pending.at.date().isoformat()}），请先记录"
                "审核结果")


class SignWorkOrder(_WorkOrderCommand):
    """签收: take the work order. Late signing is allowed and counted late."""

    name: ClassVar[str] = "sign_work_order"
    records: ClassVar[type[EventPayload]] = wp.WorkOrderSigned

    note: Text | None = Field(default=None, description="a note to the platform (签收说明)")
    due: Instant | None = Field(default=None,
        description="the deadline printed on the work order (办理时限), if any")
    time_limit_class: ShortText | None = Field(default=None,
        description="the platform's time-limit class (时限等级), for profiles with classes")

    def check(self, case: Case, event_at: date) -> None:
        self._status(case, WorkOrderStatus.DISPATCHED, WorkOrderStatus.REDO)


class ReturnWorkOrder(_WorkOrderCommand):
    """退回: send the work order back to the platform, within the profile's limit."""

    name: ClassVar[str] = "return_work_order"
    records: ClassVar[type[EventPayload]] = wp.WorkOrderReturned

    reason_code: ReturnReason = Field(description="why, from the list (退回理由类别)")
    reason: Text = Field(description="the explanation sent to the platform (退回说明)")

    def check(self, case: Case, event_at: date) -> None:
        self._no_pending(case)
        self._status(case, WorkOrderStatus.DISPATCHED, WorkOrderStatus.SIGNED,
                     WorkOrderStatus.REDO)


class RequestReroute(_WorkOrderCommand):
    """改派申请: ask the platform to send the work order to another unit."""

    name: ClassVar[str] = "request_reroute"
    records: ClassVar[type[EventPayload]] = wp.RerouteRequested

    target: ShortText = Field(description="the unit it should go to (建议改派单位)")
    reason: Text = Field(description="why (改派理由)")

    def check(self, case: Case, event_at: date) -> None:
        self._no_pending(case)
        self._status(case, WorkOrderStatus.DISPATCHED, WorkOrderStatus.SIGNED,
                     WorkOrderStatus.REDO)


class DisputeDispatch(_WorkOrderCommand):
    """派单异议: dispute that the work order is this unit's at all."""

    name: ClassVar[str] = "dispute_dispatch"
    records: ClassVar[type[EventPayload]] = wp.DispatchDisputed

    reason: Text = Field(description="why the dispatch is wrong (异议理由)")

    def check(self, case: Case, event_at: date) -> None:
        self._no_pending(case)
        self._status(case, WorkOrderStatus.DISPATCHED, WorkOrderStatus.SIGNED,
                     WorkOrderStatus.REDO)


class RequestExtension(_WorkOrderCommand):
    """延期申请: ask for more working days, before the deadline."""

    name: ClassVar[str] = "request_extension"
    records: ClassVar[type[EventPayload]] = wp.ExtensionRequested

    days: int = Field(ge=1, le=366, description="working days asked (申请延期工作日数)")
    reason: Text = Field(description="why (延期理由)")
    consent: bool = Field(default=False,
        description="true when the caller agreed (some profiles require it, 经诉求人同意)")

    def check(self, case: Case, event_at: date) -> None:
        self._no_pending(case)
        self._status(case, WorkOrderStatus.SIGNED)


class RecordPlatformDecision(_WorkOrderCommand):
    """The platform's decision (审核结果) on the pending request. An approved re-route or
    dispute ends local handling (the case becomes referred)."""

    name: ClassVar[str] = "record_platform_decision"
    records: ClassVar[type[EventPayload]] = wp.PlatformDecisionRecorded

    kind: PlatformRequest = Field(description="extension, reroute or dispute")
    approved: bool = Field(description="true: approved (同意); false: refused (不同意)")
    granted_days: int | None = Field(default=None, ge=1, le=366,
        description="an approved extension's working days (default: as asked)")
    note: Text | None = Field(default=None, description="the platform's note (审核意见)")

    def check(self, case: Case, event_at: date) -> None:
        pending = work_order_of(case).pending
        if pending is None or pending.kind is not self.kind:
            waiting = f"a {pending.kind.value} request" if pending else "no request"
            raise self._fail(
                case, f"there is no pending {self.kind.value} request to decide ({waiting} "
                "is waiting)", f"没有待审核的{label(self.kind).zh}")

    def prepare(self, case: Case) -> Self:
        pending = work_order_of(case).pending
        if self.kind is PlatformRequest.EXTENSION and self.approved \
                and self.granted_days is None and pending is not None:
            return self.model_copy(update={"granted_days": pending.days})
        return self

    def decided_state(self, case: Case) -> CaseState:
        if self.approved and self.kind is not PlatformRequest.EXTENSION:
            return CaseState.REFERRED
        return case.state


class ReplyWorkOrder(_WorkOrderCommand):
    """办结 / 答复: the reply, sent to the caller and, for every ticket id, the platform."""

    name: ClassVar[str] = "reply_work_order"
    records: ClassVar[type[EventPayload]] = wp.WorkOrderReplied

    method: ContactMethod = Field(description="how the caller was answered (答复方式)")
    text: Text = Field(description="the reply (办理结果答复)")
    resolution: Resolution = Field(description="resolved, partly_resolved, unresolved, explained")
    outcome: Outcome = Field(
        description="kind: upheld, partly_upheld, not_upheld, resolved_by_explanation; reason")
    tickets: list[ShortText] = Field(default_factory=list,
        description="filled by the system: every platform ticket id of the case")

    def check(self, case: Case, event_at: date) -> None:
        self._no_pending(case)
        self._status(case, WorkOrderStatus.SIGNED, WorkOrderStatus.CALLED_BACK)
        check_response(self, case, self.outcome)

    def prepare(self, case: Case) -> Self:
        return self.model_copy(update={"tickets": list(work_order_of(case).tickets)})


class RecordCallback(_WorkOrderCommand):
    """回访: the platform's call-back result. Dissatisfied callers may get a redo."""

    name: ClassVar[str] = "record_callback"
    records: ClassVar[type[EventPayload]] = wp.CallbackRecorded

    satisfaction: CallbackSatisfaction = Field(
        description="satisfied, basically_satisfied or dissatisfied (满意、基本满意、不满意)")
    resolved: bool | None = Field(default=None,
        description="the platform's judgement: was it resolved (是否解决)")
    note: Text | None = Field(default=None, description="what the caller said (回访记录)")

    def check(self, case: Case, event_at: date) -> None:
        self._status(case, WorkOrderStatus.REPLIED, WorkOrderStatus.CALLED_BACK)


class RedoWorkOrder(_WorkOrderCommand):
    """重办: handle again after an unsatisfied call-back, by the new deadline."""

    name: ClassVar[str] = "redo_work_order"
    records: ClassVar[type[EventPayload]] = wp.WorkOrderRedone

    reason: Text = Field(description="why it is redone (重办理由)")
    due: Instant | None = Field(default=None,
        description="the new deadline the platform set (default: the profile's time limit "
                    "from now)")

    def check(self, case: Case, event_at: date) -> None:
        self._status(case, WorkOrderStatus.REPLIED, WorkOrderStatus.CALLED_BACK)
        if self.due is None:
            raise self._fail(case, "the redo has no deadline (the service sets the profile's)",
                             "重办缺少办理时限")


class RecordSupervision(_WorkOrderCommand):
    """催办 / 督办 / 通报 recorded by the supervision sweep, once per tier and round."""

    name: ClassVar[str] = "record_supervision"
    records: ClassVar[type[EventPayload]] = wp.SupervisionRecorded

    tier: SupervisionTier
    due: Instant
    profile: ShortText
    round: int = Field(default=0, ge=0)

    def check(self, case: Case, event_at: date) -> None:
        if (self.tier.value, self.round) in work_order_of(case).supervision:
            raise self._fail(case, f"{self.tier.value} was already recorded",
                             f"「{label(self.tier).zh}」已记录过")


# -- merging duplicates (并单) ------------------------------------------------------------------


class MergeInto(Command):
    """并单, on the duplicate: it goes on in ``survivor``. Issued by ``app.workorders.merge``
    together with ``absorb_case`` on the survivor, in one transaction."""

    name: ClassVar[str] = "merge_into"
    records: ClassVar[type[EventPayload]] = wp.MergedInto

    survivor: ShortText
    reason: Text

    def guard(self, case: Case, event_at: date) -> None:
        if self.survivor == case.reference:
            raise self._fail(case, "a case cannot be merged into itself",
                             "不能与自身并单")
        if case.absorbed:
            raise self._fail(
                case, f"{case.reference} has cases merged into it ({', '.join(case.absorbed)}); "
                "merge into it instead, or split them first",
                f"{case.reference} 已有其他工单并入（{'、'.join(case.absorbed)}），"
                "请改为并入该工单或先拆单")


class AbsorbCase(Command):
    """并单, on the survivor: the duplicate's ticket ids are answered with this case."""

    name: ClassVar[str] = "absorb_case"
    records: ClassVar[type[EventPayload]] = wp.CaseAbsorbed

    merged: ShortText
    tickets: list[ShortText] = Field(default_factory=list)
    reason: Text

    def guard(self, case: Case, event_at: date) -> None:
        if case.merged_into is not None:
            raise self._fail(case, f"{case.reference} was itself merged into "
                             f"{case.merged_into}", f"{case.reference} 已并入 {case.merged_into}")


class UndoMerge(Command):
    """拆单: undo a wrong merge, on both cases (by ``app.workorders.split``)."""

    name: ClassVar[str] = "undo_merge"
    records: ClassVar[type[EventPayload]] = wp.MergeUndone

    other: ShortText
    tickets: list[ShortText] = Field(default_factory=list)
    reason: Text

    def guard(self, case: Case, event_at: date) -> None:
        if case.merged_into != self.other and self.other not in case.absorbed:
            raise self._fail(case, f"{case.reference} and {self.other} are not merged",
                             f"{case.reference} 与 {self.other} 未并单")

    def decided_state(self, case: Case) -> CaseState:
        if case.state is CaseState.MERGED:
            return case.state_before_merge or CaseState.INVESTIGATING
        return case.state


#: the commands ``app.workorders.before`` checks against the profile's time limits
WORK_ORDER_TIMED = frozenset({"sign_work_order", "return_work_order", "request_extension",
                              "record_platform_decision", "redo_work_order"})

WORK_ORDER_COMMANDS: tuple[type[Command], ...] = (
    SignWorkOrder, ReturnWorkOrder, RequestReroute, DisputeDispatch, RequestExtension,
    RecordPlatformDecision, ReplyWorkOrder, RecordCallback, RedoWorkOrder, RecordSupervision,
    MergeInto, AbsorbCase, UndoMerge,
)

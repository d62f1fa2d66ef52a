"""The base of every command, and checks shared by several commands (a response's outcome).

Commands are in :mod:`.commands` (the case workflow) and :mod:`.workorder_commands` (hotline
work orders and merging); both build on :class:`Command` here.
"""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar, Self

from ..errors import GuardFailed
from .base import StrictModel
from .case import Case
from .complaint import Outcome
from .events.payloads import EventPayload
from .taxonomy import CaseState, OutcomeKind

RESPONSE_OUTCOMES = frozenset({
    OutcomeKind.UPHELD, OutcomeKind.PARTLY_UPHELD, OutcomeKind.NOT_UPHELD,
    OutcomeKind.RESOLVED_BY_EXPLANATION,
})


class Command(StrictModel):
    name: ClassVar[str]
    #: the payload class of the event this command records
    records: ClassVar[type[EventPayload]]
    #: the type of that event (``records.event_type``)
    event_type: ClassVar[str]

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if "records" in cls.__dict__:
            cls.event_type = cls.records.event_type

    def prepare(self, case: Case) -> Self:
        return self

    def guard(self, case: Case, event_at: date) -> None:
        return None

    def to_payload(self) -> EventPayload:
        """What the event records: the command's fields (after ``prepare``), as the newest
        version of its payload class. Override when the input and the record differ."""
        return self.records.model_validate(self.model_dump(exclude_none=True))

    def decided_state(self, case: Case) -> CaseState:
        """The state after this command where the table says ``decided`` (the command
        decides: an approved re-route ends local handling, a split restores the state)."""
        return case.state

    def reason_text(self) -> str | None:
        if "reason" not in type(self).model_fields:  # no lookup through pydantic's __getattr__
            return None
        reason = getattr(self, "reason", None)
        return reason if isinstance(reason, str) else None

    def _fail(self, case: Case, en: str, zh: str) -> GuardFailed:
        return GuardFailed(case.state.value, self.name, en, zh)


def check_response(command: Command, case: Case, outcome: Outcome) -> None:
    """A reply's outcome: refer/decline/withdraw have their own commands; an upheld complaint
    needs a recorded finding first."""
    if outcome.kind not in RESPONSE_OUTCOMES:
        allowed = ", ".join(sorted(k.value for k in RESPONSE_OUTCOMES))
        raise command._fail(
            case, f"outcome '{outcome.kind.value}' has its own command "
            f"(refer, decline, withdraw); a response's outcome is one of: {allowed}",
            f"结果「{outcome.kind.value}」应使用相应命令（转办、不予受理、撤回）",
        )
    if outcome.kind in {OutcomeKind.UPHELD, OutcomeKind.PARTLY_UPHELD} \
            and not case.investigation.findings:
        raise command._fail(
            case, "an upheld complaint needs at least one recorded finding first",
            "投诉成立须先记录调查结论",
        )

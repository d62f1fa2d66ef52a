"""The plain record the deadline engine reads: only what deadlines depend on.

:func:`case_clock` builds one from a :class:`~hospital_complaints.domain.case.Case`; a host that
keeps cases elsewhere (a SQL view, a hotline platform's export) can build the records directly,
which is what lets the sweep run over a million cases without loading case aggregates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from ..domain.case import Case
from ..domain.complaint import RectificationAction
from ..domain.taxonomy import (
    FINISHED_ACTION_STATUSES,
    OPEN_STATES,
    ActionStatus,
    CaseState,
    Complexity,
    Milestone,
)


@dataclass(frozen=True, slots=True)
class ActionClock:
    """A rectification action's due date, and when it was finished (``None`` while open)."""

    action_id: str
    due: date
    finished_at: datetime | None = None
    cancelled: bool = False


@dataclass(frozen=True, slots=True)
class CaseClock:
    """What the deadline engine needs to know about one case.

    :param policy: the SLA policy id or combination (``"imaging-dept+cn-nhc-2019:respond"``).
    :param extensions: ``(milestone, days)`` per extension granted, in calendar days.
    :param alerts: ``(milestone, kind)`` already raised (the case's ``deadline_alerts``).
    """

    reference: str
    policy: str
    received_at: datetime
    complexity: Complexity = Complexity.SIMPLE
    department: str | None = None
    state: CaseState = CaseState.REGISTERED
    acknowledged_at: datetime | None = None
    responded_at: datetime | None = None
    closed_at: datetime | None = None
    followed_up_at: datetime | None = None
    follow_up_waived: bool = False
    extensions: tuple[tuple[str, int], ...] = ()
    actions: tuple[ActionClock, ...] = ()
    alerts: frozenset[tuple[str, str]] = frozenset()

    @property
    def is_open(self) -> bool:
        """Closed, withdrawn and referred cases have stopped clocks: no alerts."""
        return self.state in OPEN_STATES

    def extension_days(self, milestone: Milestone | str) -> int:
        name = milestone.value if isinstance(milestone, Milestone) else milestone
        return sum(days for m, days in self.extensions if m == name)

    def met_at(self, milestone: Milestone) -> datetime | None:
        """When the milestone was reached, or ``None``."""
        if milestone is Milestone.ACKNOWLEDGE:
            return self.acknowledged_at
        if milestone is Milestone.RESPOND:
            return self.responded_at
        if milestone is Milestone.CLOSE:
            return self.closed_at
        if milestone is Milestone.FOLLOW_UP:
            return self.followed_up_at
        return None


def case_clock(case: Case, policy: str) -> CaseClock:
    """The deadline record of a case, under the SLA policy ``policy`` (id or combination)."""
    return CaseClock(
        reference=case.reference,
        policy=policy,
        received_at=case.complaint.received_at,
        complexity=case.complaint.complexity,
        department=case.complaint.department,
        state=case.state,
        acknowledged_at=case.acknowledged_at,
        responded_at=case.response.at if case.response is not None else None,
        closed_at=case.closed_at,
        followed_up_at=case.follow_up.at if case.follow_up is not None else None,
        follow_up_waived=case.follow_up_waived is not None,
        extensions=tuple((e.milestone, e.days) for e in case.extensions),
        actions=tuple(_action_clock(a) for a in case.actions.values()),
        alerts=frozenset(case.deadline_alerts),
    )


def _action_clock(action: RectificationAction) -> ActionClock:
    finished_at = None
    if action.status in FINISHED_ACTION_STATUSES:
        # the latest check that finished it (an ineffective verification reopens an action)
        finished = [p.at for p in action.progress if p.status in FINISHED_ACTION_STATUSES]
        if finished:
            finished_at = max(finished)
        elif action.verification is not None:
            finished_at = action.verification.at
    return ActionClock(action.action_id, action.due, finished_at,
                       cancelled=action.status is ActionStatus.CANCELLED)


__all__ = ["ActionClock", "CaseClock", "case_clock"]

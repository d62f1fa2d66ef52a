"""Overdue deadlines (超期): every deadline of an open case past due and not met at the
report's instant, whole days overdue rounded up. The monthly report's overdue list and the
hotline's monthly report both take them from here."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from ...domain.taxonomy import Milestone, label
from .dues import Dues
from .facts import CaseFact


def lab(member: object) -> str:
    found = label(member)
    return f"{found.zh} {found.en}"


@dataclass(frozen=True, slots=True)
class OverdueItem:
    fact: CaseFact
    milestone: str
    due: datetime
    days: int


def _met(x: CaseFact, milestone: str, as_of: datetime) -> bool:
    def by(at: datetime | None) -> bool:
        return at is not None and at <= as_of

    if milestone == Milestone.ACKNOWLEDGE.value:
        return by(x.acknowledged_at)
    if milestone == Milestone.RESPOND.value:
        return by(x.responded_at)
    if milestone == Milestone.CLOSE.value:
        return by(x.closed_at)
    if milestone == Milestone.FOLLOW_UP.value:
        return x.follow_up_waived or (x.follow_up is not None and by(x.follow_up.at))
    if milestone.startswith("action:"):
        action_id = milestone.split(":", 1)[1]
        for a in x.actions:
            if a.action_id == action_id:
                return a.cancelled or by(a.finished_at)
    return True


def overdue_items(facts: Iterable[CaseFact], dues: Dues, as_of: datetime) -> list[OverdueItem]:
    """Every deadline of an open case past due and not met at ``as_of``, in due order."""
    out = []
    for x in facts:
        if not x.is_open:
            continue
        for milestone, due in dues.all(x).items():
            if due < as_of and not _met(x, milestone, as_of):
                days = math.ceil((as_of - due) / timedelta(days=1))
                out.append(OverdueItem(x, milestone, due, max(1, days)))
    return sorted(out, key=lambda o: (o.due, o.fact.reference, o.milestone))


def milestone_label(milestone: str) -> str:
    if milestone.startswith("action:"):
        action_id = milestone.split(":", 1)[1]
        return f"整改措施 {action_id} action {action_id}"
    return lab(Milestone(milestone))

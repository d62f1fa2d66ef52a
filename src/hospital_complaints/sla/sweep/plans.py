"""The compiled rule plans: per policy and complexity, the milestone rules (:class:`_Rule`)
with their caches of computed deadlines, and per local day of receipt the rows
(:class:`_Row`) the sweep loop reads for each case."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple

from ...domain.taxonomy import Milestone
from ..calendars import Calendars
from ..engine import day_deadline
from ..policy import Anchor, DeadlineRule, SlaPolicy, Unit
from ..records import CaseClock
from .results import DUE_SOON, OVERDUE, _Spec
from .zones import _ZoneDays

# a computed deadline: (due, reminders from, provisional); instants in the policy's zone
_Due = tuple[datetime, datetime, bool]
_MET_FIELD = {Milestone.ACKNOWLEDGE: "acknowledged_at", Milestone.RESPOND: "responded_at",
              Milestone.CLOSE: "closed_at", Milestone.FOLLOW_UP: "followed_up_at"}
_ANCHOR_KIND = {Anchor.RECEIVED: 0, Anchor.ACKNOWLEDGED: 1, Anchor.RESPONDED: 2}


class _Rule:
    """One milestone of a policy at one complexity, with its cache of computed deadlines."""

    __slots__ = ("amount", "anchor", "cache", "hours", "lead", "met", "name", "policy",
                 "rule", "specs", "tz", "waivable")

    def __init__(self, policy: SlaPolicy, rule: DeadlineRule,
                 cache: dict[Any, _Due]) -> None:
        self.policy = policy
        self.rule = rule
        self.tz = policy.tz
        self.name = rule.milestone.value
        self.anchor = _ANCHOR_KIND[rule.anchor]
        self.amount = rule.amount
        self.hours = timedelta(hours=rule.amount) if rule.unit is Unit.HOURS else None
        self.lead = timedelta(hours=policy.remind_before_hours.amount)
        self.met = _MET_FIELD[rule.milestone]
        self.waivable = rule.milestone is Milestone.FOLLOW_UP  # case_deadlines drops it
        self.cache = cache  # shared by the complexities that share the rule
        # (due soon, overdue) specs, not provisional and provisional
        self.specs = tuple((_Spec(self.name, policy.id, prov, DUE_SOON, self.met),
                            _Spec(self.name, policy.id, prov, OVERDUE, self.met))
                           for prov in (False, True))

    def day_due(self, start: datetime, extra: int, calendars: Calendars) -> _Due:
        """A day-counted deadline: the same for every start instant on the same local day."""
        day = (start if start.tzinfo is self.tz else start.astimezone(self.tz)).toordinal()
        key: Any = (day, extra) if extra else day
        value = self.cache.get(key)
        if value is None:
            value = self.cache[key] = day_deadline(self.policy, self.rule, date.fromordinal(day),
                                                   calendars, extra_days=extra)
        return value

    def due(self, clock: CaseClock, received: datetime, extra: int,
            calendars: Calendars) -> _Due | None:
        """This case's deadline (``extra`` days of extensions), as the engine computes it;
        ``None`` when there is none yet (follow-up before the response, or waived)."""
        if self.waivable and clock.follow_up_waived:
            return None
        if self.anchor == 0:
            start = received
        elif self.anchor == 1:
            start = clock.acknowledged_at or received
        elif clock.responded_at is None:
            return None
        else:
            start = clock.responded_at
        if self.hours is None:
            day = (start if start.tzinfo is self.tz else start.astimezone(self.tz)).toordinal()
            known = self.cache.get((day, extra) if extra else day)  # as day_due, inlined
            return known or self.day_due(start, extra, calendars)
        # the engine's hours rule (rule_deadline, reminder_from): exact elapsed time in UTC
        hours = timedelta(hours=self.amount + 24 * extra)
        due = (start.astimezone(UTC) + hours).astimezone(self.tz)
        return due, (due.astimezone(UTC) - self.lead).astimezone(self.tz), False


# Row kinds: how a row of a day's rows gives a case's deadline.
_FIXED = 0  # counted in days from the receipt: due and soon are the instants
_HOURS = 1  # counted in hours from the receipt where the zone's offset is steady: due is the
#             period and soon the reminder lead (received + period, lead before that)
_AFTER_RESPONSE = 2  # none before the response (left out of the rows); then as _PER_CASE
_PER_CASE = 3  # computed for the case by the rule: due is the extension days, soon the _Rule


class _Row(NamedTuple):
    """One milestone of one day's rows. Six fields, as the sweep loop unpacks them once per
    case and milestone; what ``due`` and ``soon`` hold depends on the kind (above)."""

    kind: int
    due: Any
    soon: Any
    met_field: str  # the CaseClock field that says when the milestone was met
    soon_spec: _Spec
    over_spec: _Spec


_DayRows = tuple[tuple[_Row, ...], tuple[_Row, ...]]


class _Plan:
    """A policy at one complexity: its rules, and its rows per local day of receipt."""

    __slots__ = ("action_dues", "action_specs", "days", "policy", "rules", "tz", "zone")

    def __init__(self, policy: SlaPolicy, rules: list[_Rule], zone: _ZoneDays,
                 action_dues: dict[date, tuple[datetime, datetime]],
                 action_specs: dict[str, tuple[_Spec, _Spec]],
                 days: dict[Any, _DayRows]) -> None:
        self.policy = policy
        self.tz = policy.tz
        self.rules = rules
        self.zone = zone
        self.action_dues = action_dues  # due date -> (due, reminders from)
        self.action_specs = action_specs  # action id -> (due soon, overdue) specs
        # per local day of receipt (and extensions granted, if any): the rows before the
        # response (periods counted from it left out), and after
        self.days = days

"""Deadline arithmetic: from a policy rule and a start instant to a due instant.

The counting rules (each stated in ``docs/sla.md`` and tested):

- **hours**: exact elapsed time, across daylight-saving changes (UTC arithmetic).
- **calendar days** (日): day 1 is the day after the start (Civil Code Art. 201); the
  deadline ends at the end of the last day in the policy's zone. With
  ``roll_to_working_day`` a last day that is a rest day (weekend or statutory holiday, not a
  make-up working day) moves to the next working day (Civil Code Art. 203).
- **working days** (工作日): day 1 is the first working day after the start; the calendar's
  make-up working days (调休) count, its holidays do not.
- **months**: the corresponding date N months on (Civil Code Art. 202: the month's last day
  when there is none), with the rest-day rule as for calendar days.
- "End of the day" is 23:59:59.999999 local time: a milestone met at or before it is on
  time; a sweep at any later instant finds it overdue.
- An extension of N days moves the last day (before the rest-day rule) N calendar days on;
  the rest-day rule then applies again, and a working-day deadline always ends on a working
  day. An hours deadline moves N x 24 hours.

This module is the one definition of these rules. The sweep caches its results; it never
re-implements them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from ..domain.case import Case
from ..domain.taxonomy import Complexity, Milestone
from ..errors import FieldProblem, InvalidInput
from .calendars import Calendars, WorkCalendar
from .policy import Anchor, DeadlineRule, Lead, SlaPolicy, Unit
from .records import CaseClock, case_clock

END_OF_DAY = time(23, 59, 59, 999999)
_ONE_DAY = timedelta(days=1)


class DeadlineStatus(StrEnum):
    """Where a deadline stands at a given instant ``at``.

    - ``pending``: not met, reminder time not reached.
    - ``due_soon``: not met, ``due_soon_from <= at <= due`` (催办).
    - ``overdue``: not met and ``at > due`` (督办).
    - ``met``: met at or before ``due`` (and at or before ``at``).
    - ``breached``: met, but after ``due``: on the record as late.
    """

    PENDING = "pending"
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"
    MET = "met"
    BREACHED = "breached"


@dataclass(frozen=True)
class Deadline:
    """One milestone's due instant and how it was reached."""

    milestone: str  # "acknowledge", "respond", "close", "follow_up" or "action:A1"
    due: datetime  # aware, in the policy's zone
    due_soon_from: datetime  # reminders (催办) are due from this instant
    provisional: bool  # a day the count depends on is not covered by an official calendar
    policy: str
    rule: str  # "5 working days", "24 hours", "due date set on the action"
    anchor: str  # what the period counts from: received / acknowledged / responded / action
    anchor_at: datetime | None
    last_day: date  # the due instant's local date
    moved_from: date | None = None  # the last day before the rest-day rule moved it
    extended_by: int = 0  # calendar days granted by extensions
    provisional_years: tuple[int, ...] = ()
    source: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        return {
            "milestone": self.milestone,
            "due": self.due.isoformat(),
            "last_day": self.last_day.isoformat(),
            "provisional": self.provisional,
            "provisional_years": list(self.provisional_years),
            "rule": self.rule,
            "anchor": self.anchor,
            "anchor_at": self.anchor_at.isoformat() if self.anchor_at else None,
            "moved_from": self.moved_from.isoformat() if self.moved_from else None,
            "extended_by_days": self.extended_by,
            "due_soon_from": self.due_soon_from.isoformat(),
            "source": self.source,
            "notes": list(self.notes),
        }


def require_aware(value: datetime, what: str) -> datetime:
    """Time zones are never guessed: a naive datetime is an input error."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput("deadline input", [FieldProblem(
            what, value.isoformat(),
            "a date and time with a UTC offset or zone, e.g. 2026-09-30T10:00:00+08:00")],
            [f"  - {what}：时间须带时区，例如 2026-09-30T10:00:00+08:00；"
             f"收到的是无时区时间 {value.isoformat()}"])
    return value


class _Days:
    """Walks a calendar and remembers which provisional years it relied on."""

    __slots__ = ("cal", "provisional")

    def __init__(self, cal: WorkCalendar) -> None:
        self.cal = cal
        self.provisional: set[int] = set()

    def rest(self, day: date) -> bool:
        if self.cal.is_provisional(day):
            self.provisional.add(day.year)
        return self.cal.is_rest_day(day)

    def roll(self, day: date) -> date:
        while self.rest(day):
            day += _ONE_DAY
        return day


def _add_months(start: date, months: int, includes_start: bool) -> date:
    y, m = divmod(start.month - 1 + months, 12)
    year, month = start.year + y, m + 1
    month_end = (date(year + (month == 12), month % 12 + 1, 1) - _ONE_DAY).day
    if start.day > month_end:  # no corresponding date: the month's last day (Art. 202)
        return date(year, month, month_end)
    corresponding = date(year, month, start.day)
    return corresponding - _ONE_DAY if includes_start else corresponding


def last_day(rule: DeadlineRule, start: date, cal: WorkCalendar, *, roll: bool,
             extra_days: int = 0) -> tuple[date, date | None, tuple[int, ...]]:
    """The last day of a day-counted period starting on ``start`` (the anchor's local date).

    Returns ``(last day, unmoved last day if the rest-day rule moved it, provisional years)``.
    """
    walk = _Days(cal)
    amount = rule.amount
    if rule.unit is Unit.DAYS:
        unmoved = start + timedelta(days=amount - (1 if rule.includes_start_day else 0))
        unmoved = max(unmoved, start)
    elif rule.unit is Unit.MONTHS:
        unmoved = _add_months(start, amount, rule.includes_start_day)
    elif rule.unit is Unit.WORKING_DAYS:
        day, counted = start, 0
        if rule.includes_start_day and not walk.rest(start):
            counted = 1
        while counted < amount:
            day += _ONE_DAY
            if not walk.rest(day):
                counted += 1
        unmoved = day if amount else walk.roll(start)
        roll = True  # a working-day deadline always ends on a working day
    else:
        raise ValueError(f"last_day() counts days, not {rule.unit.value}")
    unmoved += timedelta(days=extra_days)
    final = walk.roll(unmoved) if roll else unmoved
    return final, (unmoved if final != unmoved else None), tuple(sorted(walk.provisional))


def reminder_from(policy: SlaPolicy, due: datetime, last: date | None,
                  cal: WorkCalendar) -> datetime:
    """When reminders (催办) become due: the policy's lead before ``due``."""
    lead: Lead = policy.remind_before if last is not None else policy.remind_before_hours
    if lead.unit is Unit.HOURS or last is None:
        return (due.astimezone(UTC) - timedelta(hours=lead.amount)).astimezone(policy.tz)
    day = last
    if lead.unit is Unit.DAYS:
        day = last - timedelta(days=lead.amount)
    else:
        remaining = lead.amount
        while remaining > 0:
            day -= _ONE_DAY
            if not cal.is_rest_day(day):
                remaining -= 1
    return datetime.combine(day, time(0), tzinfo=policy.tz)


def rule_deadline(policy: SlaPolicy, rule: DeadlineRule, anchor_at: datetime,
                  calendars: Calendars, *, extra_days: int = 0,
                  anchor: str | None = None, notes: tuple[str, ...] = ()) -> Deadline:
    """The deadline a rule gives when its period starts at ``anchor_at``."""
    require_aware(anchor_at, f"{rule.anchor.value}_at")
    cal = calendars.get(policy.calendar)
    tz = policy.tz
    if rule.unit is Unit.HOURS:
        hours = rule.amount + 24 * extra_days
        due = (anchor_at.astimezone(UTC) + timedelta(hours=hours)).astimezone(tz)
        last, moved, years = due.date(), None, tuple[int, ...]()
        soon = reminder_from(policy, due, None, cal)
    else:
        last, moved, years = last_day(rule, anchor_at.astimezone(tz).date(), cal,
                                      roll=policy.roll_to_working_day, extra_days=extra_days)
        due = datetime.combine(last, END_OF_DAY, tzinfo=tz)
        soon = reminder_from(policy, due, last, cal)
    if rule.note:
        notes = (*notes, rule.note)
    return Deadline(
        milestone=rule.milestone.value, due=due, due_soon_from=soon, provisional=bool(years),
        policy=policy.id, rule=rule.describe(), anchor=anchor or rule.anchor.value,
        anchor_at=anchor_at, last_day=last, moved_from=moved, extended_by=extra_days,
        provisional_years=years, source=rule.source, notes=notes,
    )


def day_deadline(policy: SlaPolicy, rule: DeadlineRule, start: date, calendars: Calendars,
                 *, extra_days: int = 0) -> tuple[datetime, datetime, bool]:
    """A day-counted rule's ``(due, due_soon_from, provisional)`` when its period starts on the
    local day ``start``: the figures :func:`rule_deadline` gives, without its explanation
    (the sweep computes thousands; tests check that both agree)."""
    cal = calendars.get(policy.calendar)
    last, _moved, years = last_day(rule, start, cal, roll=policy.roll_to_working_day,
                                   extra_days=extra_days)
    due = datetime.combine(last, END_OF_DAY, tzinfo=policy.tz)
    return due, reminder_from(policy, due, last, cal), bool(years)


def action_deadline(policy: SlaPolicy, action_id: str, due: date,
                    calendars: Calendars) -> Deadline:
    """A rectification action is due at the end of its due date in the policy's zone."""
    cal = calendars.get(policy.calendar)
    due_at = datetime.combine(due, END_OF_DAY, tzinfo=policy.tz)
    return Deadline(
        milestone=f"action:{action_id}", due=due_at,
        due_soon_from=reminder_from(policy, due_at, due, cal), provisional=False,
        policy=policy.id, rule="due date set on the action", anchor="action", anchor_at=None,
        last_day=due,
    )


def deadlines(policy: SlaPolicy, received_at: datetime,
              complexity: Complexity = Complexity.SIMPLE, *, calendars: Calendars,
              extensions: Mapping[str, int] | None = None,
              acknowledged_at: datetime | None = None,
              responded_at: datetime | None = None) -> list[Deadline]:
    """Due instants of every milestone the policy sets, for a complaint received at
    ``received_at`` (a timezone-aware datetime).

    ``extensions`` maps a milestone to the calendar days granted. A period counted from the
    acceptance (``acknowledged``) counts from the receipt until ``acknowledged_at`` is known;
    the follow-up (counted from the response) has no deadline until ``responded_at`` is.
    """
    require_aware(received_at, "received_at")
    complexity = Complexity(complexity)
    ext = extensions or {}
    out = []
    for milestone in policy.milestones():
        rule = policy.rule(milestone, complexity)
        if rule is None:
            continue
        notes: tuple[str, ...] = ()
        anchor_name = rule.anchor.value
        if rule.anchor is Anchor.RECEIVED:
            anchor_at = received_at
        elif rule.anchor is Anchor.ACKNOWLEDGED:
            if acknowledged_at is None:
                anchor_at, anchor_name = received_at, Anchor.RECEIVED.value
                notes = ("counted from the receipt until the case is accepted (acknowledged); "
                         "then from the acceptance",)
            else:
                anchor_at = acknowledged_at
        elif responded_at is None:
            continue
        else:
            anchor_at = responded_at
        out.append(rule_deadline(policy, rule, anchor_at, calendars,
                                 extra_days=ext.get(milestone.value, 0), anchor=anchor_name,
                                 notes=notes))
    return out


def case_deadlines(policy: SlaPolicy, case: Case | CaseClock,
                   calendars: Calendars) -> list[Deadline]:
    """Every deadline of one case: milestones (extensions applied), follow-up, actions.

    This is the per-case function: it computes from scratch each time. The sweep gives the
    same answers for many cases at once, much faster.
    """
    clock = case if isinstance(case, CaseClock) else case_clock(case, policy.id)
    ext: dict[str, int] = {}
    for name, days in clock.extensions:
        ext[name] = ext.get(name, 0) + days
    out = deadlines(policy, clock.received_at, clock.complexity, calendars=calendars,
                    extensions=ext, acknowledged_at=clock.acknowledged_at,
                    responded_at=clock.responded_at)
    if clock.follow_up_waived:
        out = [d for d in out if d.milestone != Milestone.FOLLOW_UP.value]
    for action in clock.actions:
        if not action.cancelled:
            out.append(action_deadline(policy, action.action_id, action.due, calendars))
    return out


def status_at(due: datetime, due_soon_from: datetime, met_at: datetime | None,
              at: datetime) -> DeadlineStatus:
    """The :class:`DeadlineStatus` of one deadline at the instant ``at``.

    A milestone met after ``at`` is not yet met as seen from ``at``.
    """
    if met_at is not None and met_at <= at:
        return DeadlineStatus.MET if met_at <= due else DeadlineStatus.BREACHED
    if at > due:
        return DeadlineStatus.OVERDUE
    if at >= due_soon_from:
        return DeadlineStatus.DUE_SOON
    return DeadlineStatus.PENDING


def met_at(clock: CaseClock, milestone: str) -> datetime | None:
    """When the deadline named ``milestone`` ("respond", "action:A1") was met, if it was."""
    if milestone.startswith("action:"):
        action_id = milestone[len("action:"):]
        for action in clock.actions:
            if action.action_id == action_id:
                return action.finished_at
        return None
    return clock.met_at(Milestone(milestone))


def earliest(items: Iterable[Deadline]) -> Deadline | None:
    return min(items, key=lambda d: d.due, default=None)


__all__ = [
    "END_OF_DAY", "Deadline", "DeadlineStatus", "action_deadline", "case_deadlines",
    "day_deadline", "deadlines", "earliest", "last_day", "met_at", "reminder_from", "require_aware",
    "rule_deadline", "status_at",
]

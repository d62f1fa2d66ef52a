"""Due instants for report counting: the SLA engine's own arithmetic, without the
explanations (``case_deadlines`` builds a full :class:`~...sla.Deadline` per milestone, which
a report over 20,000 cases does not need).

A day-counted rule's last day depends only on the rule, the anchor's local date and the
extension, so it is computed once per (rule, day, extension) and kept; hour rules and actions
are plain arithmetic. ``tests/unit/reports/test_dues.py`` keeps every due equal to
``case_deadlines`` under several policies.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from ...domain.taxonomy import Complexity, Milestone
from ...sla import Calendars, SlaPolicy
from ...sla.engine import END_OF_DAY, last_day
from ...sla.policy import Anchor, DeadlineRule, Unit
from .facts import CaseFact


class Dues:
    def __init__(self, policy: SlaPolicy, calendars: Calendars) -> None:
        self.policy = policy
        self.calendars = calendars
        self._cal = calendars.get(policy.calendar)
        self._milestones = tuple(policy.milestones())
        self._rules: dict[tuple[str, str], DeadlineRule | None] = {}
        self._days: dict[tuple[int, date, int], datetime] = {}
        self._cache: dict[str, tuple[CaseFact, dict[str, datetime]]] = {}

    def _rule(self, milestone: Milestone, complexity: str) -> DeadlineRule | None:
        key = (milestone.value, complexity)
        if key not in self._rules:
            self._rules[key] = self.policy.rule(milestone, Complexity(complexity))
        return self._rules[key]

    def _due(self, rule: DeadlineRule, anchor_at: datetime, extra: int) -> datetime:
        tz = self.policy.tz
        if rule.unit is Unit.HOURS:
            hours = rule.amount + 24 * extra
            return (anchor_at.astimezone(UTC) + timedelta(hours=hours)).astimezone(tz)
        day = anchor_at.astimezone(tz).date()
        key = (id(rule), day, extra)
        found = self._days.get(key)
        if found is None:
            last = last_day(rule, day, self._cal, roll=self.policy.roll_to_working_day,
                            extra_days=extra)[0]
            found = self._days[key] = datetime.combine(last, END_OF_DAY, tzinfo=tz)
        return found

    def all(self, fact: CaseFact) -> dict[str, datetime]:
        """Every deadline of the case: milestone (or ``action:A1``) -> due."""
        kept = self._cache.get(fact.reference)
        if kept is not None and kept[0] is fact:
            return kept[1]
        ext: dict[str, int] = {}
        for name, days in fact.extensions:
            ext[name] = ext.get(name, 0) + days
        out: dict[str, datetime] = {}
        for milestone in self._milestones:
            if milestone is Milestone.FOLLOW_UP and fact.follow_up_waived:
                continue
            rule = self._rule(milestone, fact.complexity)
            if rule is None:
                continue
            if rule.anchor is Anchor.RECEIVED:
                anchor_at = fact.received_at
            elif rule.anchor is Anchor.ACKNOWLEDGED:
                anchor_at = fact.acknowledged_at or fact.received_at
            elif fact.responded_at is None:
                continue
            else:
                anchor_at = fact.responded_at
            out[milestone.value] = self._due(rule, anchor_at, ext.get(milestone.value, 0))
        tz = self.policy.tz
        for a in fact.actions:
            if not a.cancelled:
                out[f"action:{a.action_id}"] = datetime.combine(a.due, END_OF_DAY, tzinfo=tz)
        self._cache[fact.reference] = (fact, out)
        return out

    def due(self, fact: CaseFact, milestone: Milestone | str) -> datetime | None:
        name = milestone.value if isinstance(milestone, Milestone) else milestone
        return self.all(fact).get(name)

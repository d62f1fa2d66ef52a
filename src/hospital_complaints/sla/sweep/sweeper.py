"""The :class:`Sweeper`: builds the plans once and sweeps many cases fast (the hot loop)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ...domain.taxonomy import OPEN_STATES, Complexity
from ..calendars import Calendars
from ..engine import action_deadline, require_aware
from ..policy import DeadlineRule, Lead, SlaPolicy
from ..records import CaseClock
from ..registry import PolicyRegistry
from .collector import _collector_paused
from .plans import (
    _AFTER_RESPONSE,
    _FIXED,
    _HOURS,
    _PER_CASE,
    _DayRows,
    _Due,
    _Plan,
    _Row,
    _Rule,
)
from .results import DUE_SOON, OVERDUE, SweepResult, _Found, _new, _Spec
from .zones import _ZoneDays

# Per run and (policy spec, complexity): the plan, its zone, the sweep instant to compare
# deadlines with (see Sweeper._view), the plan's days, action dues and action specs.
_View = tuple[_Plan, ZoneInfo, datetime, dict[Any, _DayRows],
              dict[date, tuple[datetime, datetime]], dict[str, tuple[_Spec, _Spec]]]


class Sweeper:
    """Sweeps many cases fast; keep one per process and reuse it (its caches stay warm).

    :param policies: a :class:`PolicyRegistry` (combinations allowed) or ``{id: policy}``.
    :param remind_before: the reminder lead for day-counted deadlines and actions, replacing
        each policy's own (e.g. ``Lead(2, Unit.WORKING_DAYS)``).
    :param remind_before_hours: the same for hour-counted deadlines.
    :param pause_gc: pause Python's automatic garbage collection during :meth:`run` (see
        ``docs/sla.md``, "Performance"); set ``False`` to leave it alone.
    """

    def __init__(self, policies: PolicyRegistry | Mapping[str, SlaPolicy],
                 calendars: Calendars, *, remind_before: Lead | None = None,
                 remind_before_hours: Lead | None = None, pause_gc: bool = True) -> None:
        self.pause_gc = pause_gc
        self._policies = policies
        self.calendars = calendars
        self._leads = (remind_before, remind_before_hours)
        self._resolved: dict[str, SlaPolicy] = {}
        self._plans: dict[tuple[str, Complexity], _Plan] = {}
        self._caches: dict[tuple[str, DeadlineRule], dict[Any, _Due]] = {}
        self._action_caches: dict[str, dict[date, tuple[datetime, datetime]]] = {}
        self._action_specs: dict[str, dict[str, tuple[_Spec, _Spec]]] = {}
        self._days: dict[tuple[str, tuple[DeadlineRule, ...]], dict[Any, _DayRows]] = {}
        self._zones: dict[ZoneInfo, _ZoneDays] = {}
        self._version = calendars.version

    def policy(self, spec: str) -> SlaPolicy:
        """The policy a record names, with this sweeper's reminder leads applied."""
        policy = self._resolved.get(spec)
        if policy is None:
            if isinstance(self._policies, PolicyRegistry):
                policy = self._policies.resolve(spec)
            else:
                policy = self._policies.get(spec) or PolicyRegistry(
                    self._policies.values()).resolve(spec)
            days, hours = self._leads
            if days is not None:
                policy = replace(policy, remind_before=days)
            if hours is not None:
                policy = replace(policy, remind_before_hours=hours)
            self._resolved[spec] = policy
        return policy

    def _plan(self, spec: str, complexity: Complexity) -> _Plan:
        plan = self._plans.get((spec, complexity))
        if plan is None:
            policy = self.policy(spec)
            rules = [_Rule(policy, rule, self._caches.setdefault((policy.id, rule), {}))
                     for rule in (policy.rule(m, complexity) for m in policy.milestones())
                     if rule is not None]
            zone = self._zones.get(policy.tz) or self._zones.setdefault(policy.tz,
                                                                        _ZoneDays(policy.tz))
            plan = self._plans[(spec, complexity)] = _Plan(
                policy, rules, zone, self._action_caches.setdefault(policy.id, {}),
                self._action_specs.setdefault(policy.id, {}),
                # complexities with the same rules (most policies) share their days' rows
                self._days.setdefault((policy.id, tuple(r.rule for r in rules)), {}))
        return plan

    def _view(self, spec: str, complexity: Complexity, at: datetime) -> _View:
        """What a run needs of a plan.

        The sweep compares deadlines with the sweep instant in the policy's zone: a
        wall-clock comparison, exact when the zone's offset is steady for a day and a half
        either side of the instant (then any instant in the zone compares by wall clock as
        it does in UTC). Otherwise it compares with ``at`` itself, as the engine does.
        """
        plan = self._plan(spec, complexity)
        now = at.astimezone(plan.tz)
        today = now.toordinal()
        if not plan.zone.steady(today - 2, today + 2):
            now = at
        return plan, plan.tz, now, plan.days, plan.action_dues, plan.action_specs

    def _day(self, plan: _Plan, received: datetime,
             extensions: tuple[tuple[str, int], ...]) -> _DayRows:
        """The rows of the cases received on ``received``'s local day with ``extensions``."""
        day = received.toordinal()
        if extensions:  # as the day's rows, but for the milestones extended
            plain = plan.days.get(day) or self._day(plan, received, ())
            extra: dict[str, int] = {}
            for name, days in extensions:
                extra[name] = extra.get(name, 0) + days
            if not any(r.name in extra for r in plan.rules):
                value = plan.days[(day, extensions)] = plain  # none of them extended
                return value
            rows = [self._row(plan, r, received, extra[r.name]) if r.name in extra else row
                    for r, row in zip(plan.rules, plain[1], strict=True)]
        else:
            rows = [self._row(plan, r, received, 0) for r in plan.rules]
        before = tuple(row for row in rows if row.kind != _AFTER_RESPONSE)
        value = plan.days[(day, extensions) if extensions else day] = (before, tuple(rows))
        return value

    def _row(self, plan: _Plan, r: _Rule, received: datetime, extra: int) -> _Row:
        kind: int = _PER_CASE
        due: Any = extra
        soon: Any = r
        prov = False
        if r.anchor == 2:
            kind = _AFTER_RESPONSE
        elif r.anchor == 0 and not r.waivable:  # a waivable one is checked per case
            if r.hours is None:
                kind = _FIXED
                due, soon, prov = r.day_due(received, extra, self.calendars)
            else:
                period = timedelta(hours=r.amount + 24 * extra)
                day = received.toordinal()
                # received, due and reminder all in a stretch of steady offset?
                if plan.zone.steady(day - 2 - r.lead.days, day + 2 + period.days):
                    kind, due, soon = _HOURS, period, r.lead
        soon_spec, over_spec = r.specs[prov]
        return _new(_Row, (kind, due, soon, r.met, soon_spec, over_spec))

    def _action_due(self, plan: _Plan, due: date) -> tuple[datetime, datetime]:
        d = action_deadline(plan.policy, "", due, self.calendars)
        value = plan.action_dues[due] = (d.due, d.due_soon_from)
        return value

    def _action_spec(self, plan: _Plan, action_id: str) -> tuple[_Spec, _Spec]:
        name, pid = "action:" + action_id, plan.policy.id
        value = plan.action_specs[action_id] = (_Spec(name, pid, False, DUE_SOON, None),
                                                 _Spec(name, pid, False, OVERDUE, None))
        return value

    def run(self, clocks: Iterable[CaseClock], at: datetime) -> SweepResult:
        """Sweep ``clocks`` at the instant ``at`` (timezone-aware)."""
        require_aware(at, "at")
        with _collector_paused(self.pause_gc):
            return self._run(clocks, at)

    def _run(self, clocks: Iterable[CaseClock], at: datetime) -> SweepResult:
        if self.calendars.version != self._version:  # a calendar file was loaded: recompute
            self._plans.clear()
            self._days.clear()
            self._caches.clear()
            self._action_caches.clear()
            self._version = self.calendars.version
        found = _Found(self.pause_gc)
        keep = found.cases.append
        pending_at, pending_add = found.pending.positions.append, found.pending.pairs.extend
        late_at, late_add = found.late.positions.append, found.late.pairs.extend
        views: dict[tuple[str, Complexity], _View] = {}
        calendars = self.calendars
        open_states = OPEN_STATES
        swept = 0
        # The loop below runs once per case: it is written for speed (locals, no calls on the
        # common path). Each deadline is classified as status_at() does, with the instants
        # compared in the policy's zone (see _view and _ZoneDays for why that is exact).
        for c in clocks:
            if c.state not in open_states:
                continue
            keep(c)
            position = swept
            swept += 1
            key = (c.policy, c.complexity)
            view = views.get(key)
            if view is None:
                view = views[key] = self._view(c.policy, c.complexity, at)
            plan, tz, now, days, action_dues, action_specs = view
            received = c.received_at
            if received.tzinfo is not tz:
                received = received.astimezone(tz)
            ext = c.extensions
            day_rows = days.get((received.toordinal(), ext) if ext else received.toordinal())
            if day_rows is None:
                day_rows = self._day(plan, received, ext)
            rows = day_rows[0] if c.responded_at is None else day_rows[1]
            for kind, due, soon, met_field, soon_spec, over_spec in rows:
                if kind:
                    if kind == _HOURS:
                        due = received + due
                        soon = due - soon
                    else:
                        rule = soon
                        computed = rule.due(c, received, due, calendars)
                        if computed is None:
                            continue
                        due, soon, prov = computed
                        if prov:
                            soon_spec, over_spec = rule.specs[True]
                met = getattr(c, met_field)
                if met is not None and (met <= now if met.tzinfo is tz else met <= at):
                    if met > due:
                        late_at(position)
                        late_add((over_spec, due))
                    continue
                if now > due:
                    pending_at(position)
                    pending_add((over_spec, due))
                elif now >= soon:
                    pending_at(position)
                    pending_add((soon_spec, due))
            for a in c.actions:  # the same classification, for rectification actions
                if a.cancelled:
                    continue
                due, soon = action_dues.get(a.due) or self._action_due(plan, a.due)
                soon_spec, over_spec = (action_specs.get(a.action_id)
                                        or self._action_spec(plan, a.action_id))
                met = a.finished_at
                if met is not None and (met <= now if met.tzinfo is tz else met <= at):
                    if met > due:
                        late_at(position)
                        late_add((over_spec, due))
                    continue
                if now > due:
                    pending_at(position)
                    pending_add((over_spec, due))
                elif now >= soon:
                    pending_at(position)
                    pending_add((soon_spec, due))
        return SweepResult._compact(at, swept, found)


def sweep(clocks: Iterable[CaseClock], at: datetime,
          policies: PolicyRegistry | Mapping[str, SlaPolicy], calendars: Calendars,
          *, remind_before: Lead | None = None) -> SweepResult:
    """One-off sweep. For repeated sweeps keep a :class:`Sweeper` (its caches stay warm)."""
    return Sweeper(policies, calendars, remind_before=remind_before).run(clocks, at)


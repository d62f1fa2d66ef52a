"""The sweep: at one instant, which deadlines are due soon, overdue or breached, and which
alerts are new.

Definitions (``docs/sla.md``):

- **due soon**: not met, and the instant is within the reminder lead before the due instant
  (催办). **overdue**: not met, and the due instant has passed (督办).
  **breached**: met, but after the due instant (late, on the record).
- Only open cases are swept: closed, withdrawn and referred cases have stopped clocks.
- An alert is *new* when the case has not raised that ``(milestone, kind)`` before (its
  ``deadline_alerts``). A deadline found already overdue raises only ``overdue``, not a late
  reminder. Feeding the raised alerts back makes a repeated sweep return nothing new.

:class:`Sweeper` keeps its results per (policy, milestone, complexity, local start day): a
million cases received over two years need a few thousand calendar walks, not a million.
:func:`sweep_reference` computes every case from scratch with the per-case function; tests
check that both agree.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple

from ..domain.taxonomy import OPEN_STATES, AlertKind, Complexity, Milestone
from .calendars import Calendars
from .engine import (
    DeadlineStatus,
    action_deadline,
    case_deadlines,
    met_at,
    require_aware,
    rule_deadline,
    status_at,
)
from .policy import Anchor, DeadlineRule, Lead, SlaPolicy, Unit
from .records import CaseClock
from .registry import PolicyRegistry

DUE_SOON, OVERDUE = AlertKind.DUE_SOON, AlertKind.OVERDUE
_DUE_SOON, _OVERDUE = DUE_SOON.value, OVERDUE.value


class Alert(NamedTuple):
    """A new alert: the service records it as ``RecordDeadlineAlert`` and calls the hooks."""

    reference: str
    milestone: str  # "respond", or "action:A1"
    kind: AlertKind
    due: datetime
    policy: str
    provisional: bool


class SweepItem(NamedTuple):
    reference: str
    milestone: str
    status: DeadlineStatus  # due_soon, overdue or breached
    due: datetime
    provisional: bool
    policy: str
    department: str | None
    met_at: datetime | None


@dataclass(frozen=True)
class SweepResult:
    """Lists are in input order (case by case, milestones in process order, then actions)."""

    at: datetime
    cases: int  # open cases swept
    due_soon: list[SweepItem]
    overdue: list[SweepItem]
    breached: list[SweepItem]
    new_alerts: list[Alert]

    def to_json(self) -> dict[str, Any]:
        def item(i: SweepItem) -> dict[str, Any]:
            return {"reference": i.reference, "milestone": i.milestone, "due": i.due.isoformat(),
                    "provisional": i.provisional, "policy": i.policy,
                    "department": i.department,
                    "met_at": i.met_at.isoformat() if i.met_at else None}

        return {
            "at": self.at.isoformat(),
            "cases": self.cases,
            "due_soon": [item(i) for i in self.due_soon],
            "overdue": [item(i) for i in self.overdue],
            "breached": [item(i) for i in self.breached],
            "new_alerts": [{"reference": a.reference, "milestone": a.milestone,
                            "kind": a.kind.value, "due": a.due.isoformat(), "policy": a.policy,
                            "provisional": a.provisional} for a in self.new_alerts],
        }


# a computed deadline: (due in UTC, reminder from in UTC, due in the policy's zone, provisional)
_Due = tuple[datetime, datetime, datetime, bool]
_MET_FIELD = {Milestone.ACKNOWLEDGE: "acknowledged_at", Milestone.RESPOND: "responded_at",
              Milestone.CLOSE: "closed_at", Milestone.FOLLOW_UP: "followed_up_at"}
_ANCHOR_KIND = {Anchor.RECEIVED: 0, Anchor.ACKNOWLEDGED: 1, Anchor.RESPONDED: 2}
_PLACEHOLDER = datetime.min.replace(tzinfo=UTC)
_new = tuple.__new__  # builds a NamedTuple without its Python-level __new__ (hot path)


class _CollectorPause:
    """Pauses automatic garbage collection while sweeps run (nested and threaded safely).

    A sweep over a million cases creates millions of result tuples; with automatic
    collection on, Python repeatedly scans the whole heap while they are being created, which
    made a large sweep two to three times slower. Nothing a sweep creates forms reference
    cycles, so pausing loses nothing; the previous state is restored when the last sweep ends.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0
        self._was_enabled = False

    @contextmanager
    def __call__(self, active: bool) -> Iterator[None]:
        if not active:
            yield
            return
        with self._lock:
            if self._depth == 0:
                self._was_enabled = gc.isenabled()
                gc.disable()
            self._depth += 1
        try:
            yield
        finally:
            with self._lock:
                self._depth -= 1
                if self._depth == 0 and self._was_enabled:
                    gc.enable()


_collector_paused = _CollectorPause()


class _Rule:
    """One milestone of a policy at one complexity, with its cache of computed deadlines."""

    __slots__ = ("cache", "hours", "kind", "lead", "met", "name", "over_key", "policy", "rule",
                 "soon_key", "tz")

    def __init__(self, policy: SlaPolicy, rule: DeadlineRule,
                 cache: dict[Any, _Due]) -> None:
        self.policy = policy
        self.rule = rule
        self.tz = policy.tz
        self.name = rule.milestone.value
        self.kind = _ANCHOR_KIND[rule.anchor]
        self.hours = timedelta(hours=rule.amount) if rule.unit is Unit.HOURS else None
        self.lead = timedelta(hours=policy.remind_before_hours.amount)
        self.met = _MET_FIELD[rule.milestone]
        self.soon_key = (self.name, _DUE_SOON)
        self.over_key = (self.name, _OVERDUE)
        self.cache = cache  # shared by the complexities that share the rule

    def day_due(self, start: datetime, extra: int, calendars: Calendars) -> _Due:
        """A day-counted deadline: the same for every start instant on the same local day."""
        day = start.astimezone(self.tz).toordinal()
        key: Any = (day, extra) if extra else day
        value = self.cache.get(key)
        if value is None:
            d = rule_deadline(self.policy, self.rule, start, calendars, extra_days=extra)
            value = self.cache[key] = (d.due.astimezone(UTC), d.due_soon_from.astimezone(UTC),
                                       d.due, d.provisional)
        return value


# A row: (name, due UTC, reminder UTC, due local or None, provisional, met field, alert keys,
# rule). With a rule, the row is computed per case (hours, or counted from acceptance or
# response); without, it was computed once for every case received that local day.
_Row = tuple[str, datetime, datetime, datetime | None, bool, str, tuple[str, str],
             tuple[str, str], _Rule | None]


class _Plan:
    """A policy at one complexity: its rules, and rows per local day of receipt."""

    __slots__ = ("actions", "days", "pid", "policy", "rules", "tz")

    def __init__(self, policy: SlaPolicy, rules: list[_Rule],
                 actions: dict[date, _Due]) -> None:
        self.policy = policy
        self.pid = policy.id
        self.tz = policy.tz
        self.rules = rules
        self.actions = actions
        self.days: dict[int, tuple[_Row, ...]] = {}


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
        self._action_caches: dict[str, dict[date, _Due]] = {}
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
        policy = self.policy(spec)
        rules = [_Rule(policy, rule, self._caches.setdefault((policy.id, rule), {}))
                 for rule in (policy.rule(m, complexity) for m in policy.milestones())
                 if rule is not None]
        plan = self._plans[(spec, complexity)] = _Plan(
            policy, rules, self._action_caches.setdefault(policy.id, {}))
        return plan

    def _rows(self, plan: _Plan, received: datetime,
              extensions: tuple[tuple[str, int], ...]) -> tuple[_Row, ...]:
        rows: list[_Row] = []
        for r in plan.rules:
            if r.hours is None and r.kind == 0:
                extra = sum(d for m, d in extensions if m == r.name)
                due, soon, local, prov = r.day_due(received, extra, self.calendars)
                rows.append((r.name, due, soon, local, prov, r.met, r.soon_key, r.over_key,
                             None))
            else:
                rows.append((r.name, _PLACEHOLDER, _PLACEHOLDER, None, False, r.met, r.soon_key,
                             r.over_key, r))
        return tuple(rows)

    def _action(self, plan: _Plan, due: date) -> _Due:
        d = action_deadline(plan.policy, "", due, self.calendars)
        value = plan.actions[due] = (d.due.astimezone(UTC), d.due_soon_from.astimezone(UTC),
                                     d.due, False)
        return value

    def run(self, clocks: Iterable[CaseClock], at: datetime) -> SweepResult:
        """Sweep ``clocks`` at the instant ``at`` (timezone-aware)."""
        require_aware(at, "at")
        with _collector_paused(self.pause_gc):
            return self._run(clocks, at)

    def _run(self, clocks: Iterable[CaseClock], at: datetime) -> SweepResult:
        if self.calendars.version != self._version:  # a calendar file was loaded: recompute
            self._plans.clear()
            self._caches.clear()
            self._action_caches.clear()
            self._version = self.calendars.version
        now = at.astimezone(UTC)
        due_soon: list[SweepItem] = []
        overdue: list[SweepItem] = []
        breached: list[SweepItem] = []
        alerts: list[Alert] = []
        plans = self._plans
        calendars = self.calendars
        open_states = OPEN_STATES
        utc = UTC
        new = _new
        st_breached, st_overdue, st_soon = (DeadlineStatus.BREACHED, DeadlineStatus.OVERDUE,
                                            DeadlineStatus.DUE_SOON)
        swept = 0
        for c in clocks:
            if c.state not in open_states:
                continue
            swept += 1
            plan = plans.get((c.policy, c.complexity))
            if plan is None:
                plan = self._plan(c.policy, c.complexity)
            tz = plan.tz
            received = c.received_at
            ext = c.extensions
            if ext:
                rows = self._rows(plan, received, ext)
            else:
                day = received.astimezone(tz).toordinal()
                cached_rows = plan.days.get(day)
                if cached_rows is None:
                    cached_rows = plan.days[day] = self._rows(plan, received, ext)
                rows = cached_rows
            ref, dept, raised, pid = c.reference, c.department, c.alerts, plan.pid
            for name, due, soon, local, prov, met_field, soon_key, over_key, rule in rows:
                if rule is not None:  # hours, or counted from acceptance or response
                    kind = rule.kind
                    if kind == 0:
                        start = received
                    elif kind == 1:
                        start = c.acknowledged_at or received
                    else:
                        responded = c.responded_at
                        if responded is None or c.follow_up_waived:
                            continue
                        start = responded
                    extra = sum(d for m, d in ext if m == name) if ext else 0
                    hours = rule.hours
                    if hours is None:
                        due, soon, local, prov = rule.day_due(start, extra, calendars)
                    else:
                        due = start.astimezone(utc) + hours
                        if extra:
                            due += timedelta(days=extra)
                        soon = due - rule.lead
                met = getattr(c, met_field)
                if met is not None:
                    met_utc = met.astimezone(utc)
                    if met_utc <= now:
                        if met_utc > due:
                            breached.append(new(SweepItem, (
                                ref, name, st_breached, local or due.astimezone(tz), prov, pid,
                                dept, met)))
                        continue
                if now > due:
                    local = local or due.astimezone(tz)
                    overdue.append(new(SweepItem, (ref, name, st_overdue, local, prov, pid,
                                                   dept, None)))
                    if over_key not in raised:
                        alerts.append(new(Alert, (ref, name, OVERDUE, local, pid, prov)))
                elif now >= soon:
                    local = local or due.astimezone(tz)
                    due_soon.append(new(SweepItem, (ref, name, st_soon, local, prov, pid, dept,
                                                    None)))
                    if soon_key not in raised:
                        alerts.append(new(Alert, (ref, name, DUE_SOON, local, pid, prov)))
            for a in c.actions:
                if a.cancelled:
                    continue
                due, soon, local, prov = plan.actions.get(a.due) or self._action(plan, a.due)
                name = "action:" + a.action_id
                met = a.finished_at
                if met is not None:
                    met_utc = met.astimezone(utc)
                    if met_utc <= now:
                        if met_utc > due:
                            breached.append(new(SweepItem, (ref, name, st_breached, local, prov,
                                                            pid, dept, met)))
                        continue
                if now > due:
                    overdue.append(new(SweepItem, (ref, name, st_overdue, local, prov, pid, dept,
                                                   None)))
                    if (name, _OVERDUE) not in raised:
                        alerts.append(new(Alert, (ref, name, OVERDUE, local, pid, prov)))
                elif now >= soon:
                    due_soon.append(new(SweepItem, (ref, name, st_soon, local, prov, pid, dept,
                                                    None)))
                    if (name, _DUE_SOON) not in raised:
                        alerts.append(new(Alert, (ref, name, DUE_SOON, local, pid, prov)))
        return SweepResult(at, swept, due_soon, overdue, breached, alerts)


def sweep(clocks: Iterable[CaseClock], at: datetime,
          policies: PolicyRegistry | Mapping[str, SlaPolicy], calendars: Calendars,
          *, remind_before: Lead | None = None) -> SweepResult:
    """One-off sweep. For repeated sweeps keep a :class:`Sweeper` (its caches stay warm)."""
    return Sweeper(policies, calendars, remind_before=remind_before).run(clocks, at)


def sweep_reference(clocks: Iterable[CaseClock], at: datetime,
                    policies: PolicyRegistry | Mapping[str, SlaPolicy], calendars: Calendars,
                    *, remind_before: Lead | None = None, pause_gc: bool = True) -> SweepResult:
    """The same sweep, computing every case's deadlines one by one with
    :func:`~hospital_complaints.sla.engine.case_deadlines`. Slow; the yardstick for tests and
    the benchmark."""
    require_aware(at, "at")
    with _collector_paused(pause_gc):
        return _sweep_reference(clocks, at, policies, calendars, remind_before)


def _sweep_reference(clocks: Iterable[CaseClock], at: datetime,
                     policies: PolicyRegistry | Mapping[str, SlaPolicy], calendars: Calendars,
                     remind_before: Lead | None) -> SweepResult:
    resolve: Callable[[str], SlaPolicy] = Sweeper(
        policies, calendars, remind_before=remind_before).policy
    due_soon: list[SweepItem] = []
    overdue: list[SweepItem] = []
    breached: list[SweepItem] = []
    alerts: list[Alert] = []
    swept = 0
    for c in clocks:
        if not c.is_open:
            continue
        swept += 1
        policy = resolve(c.policy)
        for d in case_deadlines(policy, c, calendars):
            met = met_at(c, d.milestone)
            status = status_at(d.due, d.due_soon_from, met, at)
            item = SweepItem(c.reference, d.milestone, status, d.due, d.provisional,
                             policy.id, c.department,
                             met if status is DeadlineStatus.BREACHED else None)
            if status is DeadlineStatus.BREACHED:
                breached.append(item)
            elif status is DeadlineStatus.OVERDUE:
                overdue.append(item)
                if (d.milestone, _OVERDUE) not in c.alerts:
                    alerts.append(Alert(c.reference, d.milestone, OVERDUE, d.due, policy.id,
                                        d.provisional))
            elif status is DeadlineStatus.DUE_SOON:
                due_soon.append(item)
                if (d.milestone, _DUE_SOON) not in c.alerts:
                    alerts.append(Alert(c.reference, d.milestone, DUE_SOON, d.due, policy.id,
                                        d.provisional))
    return SweepResult(at, swept, due_soon, overdue, breached, alerts)


__all__ = ["Alert", "SweepItem", "SweepResult", "Sweeper", "sweep", "sweep_reference"]

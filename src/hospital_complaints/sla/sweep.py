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

How :class:`Sweeper` is fast (``docs/sla.md``, "Performance"):

- Deadlines counted in days from the receipt are the same for every case received on the
  same local day: the sweeper keeps, per (policy, complexity, local day of receipt,
  extensions), the rows of due instants, computed once by the engine. Periods counted from
  the acceptance or the response are cached per local start day, actions per due date.
- Every instant is compared in the policy's zone, as a plain wall-clock comparison, and an
  hours deadline is the receipt plus the hours on the wall clock: no time-zone conversion
  per case. That is exact only where the zone's UTC offset does not change, which the
  sweeper checks (:class:`_ZoneDays`); elsewhere it computes and compares as the engine does.
- What it finds is kept compact (:class:`_Found`); the :class:`SweepItem` and
  :class:`Alert` tuples are built when a list of the result is first read.

:func:`sweep_reference` computes every case from scratch with the per-case function; tests
check that both agree.
"""

from __future__ import annotations

import gc
import threading
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from ..domain.taxonomy import OPEN_STATES, AlertKind, Complexity, Milestone
from .calendars import Calendars
from .engine import (
    DeadlineStatus,
    action_deadline,
    case_deadlines,
    day_deadline,
    met_at,
    require_aware,
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


_new = tuple.__new__  # builds a NamedTuple without its Python-level __new__ (hot path)


class _Spec:
    """What one found deadline is, apart from the case and the due instant: a milestone (or
    an action) of a policy, provisional or not, and the alert kind it raises."""

    __slots__ = ("key", "kind", "met_field", "name", "policy", "provisional")

    def __init__(self, name: str, policy: str, provisional: bool, kind: AlertKind,
                 met_field: str | None) -> None:
        self.name = name
        self.policy = policy
        self.provisional = provisional
        self.kind = kind
        self.key = (name, kind.value)  # as in CaseClock.alerts
        self.met_field = met_field  # None for an action

    def met_at(self, clock: CaseClock) -> datetime | None:
        if self.met_field is None:
            return met_at(clock, self.name)  # an action, found by its id as the engine does
        met: datetime | None = getattr(clock, self.met_field)
        return met


class _Findings:
    """One list's findings, compact: the case's position among the cases swept, and flat
    (spec, due) pairs."""

    __slots__ = ("pairs", "positions")

    def __init__(self) -> None:
        self.positions = array("q")  # not a Python object per entry: nothing for the GC
        self.pairs: list[Any] = []  # spec, due, spec, due, ...


class _Found:
    """What a sweep found, compact: the open cases swept, the deadlines found due soon or
    overdue (``pending``, in order: the kind of their spec tells which), and those met late.

    A million cases give millions of findings. Keeping a position and two references each
    instead of a tuple each is much of what makes the sweep fast; and because the findings
    refer to the cases by position, the garbage collector, when it next runs, does not have
    to visit a million cases through them. Which alerts are new follows from the findings
    and the cases' raised alerts. :class:`SweepResult` builds the tuples when a list is first
    read.
    """

    __slots__ = ("cases", "late", "pause_gc", "pending")

    def __init__(self, pause_gc: bool) -> None:
        self.pause_gc = pause_gc  # while the lists are built, as while sweeping
        self.cases: list[CaseClock] = []
        self.pending = _Findings()
        self.late = _Findings()


def _triples(cases: list[CaseClock],
             findings: _Findings) -> Iterator[tuple[CaseClock, _Spec, datetime]]:
    """(case, spec, due) per finding, in order."""
    pairs = iter(findings.pairs)
    return zip(map(cases.__getitem__, findings.positions), pairs, pairs, strict=True)


def _breached(found: _Found) -> list[SweepItem]:
    status = DeadlineStatus.BREACHED
    return [_new(SweepItem, (c.reference, s.name, status, due, s.provisional, s.policy,
                             c.department, s.met_at(c)))
            for c, s, due in _triples(found.cases, found.late)]


def _pending_lists(found: _Found) -> tuple[list[SweepItem], list[SweepItem], list[Alert]]:
    """Due soon, overdue and new alerts in one pass over the pending findings (reading one of
    the item lists usually means reading them all: the CLI and ``to_json`` do)."""
    due_soon: list[SweepItem] = []
    overdue: list[SweepItem] = []
    alerts: list[Alert] = []
    add_soon, add_over, add_alert = due_soon.append, overdue.append, alerts.append
    soon, over = DeadlineStatus.DUE_SOON, DeadlineStatus.OVERDUE
    for c, s, due in _triples(found.cases, found.pending):
        ref = c.reference
        if s.kind is DUE_SOON:
            add_soon(_new(SweepItem, (ref, s.name, soon, due, s.provisional, s.policy,
                                      c.department, None)))
        else:
            add_over(_new(SweepItem, (ref, s.name, over, due, s.provisional, s.policy,
                                      c.department, None)))
        if s.key not in c.alerts:
            add_alert(_new(Alert, (ref, s.name, s.kind, due, s.policy, s.provisional)))
    return due_soon, overdue, alerts


def _alerts(found: _Found) -> list[Alert]:
    return [_new(Alert, (c.reference, s.name, s.kind, due, s.policy, s.provisional))
            for c, s, due in _triples(found.cases, found.pending) if s.key not in c.alerts]


class SweepResult:
    """What a sweep found at ``at``.

    Lists are in input order (case by case, milestones in process order, then actions). The
    fast sweep keeps its findings compact and builds each list the first time it is read.
    Read-only; two results are equal when their instant, count and lists are.
    """

    __slots__ = ("_at", "_cases", "_found", "_lists")
    _at: datetime
    _cases: int
    _found: _Found | None
    _lists: list[list[Any] | None]  # built lists; None until first read

    def __init__(self, at: datetime, cases: int, due_soon: list[SweepItem],
                 overdue: list[SweepItem], breached: list[SweepItem],
                 new_alerts: list[Alert]) -> None:
        self._set(at, cases, None, [due_soon, overdue, breached, new_alerts])

    @classmethod
    def _compact(cls, at: datetime, cases: int, found: _Found) -> SweepResult:
        result = cls.__new__(cls)
        result._set(at, cases, found, [None, None, None, None])
        return result

    def _set(self, at: datetime, cases: int, found: _Found | None,
             lists: list[list[Any] | None]) -> None:
        for name, value in (("_at", at), ("_cases", cases), ("_found", found),
                            ("_lists", lists)):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"SweepResult is read-only (cannot set {name!r})")

    @property
    def at(self) -> datetime:
        return self._at

    @property
    def cases(self) -> int:
        """Open cases swept."""
        return self._cases

    @property
    def due_soon(self) -> list[SweepItem]:
        return self._list(0)

    @property
    def overdue(self) -> list[SweepItem]:
        return self._list(1)

    @property
    def breached(self) -> list[SweepItem]:
        return self._list(2)

    @property
    def new_alerts(self) -> list[Alert]:
        return self._list(3)

    def _list(self, index: int) -> list[Any]:  # due soon, overdue, breached, new alerts
        lists = self._lists
        built = lists[index]
        if built is None:
            found = self._found
            assert found is not None  # a result without lists is a compact one
            with _collector_paused(found.pause_gc):  # millions of tuples: _CollectorPause
                if index in (0, 1):  # both item lists (and the alerts) in one pass
                    lists[0], lists[1], alerts = _pending_lists(found)
                    if lists[3] is None:
                        lists[3] = alerts
                    built = lists[index]
                    assert built is not None
                    return built
                built = _alerts(found) if index == 3 else _breached(found)
            lists[index] = built
        return built

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SweepResult):
            return NotImplemented
        return (self.at, self.cases, self.due_soon, self.overdue, self.breached,
                self.new_alerts) == (other.at, other.cases, other.due_soon, other.overdue,
                                     other.breached, other.new_alerts)

    __hash__ = None  # type: ignore[assignment]  # holds lists

    def __repr__(self) -> str:
        return (f"SweepResult(at={self.at!r}, cases={self.cases!r}, "
                f"due_soon={self.due_soon!r}, overdue={self.overdue!r}, "
                f"breached={self.breached!r}, new_alerts={self.new_alerts!r})")

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


class _CollectorPause:
    """Pauses automatic garbage collection while sweeps run (nested and threaded safely).

    A sweep over a million cases creates millions of result tuples when its lists are built;
    with automatic collection on, Python repeatedly scans the whole heap while they are being
    created, which made a large sweep two to three times slower. Nothing a sweep creates
    forms reference cycles, so pausing loses nothing; the previous state is restored when the
    last sweep ends.
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


class _ZoneDays:
    """Where a zone's wall clock can stand in for UTC: days with no change of UTC offset.

    The offset is sampled at local noon of each day; a stretch of days whose noons share one
    offset has no offset change in between (time zones change their offset at most once a
    day). Within such a stretch, wall-clock comparisons and ``+ timedelta`` in the zone give
    exactly what UTC arithmetic gives.
    """

    __slots__ = ("_noon", "_steady", "tz")

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz
        self._noon: dict[int, timedelta | None] = {}
        self._steady: dict[tuple[int, int], bool] = {}

    def _offset(self, day: int) -> timedelta | None:
        if day not in self._noon:
            noon = datetime.combine(date.fromordinal(day), time(12), tzinfo=self.tz)
            self._noon[day] = noon.utcoffset()
        return self._noon[day]

    def steady(self, first: int, last: int) -> bool:
        """No offset change between local noon of day ``first`` and of day ``last``
        (proleptic Gregorian ordinals)."""
        known = self._steady.get((first, last))
        if known is None:
            offset = self._offset(first)
            known = self._steady[(first, last)] = all(
                self._offset(day) == offset for day in range(first + 1, last + 1))
        return known


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

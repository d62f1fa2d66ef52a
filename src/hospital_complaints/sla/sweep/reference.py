"""The reference sweep: every case computed from scratch with the per-case engine. The
differential tests (``tests/unit/sla/test_sla_sweep.py``, ``test_sla_sweep_fast.py``) and
``benchmarks/bench_sla_sweep.py`` hold :class:`~.sweeper.Sweeper` to it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime

from ..calendars import Calendars
from ..engine import DeadlineStatus, case_deadlines, met_at, require_aware, status_at
from ..policy import Lead, SlaPolicy
from ..records import CaseClock
from ..registry import PolicyRegistry
from .collector import _collector_paused
from .results import _DUE_SOON, _OVERDUE, DUE_SOON, OVERDUE, Alert, SweepItem, SweepResult
from .sweeper import Sweeper


def sweep_reference(clocks: Iterable[CaseClock], at: datetime,
                    policies: PolicyRegistry | Mapping[str, SlaPolicy], calendars: Calendars,
                    *, remind_before: Lead | None = None, pause_gc: bool = True) -> SweepResult:
    """The same sweep, computing every case's deadlines one by one with
    :func:`~hospital_complaints.sla.engine.case_deadlines`. Slow, and kept on purpose: it is
    the public reference implementation that the differential tests
    (``tests/unit/sla/test_sla_sweep.py``, ``test_sla_sweep_fast.py``) and
    ``benchmarks/bench_sla_sweep.py`` compare :class:`Sweeper` with. No service calls it."""
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

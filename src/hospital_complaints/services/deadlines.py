"""Deadline use cases (``app.deadlines``): policies, a case's due dates, the reminder and
escalation sweep, completion metrics. The counting rules live in :mod:`hospital_complaints.sla`
(docs/sla.md); this service gives them the plugins' policies, the site calendars, the clock
and the cases."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING

from ..sla import (
    Calendars,
    CompletionRow,
    Deadline,
    PolicyRegistry,
    SlaPolicy,
    Sweeper,
    SweepResult,
    case_clock,
    case_deadlines,
    completion_metrics,
)

if TYPE_CHECKING:
    from ..app import App


class DeadlineService:
    def __init__(self, app: App) -> None:
        self.app = app

    @cached_property
    def registry(self) -> PolicyRegistry:
        """Every policy plugins registered (``hc_register_sla_policies``)."""
        return PolicyRegistry(self.app.plugins.sla_policies(self.app).values())

    @cached_property
    def calendars(self) -> Calendars:
        """The built-in working-day calendars plus the site files in ``HC_CALENDAR_DIR``."""
        cals = Calendars()
        directory = self.app.settings.sla.calendar_dir
        if directory is not None:
            cals.load_dir(str(directory))
        return cals

    def load_calendar_files(self, files: Iterable[str]) -> None:
        for path in files:
            self.calendars.load_file(path)

    @property
    def default_spec(self) -> str:
        return self.app.settings.sla.policy

    def policy(self, spec: str | None = None) -> SlaPolicy:
        """The policy (or combination) ``spec``, default ``HC_SLA_POLICY``."""
        return self.registry.resolve(spec or self.default_spec)

    def for_case(self, reference: str, spec: str | None = None) -> list[Deadline]:
        """The deadlines of one case under its policy."""
        case = self.app.complaints.get(reference)
        return case_deadlines(self.policy(spec), case, self.calendars)

    def sweep(self, at: datetime | None = None, *, spec: str | None = None,
              dry_run: bool = False) -> SweepResult:
        """Deadlines due soon (催办), overdue (督办) and breached, as of ``at`` (default now).
        New alerts are recorded once each (``deadline_alert`` events) unless ``dry_run``.

        Only open cases are read: the store picks them by the state column of its listing
        table, then each is rebuilt from its events."""
        spec = spec or self.default_spec
        sweeper = Sweeper(self.registry, self.calendars)
        sweeper.policy(spec)  # an unknown policy fails before any case is read
        when = at or self.app.clock.now()
        clocks = [case_clock(c, spec) for c in self.app.complaints.iter_cases(open_only=True)]
        result = sweeper.run(clocks, when)
        if result.new_alerts and not dry_run:
            self.app.complaints.record_deadline_alerts(result.new_alerts)
        return result

    def metrics(self, at: datetime | None = None, *, zone: str | None = None
                ) -> list[CompletionRow]:
        """Share of cases finished within 7 and 30 days, per department and month."""
        spec = self.default_spec
        return completion_metrics(
            (case_clock(c, spec) for c in self.app.complaints.iter_cases(open_only=False)),
            at or self.app.clock.now(), zone=zone or self.app.settings.timezone)

"""Deadlines (SLA): policies, working-day calendars, due instants, the sweep, metrics.

The service and the CLI use these names; everything else in the package is private by
convention. ``docs/sla.md`` states every counting rule and lists the policies' sources.
"""

from .calendars import Calendars, SiteYear, WorkCalendar, read_calendar_file
from .engine import (
    Deadline,
    DeadlineStatus,
    action_deadline,
    case_deadlines,
    deadlines,
    rule_deadline,
    status_at,
)
from .errors import DeadlineError
from .extensions import check_extension, granted_days
from .metrics import HOTLINE_REFERENCE, CompletionRow, completion_metrics
from .policy import (
    Anchor,
    DeadlineRule,
    ExtensionRule,
    Lead,
    SlaPolicy,
    Unit,
    override,
    parse_duration,
)
from .profiles import builtin_policies
from .records import ActionClock, CaseClock, case_clock
from .registry import PolicyRegistry, compose
from .sweep import Alert, Sweeper, SweepItem, SweepResult, sweep_reference
from .sweep import sweep as sweep_once

__all__ = [
    "HOTLINE_REFERENCE",
    "ActionClock",
    "Alert",
    "Anchor",
    "Calendars",
    "CaseClock",
    "CompletionRow",
    "Deadline",
    "DeadlineError",
    "DeadlineRule",
    "DeadlineStatus",
    "ExtensionRule",
    "Lead",
    "PolicyRegistry",
    "SiteYear",
    "SlaPolicy",
    "SweepItem",
    "SweepResult",
    "Sweeper",
    "Unit",
    "WorkCalendar",
    "action_deadline",
    "builtin_policies",
    "case_clock",
    "case_deadlines",
    "check_extension",
    "completion_metrics",
    "compose",
    "deadlines",
    "granted_days",
    "override",
    "parse_duration",
    "read_calendar_file",
    "rule_deadline",
    "status_at",
    "sweep_once",
    "sweep_reference",
]

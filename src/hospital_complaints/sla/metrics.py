"""Completion metrics: the share of cases finished within 7 and within 30 days.

The Beijing 12320 hotline reported 53% of complaints closed within 7 days and 85% within 30
(Beijing 12320 hotline); :data:`HOTLINE_REFERENCE` keeps those figures for comparison.

Definitions (``docs/sla.md``): cases are grouped by department and by the month they were
received (local time in ``zone``). A case counts as *finished* once it is closed, withdrawn
or referred (local handling ended) at or before ``at``. It is finished *within N days* when
``closed_at`` is no later than the end of the N-th calendar day after the day of receipt;
weekends and holidays are not skipped. The share is over every case received that month, so a
month whose cases are still open shows the share reached so far.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from ..clock import zone as zone_info
from ..domain.taxonomy import OPEN_STATES
from .engine import require_aware
from .records import CaseClock

#: Beijing 12320 hotline, first five months as reported: days -> share closed.
HOTLINE_REFERENCE: dict[int, float] = {7: 0.53, 30: 0.85}
ALL_DEPARTMENTS = "(all)"
UNASSIGNED = "(unassigned)"


@dataclass(frozen=True)
class CompletionRow:
    department: str
    month: str  # "2026-05": month of receipt
    received: int
    finished: int
    within: dict[int, int]  # days -> cases finished within that many days

    def share(self, days: int) -> float | None:
        """Cases finished within ``days`` over cases received; ``None`` for an empty row."""
        return self.within[days] / self.received if self.received else None

    def to_json(self) -> dict[str, Any]:
        return {
            "department": self.department, "month": self.month, "received": self.received,
            "finished": self.finished,
            "within": {str(d): n for d, n in self.within.items()},
            "share": {str(d): self.share(d) for d in self.within},
        }


def completion_metrics(clocks: Iterable[CaseClock], at: datetime, *,
                       zone: str = "Asia/Shanghai", windows: tuple[int, ...] = (7, 30),
                       totals: bool = True) -> list[CompletionRow]:
    """Rows per (department, month of receipt), sorted; with ``totals`` also one row per month
    for all departments together (department ``"(all)"``)."""
    require_aware(at, "at")
    tz = zone_info(zone)
    now = at.astimezone(UTC)
    counts: dict[tuple[str, str], list[int]] = {}
    ends: dict[tuple[date, int], datetime] = {}
    for c in clocks:
        received = c.received_at.astimezone(tz)
        if received > now:
            continue
        day = received.date()
        keys = [(c.department or UNASSIGNED, f"{day:%Y-%m}")]
        if totals:
            keys.append((ALL_DEPARTMENTS, keys[0][1]))
        hits = [1, 0] + [0] * len(windows)
        closed = c.closed_at
        if c.state not in OPEN_STATES and closed is not None and closed <= now:
            hits[1] = 1
            for i, n in enumerate(windows):
                end = ends.get((day, n))
                if end is None:
                    end = ends[(day, n)] = datetime.combine(
                        day + timedelta(days=n), time.max, tzinfo=tz)
                if closed <= end:
                    hits[2 + i] = 1
        for key in keys:
            row = counts.setdefault(key, [0, 0] + [0] * len(windows))
            for i, h in enumerate(hits):
                row[i] += h
    return [
        CompletionRow(dept, month, v[0], v[1], dict(zip(windows, v[2:], strict=True)))
        for (dept, month), v in sorted(counts.items(),
                                       key=lambda kv: (kv[0][1], kv[0][0] == ALL_DEPARTMENTS,
                                                       kv[0][0]))
    ]


__all__ = ["ALL_DEPARTMENTS", "HOTLINE_REFERENCE", "UNASSIGNED", "CompletionRow",
           "completion_metrics"]

"""Constants and builders shared by the SLA tests (importable as ``sla_support``)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hospital_complaints.domain.taxonomy import CaseState, Complexity
from hospital_complaints.sla import ActionClock, CaseClock

CN = ZoneInfo("Asia/Shanghai")
LONDON = ZoneInfo("Europe/London")
EXAMPLE_2027 = Path(__file__).parents[3] / "examples" / "calendars" / "cn-2027.illustrative.json"


def cn(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=CN)


def clock(ref: str = "HC-1", policy: str = "imaging-dept", received: datetime | None = None,
          **kw: Any) -> CaseClock:
    return CaseClock(reference=ref, policy=policy, received_at=received or cn(2026, 11, 2),
                     **kw)


def action(action_id: str, due: date, finished: datetime | None = None,
           cancelled: bool = False) -> ActionClock:
    return ActionClock(action_id, due, finished, cancelled)


__all__ = ["CN", "EXAMPLE_2027", "LONDON", "CaseState", "Complexity", "action", "clock", "cn"]

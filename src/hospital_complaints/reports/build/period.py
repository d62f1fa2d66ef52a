"""Report months: ``2026-11`` in the report's zone, from local midnight to local midnight."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import total_ordering
from zoneinfo import ZoneInfo

from ...errors import FieldProblem, InvalidInput

_MONTH = re.compile(r"(\d{4})-(\d{1,2})")


@total_ordering
@dataclass(frozen=True, slots=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str, field: str = "month") -> Month:
        """``"2026-11"`` (or ``"2026-1"``); anything else is a zh/en error naming ``field``."""
        found = _MONTH.fullmatch(text.strip()) if isinstance(text, str) else None
        if found is None or not 1 <= int(found[2]) <= 12 or int(found[1]) < 1900:
            raise InvalidInput("month", [FieldProblem(field, text, "a month as YYYY-MM, "
                                                      "e.g. 2026-11")],
                               [f"  - {field}：月份格式应为 YYYY-MM，例如 2026-11；"
                                f"收到 {text!r}"])
        return cls(int(found[1]), int(found[2]))

    @classmethod
    def of(cls, at: datetime, tz: ZoneInfo) -> Month:
        """The month ``at`` falls in, in ``tz``."""
        local = at.astimezone(tz)
        return cls(local.year, local.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Month):
            return NotImplemented
        return (self.year, self.month) < (other.year, other.month)

    def shift(self, months: int) -> Month:
        n = self.year * 12 + self.month - 1 + months
        return Month(n // 12, n % 12 + 1)

    @property
    def previous(self) -> Month:
        return self.shift(-1)

    def trend(self, n: int = 12) -> tuple[Month, ...]:
        """The ``n`` months ending with this one, oldest first."""
        return tuple(self.shift(i - n + 1) for i in range(n))

    def start(self, tz: ZoneInfo) -> datetime:
        """Local midnight of the first day."""
        return datetime(self.year, self.month, 1, tzinfo=tz)

    def end(self, tz: ZoneInfo) -> datetime:
        """Local midnight of the next month's first day (exclusive)."""
        return self.shift(1).start(tz)

    def contains(self, at: datetime, tz: ZoneInfo) -> bool:
        return self.start(tz) <= at < self.end(tz)

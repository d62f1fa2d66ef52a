"""Steady-offset days: where a zone's wall clock can stand in for UTC, so that the sweep
compares and adds instants in the policy's zone without a time-zone conversion per case."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo


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

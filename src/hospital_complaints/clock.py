"""Time is injected. Domain code never reads the wall clock or assumes a time zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import ConfigError

DEFAULT_TIMEZONE = "Asia/Shanghai"


class Clock(Protocol):
    """Anything that can say what time it is now (timezone-aware)."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real clock, in the configured zone."""

    def __init__(self, tz: str = DEFAULT_TIMEZONE) -> None:
        self.tz = zone(tz)

    def now(self) -> datetime:
        return datetime.now(UTC).astimezone(self.tz)


class FixedClock:
    """A clock for tests and replays: it stands still until told to move."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ConfigError(
                f"FixedClock needs a timezone-aware datetime, got naive {at.isoformat()}",
                f"FixedClock 需要带时区的时间，收到的是无时区时间 {at.isoformat()}",
            )
        self._at = at

    def now(self) -> datetime:
        return self._at

    def advance(self, delta: timedelta) -> datetime:
        self._at = self._at + delta
        return self._at

    def set(self, at: datetime) -> None:
        self._at = at


def zone(name: str) -> ZoneInfo:
    """Look up an IANA zone, with an error that says what was wrong."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(
            f"unknown time zone {name!r}; use an IANA name such as 'Asia/Shanghai' or "
            "'Europe/London'",
            f"未知时区 {name!r}；请使用 IANA 时区名，例如 'Asia/Shanghai'",
        ) from exc

"""HL7 v2 date/times (DTM/TS) to timezone-aware datetimes.

``YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ]``. An offset in the value is honoured; a value
without one is in the configured zone (default Asia/Shanghai). A date without a time is
midnight of that day in that zone. A value that does not fit is an error naming the field.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

from .errors import DATA_TYPE_ERROR, Hl7InputError, describe

DEFAULT_ZONE = ZoneInfo("Asia/Shanghai")

_DTM = re.compile(
    r"(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.(\d{1,4}))?(?:([+-])(\d{2})(\d{2}))?\Z")
_OFFSETS: dict[str, timezone] = {}


# (value, zone) -> datetime: feeds repeat times (MSH-7 of a batch, the slots of a day), and a
# datetime is immutable, so one object serves every message. Bounded: cleared when full.
DTM_CACHE: dict[tuple[str, tzinfo], datetime] = {}
DTM_CACHE_MAX = 8192


def parse_dtm(value: str, location: str, zone: tzinfo = DEFAULT_ZONE) -> datetime | None:
    """``None`` for an empty value; otherwise an aware datetime or :class:`Hl7InputError`
    naming ``location``. Results are cached by ``(value, zone)`` (errors are not)."""
    key = (value, zone)
    got = DTM_CACHE.get(key)
    if got is not None:
        return got
    result = _parse(value, location, zone)
    if result is not None:
        if len(DTM_CACHE) >= DTM_CACHE_MAX:
            DTM_CACHE.clear()
        DTM_CACHE[key] = result
    return result


def cached_dtm(value: str, zone: tzinfo = DEFAULT_ZONE) -> datetime | None:
    """What :func:`parse_dtm` returned for ``(value, zone)`` before, or ``None``: lets a
    caller skip building the error location when the value was seen before."""
    return DTM_CACHE.get((value, zone))


def _parse(value: str, location: str, zone: tzinfo) -> datetime | None:
    value = value.strip()
    if not value:
        return None
    n = len(value)
    if (n == 14 or n == 12) and value.isdigit():  # the common YYYYMMDDHHMM[SS]: no regex
        try:
            return datetime(int(value[:4]), int(value[4:6]), int(value[6:8]),
                            int(value[8:10]), int(value[10:12]),
                            int(value[12:14]) if n == 14 else 0, tzinfo=zone)
        except ValueError as exc:
            raise _invalid(location, value, exc) from None
    m = _DTM.match(value)
    if m is None:
        raise Hl7InputError(location, f"not an HL7 date/time (YYYYMMDD[HHMM[SS[.SSSS]]]"
                            f"[+/-ZZZZ]): {describe(value)}", code=DATA_TYPE_ERROR)
    y, mo, d, h, mi, s, frac, sign, oh, om = m.groups()
    if sign:
        key = f"{sign}{oh}{om}"
        tz: tzinfo | None = _OFFSETS.get(key)
        if tz is None:
            delta = timedelta(hours=int(oh), minutes=int(om))
            tz = _OFFSETS.setdefault(key, timezone(-delta if sign == "-" else delta))
    else:
        tz = zone
    try:
        return datetime(int(y), int(mo or 1), int(d or 1), int(h or 0), int(mi or 0),
                        int(s or 0), int((frac or "0").ljust(6, "0")[:6]), tzinfo=tz)
    except ValueError as exc:
        raise _invalid(location, value, exc) from None


def _invalid(location: str, value: str, exc: ValueError) -> Hl7InputError:
    """A value shaped like a date/time that is none (month 13, hour 25), with ``datetime``'s
    own words when they cannot quote the value ("month must be in 1..12"; not "year 0 is out
    of range")."""
    words = str(exc)
    if "must be in" not in words and words != "day is out of range for month":
        words = "a part is out of range"
    return Hl7InputError(location, f"not a valid date/time ({words}): {describe(value)}",
                         code=DATA_TYPE_ERROR)

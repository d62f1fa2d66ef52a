"""HL7 v2 date/times (DTM/TS) to timezone-aware datetimes.

``YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ]``. An offset in the value is honoured; a value
without one is in the configured zone (default Asia/Shanghai). A date without a time is
midnight of that day in that zone. A value that does not fit is an error naming the field.

:func:`read_dtm` is the tolerant reading the extraction uses: it also reads unambiguous
non-standard forms real feeds send (``2017-04-25 07:31:13.123456``, ISO 8601 with ``T`` and
``Z``, fractions without the dot: ``1994050216163360``), each with a warning, and says when a
value is a date without a time (:attr:`Reading.date_only`), which never beats a precise time
for the same milestone. Date-only values are never cached: the hot path's cache hit means a
standard, precise value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
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
    if result is not None and not is_date_only(value):
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


# -- tolerant reading ----------------------------------------------------------------------

#: ``YYYY-MM-DD[( |T)hh:mm[:ss[.f{1,6}]]][Z|(+|-)hh[:]mm]``: a date with dashes cannot be
#: read two ways (unlike ``24/11/2026``, which is refused)
_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,6}))?)?)?"
    r"(Z|[+-]\d{2}:?\d{2})?\Z")
#: ``YYYYMMDDhhmmss`` then 1-4 digits of a fraction without its dot (hundredths: 16 digits)
_NO_DOT = re.compile(r"(\d{14})(\d{1,4})([+-]\d{4})?\Z")


@dataclass(frozen=True, slots=True)
class Reading:
    """A tolerant reading of one HL7 time: the value (``None`` when empty), whether it is a
    date without a time, and a warning when a non-standard form was read."""

    value: datetime | None
    date_only: bool = False
    warning: str | None = None


def is_date_only(value: str) -> bool:
    """Whether a standard HL7 time gives no time of day (``YYYY[MM[DD]]``, offset or not)."""
    v = value.strip()
    for sign in "+-":
        if sign in v[4:]:
            v = v[:4] + v[4:].split(sign, 1)[0]
    return v.isdigit() and len(v) <= 8


def read_dtm(value: str, location: str, zone: tzinfo = DEFAULT_ZONE) -> Reading:
    """``value`` read tolerantly (see the module text). Raises :class:`Hl7InputError`
    naming ``location`` when it is no time at all or could be read in more than one way."""
    text = value.strip()
    if not text:
        return Reading(None)
    try:
        return Reading(parse_dtm(text, location, zone), is_date_only(text))
    except Hl7InputError as strict:
        m = _ISO.match(text)
        if m is not None:
            y, mo, d, h, mi, s, frac, off = m.groups()
            standard = f"{y}{mo}{d}{h or ''}{mi or ''}{s or ''}"
            if frac:
                standard += "." + frac[:4]
            if off:
                standard += "+0000" if off == "Z" else off.replace(":", "")
            got = _parse(standard, location, zone)
            if frac and len(frac) > 4 and got is not None:  # microseconds beyond HL7's 4
                got = got.replace(microsecond=int(frac.ljust(6, "0")))
            return Reading(got, h is None, f"{location}: a date/time written as "
                           "YYYY-MM-DD hh:mm:ss was read; HL7 writes YYYYMMDDhhmmss")
        m = _NO_DOT.match(text)
        if m is not None:
            digits, frac, off = m.groups()
            got = _parse(f"{digits}.{frac}{off or ''}", location, zone)
            return Reading(got, False, f"{location}: a date/time with {len(frac)} more "
                           "digits than seconds was read as a fraction of a second; HL7 "
                           "writes it after a dot")
        raise strict from None

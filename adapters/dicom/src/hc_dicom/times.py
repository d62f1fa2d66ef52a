"""DICOM dates and times (DA, TM, DT) as timezone-aware datetimes.

DICOM times are local to the device that wrote them. A value is read in the zone its object
says (``TimezoneOffsetFromUTC``, (0008,0201), ``+0800``), else in the configured zone
(``HC_DICOM_ZONE``, else ``HC_TIMEZONE``). Nothing is guessed: a value that is not a date or
a time raises :class:`~hc_dicom.errors.DicomInputError` naming the attribute.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo

from .errors import DicomInputError, describe

_DA = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_DA_OLD = re.compile(r"^(\d{4})\.(\d{2})\.(\d{2})$")  # ACR-NEMA 2.0, still sent by old devices
_TM = re.compile(r"^(\d{2})(?:(\d{2})(?:(\d{2})(?:\.(\d{1,6}))?)?)?$")
_TM_OLD = re.compile(r"^(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?$")
_OFFSET = re.compile(r"^([+-])(\d{2})(\d{2})$")
_DT = re.compile(r"^(\d{4})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:(\d{2})"
                 r"(?:\.(\d{1,6}))?)?)?)?)?)?([+-]\d{4})?$")


def parse_da(value: str, attribute: str) -> date:
    """A DA value (``YYYYMMDD``; ``YYYY.MM.DD`` from old devices)."""
    text = value.strip()
    m = _DA.match(text) or _DA_OLD.match(text)
    if m is None:
        raise DicomInputError(attribute, f"not a DICOM date (YYYYMMDD): {describe(text)}",
                              f"不是 DICOM 日期（YYYYMMDD）：{describe(text)}")
    try:
        return date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        raise DicomInputError(attribute, f"no such day: {describe(text)}",
                              f"日期不存在：{describe(text)}") from None


def parse_tm(value: str, attribute: str) -> time:
    """A TM value (``HH[MM[SS[.FFFFFF]]]``; ``HH:MM[:SS]`` from old devices)."""
    text = value.strip()
    m = _TM.match(text) or _TM_OLD.match(text)
    if m is None:
        raise DicomInputError(attribute, f"not a DICOM time (HHMMSS): {describe(text)}",
                              f"不是 DICOM 时间（HHMMSS）：{describe(text)}")
    hour, minute, second = int(m[1]), int(m[2] or 0), int(m[3] or 0)
    micro = int((m[4] or "0").ljust(6, "0"))
    if second == 60:  # a leap second, allowed by DICOM
        second = 59
    if hour > 23 or minute > 59 or second > 59:
        raise DicomInputError(attribute, f"no such time of day: {describe(text)}",
                              f"时间不存在：{describe(text)}")
    return time(hour, minute, second, micro)


def parse_offset(value: str | None, attribute: str = "TimezoneOffsetFromUTC") -> tzinfo | None:
    """``TimezoneOffsetFromUTC`` (``+0800``) as a fixed zone; ``None`` when absent."""
    if value is None or not str(value).strip():
        return None
    text = str(value).strip()
    m = _OFFSET.match(text)
    if m is None or int(m[3]) > 59 or int(m[2]) > 14:
        raise DicomInputError(attribute, f"not a UTC offset (+HHMM / -HHMM): {describe(text)}",
                              f"不是 UTC 偏移（+HHMM / -HHMM）：{describe(text)}")
    delta = timedelta(hours=int(m[2]), minutes=int(m[3]))
    if delta == timedelta(0):
        return UTC
    return timezone(delta if m[1] == "+" else -delta)


def combine(day: str | None, clock: str | None, *, zone: tzinfo, offset: tzinfo | None,
            date_attribute: str, time_attribute: str) -> datetime | None:
    """A date (DA) and a time (TM) attribute as one aware instant; ``None`` when the date is
    absent. A date without a time is midnight. ``offset`` (the object's
    ``TimezoneOffsetFromUTC``) wins over ``zone``."""
    if day is None or not str(day).strip():
        if clock is not None and str(clock).strip():
            raise DicomInputError(date_attribute, f"is missing while {time_attribute} is set",
                                  f"缺失，而 {time_attribute} 有值", status=0x0121)
        return None
    d = parse_da(str(day), date_attribute)
    t = parse_tm(str(clock), time_attribute) if clock and str(clock).strip() else time(0)
    return datetime.combine(d, t, tzinfo=offset or zone)


def parse_dt(value: str, attribute: str, *, zone: tzinfo, offset: tzinfo | None) -> datetime:
    """A DT value (``YYYY[MM[DD[HH[MM[SS[.F]]]]]][+HHMM]``): its own offset first, then the
    object's ``TimezoneOffsetFromUTC``, then ``zone``."""
    text = value.strip()
    m = _DT.match(text)
    if m is None:
        raise DicomInputError(attribute, f"not a DICOM date-time: {describe(text)}",
                              f"不是 DICOM 日期时间：{describe(text)}")
    own = parse_offset(m[8], attribute) if m[8] else None
    try:
        return datetime(int(m[1]), int(m[2] or 1), int(m[3] or 1), int(m[4] or 0),
                        int(m[5] or 0), min(int(m[6] or 0), 59),
                        int((m[7] or "0").ljust(6, "0")), tzinfo=own or offset or zone)
    except ValueError:
        raise DicomInputError(attribute, f"no such date-time: {describe(text)}",
                              f"日期时间不存在：{describe(text)}") from None


def da(day: date) -> str:
    """A date as DA (``20261021``)."""
    return day.strftime("%Y%m%d")

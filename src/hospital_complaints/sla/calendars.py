"""Working-day calendars: which days are rest days, and whether we really know.

Each calendar takes its days from a maintained library (``chinese_calendar`` for mainland
China, ``holidays`` for England and Wales and the US). Holiday tables are never written by
hand here. A year the library does not cover can be loaded from a *site calendar file*: the
year's official arrangement transcribed as JSON (format in ``docs/sla.md``, sample in
``examples/calendars/``). Until then the year is **provisional**: weekends and the holidays
whose Gregorian date is fixed by law are rest days, every other day is assumed to be a working
day, and everything computed from such a day says so.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Literal, NoReturn, Protocol

from ..errors import ConfigError

FILE_FORMAT = "hospital-complaints/calendar-year@1"
CALENDAR_DIR_ENV = "HC_CALENDAR_DIR"
WEEKEND = frozenset({5, 6})  # Saturday, Sunday


@dataclass(frozen=True)
class DayInfo:
    """What a calendar says about one day, and on what basis."""

    day: date
    rest: bool
    provisional: bool
    name: str | None
    basis: str


class HolidaySource(Protocol):
    """A maintained library's view of one country's rest days."""

    name: str

    def covers(self, year: int) -> bool: ...

    def named_days(self, year: int) -> dict[date, tuple[bool, str]]:
        """Every day of ``year`` that has a name or breaks the weekend rule: day -> (rest,
        name). A weekday missing from the result is a working day, a weekend day a rest day."""
        ...


def _dist_version(dist: str) -> str:
    try:
        return version(dist)
    except PackageNotFoundError:  # pragma: no cover - always installed with the core
        return "?"


class ChineseCalendarSource:
    """Mainland China, from ``chinese_calendar``: holidays and make-up working days (调休)."""

    def __init__(self) -> None:
        self.name = f"chinese_calendar {_dist_version('chinesecalendar')}"
        self._covered: dict[int, bool] = {}

    def covers(self, year: int) -> bool:
        known = self._covered.get(year)
        if known is None:
            import chinese_calendar  # type: ignore[import-untyped]

            try:
                chinese_calendar.is_workday(date(year, 6, 1))
                known = True
            except NotImplementedError:  # the library's way of saying "no data for that year"
                known = False
            self._covered[year] = known
        return known

    def named_days(self, year: int) -> dict[date, tuple[bool, str]]:
        import chinese_calendar

        out: dict[date, tuple[bool, str]] = {}
        for day in _days_of(year):
            rest = not chinese_calendar.is_workday(day)
            _, name = chinese_calendar.get_holiday_detail(day)
            if name or rest != (day.weekday() in WEEKEND):
                out[day] = (rest, str(name or ""))
        return out


class HolidaysLibSource:
    """Public holidays from the ``holidays`` package (no make-up working days)."""

    def __init__(self, country: str, subdiv: str | None = None) -> None:
        import holidays

        self.country = country
        self.subdiv = subdiv
        probe = holidays.country_holidays(country, subdiv=subdiv)
        self._first = int(probe.start_year)
        self._last = int(probe.end_year)
        where = f"{country}-{subdiv}" if subdiv else country
        self.name = f"holidays {_dist_version('holidays')} ({where})"

    def covers(self, year: int) -> bool:
        return self._first <= year <= self._last

    def named_days(self, year: int) -> dict[date, tuple[bool, str]]:
        import holidays

        # ask for the neighbours too: a holiday observed on 31 December belongs to next year
        table = holidays.country_holidays(self.country, subdiv=self.subdiv,
                                          years=(year - 1, year, year + 1))
        return {d: (True, str(name)) for d, name in table.items() if d.year == year}


@dataclass(frozen=True)
class SiteYear:
    """One year's official arrangement, loaded from a site calendar file."""

    calendar: str
    year: int
    status: Literal["official", "illustrative"]
    source: str
    holidays: Mapping[date, str]
    workdays: Mapping[date, str]
    path: str

    @property
    def official(self) -> bool:
        return self.status == "official"


@dataclass
class _Year:
    start: int  # ordinal of 1 January
    rest: bytearray
    provisional: bytearray
    names: dict[int, str]
    basis: str


class WorkCalendar:
    """Rest days and working days of one jurisdiction, year by year (tables built lazily).

    :param fixed_holidays: ``(month, day, name, first year)`` of the holidays whose Gregorian
        date is fixed by law (first year 0: always); with the weekend, they are all a
        provisional year knows.
    """

    def __init__(self, id: str, title_en: str, title_zh: str, source: HolidaySource | None,
                 fixed_holidays: Iterable[tuple[int, int, str, int]] = ()) -> None:
        self.id = id
        self.title_en = title_en
        self.title_zh = title_zh
        self.source = source
        self.fixed_holidays = tuple(fixed_holidays)
        self.version = 0
        self._years: dict[int, _Year] = {}
        self._site_years: dict[int, SiteYear] = {}

    # -- queries (hot path: keep them lean) -------------------------------------------------

    def _table(self, year: int) -> _Year:
        table = self._years.get(year)
        if table is None:
            table = self._years[year] = self._build(year)
        return table

    def is_rest_day(self, day: date) -> bool:
        """Weekend or public holiday, and not a make-up working day (调休)."""
        t = self._table(day.year)
        return bool(t.rest[day.toordinal() - t.start])

    def is_working_day(self, day: date) -> bool:
        return not self.is_rest_day(day)

    def is_provisional(self, day: date) -> bool:
        """True when no official source covers ``day``: its status is an assumption."""
        t = self._table(day.year)
        return bool(t.provisional[day.toordinal() - t.start])

    def info(self, day: date) -> DayInfo:
        t = self._table(day.year)
        i = day.toordinal() - t.start
        return DayInfo(day, bool(t.rest[i]), bool(t.provisional[i]), t.names.get(i), t.basis)

    def basis(self, year: int) -> str:
        """Where ``year``'s days come from, in words."""
        return self._table(year).basis

    def next_working_day(self, day: date) -> date:
        """``day`` itself if it is a working day, else the first working day after it."""
        while self.is_rest_day(day):
            day += timedelta(days=1)
        return day

    def site_years(self) -> list[SiteYear]:
        return [self._site_years[y] for y in sorted(self._site_years)]

    # -- loading ------------------------------------------------------------------------------

    def load(self, site: SiteYear) -> None:
        """Use a site file's arrangement for its year (it replaces the library's data)."""
        if site.calendar != self.id:
            raise ConfigError(
                f"{site.path}: the file is for calendar {site.calendar!r}, not {self.id!r}",
                f"{site.path}：该文件属于日历 {site.calendar!r}，不是 {self.id!r}",
            )
        self._site_years[site.year] = site
        self._years.clear()
        self.version += 1

    def _build(self, year: int) -> _Year:
        start = date(year, 1, 1).toordinal()
        length = date(year + 1, 1, 1).toordinal() - start
        rest = bytearray(1 if date.fromordinal(start + i).weekday() in WEEKEND else 0
                         for i in range(length))
        names: dict[int, str] = {}
        site = self._site_years.get(year)
        if site is not None:
            provisional = not site.official
            basis = f"site calendar file {site.path} ({site.status})"
        elif self.source is not None and self.source.covers(year):
            provisional = False
            basis = self.source.name
            for day, (is_rest, name) in self.source.named_days(year).items():
                i = day.toordinal() - start
                rest[i] = 1 if is_rest else 0
                if name:
                    names[i] = name
        else:
            provisional = True
            fixed_days = [(m, d, name) for m, d, name, first in self.fixed_holidays
                          if year >= first]
            fixed = ", ".join(f"{m:02d}-{d:02d}" for m, d, _ in fixed_days) or "none"
            basis = (f"provisional: no official {year} calendar loaded; weekends and "
                     f"fixed-date holidays ({fixed}) only")
            for month, dom, name in fixed_days:
                i = date(year, month, dom).toordinal() - start
                rest[i] = 1
                names[i] = name
        flags = bytearray([1 if provisional else 0]) * length
        # entries of every loaded file that fall in this year (a notice may reach into the
        # neighbouring year, e.g. New Year 2023 began on 31 December 2022)
        for other in self._site_years.values():
            for days, flag in ((other.holidays, 1), (other.workdays, 0)):
                for day, name in days.items():
                    if day.year == year:
                        i = day.toordinal() - start
                        rest[i] = flag
                        names[i] = name
                        flags[i] = 0 if other.official else 1
        return _Year(start, rest, flags, names, basis)


def _days_of(year: int) -> Iterator[date]:
    day, end = date(year, 1, 1), date(year + 1, 1, 1)
    while day < end:
        yield day
        day += timedelta(days=1)


# -- the built-in calendars ---------------------------------------------------------------------

#: China's holidays with a fixed Gregorian date (国务院《全国年节及纪念日放假办法》): New Year's
#: Day, Labour Day (1 May; 2 May too since the 2024 amendment, in force 2025), National Day
#: 1-3 October. The lunar ones (Spring Festival, Qingming, Dragon Boat, Mid-autumn) cannot
#: be assumed.
CN_FIXED_HOLIDAYS = (
    (1, 1, "元旦 New Year's Day", 0), (5, 1, "劳动节 Labour Day", 0),
    (5, 2, "劳动节 Labour Day", 2025),
    (10, 1, "国庆节 National Day", 0), (10, 2, "国庆节 National Day", 0),
    (10, 3, "国庆节 National Day", 0),
)
GB_FIXED_HOLIDAYS = ((1, 1, "New Year's Day", 0), (12, 25, "Christmas Day", 0),
                     (12, 26, "Boxing Day", 0))
US_FIXED_HOLIDAYS = ((1, 1, "New Year's Day", 0), (6, 19, "Juneteenth", 2021),
                     (7, 4, "Independence Day", 0), (11, 11, "Veterans Day", 0),
                     (12, 25, "Christmas Day", 0))

_BUILTIN: dict[str, Callable[[], WorkCalendar]] = {
    "CN": lambda: WorkCalendar(
        "CN", "Mainland China (State Council holiday arrangements)", "中国大陆（国务院节假日安排）",
        ChineseCalendarSource(), CN_FIXED_HOLIDAYS),
    "GB-EAW": lambda: WorkCalendar(
        "GB-EAW", "England and Wales bank holidays", "英格兰及威尔士银行假日",
        HolidaysLibSource("GB", "ENG"), GB_FIXED_HOLIDAYS),
    "US": lambda: WorkCalendar(
        "US", "United States federal holidays", "美国联邦假日",
        HolidaysLibSource("US"), US_FIXED_HOLIDAYS),
}


class Calendars:
    """The calendars a deployment uses, by id, plus the site files loaded into them.

    >>> cals = Calendars()                       # CN, GB-EAW, US
    >>> cals.load_file("cn-2027.json")           # the State Council's 2027 arrangement
    """

    def __init__(self, calendars: Iterable[WorkCalendar] = ()) -> None:
        self._cals: dict[str, WorkCalendar] = {c.id: c for c in calendars}

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Calendars:
        """Built-in calendars plus every ``*.json`` file in ``$HC_CALENDAR_DIR`` (if set),
        as the settings loader reads it."""
        from ..settings import Settings

        cals = cls()
        directory = Settings.load(environ).sla.calendar_dir
        if directory:
            cals.load_dir(str(directory))
        return cals

    def ids(self) -> list[str]:
        return sorted(set(self._cals) | set(_BUILTIN))

    def get(self, calendar_id: str) -> WorkCalendar:
        cal = self._cals.get(calendar_id)
        if cal is None:
            factory = _BUILTIN.get(calendar_id)
            if factory is None:
                known = ", ".join(self.ids())
                raise ConfigError(
                    f"unknown working-day calendar {calendar_id!r}; known: {known}",
                    f"未知的工作日日历 {calendar_id!r}；可用：{known}",
                )
            cal = self._cals[calendar_id] = factory()
        return cal

    def add(self, calendar: WorkCalendar) -> None:
        """Add or replace a calendar (a site's own, or one for another country)."""
        self._cals[calendar.id] = calendar

    @property
    def version(self) -> int:
        """Changes whenever a file is loaded: caches of computed deadlines compare it."""
        return sum(c.version for c in self._cals.values())

    def load_file(self, path: str | os.PathLike[str]) -> SiteYear:
        site = read_calendar_file(path)
        self.get(site.calendar).load(site)
        return site

    def load_dir(self, directory: str | os.PathLike[str]) -> list[SiteYear]:
        folder = Path(directory)
        if not folder.is_dir():
            raise ConfigError(
                f"{CALENDAR_DIR_ENV}={directory!s} is not a directory of calendar files",
                f"{CALENDAR_DIR_ENV}={directory!s} 不是日历文件目录",
            )
        return [self.load_file(p) for p in sorted(folder.glob("*.json"))]


# -- site calendar files ------------------------------------------------------------------------

_TOP_KEYS = {"format", "calendar", "year", "status", "source", "note", "holidays", "workdays"}
_REQUIRED = {"calendar", "year", "status", "source", "holidays", "workdays"}


def read_calendar_file(path: str | os.PathLike[str]) -> SiteYear:
    """Read and check one site calendar file. Every problem found is listed in one error."""
    where = str(path)
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read calendar file {where}: {exc.strerror or exc}",
                          f"无法读取日历文件 {where}") from exc
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"calendar file {where} is not valid JSON: {exc.msg} at line {exc.lineno}",
            f"日历文件 {where} 不是有效的 JSON：第 {exc.lineno} 行",
        ) from exc
    return parse_calendar_data(data, where)


def parse_calendar_data(data: Any, where: str = "<calendar>") -> SiteYear:
    problems: list[str] = []
    if not isinstance(data, dict):
        _fail(where, ["the file must hold one JSON object"])
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        problems.append(f"unknown keys {unknown}; allowed: {sorted(_TOP_KEYS)}")
    missing = sorted(_REQUIRED - set(data))
    if missing:
        problems.append(f"missing keys {missing}")
    if "format" in data and data["format"] != FILE_FORMAT:
        problems.append(f"format is {data['format']!r}; expected {FILE_FORMAT!r}")
    year = data.get("year")
    if not isinstance(year, int) or not 1900 <= year <= 2200:
        problems.append(f"year: got {year!r}; expected a year such as 2027")
        year = None
    status = data.get("status")
    if status not in ("official", "illustrative"):
        problems.append(f"status: got {status!r}; expected 'official' (transcribed from the "
                        "published notice) or 'illustrative'")
    calendar = data.get("calendar")
    if not isinstance(calendar, str) or not calendar:
        problems.append(f"calendar: got {calendar!r}; expected a calendar id such as 'CN'")
    source = data.get("source")
    if not isinstance(source, str) or not source.strip():
        problems.append("source: name the official notice the days were transcribed from")
    holidays = _holiday_entries(data.get("holidays"), year, problems)
    workdays = _workday_entries(data.get("workdays"), year, problems)
    for day in sorted(set(holidays) & set(workdays)):
        problems.append(f"{day} is listed both as a holiday and as a make-up working day")
    if problems:
        _fail(where, problems)
    assert isinstance(year, int) and isinstance(calendar, str) and isinstance(source, str)
    assert status in ("official", "illustrative")
    return SiteYear(calendar, year, status, source, holidays, workdays, where)


def _fail(where: str, problems: list[str]) -> NoReturn:
    lines = "\n".join(f"  - {p}" for p in problems)
    raise ConfigError(f"calendar file {where} is not valid:\n{lines}",
                      f"日历文件 {where} 有误（共 {len(problems)} 处，见上方英文说明）")


def _near(day: date, year: int | None) -> bool:
    """A notice for ``year`` may include a few days of the neighbouring years."""
    if year is None:
        return True
    return date(year - 1, 12, 1) <= day <= date(year + 1, 1, 31)


def _date(value: Any, what: str, problems: list[str]) -> date | None:
    if not isinstance(value, str):
        problems.append(f"{what}: got {value!r}; expected a date written YYYY-MM-DD")
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        problems.append(f"{what}: {value!r} is not a date written YYYY-MM-DD")
        return None


def _entries(value: Any, key: str, allowed: set[str], problems: list[str]
             ) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        problems.append(f"{key}: expected a list")
        return []
    good = []
    for n, item in enumerate(value, 1):
        if not isinstance(item, dict):
            problems.append(f"{key}[{n}]: expected an object")
            continue
        extra = sorted(set(item) - allowed)
        if extra:
            problems.append(f"{key}[{n}]: unknown keys {extra}; allowed: {sorted(allowed)}")
        name = item.get("name")
        if not isinstance(name, str) or not name.strip():
            problems.append(f"{key}[{n}]: give the day a name (e.g. '春节 Spring Festival')")
        good.append(item)
    return good


def _holiday_entries(value: Any, year: int | None, problems: list[str]) -> dict[date, str]:
    out: dict[date, str] = {}
    for n, item in enumerate(_entries(value, "holidays", {"name", "from", "to"}, problems), 1):
        first = _date(item.get("from"), f"holidays[{n}].from", problems)
        last = _date(item.get("to", item.get("from")), f"holidays[{n}].to", problems)
        if first is None or last is None:
            continue
        if not first <= last <= first + timedelta(days=31):
            problems.append(f"holidays[{n}]: from {first} to {last} is not a range of at most "
                            "32 days")
            continue
        if not (_near(first, year) and _near(last, year)):
            problems.append(f"holidays[{n}]: {first}..{last} is outside year {year}")
            continue
        day = first
        while day <= last:
            out[day] = str(item.get("name", ""))
            day += timedelta(days=1)
    return out


def _workday_entries(value: Any, year: int | None, problems: list[str]) -> dict[date, str]:
    out: dict[date, str] = {}
    for n, item in enumerate(_entries(value, "workdays", {"name", "date"}, problems), 1):
        day = _date(item.get("date"), f"workdays[{n}].date", problems)
        if day is None:
            continue
        if day.weekday() not in WEEKEND:
            problems.append(f"workdays[{n}]: {day} is a {day.strftime('%A')}; a make-up working "
                            "day (调休) is a Saturday or Sunday")
        elif not _near(day, year):
            problems.append(f"workdays[{n}]: {day} is outside year {year}")
        else:
            out[day] = str(item.get("name", ""))
    return out


__all__ = [
    "CALENDAR_DIR_ENV", "CN_FIXED_HOLIDAYS", "FILE_FORMAT", "Calendars",
    "ChineseCalendarSource", "DayInfo", "HolidaySource", "HolidaysLibSource", "SiteYear",
    "WorkCalendar", "parse_calendar_data", "read_calendar_file",
]

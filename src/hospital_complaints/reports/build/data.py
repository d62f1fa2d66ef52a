"""What a report definition gets: the request, and read-only access to the data.

A :class:`ReportDefinition` (registered through ``hc_register_reports``) builds a
:class:`~.model.Report` from a :class:`ReportData` (``App.reports`` is one) and a
:class:`ReportRequest`. :func:`breakdown` makes the usual table: one row per item, this
month, the previous month, the change and one column per month of the trend.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Protocol, runtime_checkable
from zoneinfo import ZoneInfo

from .facts import CaseFact
from .followup import FollowUpSource
from .model import Bi, Chart, Column, ColumnKind, Report, Table, Value
from .period import Month

if TYPE_CHECKING:
    from ...sla import Calendars, SlaPolicy
    from .config import ReportSettings
    from .imaging import ImagingFigures


class Looker(Protocol):
    """Who looks at a report (``plugins.types.Viewer``): only the roles matter here."""

    @property
    def roles(self) -> frozenset[str]: ...


@dataclass(frozen=True, slots=True)
class ReportRequest:
    """``month``: the report's (last) month; ``department``: an id, name or alias (the
    department and its units), ``None`` for the whole hospital; ``viewer``: who looks (roles
    decide whether staff names show); ``months``: months covered, ending with ``month``."""

    month: Month
    department: str | None = None
    viewer: Looker | None = None
    months: int = 1

    @property
    def covered(self) -> tuple[Month, ...]:
        return self.month.trend(max(1, self.months))

    @property
    def period(self) -> str:
        covered = self.covered
        return str(self.month) if len(covered) == 1 else f"{covered[0]}..{covered[-1]}"


@dataclass(frozen=True, slots=True)
class Unit:
    """A department as reports name it: its registry id and zh/en name."""

    id: str
    name: Bi


@dataclass(frozen=True, slots=True)
class PlatformRates:
    """One unit's hotline work orders as the platform counts the three rates (the work-order
    profiles' definitions, ``hc sla metrics``): shares are ``None`` without a denominator."""

    unit: str | None
    dispatched: int
    signed_in_time: int
    called_back: int
    resolved: int
    satisfied: int
    basically_satisfied: int
    dissatisfied: int
    response: float | None
    resolution: float | None
    satisfaction: float | None
    score: float | None


@dataclass(frozen=True, slots=True)
class PlatformRatesResult:
    rows: tuple[PlatformRates, ...]
    #: the definitions in force, as ``hc sla metrics`` writes them
    definitions: tuple[Bi, ...]


#: the unit of a case with no department
NO_UNIT = Unit("(unassigned)", Bi("未指定科室", "no department"))


class ReportData(Protocol):
    """Read-only data for report definitions (``App.reports`` implements it)."""

    @property
    def tz(self) -> ZoneInfo: ...

    @property
    def now(self) -> datetime: ...

    @property
    def settings(self) -> ReportSettings: ...

    @property
    def policy_spec(self) -> str: ...

    def policy(self) -> SlaPolicy: ...

    def calendars(self) -> Calendars: ...

    def facts(self, start: datetime, end: datetime, as_of: datetime) -> list[CaseFact]:
        """Cases received before ``end`` and received at or after ``start`` or not finished
        before ``start``, as they stood at ``as_of`` (no identity)."""
        ...

    def unit(self, department: str | None) -> Unit: ...

    def scope(self, department: str | None) -> tuple[Bi, Callable[[str | None], bool]]:
        """The zh/en name of ``department`` and a test: is a case's department within it."""
        ...

    def follow_up_sources(self) -> Sequence[FollowUpSource]: ...

    def platform_rates(self, start: date, end: date) -> PlatformRatesResult:
        """Hotline work orders dispatched from ``start`` to ``end`` (inclusive, local days):
        the three rates per unit as the platform counts them."""
        ...

    def imaging(self, months: Sequence[Month], request: ReportRequest) -> ImagingFigures | None:
        """Exam figures of ``months`` (the last is the report's); ``None`` without exams."""
        ...


@runtime_checkable
class ReportDefinition(Protocol):
    id: str
    title: Bi
    description: Bi

    def build(self, data: ReportData, request: ReportRequest) -> Report: ...


# -- the usual table ---------------------------------------------------------------------------

CURRENT = Bi("本月", "this month")
PREVIOUS = Bi("上月", "previous month")
CHANGE = Bi("环比变化", "change")


def change(current: Value, previous: Value) -> Value:
    if isinstance(current, bool) or isinstance(previous, bool):
        return None
    if isinstance(current, (int, float)) and isinstance(previous, (int, float)):
        return current - previous
    return None


def breakdown(table_id: str, title: Bi, key_title: Bi, months: Sequence[Month],
              rows: Sequence[tuple[str, Sequence[Value]]], *, kind: ColumnKind = "int",
              extra: Sequence[Column] = (), extra_values: Sequence[Sequence[Value]] = (),
              notes: Sequence[Bi] = (), chart: Chart | None = None) -> Table:
    """A table with one row per ``(label, values per month)``: the label, this month (the
    last of ``months``), the previous month, the change, ``extra`` columns (their values
    per row in ``extra_values``), then one column per month (``group="trend"``)."""
    columns = [Column("key", key_title, "text"), Column("current", CURRENT, kind),
               Column("previous", PREVIOUS, kind), Column("change", CHANGE, kind), *extra]
    columns += [Column(f"m{m}", Bi(str(m), str(m)), kind, "trend") for m in months]
    out = []
    for i, (label_text, values) in enumerate(rows):
        values = list(values)
        if len(values) != len(months):
            raise ValueError(f"table {table_id}: row {label_text!r} has {len(values)} values "
                             f"for {len(months)} months")
        current = values[-1]
        previous = values[-2] if len(values) > 1 else None
        more = list(extra_values[i]) if extra else []
        out.append((label_text, current, previous, change(current, previous), *more, *values))
    return Table(table_id, title, tuple(columns), tuple(out), tuple(notes), chart)


def report_notes(as_of: datetime) -> tuple[Bi, ...]:
    """The notes every report built from case facts carries."""
    at = as_of.isoformat(timespec="minutes")
    return (Bi("本报告不含投诉人及患者的身份信息。",
               "This report holds no complainant's or patient's identity."),
            Bi(f"统计截至 {at}；趋势各月按同一时点的记录重新统计。",
               f"Counted as the records stood at {at}; trend months are recounted from the "
               "same records."))


def as_of(data: ReportData, month: Month) -> datetime:
    """The report's instant: the end of ``month``, or now while it runs."""
    return min(month.end(data.tz), data.now.astimezone(data.tz))

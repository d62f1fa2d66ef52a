"""``App.reports``: the registered reports, built from the application's data, written in
any format.

>>> report = app.reports.build("monthly", ReportRequest(Month.parse("2026-11")))  # doctest: +SKIP
>>> app.reports.write(report, "xlsx", Path("2026-11.xlsx"))                       # doctest: +SKIP

The service is also the :class:`~.build.data.ReportData` report definitions read: case facts
(no identity), units, the SLA policy, follow-up sources and imaging figures.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from ..clock import zone
from ..domain.departments import normalise
from ..errors import FieldProblem, InvalidInput
from ..plugins.types import Viewer
from .build.config import SETTINGS_ID, ReportSettings
from .build.data import (
    PlatformRates,
    PlatformRatesResult,
    ReportDefinition,
    ReportRequest,
    Unit,
)
from .build.facts import CaseFact, fact_from_case
from .build.followup import FollowUpSource
from .build.imaging import ImagingFigures
from .build.model import Bi, Report
from .build.period import Month
from .render import FORMATS, write_report

if TYPE_CHECKING:
    from ..app import App
    from ..sla import Calendars, SlaPolicy


class ReportService:
    def __init__(self, app: App) -> None:
        self.app = app

    # -- the registry ----------------------------------------------------------------------

    @cached_property
    def definitions(self) -> dict[str, ReportDefinition]:
        """Every report plugins registered (``hc_register_reports``), by id."""
        return dict(sorted(self.app.plugins.reports(self.app).items()))

    def definition(self, report_id: str) -> ReportDefinition:
        found = self.definitions.get(report_id)
        if found is None:
            known = ", ".join(self.definitions) or "none (is default_reports disabled?)"
            raise InvalidInput("report", [FieldProblem("report", report_id, f"one of: {known}")],
                               [f"  - report：未知报表 {report_id!r}；可用：{known}"])
        return found

    # -- use cases -------------------------------------------------------------------------

    def build(self, report_id: str, request: ReportRequest) -> Report:
        """Build one registered report."""
        return self.definition(report_id).build(self, request)

    def monthly(self, month: str | Month, department: str | None = None,
                viewer: Viewer | None = None) -> Report:
        """The monthly report (月报) of ``month`` (``"2026-11"``)."""
        m = month if isinstance(month, Month) else Month.parse(month)
        return self.build("monthly", ReportRequest(m, department, viewer))

    def write(self, report: Report, fmt: str, out: Path) -> Path:
        """Write ``report`` as ``fmt`` (html, pdf, xlsx, csv, json) to ``out``: completely or
        not at all (a temporary file renamed at the end)."""
        return write_report(report, fmt, out, chromium=self.settings.chromium)

    @staticmethod
    def formats() -> tuple[str, ...]:
        return FORMATS

    # -- ReportData ------------------------------------------------------------------------

    @property
    def tz(self) -> ZoneInfo:
        return zone(self.app.settings.timezone)

    @property
    def now(self) -> datetime:
        return self.app.clock.now()

    @cached_property
    def settings(self) -> ReportSettings:
        """The ``reports`` settings section (declared by ``default_reports``)."""
        found = self.app.plugin_config(SETTINGS_ID)
        if isinstance(found, ReportSettings):
            return found
        return ReportSettings.model_validate(found or {})

    @property
    def policy_spec(self) -> str:
        return self.app.deadlines.default_spec

    def policy(self) -> SlaPolicy:
        return self.app.deadlines.policy()

    def calendars(self) -> Calendars:
        return self.app.deadlines.calendars

    def facts(self, start: datetime, end: datetime, as_of: datetime) -> list[CaseFact]:
        if self.app.in_memory:
            out = []
            for case in self.app.complaints.iter_cases():
                f = fact_from_case(case, as_of)
                if f.received_at < end and (f.received_at >= start or f.finished_at is None
                                            or f.finished_at >= start):
                    out.append(f)
            return out
        from .readers import read_facts

        return read_facts(self.app.store, start, end, as_of)

    def unit(self, department: str | None) -> Unit:
        found = self.app.departments.resolve(department)
        if found is not None:
            return Unit(found.id, Bi(found.zh, found.en))
        text = department or ""
        return Unit(normalise(text), Bi(text, text))

    def scope(self, department: str | None) -> tuple[Bi, Callable[[str | None], bool]]:
        if department is None:
            return Bi("全院", "whole hospital"), lambda _name: True
        found = self.app.departments.resolve(department)
        if found is None:
            key = normalise(department)
            if not key:
                raise InvalidInput("report", [FieldProblem(
                    "department", department, "a department id or name, e.g. imaging")],
                    ["  - department：请填写科室标识或名称，例如 imaging"])
            return Bi(department, department), lambda name: name is not None and \
                normalise(name) == key
        registry = self.app.departments
        return (Bi(found.zh, found.en),
                lambda name: registry.same_or_within(name, found.id))

    def follow_up_sources(self) -> Sequence[FollowUpSource]:
        collect = getattr(self.app.plugins, "follow_up_sources", None)
        return list(collect(self.app).values()) if collect is not None else []

    def platform_rates(self, start: date, end: date) -> PlatformRatesResult:
        service = self.app.workorders
        d = service.definitions
        rows = []
        for u in service.rates(start, end):
            r = u.rates(d)
            rows.append(PlatformRates(
                None if u.unit == "-" else u.unit, u.dispatched, u.signed_in_time,
                u.called_back, u.resolved, u.satisfied, u.basically_satisfied,
                u.dissatisfied, r["response"], r["resolution"], r["satisfaction"],
                r["score"]))
        return PlatformRatesResult(tuple(rows), tuple(
            Bi(zh, en) for zh, en in zip(d.text("zh"), d.text("en"), strict=True)))

    def imaging(self, months: Sequence[Month], request: ReportRequest) -> ImagingFigures | None:
        if self.app.in_memory:
            return None
        from .readers import imaging_figures

        roles = set(request.viewer.roles) if request.viewer else set()
        named = bool(roles & set(self.settings.staff_name_roles))
        return imaging_figures(self.app.store, months, self.tz, self.app.imaging.targets,
                               named)


def describe(definitions: dict[str, ReportDefinition]) -> list[dict[str, Any]]:
    """What ``report list`` prints."""
    return [{"id": d.id, "title": d.title.to_json(), "description": d.description.to_json()}
            for d in definitions.values()]

"""Built-in reports: the monthly report (月报), the NHS KO41(a) return, the hotline's monthly
work-order report; and the ``reports`` settings section (rate definitions, Chromium for PDF,
the KO41(a) mapping file)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from .. import hookimpl

if TYPE_CHECKING:
    from ...reports.build.data import ReportDefinition
    from ...settings import PluginSettings


@hookimpl
def hc_register_reports(register: Callable[[ReportDefinition], None]) -> None:
    from ...reports.build.monthly import MonthlyReport
    from ...reports.build.returns import HotlineMonthly, Ko41a

    register(MonthlyReport())
    register(Ko41a())
    register(HotlineMonthly())


@hookimpl
def hc_register_settings(register: Callable[[PluginSettings], None]) -> None:
    from ...reports.build.config import ENV, SETTINGS_ID, ReportSettings
    from ...settings import PluginSettings

    register(PluginSettings(id=SETTINGS_ID, model=ReportSettings, env=ENV,
                            description="reports: rate definitions, PDF, KO41(a) mapping"))

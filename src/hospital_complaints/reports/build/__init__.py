"""The pure part of the reports: the document model, months, case facts, the built-in report
definitions. Nothing here reads storage; :mod:`..service` hands a :class:`ReportData` in.

The names below are imported on first use, so that a plugin reading only the settings model
(``reports.build.config``) does not load the whole package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...lazy import lazy_exports

if TYPE_CHECKING:
    from .data import ReportData, ReportDefinition, ReportRequest, Unit, breakdown
    from .facts import CaseFact
    from .followup import FollowUpResult, FollowUpSource
    from .model import Bi, Chart, Column, ReferenceLine, Report, Section, Series, Table, Value
    from .period import Month

_WHERE = {
    "ReportData": ".data", "ReportDefinition": ".data", "ReportRequest": ".data",
    "Unit": ".data", "breakdown": ".data", "CaseFact": ".facts",
    "FollowUpResult": ".followup", "FollowUpSource": ".followup", "Bi": ".model",
    "Chart": ".model", "Column": ".model", "ReferenceLine": ".model", "Report": ".model",
    "Section": ".model", "Series": ".model", "Table": ".model", "Value": ".model",
    "Month": ".period",
}


__getattr__, __dir__ = lazy_exports(__name__, {n: (m, n) for n, m in _WHERE.items()},
                                   globals())

__all__ = ["Bi", "CaseFact", "Chart", "Column", "FollowUpResult", "FollowUpSource", "Month",
           "ReferenceLine", "Report", "ReportData", "ReportDefinition", "ReportRequest",
           "Section", "Series", "Table", "Unit", "Value", "breakdown"]

"""The pure part of the reports: the document model, months, case facts, the built-in report
definitions. Nothing here reads storage; :mod:`..service` hands a :class:`ReportData` in.

The names below are imported on first use, so that a plugin reading only the settings model
(``reports.build.config``) does not load the whole package.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

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


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(where, __name__), name)
    globals()[name] = value
    return value


__all__ = ["Bi", "CaseFact", "Chart", "Column", "FollowUpResult", "FollowUpSource", "Month",
           "ReferenceLine", "Report", "ReportData", "ReportDefinition", "ReportRequest",
           "Section", "Series", "Table", "Unit", "Value", "breakdown"]

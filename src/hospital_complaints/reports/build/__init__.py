"""The pure part of the reports: the document model, months, case facts, the built-in report
definitions. Nothing here reads storage; :mod:`..service` hands a :class:`ReportData` in."""

from __future__ import annotations

from .data import ReportData, ReportDefinition, ReportRequest, Unit, breakdown
from .facts import CaseFact
from .followup import FollowUpResult, FollowUpSource
from .model import Bi, Chart, Column, ReferenceLine, Report, Section, Series, Table, Value
from .period import Month

__all__ = ["Bi", "CaseFact", "Chart", "Column", "FollowUpResult", "FollowUpSource", "Month",
           "ReferenceLine", "Report", "ReportData", "ReportDefinition", "ReportRequest",
           "Section", "Series", "Table", "Unit", "Value", "breakdown"]

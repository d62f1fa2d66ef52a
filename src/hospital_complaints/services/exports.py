"""Export use cases (``app.exports``): every registered format, streamed case by case, masked
unless the caller holds audited reveal grants."""

from __future__ import annotations

from typing import IO, TYPE_CHECKING

from ..errors import FieldProblem, InvalidInput
from ..plugins.types import Exporter

if TYPE_CHECKING:
    from ..app import App
    from .service import CaseFilter


class ExportService:
    def __init__(self, app: App) -> None:
        self.app = app

    def formats(self) -> dict[str, Exporter]:
        """Exporters by id (``hc_register_exporters``): jsonl, csv, fhir-r4, ..."""
        return self.app.plugins.exporters(self.app)

    def export(self, fmt: str, out: IO[str], filters: CaseFilter | None = None) -> int:
        """Write the cases (all, or those ``filters`` selects) in format ``fmt``; returns
        how many. Cases are read and written one at a time: nothing is buffered whole."""
        exporters = self.formats()
        if fmt not in exporters:
            raise InvalidInput("export", [FieldProblem(
                "--format", fmt, f"one of: {', '.join(sorted(exporters))}")],
                [f"  - --format：未知导出格式 {fmt!r}；可用：{', '.join(sorted(exporters))}"])
        cases = self.app.complaints.iter_cases(filters=filters)
        return exporters[fmt].export(cases, out)

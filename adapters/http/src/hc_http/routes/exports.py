"""Exports: every registered format (``jsonl`` as NDJSON, ``csv``, plugins' formats), streamed
case by case while the exporter writes, never buffered whole. Masked, as exporters are."""

from __future__ import annotations

from datetime import date
from typing import IO, Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import StreamingResponse
from hospital_complaints.plugin_api import (
    CaseFilter,
    CaseState,
    Category,
    Channel,
    ComplaintKind,
    Exporter,
)
from starlette.responses import Response

from ..auth import Principal
from ..deps import context, principal
from ..problems import Problem
from ..schemas import ExportFormat, ExportFormats
from ..streaming import ExportStream
from .common import AUTHENTICATED, problems

Caller = Annotated[Principal, Depends(principal)]

NDJSON = "application/x-ndjson"
CSV = "text/csv; charset=utf-8"
OTHER = "application/octet-stream"


def media_type(exporter: Exporter) -> str:
    text = f"{exporter.id} {exporter.description}".lower()
    if exporter.id == "csv":
        return CSV
    if exporter.id == "jsonl" or "ndjson" in text or "json lines" in text:
        return NDJSON
    return OTHER


def _extension(kind: str) -> str:
    return {NDJSON: "ndjson", CSV: "csv"}.get(kind, "bin")


def build() -> APIRouter:
    router = APIRouter(tags=["exports"])

    @router.get("/v1/exports", response_model=ExportFormats, operation_id="export_formats",
                summary="The export formats", responses=problems(*AUTHENTICATED))
    def formats(request: Request, caller: Caller) -> ExportFormats:
        ctx = context(request)
        caller.require("exports")
        return ExportFormats(formats=[
            ExportFormat(id=e.id, description=e.description, media_type=media_type(e))
            for e in sorted(ctx.app.exports.formats().values(), key=lambda e: e.id)])

    @router.get("/v1/exports/{fmt}", operation_id="export_cases", summary="Export cases",
                response_class=StreamingResponse,
                responses={**problems(*AUTHENTICATED), 200: {
                    "description": "The cases in the format, streamed",
                    "content": {NDJSON: {"schema": {"type": "string"}},
                                "text/csv": {"schema": {"type": "string"}},
                                OTHER: {"schema": {"type": "string", "format": "binary"}}}}})
    def export(
        request: Request, caller: Caller,
        fmt: Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_.-]{0,39}$",
                                 description="jsonl, csv, or a plugin's format (see "
                                             "/v1/exports)")],
        state: Annotated[list[CaseState] | None, Query()] = None,
        open_only: Annotated[bool, Query(alias="open")] = False,
        department: Annotated[str | None, Query(max_length=200)] = None,
        channel: Channel | None = None,
        kind: ComplaintKind | None = None,
        category: Category | None = None,
        received_from: date | None = None,
        received_to: date | None = None,
    ) -> Response:
        """The selected cases (the filters of the listing), identity masked, written as the
        exporter produces them. Scope ``exports``."""
        ctx = context(request)
        caller.require("exports")
        exporters = ctx.app.exports.formats()
        if fmt not in exporters:
            raise Problem("not-found", f"no export format {fmt!r}; the formats are: "
                          f"{', '.join(sorted(exporters))}",
                          f"没有导出格式 {fmt!r}；可用：{', '.join(sorted(exporters))}")
        mine = caller.department_filter()
        if mine is not None and department is not None \
                and not ctx.app.departments.same_or_within(department, mine):
            raise Problem("forbidden", f"this caller exports only cases of department {mine} "
                          "and its units", f"该调用方只能导出科室 {mine} 及其下属单元的案件")
        filters = CaseFilter(
            states=tuple(s.value for s in state or ()), open_only=open_only,
            department=department or mine, channel=channel.value if channel else None,
            kind=kind.value if kind else None, category=category.value if category else None,
            received_from=received_from, received_to=received_to)
        filters.check()  # a bad filter is a 422 before the first byte is sent
        kind_out = media_type(exporters[fmt])

        def write(out: IO[str]) -> None:
            ctx.app.exports.export(fmt, out, filters)

        return StreamingResponse(aiter(ExportStream(write)), media_type=kind_out, headers={
            "Content-Disposition": f'attachment; filename="cases.{_extension(kind_out)}"'})

    return router

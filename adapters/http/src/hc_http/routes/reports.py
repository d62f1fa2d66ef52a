"""Reports: the registered reports (the monthly report, KO41(a), the hotline's monthly
work-order report, a hospital's own) built on request and sent as a file, in any format the
CLI writes. No format carries identity. A department viewer gets its own department's."""

from __future__ import annotations

import tempfile
from pathlib import Path as FilePath
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from hospital_complaints.plugin_api import Month, ReportRequest
from pydantic import BaseModel
from starlette.responses import Response

from ..auth import Principal
from ..deps import context, principal
from ..problems import Problem
from .common import AUTHENTICATED, problems

Caller = Annotated[Principal, Depends(principal)]

MEDIA = {"json": "application/json", "html": "text/html; charset=utf-8",
         "csv": "text/csv; charset=utf-8", "pdf": "application/pdf",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
Format = Literal["json", "html", "csv", "xlsx", "pdf"]


class ReportInfo(BaseModel):
    id: str
    title_zh: str
    title_en: str
    description_en: str


class ReportList(BaseModel):
    reports: list[ReportInfo]
    formats: list[str]


def build() -> APIRouter:
    router = APIRouter(tags=["reports"])

    @router.get("/v1/reports", response_model=ReportList, operation_id="report_list",
                summary="The registered reports", responses=problems(*AUTHENTICATED))
    def listing(request: Request, caller: Caller) -> ReportList:
        """Every report plugins registered, and the formats. Scope ``reports``."""
        ctx = context(request)
        caller.require("reports")
        return ReportList(
            reports=[ReportInfo(id=d.id, title_zh=d.title.zh, title_en=d.title.en,
                                description_en=d.description.en)
                     for d in ctx.app.reports.definitions.values()],
            formats=list(MEDIA))

    @router.get("/v1/reports/{report_id}", operation_id="report_build",
                summary="Build a report", responses={
                    **problems(*AUTHENTICATED), 200: {
                        "description": "The report as a file in the format asked for",
                        "content": {m.split(";")[0]: {"schema": {"type": "string",
                                                                  "format": "binary"}}
                                    for m in MEDIA.values()}}})
    def report(
        request: Request, caller: Caller,
        report_id: Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_.-]{0,39}$",
                                       description="monthly, ko41a, hotline-monthly, or a "
                                                   "hospital's own (see /v1/reports)")],
        month: Annotated[str, Query(min_length=6, max_length=7, pattern=r"^\d{4}-\d{1,2}$",
                                    description="the (last) month, YYYY-MM, in HC_TIMEZONE")],
        fmt: Annotated[Format, Query(alias="format")] = "json",
        department: Annotated[str | None, Query(max_length=200, description=(
            "only this department and its units (id, name or alias)"))] = None,
        months: Annotated[int, Query(ge=1, le=24, description=(
            "months covered, ending with month (a KO41(a) quarter: 3)"))] = 1,
    ) -> Response:
        """The report, built from the records as they stand, as a file. Scope ``reports``;
        a viewer with a department role gets that department (and its units) only."""
        ctx = context(request)
        caller.require("reports")
        definitions = ctx.app.reports.definitions
        if report_id not in definitions:
            known = ", ".join(definitions) or "none"
            raise Problem("not-found", f"no report {report_id!r}; the reports are: {known}",
                          f"没有报表 {report_id!r}；可用：{known}")
        mine = caller.department_filter()
        if mine is not None and department is not None \
                and not ctx.app.departments.same_or_within(department, mine):
            raise Problem("forbidden", f"this caller sees reports of department {mine} and "
                          "its units only", f"该调用方只能查看科室 {mine} 及其下属单元的报表")
        wanted = ReportRequest(Month.parse(month, "month"), department or mine, caller.viewer,
                               months)
        built = ctx.app.reports.build(report_id, wanted)
        with tempfile.TemporaryDirectory(prefix="hc-report-") as folder:
            out = ctx.app.reports.write(built, fmt, FilePath(folder) / f"report.{fmt}")
            body = out.read_bytes()
        name = f"{report_id}-{built.period.replace('..', '_')}.{fmt}"
        headers = {"Content-Disposition": f'attachment; filename="{name}"'}
        if fmt == "html":  # the page's own policy, also as a header: it may fetch nothing
            headers["Content-Security-Policy"] = \
                "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
        return Response(body, media_type=MEDIA[fmt], headers=headers)

    return router

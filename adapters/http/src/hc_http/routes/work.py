"""Deadlines (a case's, the sweep's due-soon and overdue lists) and imaging (exam
suggestions, evidence packs and accepting them, exams, department summaries)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from hospital_complaints.plugin_api import (
    DepartmentSummary,
    EvidencePack,
    NotFound,
    masked_event,
    parse,
    summarize,
)
from pydantic import AwareDatetime

from ..auth import Principal, load_case
from ..bodies import InputSchemas, json_body
from ..context import HttpContext
from ..deps import context, etag, expected_version, principal
from ..problems import invalid
from ..schemas import (
    AcceptEvidence,
    CaseDeadlines,
    DeadlineView,
    EventsResult,
    ExamSuggestions,
    ExamSuggestionView,
    ExamTimeline,
    ExamView,
    SweepItemView,
    SweepList,
    TimelineEntryView,
    exam_view,
)
from .common import AUTHENTICATED, IfMatch, Reference, problems, with_etag

Caller = Annotated[Principal, Depends(principal)]
Accession = Annotated[str, Path(min_length=1, max_length=200,
                                description="the RIS accession number")]
At = Annotated[AwareDatetime | None, Query(description=(
    "the instant to evaluate at, with its offset (2026-11-24T09:00:00+08:00); default now"))]


def build(inputs: InputSchemas) -> APIRouter:
    router = APIRouter()
    errors = problems(*AUTHENTICATED)

    # -- deadlines --------------------------------------------------------------------------

    @router.get("/v1/cases/{reference}/deadlines", response_model=CaseDeadlines,
                operation_id="case_deadlines", summary="The case's deadlines",
                responses=errors, tags=["deadlines"])
    def case_deadlines(reference: Reference, request: Request,
                       caller: Caller) -> CaseDeadlines:
        """Each milestone's due instant under the deadline policy (``HC_SLA_POLICY``).
        Scope ``cases:read``."""
        ctx = context(request)
        caller.require("cases:read")
        case = load_case(ctx, caller, reference)
        return CaseDeadlines(reference=case.reference, deadlines=[
            DeadlineView(milestone=d.milestone, due=d.due, due_soon_from=d.due_soon_from,
                         last_day=d.last_day, provisional=d.provisional, policy=d.policy,
                         rule=d.rule, anchor=d.anchor, anchor_at=d.anchor_at,
                         extended_by_days=d.extended_by)
            for d in ctx.app.deadlines.for_case(case.reference)])

    @router.get("/v1/deadlines/due-soon", response_model=SweepList,
                operation_id="deadlines_due_soon", summary="Deadlines due soon (催办)",
                responses=errors, tags=["deadlines"])
    def due_soon(request: Request, caller: Caller, at: At = None) -> SweepList:
        """What the sweep would remind about, read only. Scope ``cases:read``."""
        return _sweep_list(context(request), caller, at, "due_soon")

    @router.get("/v1/deadlines/overdue", response_model=SweepList,
                operation_id="deadlines_overdue", summary="Overdue deadlines (督办)",
                responses=errors, tags=["deadlines"])
    def overdue(request: Request, caller: Caller, at: At = None) -> SweepList:
        """Open milestones past their due instant, read only. Scope ``cases:read``."""
        return _sweep_list(context(request), caller, at, "overdue")

    # -- imaging ----------------------------------------------------------------------------

    @router.get("/v1/cases/{reference}/exam-suggestions", response_model=ExamSuggestions,
                operation_id="exam_suggestions", summary="Candidate exams for a case",
                responses=errors, tags=["imaging"])
    def exam_suggestions(reference: Reference, request: Request,
                         caller: Caller) -> ExamSuggestions:
        """The patient's exams around the complaint, best first; nothing is linked (the
        command ``link_exam`` links one). Scope ``cases:read``."""
        ctx = context(request)
        caller.require("cases:read")
        case = load_case(ctx, caller, reference)
        return ExamSuggestions(reference=case.reference, suggestions=[
            ExamSuggestionView(exam=exam_view(s.exam), score=s.score, reasons=list(s.reasons))
            for s in ctx.app.imaging.suggest(case.reference)])

    @router.get("/v1/cases/{reference}/evidence", response_model=EvidencePack,
                operation_id="evidence_pack", summary="The evidence pack of a case",
                responses=errors, tags=["imaging"])
    def evidence(reference: Reference, request: Request, caller: Caller,
                 accession_number: Annotated[str | None, Query(max_length=200)] = None
                 ) -> EvidencePack:
        """The linked exam's timeline, its delays against the day and the device, faults
        during the visit, staff on duty and a zh/en finding. Nothing is recorded.
        Scope ``cases:read``."""
        ctx = context(request)
        caller.require("cases:read")
        case = load_case(ctx, caller, reference)
        return ctx.app.imaging.evidence(case.reference, accession_number)

    @router.post("/v1/cases/{reference}/evidence/accept", response_model=EventsResult,
                 operation_id="accept_evidence", summary="Record the evidence pack",
                 openapi_extra=inputs.body(AcceptEvidence, required=False),
                 responses=with_etag(problems(*AUTHENTICATED, 409, 412, 415, 428)),
                 tags=["imaging"])
    def accept(reference: Reference, request: Request, response: Response,
               data: Annotated[Any, Depends(json_body)], caller: Caller,
               if_match: IfMatch = None) -> EventsResult:
        """The server builds the pack again and records it as evidence items, all or none.
        Scope ``cases:write``."""
        ctx = context(request)
        caller.require("cases:write")
        case = load_case(ctx, caller, reference)
        expected_version(ctx, if_match, case.version)
        asked = parse(AcceptEvidence, data, "accept evidence")
        pack = ctx.app.imaging.evidence(case.reference, asked.accession_number)
        events = ctx.app.imaging.accept_evidence(case.reference, pack, actor=caller.actor)
        after = ctx.app.complaints.get(case.reference)
        response.headers["ETag"] = etag(after.version)
        return EventsResult(events=[masked_event(e) for e in events], case=summarize(after))

    @router.get("/v1/exams/{accession}", response_model=ExamView, operation_id="read_exam",
                summary="One imaging exam", responses=errors, tags=["imaging"])
    def read_exam(accession: Accession, request: Request, caller: Caller) -> ExamView:
        """The exam's milestones from the RIS/PACS feeds (no patient identifiers).
        Scope ``cases:read``."""
        ctx = context(request)
        caller.require("cases:read")
        return exam_view(ctx.app.imaging.exam(accession))

    @router.get("/v1/exams/{accession}/timeline", response_model=ExamTimeline,
                operation_id="exam_timeline", summary="An exam's timeline",
                responses=errors, tags=["imaging"])
    def exam_timeline(accession: Accession, request: Request, caller: Caller) -> ExamTimeline:
        ctx = context(request)
        caller.require("cases:read")
        entries = ctx.app.imaging.timeline(accession)
        return ExamTimeline(accession_number=accession, timeline=[
            TimelineEntryView(event=str(e.event.value if hasattr(e.event, "value") else e.event),
                              at=e.at) for e in entries])

    @router.get("/v1/imaging/summary", response_model=DepartmentSummary,
                operation_id="imaging_summary", summary="Department summary",
                responses=errors, tags=["imaging"])
    def summary(request: Request, caller: Caller,
                day_from: Annotated[date, Query(alias="from", description="YYYY-MM-DD")],
                day_to: Annotated[date, Query(alias="to", description="YYYY-MM-DD")]
                ) -> DepartmentSummary:
        """Complaints per 1,000 exams, by band and device, faults and clusters. A caller
        without a hospital-wide role sees cluster references of their department only.
        Scope ``cases:read``."""
        ctx = context(request)
        caller.require("cases:read")
        if day_from > day_to:
            raise invalid("from", day_from.isoformat(), f"a day on or before 'to' "
                          f"({day_to.isoformat()})", "  - from：开始日期不能晚于结束日期")
        if (day_to - day_from).days > 366:
            raise invalid("to", day_to.isoformat(), "at most 366 days after 'from'",
                          "  - to：统计区间不能超过 366 天")
        result = ctx.app.imaging.summary(day_from.isoformat(), day_to.isoformat())
        if caller.hospital_wide:
            return result
        return _scoped_summary(ctx, caller, result)

    return router


def _sweep_list(ctx: HttpContext, caller: Principal, at: datetime | None,
                which: str) -> SweepList:
    caller.require("cases:read")
    mine = caller.department_filter()
    result = ctx.app.deadlines.sweep(at, dry_run=True)
    items = result.due_soon if which == "due_soon" else result.overdue
    shown = [SweepItemView(reference=i.reference, milestone=i.milestone,
                           status=str(getattr(i.status, "value", i.status)), due=i.due,
                           provisional=i.provisional, policy=i.policy, department=i.department)
             for i in items
             if mine is None or ctx.app.departments.same_or_within(i.department, mine)]
    return SweepList(at=result.at, items=shown)


def _scoped_summary(ctx: HttpContext, caller: Principal,
                    result: DepartmentSummary) -> DepartmentSummary:
    mine = caller.department_filter()
    if mine is None:
        return result
    departments: dict[str, str | None] = {}

    def seen(ref: str) -> bool:
        if ref not in departments:
            try:
                departments[ref] = ctx.app.complaints.get(ref).complaint.department
            except NotFound:  # a case that cannot be read is not shown
                departments[ref] = None
        return ctx.app.departments.same_or_within(departments[ref], mine)

    clusters = [c.model_copy(update={"complaint_refs": [r for r in c.complaint_refs if seen(r)]})
                for c in result.clusters]
    return result.model_copy(update={"clusters": [c for c in clusters if c.complaint_refs]})

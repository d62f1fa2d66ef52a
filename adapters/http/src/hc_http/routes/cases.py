"""Cases: register and channel intake, list and search, read, history, every workflow
command, identity reveal, attachments."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, BinaryIO, cast
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import StreamingResponse
from hospital_complaints.plugin_api import (
    COMMAND_BY_NAME,
    PUBLIC_COMMANDS,
    Attachment,
    Case,
    CaseFilter,
    CaseState,
    CaseSummary,
    Category,
    Channel,
    ComplaintDraft,
    ComplaintKind,
    ConcurrencyConflict,
    Event,
    masked_event,
    parse,
    summarize,
)
from pydantic import BaseModel, ConfigDict
from starlette.concurrency import run_in_threadpool

from ..auth import Principal, load_case, visible
from ..bodies import InputSchemas, bad_body_type, json_body
from ..context import HttpContext
from ..deps import context, etag, expected_version, principal, stale
from ..problems import Problem, invalid
from ..schemas import (
    CaseDetail,
    CasePage,
    CommandInfo,
    CommandResult,
    History,
    RegisterResult,
    RevealedIdentity,
    RevealRequest,
    case_detail,
)
from ..streaming import MultipartFile, body_reader
from .common import AUTHENTICATED, IdempotencyKey, IfMatch, Reason, Reference, problems, with_etag

Caller = Annotated[Principal, Depends(principal)]
Body = Annotated[Any, Depends(json_body)]


class AttachmentResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    attachment: Attachment
    event: Event
    case: CaseSummary


class AttachmentList(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reference: str
    attachments: list[Attachment]


def build(inputs: InputSchemas) -> APIRouter:
    router = APIRouter(tags=["cases"])
    errors = problems(*AUTHENTICATED)

    # -- intake ---------------------------------------------------------------------------

    @router.post("/v1/cases", status_code=201, response_model=RegisterResult,
                 operation_id="register_case", summary="Register a complaint",
                 openapi_extra=inputs.body(ComplaintDraft),
                 responses={**problems(*AUTHENTICATED, 409, 415), 200: {
                     "description": "The Idempotency-Key was used before: the first call's "
                                    "case", "model": RegisterResult}})
    def register_case(request: Request, response: Response, data: Body, caller: Caller,
                      idempotency_key: IdempotencyKey = None) -> RegisterResult:
        """Register a complaint (a ``ComplaintDraft``). Scope ``intake``."""
        ctx = context(request)
        caller.require("intake")
        draft = parse(ComplaintDraft, data, "complaint")
        case, created = ctx.app.complaints.register_once(draft, actor=caller.actor,
                                                         idempotency_key=idempotency_key)
        return _registered(ctx, request, response, caller, case, created)

    @router.post("/v1/intake/{channel}", status_code=201, response_model=RegisterResult,
                 operation_id="intake", summary="Register a channel's raw submission",
                 openapi_extra=inputs.body(None, description="the channel's own format, e.g. "
                                           "a 12320/12345 work order for hotline_platform"),
                 responses={**problems(*AUTHENTICATED, 409, 415), 200: {
                     "description": "The Idempotency-Key was used before: the first call's "
                                    "case", "model": RegisterResult}})
    def intake(request: Request, response: Response, data: Body, caller: Caller,
               channel: Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_.:-]{0,63}$",
                                            description="web_form, hotline_platform, or a "
                                                        "channel a plugin normalises")],
               idempotency_key: IdempotencyKey = None) -> RegisterResult:
        """A channel's raw submission, normalised by its ``hc_normalize_intake`` plugin.
        Scope ``intake``."""
        ctx = context(request)
        caller.require("intake")
        if not isinstance(data, dict):
            raise bad_body_type("intake", data)
        case, created = ctx.app.complaints.intake_once(channel, data, actor=caller.actor,
                                                       idempotency_key=idempotency_key)
        return _registered(ctx, request, response, caller, case, created)

    # -- reading ----------------------------------------------------------------------------

    @router.get("/v1/cases", response_model=CasePage, operation_id="list_cases",
                summary="List and search cases (masked)", responses=errors)
    def list_cases(
        request: Request, caller: Caller,
        state: Annotated[list[CaseState] | None, Query(description="repeat for several")] =
        None,
        open_only: Annotated[bool, Query(alias="open", description="only open cases")] = False,
        department: Annotated[str | None, Query(max_length=200, description=(
            "a department name, alias or id: its cases and its units'"))] = None,
        channel: Channel | None = None,
        kind: ComplaintKind | None = None,
        category: Category | None = None,
        received_from: Annotated[date | None, Query(description="first day, YYYY-MM-DD")] =
        None,
        received_to: Annotated[date | None, Query(description="last day, YYYY-MM-DD")] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        cursor: Annotated[str | None, Query(max_length=200, description=(
            "next_cursor of the previous page"))] = None,
    ) -> CasePage:
        """Cases in the order received, identity masked, a page at a time. A caller without
        a hospital-wide role sees only their department's cases. Scope ``cases:read``."""
        ctx = context(request)
        caller.require("cases:read")
        mine = caller.department_filter()
        if mine is not None and department is not None \
                and not ctx.app.departments.same_or_within(department, mine):
            raise Problem("forbidden", f"this caller sees only cases of department {mine} and "
                          "its units", f"该调用方只能查看科室 {mine} 及其下属单元的案件")
        filters = CaseFilter(
            states=tuple(s.value for s in state or ()), open_only=open_only,
            department=department or mine, channel=channel.value if channel else None,
            kind=kind.value if kind else None, category=category.value if category else None,
            received_from=received_from, received_to=received_to)
        after = _decode_cursor(cursor) if cursor else None
        rows = ctx.app.complaints.list_cases(filters=filters, limit=limit + 1, after=after)
        more = len(rows) > limit
        rows = rows[:limit]
        return CasePage(items=rows, next_cursor=_encode_cursor(rows[-1].reference)
                        if more and rows else None)

    @router.get("/v1/cases/{reference}", response_model=CaseDetail, operation_id="read_case",
                summary="Read one case (masked)", responses=with_etag(errors))
    def read_case(reference: Reference, request: Request, response: Response,
                  caller: Caller) -> CaseDetail:
        """The case, identity masked; ``ETag`` is its version. Scope ``cases:read``."""
        ctx = context(request)
        caller.require("cases:read")
        case = load_case(ctx, caller, reference)
        response.headers["ETag"] = etag(case.version)
        return case_detail(case)

    @router.get("/v1/cases/{reference}/history", response_model=History,
                operation_id="case_history", summary="The case's events (masked)",
                responses=errors)
    def history(reference: Reference, request: Request, caller: Caller) -> History:
        ctx = context(request)
        caller.require("cases:read")
        case = load_case(ctx, caller, reference)
        return History(reference=case.reference, events=ctx.app.complaints.history(
            case.reference))

    # -- commands ---------------------------------------------------------------------------

    @router.get("/v1/commands", response_model=list[CommandInfo], operation_id="list_commands",
                summary="The workflow commands a caller may submit", responses=errors)
    def list_commands(caller: Caller) -> list[CommandInfo]:
        return [CommandInfo(name=n, event_type=COMMAND_BY_NAME[n].event_type,
                            path=f"/v1/cases/{{reference}}/commands/{n}",
                            description=_first_line(COMMAND_BY_NAME[n].__doc__))
                for n in PUBLIC_COMMANDS]

    for name in PUBLIC_COMMANDS:
        cls = COMMAND_BY_NAME[name]
        router.add_api_route(
            f"/v1/cases/{{reference}}/commands/{name}", _command_endpoint(name),
            methods=["POST"], response_model=CommandResult, operation_id=f"command_{name}",
            summary=f"Command {name}: " + _first_line(cls.__doc__, name),
            description=(f"Records a `{cls.event_type}` event. Scope `cases:write`. "
                         "With `If-Match` (the case's ETag) a case changed since it was read "
                         "is refused with 412 and the current version; nothing is stored. "
                         "See docs/workflow.md for the states where it is allowed."),
            openapi_extra=inputs.body(cls),
            responses=with_etag(problems(*AUTHENTICATED, 409, 412, 415, 428)),
            tags=["commands"])

    # -- identity -----------------------------------------------------------------------------

    @router.post("/v1/cases/{reference}/identity", response_model=RevealedIdentity,
                 operation_id="reveal_identity", summary="Reveal the identity (audited)",
                 openapi_extra=inputs.body(RevealRequest),
                 responses=problems(*AUTHENTICATED, 415))
    def reveal(reference: Reference, request: Request, data: Body,
               caller: Caller) -> RevealedIdentity:
        """The complainant's and patient's identity, if the one access decision allows (a
        report's complainant is never shown to the department it concerns). Allowed or
        refused, the decision is recorded on the case. Scope ``identity:reveal``."""
        ctx = context(request)
        caller.require("identity:reveal")
        case = load_case(ctx, caller, reference)
        asked = parse(RevealRequest, data, "reveal")
        shown = ctx.app.complaints.reveal_identity(case.reference, caller.viewer, asked.purpose)
        return RevealedIdentity.model_validate(shown)

    # -- attachments --------------------------------------------------------------------------

    @router.get("/v1/cases/{reference}/attachments", response_model=AttachmentList,
                operation_id="list_attachments", summary="The case's attachments",
                responses=errors, tags=["attachments"])
    def list_attachments(reference: Reference, request: Request,
                         caller: Caller) -> AttachmentList:
        ctx = context(request)
        caller.require("cases:read")
        case = load_case(ctx, caller, reference)
        return AttachmentList(reference=case.reference,
                              attachments=list(case.complaint.attachments))

    @router.post("/v1/cases/{reference}/attachments", status_code=201,
                 response_model=AttachmentResult, operation_id="upload_attachment",
                 summary="Upload an attachment (streamed)", tags=["attachments"],
                 openapi_extra={"requestBody": {"required": True, "content": {
                     "multipart/form-data": {"schema": {
                         "type": "object", "required": ["file"],
                         "properties": {"file": {"type": "string", "format": "binary"}}}}}}},
                 responses=problems(*AUTHENTICATED, 409, 415))
    async def upload(reference: Reference, request: Request,
                     caller: Caller) -> AttachmentResult:
        """A PDF, image, recording, video or text file in the part ``file``, at most the
        attachment limit (20 MB by default). Read as it arrives, checked, encrypted; the
        same file twice is refused. Scope ``cases:write``."""
        ctx = context(request)
        caller.require("cases:write")
        case = await run_in_threadpool(load_case, ctx, caller, reference)
        reader = MultipartFile(request.headers.get("content-type", ""),
                               body_reader(request.receive))

        def store() -> AttachmentResult:
            filename = reader.open()
            event = ctx.app.complaints.attach(case.reference, cast(BinaryIO, reader),
                                              filename, actor=caller.actor)
            after = ctx.app.complaints.get(case.reference)
            return AttachmentResult(
                attachment=Attachment.model_validate(event.payload["attachment"]),
                event=masked_event(event), case=summarize(after))

        return await run_in_threadpool(store)

    @router.get("/v1/cases/{reference}/attachments/{sha256}", operation_id="download_attachment",
                summary="Download an attachment (audited)", tags=["attachments"],
                response_class=StreamingResponse,
                responses={**problems(*AUTHENTICATED), 200: {
                    "description": "The file, as uploaded",
                    "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}}})
    def download(reference: Reference, request: Request, caller: Caller,
                 sha256: Annotated[str, Path(pattern=r"^(sha256:)?[0-9a-fA-F]{64}$")],
                 purpose: Annotated[str, Query(min_length=1, max_length=1000, description=(
                     "why the file is opened; recorded with the decision"))]) -> Response:
        """Decided like identity (an attachment may show who complained) and recorded
        either way; streamed decrypted. Scope ``attachments:read``."""
        ctx = context(request)
        caller.require("attachments:read")
        case = load_case(ctx, caller, reference)
        attachment, chunks = ctx.app.complaints.read_attachment(case.reference, sha256,
                                                                caller.viewer, purpose)
        headers = {"Content-Disposition": _disposition(attachment.filename or "attachment")}
        if attachment.size_bytes is not None:
            headers["Content-Length"] = str(attachment.size_bytes)
        return StreamingResponse(chunks, media_type=attachment.media_type
                                 or "application/octet-stream", headers=headers)

    return router


def _command_endpoint(name: str) -> Callable[..., CommandResult]:
    def endpoint(reference: Reference, request: Request, response: Response, data: Body,
                 caller: Caller, if_match: IfMatch = None,
                 reason: Reason = None) -> CommandResult:
        ctx = context(request)
        caller.require("cases:write")
        case = load_case(ctx, caller, reference)
        expected = expected_version(ctx, if_match, case.version)
        try:
            event = ctx.app.complaints.execute(case.reference, (name, data), actor=caller.actor,
                                               reason=reason, expected_version=expected)
        except ConcurrencyConflict:
            current = ctx.app.complaints.get(case.reference).version
            if expected is not None:
                raise stale(current, if_match) from None
            raise Problem("conflict", "someone changed the case at the same moment; read it "
                          "again and retry - nothing was saved",
                          "案件同时被他人修改；请重新读取后重试，本次未保存",
                          current_version=current, headers={"ETag": etag(current)}) from None
        after = ctx.app.complaints.get(case.reference)
        response.headers["ETag"] = etag(after.version)
        return CommandResult(event=masked_event(event), case=summarize(after))

    endpoint.__name__ = f"command_{name}"
    return endpoint


def _registered(ctx: HttpContext, request: Request, response: Response, caller: Principal,
                case: Case, created: bool) -> RegisterResult:
    if not created and case.events[0].actor != caller.actor and not _sees(ctx, caller, case):
        raise Problem("idempotency-key-reused", "this Idempotency-Key was used for another "
                      "submission; use a key of your own for each submission (prefix it with "
                      "your system's name)",
                      "该幂等键已被其他提交使用；请为每次提交使用自己的键（可加上系统名前缀）")
    response.status_code = 201 if created else 200
    response.headers["Location"] = str(request.url_for("read_case", reference=case.reference))
    response.headers["ETag"] = etag(case.version)
    return RegisterResult(created=created, case=case_detail(case))


def _sees(ctx: HttpContext, caller: Principal, case: Case) -> bool:
    if caller.hospital_wide:
        return True
    return caller.department_id is not None and visible(ctx, caller, case)


def _encode_cursor(reference: str) -> str:
    return base64.urlsafe_b64encode(reference.encode("utf-8")).decode("ascii").rstrip("=")


def _decode_cursor(cursor: str) -> str:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    if not text or len(text) > 64 or not text.replace("-", "").isalnum():
        raise invalid("cursor", cursor, "the next_cursor of a previous page",
                      "  - cursor：须为上一页返回的 next_cursor")
    return text


def _first_line(doc: str | None, default: str = "") -> str:
    return (doc or default).strip().splitlines()[0].strip() if (doc or default).strip() \
        else default


def _disposition(filename: str) -> str:
    ascii_name = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in filename)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"

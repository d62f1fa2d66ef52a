"""Public pages and endpoints for patients and relatives: no sign-in.

- ``GET /public/complaint``: the complaint/feedback form (the web channel);
- ``POST /public/complaint``: the form's submission; answers with a receipt (the reference
  and the status link, shown once);
- ``POST /v1/public/complaints``: the same intake for a WeChat mini-program or app (JSON);
- ``GET /public/status/{token}`` and ``GET /v1/public/status/{token}``: "where is my
  complaint": the state and the next deadline, never staff names or internal notes.

Submissions go through the core's intake for the ``web_form`` channel (``hc_normalize_intake``,
so a hospital's own plugin may take the channel over), with the form's random submission id
as the idempotency key. Each client address may make ``public_rate_per_minute`` public
requests a minute (429 beyond).
"""

from __future__ import annotations

import secrets
from datetime import datetime
from importlib.resources import files
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse
from hospital_complaints.plugin_api import (
    Case,
    InvalidInput,
    NotFound,
    case_deadlines,
    label,
    parse,
)
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ..bodies import InputSchemas, json_body
from ..context import HttpContext
from ..deps import context
from ..pages import Lang
from ..problems import MEDIA_TYPE, Problem, language
from ..schemas import PublicReceipt, PublicStatus
from ..tokens import well_formed
from .common import PROBLEM_REF, page_problems, problems

ACTOR = "public:web_form"
CHANNEL = "web_form"
PUBLIC_MILESTONES = ("acknowledge", "respond", "close", "follow_up")
Token = Annotated[str, Path(min_length=1, max_length=64, description="the status token "
                                                                     "given at intake")]
LangQuery = Annotated[str | None, Query(pattern=r"^(zh|en)$", description="zh or en")]


class PublicSubmission(BaseModel):
    """A complaint from the public (web page, WeChat mini-program)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    subject: str = Field(min_length=1, max_length=200)
    message: str = Field(min_length=1, max_length=20_000)
    wants: str | None = Field(default=None, max_length=20_000)
    accession_number: str | None = Field(default=None, max_length=200)
    name: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=40,
                              pattern=r"^\+?[0-9][0-9 \-]{4,19}$")
    email: str | None = Field(default=None, max_length=254,
                              pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    anonymous: bool = False
    contact_ok: bool = Field(default=False, description="consent to be contacted about it")
    submission_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{16,64}$",
                                      description="a random id of this submission: a retry "
                                                  "with the same id registers nothing new")

    @field_validator("contact_ok")
    @classmethod
    def _reachable(cls, value: bool, info: ValidationInfo) -> bool:
        if value and not (info.data.get("phone") or info.data.get("email")):
            raise ValueError("consent to contact needs a phone number or an e-mail address")
        return value


def build(inputs: InputSchemas) -> APIRouter:
    router = APIRouter(tags=["public"])

    @router.get("/public/static/app.css", include_in_schema=False)
    def stylesheet() -> Response:
        css = files("hc_http").joinpath("static/app.css").read_text(encoding="utf-8")
        return Response(css, media_type="text/css; charset=utf-8",
                        headers={"Cache-Control": "public, max-age=3600"})

    @router.get("/public/complaint", response_class=HTMLResponse, operation_id="public_form",
                summary="The complaint form (HTML)",
                responses={200: {"content": {"text/html": {"schema": {"type": "string"}}}},
                           **page_problems(422, 429)})
    def form(request: Request, lang: LangQuery = None) -> Response:
        ctx = _public(request)
        chosen = _lang(request, lang)
        return _page(ctx, request, "form.html", chosen, errors=[], bad=set(),
                     values=_values({}), submission_id=secrets.token_urlsafe(18))

    @router.post("/public/complaint", response_class=HTMLResponse,
                 operation_id="public_submit", summary="Submit the complaint form (HTML)",
                 openapi_extra={"requestBody": {"required": True, "content": {
                     "application/x-www-form-urlencoded": {"schema": inputs.ref(
                         PublicSubmission)}}}},
                 responses={**page_problems(413, 415, 429), 200: {
                     "description": "The receipt page",
                     "content": {"text/html": {"schema": {"type": "string"}}}}, 422: {
                     "description": "The form again, with what to correct",
                     "content": {"text/html": {"schema": {"type": "string"}},
                                 MEDIA_TYPE: {"schema": PROBLEM_REF}}}})
    async def submit(request: Request, lang: LangQuery = None) -> Response:
        ctx = _public(request)
        chosen = _lang(request, lang)
        _limit(ctx, request, "intake")
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind != "application/x-www-form-urlencoded":
            raise Problem("unsupported-media-type", "the form is sent as "
                          "application/x-www-form-urlencoded", "表单须以 "
                          "application/x-www-form-urlencoded 提交")
        async with request.form(max_fields=20, max_files=0) as form_data:
            fields = {k: v for k, v in form_data.items() if isinstance(v, str)}
        submission: dict[str, Any] = {k: fields.get(k, "").strip() or None for k in (
            "subject", "message", "wants", "accession_number", "name", "phone", "email",
            "submission_id")}
        submission["anonymous"] = fields.get("anonymous") == "1"
        submission["contact_ok"] = fields.get("contact_ok") == "1"
        try:
            checked = parse(PublicSubmission, submission, "public complaint").model_dump()
            receipt = await run_in_threadpool(_intake, ctx, request, checked, chosen)
        except InvalidInput as exc:
            bad, errors = _form_errors(exc, chosen)
            page = ctx.pages.render("form.html", chosen, base=_base(request), errors=errors,
                                    bad=bad, values=_values(submission),
                                    submission_id=submission.get("submission_id")
                                    or secrets.token_urlsafe(18))
            return HTMLResponse(page, status_code=422)
        return _page(ctx, request, "receipt.html", chosen, reference=receipt.reference,
                     status_url=receipt.status_url,
                     expires=receipt.expires_at.date().isoformat())

    @router.post("/v1/public/complaints", status_code=201, response_model=PublicReceipt,
                 operation_id="public_intake", summary="Submit a complaint (JSON, no sign-in)",
                 openapi_extra=inputs.body(PublicSubmission),
                 responses=problems(409, 413, 415, 422, 429))
    def public_intake(request: Request, data: Annotated[Any, Depends(json_body)],
                      lang: LangQuery = None) -> PublicReceipt:
        """For a WeChat mini-program or the hospital's app. Keep ``status_token``: it is
        shown only once."""
        ctx = _public(request)
        _limit(ctx, request, "intake")
        submission = parse(PublicSubmission, data, "public complaint").model_dump()
        return _intake(ctx, request, submission, _lang(request, lang))

    @router.get("/public/status/{token}", response_class=HTMLResponse,
                operation_id="public_status_page", summary="Where is my complaint (HTML)",
                responses={200: {"content": {"text/html": {"schema": {"type": "string"}}}},
                           404: {"content": {"text/html": {"schema": {"type": "string"}}}},
                           **page_problems(422, 429)})
    def status_page(request: Request, token: Token, lang: LangQuery = None) -> Response:
        ctx = _public(request)
        chosen = _lang(request, lang)
        _limit(ctx, request, "status")
        found = _status(ctx, token)
        if found is None:
            return _page(ctx, request, "message.html", chosen, status=404,
                         title=_t("not_found_title", chosen), text=_t("not_found_text", chosen))
        local = ctx.app.settings.timezone
        return _page(ctx, request, "status.html", chosen, reference=found.reference,
                     subject=found.subject,
                     state=found.state_zh if chosen == "zh" else found.state_en,
                     received=_when(found.received_at, local),
                     next_step=_t(f"milestone_{found.next_milestone}", chosen)
                     if found.next_milestone else None,
                     next_due=_when(found.next_deadline, local) if found.next_deadline
                     else None, finished=found.finished)

    @router.get("/v1/public/status/{token}", response_model=PublicStatus,
                operation_id="public_status", summary="Where is my complaint (JSON)",
                responses=problems(404, 422, 429))
    def status_json(request: Request, token: Token) -> PublicStatus:
        ctx = _public(request)
        _limit(ctx, request, "status")
        found = _status(ctx, token)
        if found is None:
            raise Problem("not-found", "this status link is not valid or has expired",
                          "该查询链接无效或已过期")
        return found

    return router


# -- the work ------------------------------------------------------------------------------------


def _intake(ctx: HttpContext, request: Request, submission: dict[str, Any],
            lang: Lang) -> PublicReceipt:
    now = ctx.app.clock.now()
    raw: dict[str, Any] = {
        "submitted_at": now.isoformat(), "subject": submission.get("subject"),
        "message": submission.get("message"), "anonymous": bool(submission.get("anonymous")),
        "contact_ok": bool(submission.get("contact_ok"))}
    for key in ("name", "phone", "email", "wants", "accession_number"):
        if submission.get(key):
            raw[key] = submission[key]
    if raw["anonymous"]:
        raw.pop("name", None)
    submission_id = submission.get("submission_id")
    case, _created = ctx.app.complaints.intake_once(
        CHANNEL, raw, actor=ACTOR,
        idempotency_key=f"public:{submission_id}" if submission_id else None)
    if case.events[0].actor != ACTOR:  # a staff submission's key: never show it here
        raise Problem("idempotency-key-reused", "this submission id was used before",
                      "该提交编号已被使用")
    token, expires = ctx.status_tokens.issue(case.reference, now=now,
                                             days=ctx.settings.status_token_days)
    url = f"{_base_url(request)}/public/status/{token}?lang={lang}"
    return PublicReceipt(reference=case.reference, status_token=token, status_url=url,
                         expires_at=expires)


def _status(ctx: HttpContext, token: str) -> PublicStatus | None:
    if not well_formed(token):
        return None
    found = ctx.status_tokens.resolve(token, now=ctx.app.clock.now())
    if found is None:
        return None
    try:
        case = ctx.app.complaints.get(found[0])
    except NotFound:
        return None
    milestone, due = _next_deadline(ctx, case)
    state = label(case.state)
    return PublicStatus(reference=case.reference, subject=case.complaint.subject,
                        state=case.state.value, state_zh=state.zh,
                        state_en=state.en, received_at=case.complaint.received_at,
                        next_deadline=due, next_milestone=milestone,
                        finished=not case.is_open)


def _next_deadline(ctx: HttpContext, case: Case) -> tuple[str | None, datetime | None]:
    """The earliest deadline of a milestone the patient is told about and not yet reached."""
    if not case.is_open:  # closed, withdrawn, referred, not accepted, merged (并单)
        return None, None
    reached = {
        "acknowledge": case.acknowledged_at is not None,
        "respond": case.response is not None,
        "close": case.closed_at is not None,
        "follow_up": case.follow_up is not None or case.follow_up_waived is not None,
    }
    deadlines = ctx.app.deadlines
    pending = [(d.due, d.milestone)
               for d in case_deadlines(deadlines.policy(), case, deadlines.calendars)
               if d.milestone in PUBLIC_MILESTONES and not reached[d.milestone]]
    if not pending:
        return None, None
    due, milestone = min(pending)
    return milestone, due


# -- helpers --------------------------------------------------------------------------------------


def _public(request: Request) -> HttpContext:
    ctx = context(request)
    if not ctx.settings.public_pages:
        raise Problem("not-found", "the public pages are switched off (HC_HTTP_PUBLIC_PAGES)",
                      "公众页面未启用")
    return ctx


def _limit(ctx: HttpContext, request: Request, bucket: str) -> None:
    client = request.client.host if request.client else "unknown"
    wait = ctx.limiter.allow(bucket, client)
    if wait is not None:
        seconds = max(1, int(wait + 0.999))
        raise Problem("too-many-requests", f"too many requests from this address; try again "
                      f"in {seconds} s", f"该地址请求过于频繁，请 {seconds} 秒后再试",
                      headers={"Retry-After": str(seconds)})


def _lang(request: Request, chosen: str | None) -> Lang:
    if chosen == "en":
        return "en"
    if chosen == "zh":
        return "zh"
    return language(request)


def _t(key: str, lang: Lang) -> str:
    from ..pages import TEXT

    zh, en = TEXT[key]
    return zh if lang == "zh" else en


def _base(request: Request) -> str:
    """The path prefix the app is mounted under (empty at the root)."""
    return str(request.scope.get("root_path", "")).rstrip("/")


def _base_url(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}{_base(request)}"


def _page(ctx: HttpContext, request: Request, template: str, lang: Lang, *,
          status: int = 200, **values: Any) -> Response:
    html = ctx.pages.render(template, lang, base=_base(request), **values)
    return HTMLResponse(html, status_code=status,
                        headers={"Content-Language": "zh-CN" if lang == "zh" else "en"})


def _values(submission: dict[str, Any]) -> dict[str, Any]:
    keys = ("subject", "message", "wants", "accession_number", "name", "phone", "email")
    values: dict[str, Any] = {k: submission.get(k) or "" for k in keys}
    values["anonymous"] = bool(submission.get("anonymous"))
    values["contact_ok"] = bool(submission.get("contact_ok"))
    return values


#: where a core error's field lands on the form
_FIELDS = {"subject": "subject", "description": "message", "demands": "wants",
           "complainant.phone": "phone", "complainant.email": "email",
           "complainant.name": "name", "complainant": "contact_ok",
           "exam_links": "accession_number", "message": "message", "phone": "phone",
           "email": "email", "name": "name", "wants": "wants",
           "accession_number": "accession_number", "contact_ok": "contact_ok",
           "anonymous": "name"}
_MESSAGES = {"subject": "bad_subject", "message": "bad_message", "phone": "bad_phone",
             "email": "bad_email", "contact_ok": "bad_contact", "name": "bad_anonymous"}


def _form_errors(exc: InvalidInput, lang: Lang) -> tuple[set[str], list[tuple[str, str]]]:
    bad: set[str] = set()
    errors: list[tuple[str, str]] = []
    for problem in exc.problems:
        field = next((f for prefix, f in sorted(_FIELDS.items(), key=lambda i: -len(i[0]))
                      if problem.field == prefix or problem.field.startswith(prefix + ".")),
                     None)
        if field is None or field in bad:
            if field is None and not errors:
                errors.append(("", _t("bad_other", lang)))
            continue
        if field == "contact_ok" and "anonymous" in problem.allowed:
            field = "name"
        bad.add(field)
        message = _t(_MESSAGES[field], lang) if field in _MESSAGES else _t("bad_other", lang)
        errors.append((field, message))
    return bad, errors or [("", _t("bad_other", lang))]


def _when(moment: datetime | None, zone_name: str) -> str:
    if moment is None:
        return ""
    from zoneinfo import ZoneInfo

    return moment.astimezone(ZoneInfo(zone_name)).strftime("%Y-%m-%d %H:%M")

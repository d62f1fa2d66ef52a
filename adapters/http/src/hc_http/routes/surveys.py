"""The survey pages patients open from their invitation (docs/surveys.md): no sign-in.

- ``GET /s/{token}``: the questionnaire (HTML, zh/en, mobile first, no script);
- ``POST /s/{token}``: the answers; a thank-you page, or the form again naming what to correct;
- ``GET /v1/public/surveys/{token}`` and ``POST /v1/public/surveys/{token}``: the same as JSON,
  for a WeChat mini-program or the hospital's app.

The token is the invitation's one-time link (192 bits, stored hashed by the core); the core
decides whether it is unknown, expired or answered (``app.surveys.open`` / ``answer``), and
checks the answers. Requests count against the public rate limit per client address.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse
from hospital_complaints.plugin_api import InvalidInput, SurveyLinkError
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ..bodies import json_body
from ..pages import Lang
from ..problems import Problem
from .common import page_problems, problems
from .public import _lang, _limit, _page, _public, _t

SurveyToken = Annotated[str, Path(min_length=1, max_length=64,
                                  description="the survey invitation's one-time token")]
LangQuery = Annotated[str | None, Query(pattern=r"^(zh|en)$", description="zh or en")]


class SurveyOption(BaseModel):
    code: str
    label: str


class SurveyItem(BaseModel):
    link_id: str
    kind: str = Field(description="choice, scale (1-5) or text")
    text: str
    required: bool
    max_length: int | None = None
    options: list[SurveyOption] = Field(default_factory=list)


class SurveyForm(BaseModel):
    """A questionnaire as the patient sees it (in the language asked for)."""

    questionnaire: str
    title: str
    intro: str | None = None
    items: list[SurveyItem]


class SurveyAnswered(BaseModel):
    answered: bool = True
    satisfaction: int | None = Field(default=None, description="the 1-5 score counted")


def _form(invitation_q: Any, lang: Lang) -> SurveyForm:
    q = invitation_q
    return SurveyForm(
        questionnaire=q.id, title=q.title.get(lang),
        intro=q.intro.get(lang) if q.intro else None,
        items=[SurveyItem(link_id=i.link_id, kind=i.kind, text=i.text.get(lang),
                          required=i.required,
                          max_length=i.max_length if i.kind == "text" else None,
                          options=[SurveyOption(code=o.code, label=o.label(lang))
                                   for o in i.choices()])
               for i in q.items])


def build() -> APIRouter:
    router = APIRouter(tags=["public"])

    @router.get("/s/{token}", response_class=HTMLResponse, operation_id="survey_page",
                summary="A survey invitation's questionnaire (HTML)",
                responses={200: {"content": {"text/html": {"schema": {"type": "string"}}}},
                           404: {"content": {"text/html": {"schema": {"type": "string"}}}},
                           **page_problems(422, 429)})
    def survey_page(request: Request, token: SurveyToken, lang: LangQuery = None) -> Response:
        ctx = _public(request)
        chosen = _lang(request, lang)
        _limit(ctx, request, "survey")
        try:
            _invitation, q = ctx.app.surveys.open(token)
        except SurveyLinkError as exc:
            return _closed(ctx, request, chosen, exc)
        form = _form(q, chosen)
        return _page(ctx, request, "survey.html", chosen, token=token, title=form.title,
                     intro=form.intro, items=form.items, errors=[], bad=set(), values={})

    @router.post("/s/{token}", response_class=HTMLResponse, operation_id="survey_submit",
                 summary="Answer a survey (HTML form)",
                 responses={200: {"content": {"text/html": {"schema": {"type": "string"}}}},
                            404: {"content": {"text/html": {"schema": {"type": "string"}}}},
                            **page_problems(413, 415, 429)})
    async def survey_submit(request: Request, token: SurveyToken,
                            lang: LangQuery = None) -> Response:
        ctx = _public(request)
        chosen = _lang(request, lang)
        _limit(ctx, request, "survey")
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind != "application/x-www-form-urlencoded":
            raise Problem("unsupported-media-type", "the survey is sent as "
                          "application/x-www-form-urlencoded", "问卷须以 "
                          "application/x-www-form-urlencoded 提交")
        async with request.form(max_fields=60, max_files=0) as form_data:
            answers = {k: v for k, v in form_data.items() if isinstance(v, str) and v.strip()}
        try:
            await run_in_threadpool(ctx.app.surveys.answer, token, answers, language=chosen)
        except SurveyLinkError as exc:
            return _closed(ctx, request, chosen, exc)
        except InvalidInput as exc:
            _invitation, q = await run_in_threadpool(ctx.app.surveys.open, token)
            form = _form(q, chosen)
            texts = {i.link_id: i.text for i in form.items}
            bad = {p.field for p in exc.problems}
            errors = [(p.field if p.field in texts else None,
                       f"{texts.get(p.field, p.field)}: {p.allowed}") for p in exc.problems]
            page = ctx.pages.render("survey.html", chosen, base=_base(request), token=token,
                                    title=form.title, intro=form.intro, items=form.items,
                                    errors=errors, bad=bad, values=answers)
            return HTMLResponse(page, status_code=422)
        return _page(ctx, request, "message.html", chosen,
                     title=_t("survey_thanks_title", chosen),
                     text=_t("survey_thanks_text", chosen))

    @router.get("/v1/public/surveys/{token}", response_model=SurveyForm,
                operation_id="survey_form", summary="A survey invitation's questionnaire (JSON)",
                responses=problems(404, 422, 429))
    def survey_form(request: Request, token: SurveyToken, lang: LangQuery = None) -> SurveyForm:
        ctx = _public(request)
        _limit(ctx, request, "survey")
        _invitation, q = ctx.app.surveys.open(token)
        return _form(q, _lang(request, lang))

    @router.post("/v1/public/surveys/{token}", response_model=SurveyAnswered,
                 operation_id="survey_answer", summary="Answer a survey (JSON)",
                 responses=problems(404, 413, 415, 422, 429))
    def survey_answer(request: Request, token: SurveyToken,
                      data: Annotated[Any, Depends(json_body)],
                      lang: LangQuery = None) -> SurveyAnswered:
        """``{"overall": "good", "waiting": 4, "comments": "..."}``: link id -> answer."""
        ctx = _public(request)
        _limit(ctx, request, "survey")
        if not isinstance(data, dict):
            raise Problem("invalid-input", "the answers are a JSON object: question id -> "
                          "answer", "回答须为 JSON 对象：问题编号 -> 答案")
        response = ctx.app.surveys.answer(token, data, language=_lang(request, lang))
        return SurveyAnswered(satisfaction=response.satisfaction)

    return router


def _closed(ctx: Any, request: Request, lang: Lang, exc: SurveyLinkError) -> Response:
    title = {"answered": "survey_answered_title", "expired": "survey_expired_title"}.get(
        exc.reason, "survey_invalid_title")
    return _page(ctx, request, "message.html", lang, status=404 if exc.reason != "answered"
                 else 409, title=_t(title, lang), text=_t("survey_contact", lang))


def _base(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/")

"""The ASGI application: ``create_app(app)`` puts the REST API, the public pages and the
operations endpoints in front of one :class:`~hospital_complaints.plugin_api.App`.

It is an ordinary FastAPI (Starlette) application, so a host can serve it on its own
(``hospital-complaints serve``) or mount it inside its own ASGI app::

    from fastapi import FastAPI
    from hospital_complaints.plugin_api import bootstrap
    from hc_http import create_app

    host = FastAPI()
    host.mount("/complaints", create_app(bootstrap()))

The OpenAPI document (``/openapi.json``) is generated from the same models the core
validates with; there is no interactive documentation page (it would load from a CDN, which
hospital intranets cannot reach): see docs/http.md.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from hospital_complaints.plugin_api import App, ConfigError, HospitalComplaintsError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from . import __version__
from .bodies import InputSchemas
from .context import HttpContext
from .middleware import Guard
from .migrations import DIRECTORY, HEAD
from .pages import TEXT, Lang
from .problems import (
    TYPES,
    FieldError,
    Problem,
    ProblemDetails,
    from_error,
    language,
    render,
)
from .routes import cases, exports, ops, public, reports, surveys, work
from .settings import HttpSettings, http_settings

log = logging.getLogger("hc_http")

DESCRIPTION = """\
The complaint-handling API of a hospital (医疗投诉管理): register complaints, list and read
cases (identity masked), carry out every workflow command with optimistic concurrency
(`ETag` / `If-Match`), attachments, audited identity reveal, deadlines, imaging evidence and
exports. Errors are RFC 9457 problem details (`application/problem+json`) in Chinese or
English by `Accept-Language`.

Authenticate with an OIDC access token of the hospital's identity provider
(`Authorization: Bearer ...`) or an API key (`X-API-Key: hck_...`). See docs/http.md.
"""


def create_app(app: App, *, settings: HttpSettings | None = None,
               wall_clock: Callable[[], float] = time.time,
               monotonic: Callable[[], float] = time.monotonic) -> FastAPI:
    """The ASGI application for ``app``. ``settings`` default to ``app.plugin_config("http")``;
    ``wall_clock`` is the real time bearer tokens are checked against."""
    config = settings or http_settings(app)
    ctx = HttpContext(app, config, wall_clock=wall_clock, monotonic=monotonic)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        from starlette.concurrency import run_in_threadpool

        await run_in_threadpool(_prepare_store, ctx)
        try:
            yield
        finally:
            await run_in_threadpool(app.close)

    api = FastAPI(title="hospital-complaints", version=__version__, description=DESCRIPTION,
                  lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url="/openapi.json")
    api.state.hc = ctx
    inputs = InputSchemas()
    api.include_router(cases.build(inputs))
    api.include_router(work.build(inputs))
    api.include_router(exports.build())
    api.include_router(reports.build())
    api.include_router(public.build(inputs))
    api.include_router(surveys.build())
    api.include_router(ops.build())
    _handlers(api)
    if config.cors_origins:
        api.add_middleware(
            CORSMiddleware, allow_origins=list(config.cors_origins),
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "If-Match", "Idempotency-Key",
                           "X-API-Key", "Accept-Language"],
            expose_headers=["ETag", "Location", "X-Request-Id", "Retry-After"], max_age=600)
    api.add_middleware(Guard, max_body=config.max_request_bytes,
                       upload_limit=lambda: ctx.upload_limit, debug=app.settings.debug)
    api.openapi = lambda: _openapi(api, inputs)  # type: ignore[method-assign]
    return api


def _prepare_store(ctx: HttpContext) -> None:
    """Open the store (the core migrates every registered branch); a host that built its App
    without this plugin registered gets the adapter's branch upgraded here. Then remember the
    schema's version rows for ``/readyz``."""
    from .routes.ops import version_rows

    if ctx.app.in_memory:  # trials and tests: no API keys or status links to keep
        return
    store = ctx.app.store
    with store.read() as conn:
        rows = version_rows(store, conn)
    if HEAD not in rows:
        store.upgrade(version_locations=[DIRECTORY])
        with store.read() as conn:
            rows = version_rows(store, conn)
    ctx.migrations_at_start = rows


#: the pages patients open in a browser (not the JSON API under /v1/public)
_PATIENT_PAGES = ("/public/complaint", "/public/status/", "/s/")


def _patient_page(request: Request, problem: Problem) -> Response | None:
    """A patient's page answers an error (busy, too large, a bad language ...) as a page, not
    as JSON: ``None`` for every other path."""
    path = request.url.path.removeprefix(str(request.scope.get("root_path", "")).rstrip("/"))
    if not path.startswith(_PATIENT_PAGES):
        return None
    ctx: HttpContext = request.app.state.hc
    chosen = request.query_params.get("lang")
    lang: Lang = chosen if chosen in ("zh", "en") else language(request)  # type: ignore[assignment]
    status = TYPES[problem.slug][0]
    kind = "busy" if status == 429 else "error"
    which = 0 if lang == "zh" else 1
    html = ctx.pages.render("message.html", lang,
                            base=str(request.scope.get("root_path", "")).rstrip("/"),
                            title=TEXT[f"{kind}_title"][which],
                            text=TEXT[f"{kind}_text"][which])
    return HTMLResponse(html, status_code=status, headers={
        "Content-Language": "zh-CN" if lang == "zh" else "en", **problem.headers})


def _handlers(api: FastAPI) -> None:
    def rid(request: Request) -> str | None:
        value = getattr(request.state, "request_id", None)
        return value if isinstance(value, str) else None

    def respond(request: Request, problem: Problem) -> Response:
        """Problem details for the API; for a patient's page (a form, a status or survey
        link opened in a browser) the same status as a short page in their language."""
        page = _patient_page(request, problem)
        return page if page is not None else render(problem, language(request), rid(request))

    async def problem(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Problem)
        return respond(request, exc)

    async def core_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HospitalComplaintsError)
        found = from_error(exc, conditional=request.headers.get("if-match") is not None)
        if found.status >= 500:  # the caller sees no details; the log names the error
            log.error("request %s: %s: %s", rid(request), type(exc).__name__,
                      exc.en if isinstance(exc, ConfigError) else "(not shown)")
        return respond(request, found)

    async def validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = []
        for err in exc.errors():
            loc = [str(p) for p in err.get("loc", ())]
            where, name = (loc[0], ".".join(loc[1:])) if len(loc) > 1 else ("", ".".join(loc))
            value = err.get("input") if err.get("type") != "missing" else None
            allowed = str(err.get("msg", "invalid value"))
            errors.append(FieldError(field=name or where, value=_short(value),
                                     allowed=f"{allowed} ({where})" if where else allowed))
        en = "invalid request:\n" + "\n".join(
            f"  - {e.field}: got {e.value!r}; {e.allowed}" for e in errors)
        zh = "请求参数有误：\n" + "\n".join(
            f"  - {e.field}：取值无效（{e.allowed}）" for e in errors)
        return respond(request, Problem("invalid-input", en, zh, errors=errors))

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        slug = {404: "not-found", 405: "method-not-allowed", 406: "not-acceptable",
                413: "payload-too-large", 415: "unsupported-media-type",
                400: "bad-request"}.get(exc.status_code, "bad-request")
        en = {404: "no such resource: see /openapi.json for the operations",
              405: "this method is not allowed here"}.get(exc.status_code, str(exc.detail))
        zh = {404: "没有该资源：可用的接口见 /openapi.json",
              405: "此处不支持该请求方法"}.get(exc.status_code, str(exc.detail))
        headers = dict(exc.headers or {})
        return respond(request, Problem(slug, en, zh, headers=headers))

    api.add_exception_handler(Problem, problem)
    api.add_exception_handler(HospitalComplaintsError, core_error)
    api.add_exception_handler(RequestValidationError, validation)
    api.add_exception_handler(StarletteHTTPException, http_error)


def _short(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float)):
        return value
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _openapi(api: FastAPI, inputs: InputSchemas) -> dict[str, Any]:
    if api.openapi_schema is not None:
        return api.openapi_schema
    doc = get_openapi(title=api.title, version=api.version, description=api.description,
                      routes=api.routes)
    components = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for name, schema in inputs.components.items():
        schemas.setdefault(name, schema)
    for model in (ProblemDetails, FieldError):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for sub, definition in schema.pop("$defs", {}).items():
            schemas.setdefault(sub, definition)
        schemas[model.__name__] = schema
    components["securitySchemes"] = {
        "oidc": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                 "description": "an access token of the hospital's OIDC identity provider"},
        "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key",
                   "description": "an API key issued with `hospital-complaints http keys "
                                  "issue`"},
    }
    for path, operations in doc.get("paths", {}).items():
        if path.startswith("/v1/") and not path.startswith("/v1/public/"):
            for operation in operations.values():
                operation["security"] = [{"oidc": []}, {"apiKey": []}]
    api.openapi_schema = doc
    return doc

"""Errors as RFC 9457 problem details (``application/problem+json``), in Chinese or English.

Every error a caller can cause becomes a 4xx problem naming the field, the value given
(personal values masked by the core) and what is allowed, in the language the caller's
``Accept-Language`` prefers (Chinese when it says nothing). Nothing else reaches a caller:
an unexpected exception is a 500 problem with a request id and no traceback.

Problem types are URNs, ``urn:hospital-complaints:problem:<slug>``; docs/http.md lists them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from hospital_complaints.plugin_api import (
    AccessDenied,
    ConcurrencyConflict,
    ConfigError,
    HospitalComplaintsError,
    InvalidInput,
    NotFound,
    PluginError,
    WorkflowError,
)
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import HTTPConnection
from starlette.responses import Response

Language = Literal["zh", "en"]
MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:hospital-complaints:problem:"

#: slug -> (status, English title, Chinese title)
TYPES: dict[str, tuple[int, str, str]] = {
    "bad-request": (400, "Bad request", "请求有误"),
    "unauthorized": (401, "Authentication required", "需要身份认证"),
    "forbidden": (403, "Not allowed", "无权操作"),
    "not-found": (404, "Not found", "未找到"),
    "method-not-allowed": (405, "Method not allowed", "不支持的请求方法"),
    "not-acceptable": (406, "Not acceptable", "无法提供所需格式"),
    "conflict": (409, "Conflict with the case's state", "与案件当前状态冲突"),
    "idempotency-key-reused": (409, "Idempotency-Key already used", "幂等键已被使用"),
    "precondition-failed": (412, "The case has changed", "案件已被修改"),
    "payload-too-large": (413, "Request too large", "请求内容过大"),
    "unsupported-media-type": (415, "Unsupported media type", "不支持的内容类型"),
    "invalid-input": (422, "Invalid input", "输入有误"),
    "precondition-required": (428, "If-Match required", "需要 If-Match 请求头"),
    "too-many-requests": (429, "Too many requests", "请求过于频繁"),
    "internal-error": (500, "Internal error", "内部错误"),
    "not-implemented": (501, "Not available in this version", "当前版本不支持"),
    "service-unavailable": (503, "Service unavailable", "服务暂不可用"),
}


class FieldError(BaseModel):
    """One bad field: where, the value given (personal data masked), what is allowed."""

    model_config = ConfigDict(extra="forbid")

    field: str
    value: Any = None
    allowed: str


class ProblemDetails(BaseModel):
    """RFC 9457 problem details, with this API's extensions."""

    model_config = ConfigDict(extra="forbid")

    type: str = Field(description="urn:hospital-complaints:problem:<slug> (docs/http.md)")
    title: str
    status: int = Field(ge=400, le=599)
    detail: str
    instance: str | None = Field(default=None, description="urn:uuid of this request, as in "
                                                            "the X-Request-Id header and logs")
    errors: list[FieldError] | None = Field(default=None, description="every bad field")
    current_version: int | None = Field(default=None, description="412: the case's version "
                                                                  "now (its ETag)")
    allowed_commands: list[str] | None = None


@dataclass
class Problem(Exception):
    """An error this adapter raises itself: turned into problem details by the handler."""

    slug: str
    en: str
    zh: str
    errors: list[FieldError] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    current_version: int | None = None
    allowed_commands: list[str] | None = None

    def __post_init__(self) -> None:
        super().__init__(self.en)

    @property
    def status(self) -> int:
        return TYPES[self.slug][0]


def invalid(field_name: str, value: Any, allowed: str, zh: str) -> Problem:
    """A 422 for one bad field of this adapter's own (query, header, form)."""
    return Problem("invalid-input", f"invalid input:\n  - {field_name}: got {_show(value)}; "
                   f"{allowed}", zh, errors=[FieldError(field=field_name, value=_value(value),
                                                        allowed=allowed)])


def language(conn: HTTPConnection) -> Language:
    """The language ``Accept-Language`` prefers among zh and en (zh when it names neither)."""
    header = conn.headers.get("accept-language", "")
    best: tuple[float, int, Language] | None = None
    for position, part in enumerate(header.split(",")):
        pieces = part.strip().split(";")
        tag = pieces[0].strip().lower()
        q = 1.0
        for param in pieces[1:]:
            name, _, val = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    q = float(val)
                except ValueError:
                    q = 0.0
        lang: Language | None = ("zh" if tag == "zh" or tag.startswith("zh-") else
                                 "en" if tag == "en" or tag.startswith("en-") else None)
        if lang is None or q <= 0:
            continue
        candidate = (q, -position, lang)
        if best is None or candidate[:2] > best[:2]:
            best = candidate
    return best[2] if best is not None else "zh"


def from_error(exc: HospitalComplaintsError, *, conditional: bool = False) -> Problem:
    """The problem a core error is. ``conditional``: the request carried ``If-Match``, so a
    concurrent change is a failed precondition (412) rather than a conflict (409)."""
    zh = exc.zh or exc.en
    if isinstance(exc, InvalidInput):
        errors = [FieldError(field=p.field, value=_value(p.value), allowed=p.allowed)
                  for p in exc.problems]
        return Problem("invalid-input", exc.en, zh, errors=errors)
    if isinstance(exc, NotFound):
        return Problem("not-found", exc.en, zh)
    if isinstance(exc, AccessDenied):
        return Problem("forbidden", exc.en, zh)
    if isinstance(exc, ConcurrencyConflict):
        return Problem("precondition-failed" if conditional else "conflict", exc.en, zh)
    if isinstance(exc, WorkflowError):
        allowed = getattr(exc, "allowed", None)
        return Problem("conflict", exc.en, zh,
                       allowed_commands=list(allowed) if isinstance(allowed, list) else None)
    if isinstance(exc, ConfigError):
        # the database cannot be reached, a key or a setting is wrong: the text names hosts
        # and files, which are the administrator's business, not the caller's
        return Problem("service-unavailable", "the service cannot answer now (its database "
                       "or configuration); try again later. The administrator finds the reason "
                       "in the server's log by the request id",
                       "服务暂时无法处理请求（数据库或配置问题），请稍后重试；管理员可按请求编号在"
                       "服务器日志中查到原因", headers={"Retry-After": "30"})
    if isinstance(exc, PluginError):
        return Problem("internal-error", exc.en, zh)
    return Problem("bad-request", exc.en, zh)


def render(problem: Problem, lang: Language, request_id: str | None = None,
           extra: dict[str, Any] | None = None) -> Response:
    status, title_en, title_zh = TYPES[problem.slug]
    body = ProblemDetails(
        type=TYPE_PREFIX + problem.slug, title=title_zh if lang == "zh" else title_en,
        status=status, detail=problem.zh if lang == "zh" else problem.en,
        instance=f"urn:uuid:{request_id}" if request_id else None,
        errors=problem.errors or None, current_version=problem.current_version,
        allowed_commands=problem.allowed_commands, **(extra or {}))
    headers = {"Content-Language": "zh-CN" if lang == "zh" else "en", **problem.headers}
    if request_id:
        headers["X-Request-Id"] = request_id
    return Response(json.dumps(body.model_dump(exclude_none=True), ensure_ascii=False),
                    status_code=status, media_type=MEDIA_TYPE, headers=headers)


def _value(value: Any) -> Any:
    """A value as JSON shows it, cut to 80 characters (JSON types pass through)."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."

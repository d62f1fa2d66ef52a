"""Request dependencies shared by the routes: the context, the caller, ``If-Match``."""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request

from .auth import Principal, authenticate
from .context import HttpContext
from .problems import FieldError, Problem

_ETAG = re.compile(r'\s*(?:W/)?"(\d{1,9})"\s*')


def context(request: Request) -> HttpContext:
    ctx = request.app.state.hc
    assert isinstance(ctx, HttpContext)
    return ctx


def principal(request: Request) -> Principal:
    """The authenticated caller (401 otherwise); remembered for the access log."""
    caller = authenticate(context(request), request)
    request.state.caller = caller.log_label
    return caller


def etag(version: int) -> str:
    return f'"{version}"'


def expected_version(ctx: HttpContext, if_match: str | None, current: int) -> int | None:
    """The version ``If-Match`` names (checked against ``current``), or ``None`` without one.

    ``*`` matches any existing case. A list matches when one entry is the current version.
    Anything else is a failed precondition (412) with the current version."""
    if if_match is None or not if_match.strip():
        if ctx.settings.require_if_match:
            raise Problem("precondition-required",
                          "this server requires If-Match on commands: send the ETag of the "
                          "case you last read (GET /v1/cases/{reference})",
                          "本服务器要求命令携带 If-Match：请发送最近一次读取案件时的 ETag",
                          errors=[FieldError(field="If-Match", value=None,
                                             allowed='the case\'s ETag, e.g. "7"')])
        return None
    if if_match.strip() == "*":
        return None
    versions = set()
    for part in if_match.split(","):
        m = _ETAG.fullmatch(part)
        if m is not None:
            versions.add(int(m.group(1)))
    if current in versions:
        return current
    raise stale(current, if_match)


def stale(current: int, given: Any) -> Problem:
    shown = str(given)[:40]
    return Problem(
        "precondition-failed",
        f"the case is at version {current} (ETag {etag(current)}), but If-Match named "
        f"{shown}: someone changed it since you read it. Read it again and retry; nothing was "
        "saved",
        f"案件当前版本为 {current}（ETag {etag(current)}），If-Match 为 {shown}：读取后已被他人"
        "修改。请重新读取后重试，本次未保存",
        headers={"ETag": etag(current)}, current_version=current,
        errors=[FieldError(field="If-Match", value=shown, allowed=f"{etag(current)}")])

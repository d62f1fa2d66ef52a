"""The outer guard of every request (pure ASGI): a request id, body size limits, security
headers, the access log, and the last line of defence against an unexpected exception.

The access log is one JSON object per request on the logger ``hc_http.access``: request id,
method, the route's template (``/v1/cases/{reference}``, never the path itself, which may
hold a reference or a status token), status, duration, bytes sent and the kind of caller
(``sso``, ``api_key:<key id>``, ``anonymous``). No query string, no header, no body, no
address: nothing that identifies a patient.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .problems import Problem, language, render

access_log = logging.getLogger("hc_http.access")
error_log = logging.getLogger("hc_http")

API_CSP = "default-src 'none'; frame-ancestors 'none'"
PAGE_CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
            "base-uri 'none'; frame-ancestors 'none'")
_UPLOAD = re.compile(r"/v1/cases/[^/]+/attachments/?$")


class BodyTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit


def too_large(limit: int) -> Problem:
    return Problem("payload-too-large", f"the request body is larger than {limit} bytes",
                   f"请求体超过 {limit} 字节")


class Guard:
    def __init__(self, app: ASGIApp, *, max_body: int, upload_limit: Callable[[], int],
                 debug: bool = False) -> None:
        self.app = app
        self.max_body = max_body
        self.upload_limit = upload_limit
        self.debug = debug

    def _limit(self, scope: Scope) -> int:
        if scope.get("method") == "POST" and _UPLOAD.search(local_path(scope)):
            return self.upload_limit()
        return self.max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started_at = time.perf_counter()
        request_id = uuid.uuid4().hex
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        conn = HTTPConnection(scope)
        limit = self._limit(scope)
        outcome: dict[str, Any] = {"status": 0, "bytes": 0, "started": False}
        page = local_path(scope).startswith("/public/")
        https = scope.get("scheme") == "https"

        async def guarded_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                outcome["status"] = message["status"]
                outcome["started"] = True
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                for name, value in _security_headers(page, https, request_id):
                    if name not in present:
                        headers.append((name, value))
                message = {**message, "headers": headers}
            elif message["type"] == "http.response.body":
                outcome["bytes"] += len(message.get("body", b""))
            await send(message)

        received = 0

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        try:
            declared = conn.headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > limit:
                await render(too_large(limit), language(conn), request_id)(
                    scope, receive, guarded_send)
                return
            await self.app(scope, counted_receive, guarded_send)
        except BodyTooLarge as exc:
            if not outcome["started"]:
                await render(too_large(exc.limit), language(conn), request_id)(
                    scope, receive, guarded_send)
        except Exception as exc:
            # never a traceback to the caller; the log names the type only, because a
            # traceback's locals may hold personal data (HC_DEBUG=1 logs it)
            error_log.error("request %s failed: internal error %s", request_id,
                            type(exc).__name__, exc_info=self.debug)
            if not outcome["started"]:
                problem = Problem("internal-error", "an unexpected internal error stopped "
                                  "the request; nothing was half-written (each change is one "
                                  "transaction). The server's log names it by the request id",
                                  "内部错误导致请求中止；每次修改均为单一事务，不会写入不完整"
                                  "的数据。服务器日志中可按请求编号查到该错误")
                await render(problem, language(conn), request_id)(scope, receive, guarded_send)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "(unmatched)"
            access_log.info(json.dumps({
                "event": "http_access", "request_id": request_id,
                "method": scope.get("method"), "route": template,
                "status": outcome["status"], "bytes": outcome["bytes"],
                "ms": round((time.perf_counter() - started_at) * 1000, 2),
                "caller": state.get("caller", "anonymous"),
            }))


def local_path(scope: Scope) -> str:
    """The path below the mount point (a host may mount this app under a prefix)."""
    path: str = scope.get("path", "")
    root: str = scope.get("root_path", "")
    return path[len(root):] if root and path.startswith(root) else path


def _security_headers(page: bool, https: bool, request_id: str) -> list[tuple[bytes, bytes]]:
    headers = [
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"no-referrer"),
        (b"content-security-policy", (PAGE_CSP if page else API_CSP).encode()),
        (b"cross-origin-opener-policy", b"same-origin"),
        (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
        (b"cache-control", b"no-store"),
        (b"x-request-id", request_id.encode()),
    ]
    if https:
        headers.append((b"strict-transport-security", b"max-age=31536000"))
    return headers

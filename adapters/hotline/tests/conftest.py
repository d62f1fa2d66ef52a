"""A stand-in hotline platform, started on loopback for each test that needs it.

No public 12345 / 12320 platform exists to test against, so this server implements the
fictional Qingchuan platform exactly as ``examples/qingchuan-12345.toml`` describes it,
independently of the connector's code: it checks the HMAC signature (or a token / basic
password), answers in the ``{code, msg, result}`` envelope, pages work orders by
``pageNo``/``pageSize`` from ``updatedFrom``, serves results by cursor, drops a repeated
``requestId`` with code 1009, and can be told to fail the next requests with HTTP 500.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from hc_hotline import plugin
from hc_hotline.mapping import EXAMPLE, read_data

SECRET = "qc-test-secret-0231"
APP_ID = "HOSP-0231"
PREFIX = "/open-api/v1"


class StandInPlatform:
    """The fictional platform. Tests add orders and results, and read what was pushed."""

    def __init__(self, *, scheme: str = "hmac", secret: str = SECRET,
                 username: str = "hosp0231") -> None:
        self.scheme = scheme
        self.secret = secret
        self.username = username
        self.lock = threading.Lock()
        self.orders: list[dict[str, Any]] = []
        self.results: list[dict[str, Any]] = []
        self.pushes: list[dict[str, Any]] = []
        self.requests: list[tuple[str, str]] = []
        self.request_ids: set[str] = set()
        self.fail_next = 0
        self.refuse_tickets: set[str] = set()
        #: ticket -> how many more pushes for it answer HTTP 500
        self.fail_tickets: dict[str, int] = {}
        self.auth_failures = 0
        self.server: ThreadingHTTPServer | None = None

    # -- what tests do -------------------------------------------------------------------------

    def dispatch(self, ticket: str, at: str, **extra: Any) -> dict[str, Any]:
        order = {"orderNo": ticket, "acceptTime": at, "updateTime": at, "status": "10",
                 "caller": {"name": "刘芳", "phone": "13600001111", "allowCallback": "Y"},
                 "appealType": "04", "title": "CT 检查等了两个多小时",
                 "content": "周五上午预约的 CT 检查，到了以后等了两个多小时才做，没有人解释。",
                 "appealDemand": "要求医院说明原因并道歉", "checkNo": "CT20261120001",
                 "deadline": "2026-11-27 18:00:00", "limitLevel": "2", **extra}
        with self.lock:
            self.orders.append(order)
        return order

    def result(self, ticket: str, status: str, at: str, **extra: Any) -> None:
        with self.lock:
            self.results.append({"orderNo": ticket, "status": status, "resultTime": at,
                                 **extra})

    def pushed(self, action: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return [p for p in self.pushes if action is None or p["action"] == action]

    @property
    def base_url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}{PREFIX}"

    # -- the server ----------------------------------------------------------------------------

    def start(self) -> StandInPlatform:
        platform = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                platform._handle(self, "GET")

            def do_POST(self) -> None:
                platform._handle(self, "POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def _send(self, h: BaseHTTPRequestHandler, status: int, body: Any) -> None:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        h.send_response(status)
        h.send_header("Content-Type", "application/json; charset=utf-8")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    def _authorised(self, h: BaseHTTPRequestHandler, method: str, path: str,
                    body: bytes) -> bool:
        if self.scheme == "token":
            return h.headers.get("Authorization") == f"Bearer {self.secret}"
        if self.scheme == "basic":
            pair = base64.b64encode(f"{self.username}:{self.secret}".encode()).decode()
            return h.headers.get("Authorization") == f"Basic {pair}"
        stamp = h.headers.get("X-Timestamp", "")
        if h.headers.get("X-App-Id") != APP_ID or not stamp.isdigit() \
                or abs(int(stamp) / 1000 - time.time()) > 300:
            return False
        text = "\n".join([APP_ID, stamp, h.headers.get("X-Nonce", ""), method, path,
                          hashlib.sha256(body).hexdigest()])
        good = hmac.new(self.secret.encode(), text.encode(), hashlib.sha256).hexdigest()
        return hmac.compare_digest(good, h.headers.get("X-Sign", ""))

    def _handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(h.path)
        path = parts.path
        body = h.rfile.read(int(h.headers.get("Content-Length") or 0)) if method == "POST" \
            else b""
        with self.lock:
            self.requests.append((method, path))
        if not self._authorised(h, method, path, body):
            with self.lock:
                self.auth_failures += 1
            self._send(h, 401, {"code": "401", "msg": "签名错误"})
            return
        with self.lock:
            if self.fail_next > 0:
                self.fail_next -= 1
                self._send(h, 500, {"code": "500", "msg": "internal error"})
                return
        q = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if method == "GET" and path == f"{PREFIX}/workorders":
            self._orders(h, q)
        elif method == "GET" and path == f"{PREFIX}/workorders/results":
            self._results(h, q)
        elif method == "POST" and path.startswith(f"{PREFIX}/workorders/"):
            self._push(h, path, body)
        else:
            self._send(h, 404, {"code": "404", "msg": "no such interface"})

    def _orders(self, h: BaseHTTPRequestHandler, q: dict[str, str]) -> None:
        if q.get("unitCode") != "H0231":
            self._send(h, 200, {"code": "2002", "msg": "unitCode 错误", "result": None})
            return
        since = q.get("updatedFrom")
        with self.lock:
            found = sorted((o for o in self.orders if since is None or o["updateTime"] >= since),
                           key=lambda o: o["updateTime"])
        page, size = int(q.get("pageNo", "1")), int(q.get("pageSize", "50"))
        records = found[(page - 1) * size: page * size]
        self._send(h, 200, {"code": "0", "msg": "ok",
                            "result": {"records": records, "total": len(found)}})

    def _results(self, h: BaseHTTPRequestHandler, q: dict[str, str]) -> None:
        start = int(q.get("cursor") or 0)
        limit = int(q.get("limit", "100"))
        with self.lock:
            items = self.results[start:start + limit]
        self._send(h, 200, {"code": "0", "msg": "ok", "result": {
            "items": items, "nextCursor": str(start + len(items))}})

    def _push(self, h: BaseHTTPRequestHandler, path: str, body: bytes) -> None:
        rest = path[len(f"{PREFIX}/workorders/"):].split("/")
        if len(rest) != 2:
            self._send(h, 404, {"code": "404", "msg": "no such interface"})
            return
        ticket, action = unquote(rest[0]), rest[1]
        try:
            data = json.loads(body)
        except ValueError:
            self._send(h, 400, {"code": "400", "msg": "bad JSON"})
            return
        request_id = data.get("requestId")
        if data.get("appId") != APP_ID or not request_id or not isinstance(data.get("data"),
                                                                           dict):
            self._send(h, 400, {"code": "400", "msg": "envelope incomplete"})
            return
        with self.lock:
            if self.fail_tickets.get(ticket, 0) > 0:
                self.fail_tickets[ticket] -= 1
                self._send(h, 503, {"code": "503", "msg": "busy"})
                return
            if request_id in self.request_ids:
                self._send(h, 200, {"code": "1009", "msg": "重复请求"})
                return
            if ticket in self.refuse_tickets or not any(o["orderNo"] == ticket
                                                        for o in self.orders):
                self._send(h, 200, {"code": "2001", "msg": f"工单 {ticket} 状态不允许该操作"})
                return
            self.request_ids.add(request_id)
            self.pushes.append({"action": action, "ticket": ticket, "requestId": request_id,
                                "data": data["data"]})
        self._send(h, 200, {"code": "0", "msg": "ok", "result": {"accepted": True}})


def mapping_data(base_url: str, **changes: Any) -> dict[str, Any]:
    """The example mapping, pointed at ``base_url``; ``changes`` replace top-level tables."""
    data = read_data(EXAMPLE)
    data["http"]["base_url"] = base_url
    data.update(changes)
    return data


def write_mapping(folder: Path, data: dict[str, Any], name: str = "platform.json") -> Path:
    path = folder / name
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture
def kit() -> SimpleNamespace:
    """This module's helpers for the test modules (which cannot import a conftest)."""
    return SimpleNamespace(SECRET=SECRET, StandInPlatform=StandInPlatform,
                           mapping_data=mapping_data, write_mapping=write_mapping)


@pytest.fixture
def platform() -> Iterator[StandInPlatform]:
    p = StandInPlatform().start()
    yield p
    p.stop()


@pytest.fixture
def hotline_app(tmp_path: Path, platform: StandInPlatform) -> Callable[..., Any]:
    """``make(**settings)``: an application on SQLite with the connector configured on the
    stand-in platform (the example mapping)."""
    from hospital_complaints.testing import make_app

    def make(*, data: dict[str, Any] | None = None, secret: str = SECRET,
             memory: bool = False, **settings: Any) -> Any:
        path = write_mapping(tmp_path, data or mapping_data(platform.base_url))
        section = {"mappings": [str(path)], "secrets": {"qingchuan-12345": secret},
                   "poll_s": 60, **settings}
        return make_app(plugin, sql=None if memory else tmp_path,
                        plugin_settings={"hotline": section})

    return make


def stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S")

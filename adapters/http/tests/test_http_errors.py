"""Errors are RFC 9457 problem details in zh or en, never a traceback, never a 500 on bad
input; limits, security headers, CORS, access logs, mounting inside a host's app."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from hospital_complaints.plugin_api import hookimpl
from hospital_complaints.testing import NOW, complaint_draft

from hc_http import create_app

PROBLEM = "application/problem+json"


def _is_problem(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    body: dict[str, Any] = r.json()
    assert body["status"] == status and body["type"].startswith(
        "urn:hospital-complaints:problem:")
    assert "Traceback" not in r.text and ".py" not in r.text
    return body


def _ref(service: Any, headers: dict[str, str]) -> str:
    r = service.client.post("/v1/cases", json=complaint_draft(), headers=headers)
    ref: str = r.json()["case"]["reference"]
    return ref


def test_bad_bodies_are_named_never_a_500(service: Any, officer: dict[str, str]) -> None:
    c = service.client
    ref = _ref(service, officer)
    json_headers = {**officer, "Content-Type": "application/json", "Accept-Language": "en"}
    broken = _is_problem(c.post("/v1/cases", content=b'{"channel": ', headers=json_headers),
                         422)
    assert broken["errors"][0]["field"] == "request body"
    assert "valid JSON" in broken["errors"][0]["allowed"]
    deep = _is_problem(c.post("/v1/cases", content=b"[" * 100 + b"]" * 100,
                              headers=json_headers), 422)
    assert "nested" in deep["errors"][0]["allowed"]
    latin = _is_problem(c.post("/v1/cases", content="{\"a\": \"é\"}".encode("latin-1"),
                               headers=json_headers), 422)
    assert "utf-8" in latin["errors"][0]["allowed"]
    array = _is_problem(c.post(f"/v1/cases/{ref}/commands/acknowledge", json=[1, 2],
                               headers=officer), 422)
    assert array["errors"]
    plain = _is_problem(c.post("/v1/cases", content=b"hello", headers={
        **officer, "Content-Type": "text/plain"}), 415)
    assert "application/json" in plain["detail"]
    future = _is_problem(c.post("/v1/cases", json=complaint_draft(
        received_at="2030-01-01T08:00:00+08:00"), headers=json_headers), 422)
    assert future["errors"][0]["field"] == "received_at"
    masked = _is_problem(c.post("/v1/cases", json=complaint_draft(complainant={
        "role": "patient", "name": "张三丰", "phone": "not-a-phone-13812345678"}),
        headers=json_headers), 422)
    assert "13812345678" not in json.dumps(masked)  # a personal value is shown masked
    assert masked["errors"][0]["field"] == "complainant.phone"


def test_bad_parameters_and_routes(service: Any, officer: dict[str, str]) -> None:
    c = service.client
    limit = _is_problem(c.get("/v1/cases", params={"limit": "lots"}, headers=officer), 422)
    assert limit["errors"][0] == {"field": "limit", "value": "lots", "allowed": limit[
        "errors"][0]["allowed"]}
    assert _is_problem(c.get("/v1/cases", params={"cursor": "!!"}, headers=officer),
                       422)["errors"][0]["field"] == "cursor"
    assert _is_problem(c.get("/v1/cases/HC-20990101-0001", headers=officer), 404)
    assert _is_problem(c.get("/v1/cases/%3Cscript%3E", headers=officer), 422)
    assert _is_problem(c.get("/nowhere", headers=officer), 404)
    assert _is_problem(c.delete("/v1/cases", headers=officer), 405)
    ref = _ref(service, officer)
    assert _is_problem(c.post(f"/v1/cases/{ref}/commands/acknowledge", json={
        "method": "phone", "message": "x"}, headers={**officer, "If-Match": "yesterday"}), 412)


def test_problems_speak_the_callers_language(service: Any, officer: dict[str, str]) -> None:
    def title(language: str | None) -> str:
        headers = {"Accept-Language": language} if language else {}
        r = service.client.get("/v1/cases/HC-20990101-0001", headers={**officer, **headers})
        return str(_is_problem(r, 404)["title"])

    assert title(None) == "未找到"
    assert title("en-US,en;q=0.9") == "Not found"
    assert title("fr-FR, zh-CN;q=0.5, en;q=0.4") == "未找到"
    assert title("zh;q=0.2, en;q=0.8") == "Not found"


def test_bodies_over_the_limit_are_refused_while_they_arrive(
        core: Callable[..., Any], serve: Callable[..., Any], key: Callable[..., Any]) -> None:
    served = serve(core(http={"max_request_bytes": 4096}))
    headers = key(served.app)
    big = complaint_draft(description="长" * 3000)
    declared = _is_problem(served.client.post("/v1/cases", json=big, headers=headers), 413)
    assert "4096" in declared["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"description": "'
        for _ in range(10):
            yield b"x" * 1000
        yield b'"}'

    streamed = served.client.post("/v1/cases", content=chunks(), headers={
        **headers, "Content-Type": "application/json"})
    _is_problem(streamed, 413)


class Exploding:
    """A channel plugin with a bug."""

    @hookimpl
    def hc_normalize_intake(self, channel: str, raw: Any) -> dict[str, Any] | None:
        if channel == "boom":
            raise ZeroDivisionError("secret 13812345678")
        return None


def test_an_internal_error_is_a_problem_with_a_request_id_and_no_details(
        core: Callable[..., Any], serve: Callable[..., Any], key: Callable[..., Any],
        caplog: pytest.LogCaptureFixture) -> None:
    served = serve(core(plugins=(Exploding(),)))
    with caplog.at_level(logging.INFO):
        r = served.client.post("/v1/intake/boom", json={"x": 1}, headers=key(served.app))
    body = _is_problem(r, 500)
    assert "13812345678" not in r.text and "ZeroDivisionError" not in r.text
    assert body["instance"] == f"urn:uuid:{r.headers['x-request-id']}"
    logged = "\n".join(rec.getMessage() for rec in caplog.records)
    assert r.headers["x-request-id"] in logged and "13812345678" not in logged


def test_security_headers_and_cors(core: Callable[..., Any], serve: Callable[..., Any],
                                   key: Callable[..., Any]) -> None:
    served = serve(core(http={"cors_origins": "https://his.hospital.local"}))
    api = served.client.get("/healthz")
    assert api.headers["x-content-type-options"] == "nosniff"
    assert api.headers["x-frame-options"] == "DENY"
    assert api.headers["content-security-policy"].startswith("default-src 'none'")
    assert api.headers["cache-control"] == "no-store"
    page = served.client.get("/public/complaint")
    assert "style-src 'self'" in page.headers["content-security-policy"]
    preflight = served.client.options("/v1/cases", headers={
        "Origin": "https://his.hospital.local", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, if-match, idempotency-key"})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://his.hospital.local"
    assert "etag" in served.client.get("/v1/cases", headers={
        **key(served.app), "Origin": "https://his.hospital.local"}).headers[
        "access-control-expose-headers"].lower()
    other = served.client.options("/v1/cases", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in other.headers


def test_unsafe_settings_stop_start_up_naming_the_variable(core: Callable[..., Any]) -> None:
    from hospital_complaints.plugin_api import ConfigError

    with pytest.raises(ConfigError, match="HC_HTTP_CORS_ORIGINS"):
        core(http={"cors_origins": "*"})
    with pytest.raises(ConfigError, match="HC_HTTP_OIDC_AUDIENCE"):
        core(http={"oidc_issuer": "https://sso.hospital.local"})
    with pytest.raises(ConfigError, match="HC_HTTP_OIDC_ALGORITHMS"):
        core(http={"oidc_issuer": "https://sso.hospital.local", "oidc_audience": "hc",
                   "oidc_algorithms": "RS256,none"})


def test_access_logs_carry_no_personal_data(service: Any, officer: dict[str, str],
                                            caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="hc_http.access"):
        ref = _ref(service, officer)
        service.client.get(f"/v1/cases/{ref}", headers=officer)
        service.client.get("/v1/cases", params={"department": "医患办"}, headers=officer)
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "hc_http.access"]
    routes = {(line["method"], line["route"]) for line in lines}
    assert ("GET", "/v1/cases/{reference}") in routes and ("POST", "/v1/cases") in routes
    text = json.dumps(lines, ensure_ascii=False)
    for secret in (ref, "医患办", "13812345678", officer["X-API-Key"]):
        assert secret not in text
    assert all(line["caller"].startswith("api_key:") for line in lines)


def test_the_app_mounts_inside_a_hosts_asgi_app(core: Callable[..., Any],
                                                key: Callable[..., Any]) -> None:
    import socket

    app = core()
    headers = key(app)
    host = FastAPI()
    host.mount("/complaints", create_app(app))

    @host.get("/his/ping")
    def ping() -> dict[str, str]:
        return {"his": "ok"}

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(host, log_config=None, access_log=False,
                                           lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            threading.Event().wait(0.02)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as c:
            assert c.get("/his/ping").json() == {"his": "ok"}
            r = c.post("/complaints/v1/cases", json=complaint_draft(), headers=headers)
            assert r.status_code == 201, r.text
            assert r.headers["location"].startswith(
                f"http://127.0.0.1:{port}/complaints/v1/cases/")
            form = c.get("/complaints/public/complaint")
            assert 'href="/complaints/public/static/app.css"' in form.text
            assert 'action="/complaints/public/complaint' in form.text
            assert c.get("/complaints/public/static/app.css").status_code == 200
    finally:
        server.should_exit = True
        thread.join(timeout=15)
    assert NOW  # the app's clock, untouched by the host

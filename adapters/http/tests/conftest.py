"""Fixtures: the HTTP service under a real uvicorn on 127.0.0.1, clients speaking real HTTP,
and a real OIDC token issuer (npm ``oauth2-mock-server``) on loopback."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from hospital_complaints.plugin_api import App, Settings
from hospital_complaints.testing import NOW, make_app
from support import require_peer

import hc_http.plugin as http_plugin
from hc_http import create_app
from hc_http.apikeys import ApiKeys
from hc_http.settings import SCOPES

JS = Path(__file__).resolve().parents[1] / "js"
AUDIENCE = "hc-api"


def need_node(package: str, why: str) -> None:
    if shutil.which("node") is None:
        require_peer(package, f"node is not installed ({why})")
    if not (JS / "node_modules" / package).is_dir():
        require_peer(package, f"npm packages missing: run `npm ci --prefix {JS}` ({why})")


class Served:
    """A uvicorn server running ``create_app(app)`` on a free loopback port, in a thread."""

    def __init__(self, app: App, **kwargs: Any) -> None:
        self.app = app
        self.asgi = create_app(app, **kwargs)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(self.asgi, log_config=None, access_log=False, lifespan="on",
                                timeout_graceful_shutdown=5)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]},
                                       name="uvicorn-test", daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        self.client = httpx.Client(base_url=self.url, timeout=30)

    def stop(self) -> None:
        self.client.close()
        self.server.should_exit = True
        self.thread.join(timeout=15)


def core_app(folder: Path, *, http: dict[str, Any] | None = None, plugins: tuple[Any, ...] = (),
             settings: Settings | None = None, clock: Any = None,
             max_attachment_bytes: int | None = None) -> App:
    """A real application on SQLite in ``folder`` (attachments in ``folder/blobs``) with
    this adapter registered."""
    base = settings or Settings()
    attachments = {"blob_dir": folder / "blobs"}
    if max_attachment_bytes is not None:
        attachments["max_bytes"] = max_attachment_bytes
    base = base.model_copy(update={"attachments": base.attachments.model_copy(
        update=attachments)})
    return make_app(http_plugin, *plugins, sql=folder, settings=base, clock=clock,
                    plugin_settings={"http": http or {}})


def issue_key(app: App, name: str = "his", *, scopes: tuple[str, ...] = SCOPES,
              roles: tuple[str, ...] = ("complaint_officer",),
              department: str | None = None) -> dict[str, str]:
    """Headers carrying a fresh API key."""
    key, _ = ApiKeys(app.store).issue(name, scopes=scopes, roles=roles, department=department,
                                      created_by="test", now=NOW)
    return {"X-API-Key": key}


@pytest.fixture
def serve() -> Iterator[Callable[..., Served]]:
    """``serve(app, **create_app kwargs)``: start a server; all are stopped afterwards."""
    started: list[Served] = []

    def start(app: App, **kwargs: Any) -> Served:
        served = Served(app, **kwargs)
        started.append(served)
        return served

    yield start
    for served in started:
        served.stop()


@pytest.fixture
def core(tmp_path: Path) -> Callable[..., App]:
    """``core(http={...}, plugins=(...), settings=..., clock=...)``: a fresh application."""
    made = 0

    def make(**kwargs: Any) -> App:
        nonlocal made
        made += 1
        folder = tmp_path / f"app{made}"
        folder.mkdir()
        return core_app(folder, **kwargs)

    return make


@pytest.fixture
def key() -> Callable[..., dict[str, str]]:
    """``key(app, name, scopes=..., roles=..., department=...)``: API key headers."""
    return issue_key


@pytest.fixture
def service(tmp_path: Path, serve: Callable[..., Served]) -> Served:
    """The service on a fresh SQLite database, default settings."""
    return serve(core_app(tmp_path))


@pytest.fixture
def officer(service: Served) -> dict[str, str]:
    """An API key of a hospital-wide complaint officer with every scope."""
    return issue_key(service.app)


# -- the token issuer ---------------------------------------------------------------------------


class Issuer:
    def __init__(self) -> None:
        need_node("oauth2-mock-server", "the OIDC tests need a real token issuer")
        self.proc = subprocess.Popen(["node", str(JS / "issuer.mjs")], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, encoding="utf-8")
        assert self.proc.stdout is not None
        started = json.loads(self.proc.stdout.readline())
        self.issuer: str = started["issuer"]
        self.port: int = started["port"]
        self.jwks_url = f"http://127.0.0.1:{self.port}/jwks"
        self._lock = threading.Lock()

    def _ask(self, command: dict[str, Any]) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        with self._lock:
            self.proc.stdin.write(json.dumps(command) + "\n")
            self.proc.stdin.flush()
            answer: dict[str, Any] = json.loads(self.proc.stdout.readline())
        if "error" in answer:
            raise RuntimeError(answer["error"])
        return answer

    def token(self, claims: dict[str, Any] | None = None, *, expires_in: int = 3600,
              rogue: bool = False, remove: tuple[str, ...] = ()) -> str:
        base = {"aud": AUDIENCE, "sub": "wangmin", "roles": ["complaint_officer"],
                "department": "医患办"}
        token: str = self._ask({"claims": {**base, **(claims or {})}, "expiresIn": expires_in,
                                "rogue": rogue, "remove": list(remove)})["token"]
        return token

    def token_endpoint_claims(self, claims: dict[str, Any]) -> None:
        self._ask({"token_endpoint_claims": claims})

    def settings(self, **more: Any) -> dict[str, Any]:
        return {"oidc_issuer": self.issuer, "oidc_audience": AUDIENCE,
                "oidc_jwks_url": self.jwks_url, **more}

    def stop(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="session")
def issuer() -> Iterator[Issuer]:
    started = Issuer()
    yield started
    started.stop()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}

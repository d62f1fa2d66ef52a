"""``hospital-complaints serve`` and ``hospital-complaints http keys issue|list|revoke``."""

from __future__ import annotations

import contextlib
import json
import logging
import signal
import socket
import sys
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

import click
from hospital_complaints.plugin_api import ErrorBoundaryGroup, cli_app

from .settings import SCOPES, http_settings


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (0.0.0.0: every interface).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535),
              help="Port (0: any free port; the one chosen is printed).")
@click.option("--log-level", default="info", show_default=True,
              type=click.Choice(["debug", "info", "warning", "error"]))
def serve_cmd(host: str, port: int, log_level: str) -> None:
    """Serve the REST API, the public pages and /healthz, /readyz (uvicorn).

    The database (--db) is opened and migrated before the first request. SIGTERM or Ctrl-C
    stops accepting connections, lets running requests finish (HC_HTTP_SHUTDOWN_TIMEOUT
    seconds at most), closes the database and exits with status 0.
    """
    import uvicorn

    from .asgi import create_app

    app = cli_app()
    settings = http_settings(app)
    logging.basicConfig(level=getattr(logging, log_level.upper()), format="%(message)s",
                        stream=sys.stderr)
    for noisy in ("alembic", "sqlalchemy"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    asgi = create_app(app)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted connections only when the
    # listening socket says it is TCP; without it every response waits for a delayed ACK
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}\n"
                                   f"无法监听 {host}:{port}：{exc.strerror}") from None
    sock.listen(2048)  # connections wait in the backlog until the database is open
    bound = sock.getsockname()[1]
    config = uvicorn.Config(
        asgi, log_config=None, log_level=log_level, access_log=False, lifespan="on",
        proxy_headers=True, forwarded_allow_ips=settings.forwarded_allow_ips,
        timeout_graceful_shutdown=settings.shutdown_timeout, server_header=False)
    server = _server_class()(config)
    click.echo(json.dumps({"event": "listening", "url": f"http://{host}:{bound}"}), err=True)
    server.run(sockets=[sock])
    click.echo(json.dumps({"event": "stopped"}), err=True)


def _server_class() -> type[Any]:
    import uvicorn

    class GracefulServer(uvicorn.Server):
        """uvicorn's server, except that a stop asked for with SIGTERM or Ctrl-C ends with
        status 0 once running requests have finished (uvicorn would re-raise the signal)."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            if threading.current_thread() is not threading.main_thread():
                yield
                return
            original = {sig: signal.signal(sig, self._stop)
                        for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                yield
            finally:
                for sig, handler in original.items():
                    signal.signal(sig, handler)

        def _stop(self, sig: int, frame: FrameType | None) -> None:
            if self.should_exit and sig == signal.SIGINT:
                self.force_exit = True  # a second Ctrl-C: stop waiting
            else:
                self.should_exit = True

    return GracefulServer


@click.group("http", cls=ErrorBoundaryGroup)
def http_group() -> None:
    """The HTTP service: API keys for systems that call it."""


@http_group.command("openapi")
@click.option("--out", type=click.File("w", encoding="utf-8"), default="-",
              show_default=True, help="Where to write it.")
def openapi_cmd(out: Any) -> None:
    """Write the OpenAPI document (JSON) that the server publishes at /openapi.json, for
    client generators (openapi-generator for Java or C#, NSwag, ...). No database needed."""
    from .asgi import create_app

    out.write(json.dumps(create_app(cli_app()).openapi(), ensure_ascii=False, indent=2))
    out.write("\n")


@http_group.group("keys", cls=ErrorBoundaryGroup)
def keys_group() -> None:
    """Issue, list and revoke API keys (stored hashed; a key is shown once)."""


@keys_group.command("issue")
@click.argument("name")
@click.option("--scope", "scopes", multiple=True, required=True,
              type=click.Choice(SCOPES), help="What the key may do (repeat for several).")
@click.option("--role", "roles", multiple=True,
              help="A role of the viewer the key acts as (repeat), e.g. complaint_officer.")
@click.option("--department", default=None,
              help="The department the key acts for (a name, alias or id of the registry); "
                   "without a hospital-wide role it sees only this department's cases.")
def issue_cmd(name: str, scopes: tuple[str, ...], roles: tuple[str, ...],
              department: str | None) -> None:
    """Issue a key called NAME (a system, e.g. his-outpatient). The key is printed once."""
    from .apikeys import ApiKeys

    app = cli_app()
    actor = app.settings.actor or "cli"
    key, record = ApiKeys(app.store).issue(name, scopes=scopes, roles=roles,
                                           department=department, created_by=actor,
                                           now=app.clock.now())
    click.echo(key)
    click.echo(f"issued {record.name} ({record.key_id}): scopes {' '.join(sorted(record.scopes))}"
               f"; roles {' '.join(sorted(record.roles)) or '-'}; department "
               f"{record.department or '-'}. Store the key now: it is not shown again.\n"
               f"已签发 {record.name}；请立即保存密钥，之后不再显示。", err=True)


@keys_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per key.")
def list_cmd(as_json: bool) -> None:
    """Every key ever issued (never a secret), revoked ones included."""
    from .apikeys import ApiKeys

    for k in ApiKeys(cli_app().store).all():
        row = {"name": k.name, "key_id": k.key_id, "scopes": sorted(k.scopes),
               "roles": sorted(k.roles), "department": k.department,
               "created_at": k.created_at, "created_by": k.created_by,
               "revoked_at": k.revoked_at}
        if as_json:
            click.echo(json.dumps(row, ensure_ascii=False))
        else:
            state = f"revoked {k.revoked_at}" if k.revoked_at else "active"
            click.echo(f"{k.name}\t{k.key_id}\t{' '.join(sorted(k.scopes))}\t"
                       f"{' '.join(sorted(k.roles)) or '-'}\t{k.department or '-'}\t{state}")


@keys_group.command("revoke")
@click.argument("name")
def revoke_cmd(name: str) -> None:
    """Revoke the key NAME (or its key id): refused from the next request on."""
    from .apikeys import ApiKeys

    app = cli_app()
    record = ApiKeys(app.store).revoke(name, now=app.clock.now())
    click.echo(f"revoked {record.name} ({record.key_id}) 已吊销")

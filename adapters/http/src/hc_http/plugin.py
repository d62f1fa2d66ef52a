"""The plugin module: what the entry point ``http`` loads. Hook implementations only;
nothing listens, connects or reads files at import time."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from hospital_complaints.plugin_api import hookimpl

if TYPE_CHECKING:
    import click
    from hospital_complaints.plugin_api import PluginSettings


@hookimpl
def hc_register_settings(register: Callable[[PluginSettings], None]) -> None:
    """The ``http`` section: sign-in (OIDC), CORS, limits, public pages (``HC_HTTP_*``)."""
    from .settings import DECLARATION

    register(DECLARATION)


@hookimpl
def hc_register_migrations(register: Callable[[str | Path], None]) -> None:
    """The adapter's Alembic branch ``http``: API keys and status links (hashed)."""
    from .migrations import DIRECTORY

    register(DIRECTORY)


@hookimpl
def hc_register_cli_commands(cli: click.Group) -> None:
    """``hospital-complaints serve`` and ``hospital-complaints http keys ...``."""
    from hospital_complaints.plugin_api import lazy_command

    cli.add_command(lazy_command(
        "serve", "hc_http.cli:serve_cmd",
        "Serve the REST API, the public pages and /healthz, /readyz (uvicorn)."))
    cli.add_command(lazy_command(
        "http", "hc_http.cli:http_group", "The HTTP service: API keys for systems that call it."))

"""What every CLI command shares: the settings and plugins ``main`` started with, and the
application (``bootstrap``) built on first use with the database of ``--db``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import click

from ..app import App, bootstrap
from ..plugins.manager import HCPluginManager
from ..settings import Settings

if TYPE_CHECKING:
    from ..services.service import ComplaintService
    from ..storage.sql import SqlStore


@dataclass
class CliState:
    settings: Settings
    plugins: HCPluginManager
    db_url: str | None = None
    app: App | None = field(default=None)

    def get_app(self) -> App:
        """The application on the configured database (``--db`` wins over the settings)."""
        if self.app is None:
            settings = self.settings
            if self.db_url:
                settings = settings.model_copy(update={
                    "database": settings.database.model_copy(update={"url": self.db_url})})
            self.app = bootstrap(settings, plugins=self.plugins)
        return self.app


def get_state(ctx: click.Context) -> CliState:
    state = ctx.find_root().obj
    if not isinstance(state, CliState):
        raise click.UsageError("the hospital-complaints CLI was not started through main()")
    return state


def get_app(ctx: click.Context | None = None) -> App:
    """The application of this invocation (built on first use)."""
    return get_state(ctx or click.get_current_context()).get_app()


def get_store(ctx: click.Context) -> SqlStore:
    """The database named by --db / HC_DATABASE_URL (default ./hospital-complaints.db),
    migrated to the current schema on first use, with every loaded plugin's tables."""
    return get_app(ctx).store


def get_service(ctx: click.Context) -> ComplaintService:
    """The complaint service of this invocation (``app.complaints``)."""
    return get_app(ctx).complaints

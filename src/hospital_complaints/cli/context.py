"""What every CLI command shares: the plugins ``main`` started with, the settings (read and
checked when a command first needs them) and the application (``bootstrap``) built on first
use with the database of ``--db``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from ..app import App
    from ..plugins.manager import HCPluginManager
    from ..services.service import ComplaintService
    from ..settings import Settings
    from ..storage.sql import SqlStore


class CliState:
    """The plugins, the settings and the application of one invocation of the command line.

    ``settings`` may be left out: they are then completed with the variables the plugins
    declare (:func:`~hospital_complaints.app.configure`) and checked on first use, so that
    ``--help`` and the commands that need no settings do not import every plugin's settings
    models, and a command that does need them still fails with the settings error."""

    def __init__(self, settings: Settings | None = None,
                 plugins: HCPluginManager | None = None, db_url: str | None = None,
                 app: App | None = None) -> None:
        if plugins is None:
            raise TypeError("CliState needs the plugin manager (plugins=...)")
        self._settings = settings
        self._checked = False
        self.plugins = plugins
        self.db_url = db_url
        self.app = app

    @property
    def settings(self) -> Settings:
        """The settings tree (the file, ``HC_*`` and the plugins' declared variables)."""
        if self._settings is None:
            from ..app import configure

            self._settings, _ = configure(plugins=self.plugins)
        return self._settings

    @settings.setter
    def settings(self, value: Settings) -> None:
        self._settings = value

    def check_settings(self) -> None:
        """Check the core's settings (the file and ``HC_*``; not the plugins' sections) before
        a command runs, as the command line always has: a bad value stops every command with
        its settings error. ``start`` read only what loading the plugins needs, so that
        ``--help`` does not import pydantic."""
        if self._settings is None and not self._checked:
            from ..settings import Settings

            Settings.load()
            self._checked = True

    def get_app(self) -> App:
        """The application on the configured database (``--db`` wins over the settings)."""
        if self.app is None:
            from ..app import bootstrap

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

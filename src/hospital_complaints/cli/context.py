"""What every CLI command shares: settings, plugins, and (on first use) the store and service."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import click

from ..config import Settings
from ..plugins.manager import HCPluginManager
from ..services.service import ComplaintService, build_service
from ..storage.blobs import FileBlobStore

if TYPE_CHECKING:
    from ..storage.sql import SqlStore


@dataclass
class CliState:
    settings: Settings
    plugins: HCPluginManager
    db_url: str | None = None
    store: SqlStore | None = field(default=None)
    service: ComplaintService | None = field(default=None)


def get_state(ctx: click.Context) -> CliState:
    state = ctx.find_root().obj
    if not isinstance(state, CliState):
        raise click.UsageError("the hospital-complaints CLI was not started through main()")
    return state


def get_store(ctx: click.Context) -> SqlStore:
    """The database named by --db / HC_DATABASE_URL (default ./hospital-complaints.db),
    migrated to the current schema on first use, with the tables of every loaded plugin
    that registers migrations (``hc_register_migrations``)."""
    from ..storage.sql.config import open_store

    state = get_state(ctx)
    if state.store is None:
        state.store = open_store(state.db_url, migrations=state.plugins.migration_locations())
    return state.store


def get_service(ctx: click.Context) -> ComplaintService:
    """The service for this invocation, on the configured database, built on first use."""
    state = get_state(ctx)
    if state.service is None:
        state.service = build_service(state.settings, plugins=state.plugins,
                                      uow_factory=get_store(ctx).unit_of_work,
                                      blobs=FileBlobStore(os.environ.get(
                                          "HC_BLOB_DIR", "hospital-complaints-blobs"),
                                          get_store(ctx).key_ring))
    return state.service

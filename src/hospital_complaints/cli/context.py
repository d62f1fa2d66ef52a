"""What every CLI command shares: settings, the plugin manager and (lazily) the service."""

from __future__ import annotations

from dataclasses import dataclass, field

import click

from ..config import Settings
from ..plugins.manager import HCPluginManager
from ..services.service import ComplaintService, build_service


@dataclass
class CliState:
    settings: Settings
    plugins: HCPluginManager
    service: ComplaintService | None = field(default=None)


def get_state(ctx: click.Context) -> CliState:
    state = ctx.find_root().obj
    if not isinstance(state, CliState):
        raise click.UsageError("the hospital-complaints CLI was not started through main()")
    return state


def get_service(ctx: click.Context) -> ComplaintService:
    """The service for this invocation, built on first use."""
    state = get_state(ctx)
    if state.service is None:
        state.service = build_service(state.settings, plugins=state.plugins)
    return state.service

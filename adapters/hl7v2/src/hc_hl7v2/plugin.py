"""The plugin module: what the entry point ``hl7v2`` loads. Hook implementations only;
nothing listens, connects or reads files at import time."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hospital_complaints.plugins import hookimpl

if TYPE_CHECKING:
    import click


@hookimpl
def hc_register_cli_commands(cli: click.Group) -> None:
    from .cli import hl7_group

    cli.add_command(hl7_group)

"""The plugin module: what the entry point ``hl7v2`` loads. Hook implementations only;
nothing listens, connects or reads files at import time."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from hospital_complaints.plugins import hookimpl

if TYPE_CHECKING:
    import click
    from hospital_complaints.domain.imaging import ExamSource


@hookimpl
def hc_register_cli_commands(cli: click.Group) -> None:
    from .cli import hl7_group

    cli.add_command(hl7_group)


@hookimpl
def hc_register_migrations(register: Callable[[str | Path], None]) -> None:
    """The adapter's Alembic branch ``hl7v2`` (the table of received messages)."""
    from .migrations import DIRECTORY

    register(DIRECTORY)


@hookimpl
def hc_register_exam_sources(register: Callable[[ExamSource], None]) -> None:
    """HL7 v2 files as an exam source (id ``hl7v2:files``), when ``HC_HL7_EXAM_FILES`` is
    set (paths or glob patterns separated by the OS path separator)."""
    from .source import source_from_env

    source = source_from_env()
    if source is not None:
        register(source)

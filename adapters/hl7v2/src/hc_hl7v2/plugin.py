"""The plugin module: what the entry point ``hl7v2`` loads. Hook implementations only;
nothing listens, connects or reads files at import time."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hospital_complaints.plugin_api import hookimpl

if TYPE_CHECKING:
    import click
    from hospital_complaints.plugin_api import (
        DemoFeed,
        EncryptedData,
        ExamRecord,
        ExamSource,
        IntegrityCheck,
        PluginSettings,
    )


@hookimpl
def hc_register_settings(register: Callable[[PluginSettings], None]) -> None:
    from .settings import DECLARATION

    register(DECLARATION)


@hookimpl
def hc_register_cli_commands(cli: click.Group) -> None:
    from hospital_complaints.plugin_api import lazy_command

    cli.add_command(lazy_command(
        "hl7", "hc_hl7v2.cli:hl7_group",
        "HL7 v2 exam events (IHE Scheduled Workflow): inspect, listen (MLLP), import."))


@hookimpl
def hc_register_migrations(register: Callable[[str | Path], None]) -> None:
    """The adapter's Alembic branch ``hl7v2`` (the table of received messages)."""
    from .migrations import DIRECTORY

    register(DIRECTORY)


@hookimpl
def hc_register_exam_sources(register: Callable[[ExamSource], None], app: Any) -> None:
    """HL7 v2 files as an exam source (id ``hl7v2:files``), when ``HC_HL7_EXAM_FILES`` is
    set (paths or glob patterns separated by the OS path separator)."""
    from .source import source_for

    source = source_for(app)
    if source is not None:
        register(source)


@hookimpl
def hc_demo_exam_feed(app: Any, exams: Sequence[ExamRecord]) -> DemoFeed | None:
    """The demo's exams as a RIS sends them, received through the listener's path."""
    from .demo import feed_demo_exams

    return feed_demo_exams(app, exams)


@hookimpl
def hc_register_integrity_checks(register: Callable[[IntegrityCheck], None]) -> None:
    """The hash chain over the received messages (``hl7v2:messages``), which ``audit
    verify`` runs: a changed, deleted or reordered row of ``hl7_messages`` is reported."""
    from .chain import MessageChainCheck

    register(MessageChainCheck())


@hookimpl
def hc_register_encrypted_data(register: Callable[[EncryptedData], None]) -> None:
    """The raw messages' key ids, for ``keys status`` (they are not re-encrypted)."""
    from .chain import MessageKeys

    register(MessageKeys())

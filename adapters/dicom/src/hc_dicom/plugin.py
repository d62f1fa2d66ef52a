"""The plugin module: what the entry point ``dicom`` loads. Hook implementations only;
nothing listens, connects or reads files at import time."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hospital_complaints.plugin_api import hookimpl

if TYPE_CHECKING:
    import click
    from hospital_complaints.plugin_api import (
        EncryptedData,
        ExamSource,
        IntegrityCheck,
        PluginSettings,
    )


@hookimpl
def hc_register_settings(register: Callable[[PluginSettings], None]) -> None:
    """``[plugins.dicom]`` / ``HC_DICOMWEB_*`` and ``HC_DICOM_*``."""
    from .settings import DECLARATION

    register(DECLARATION)


@hookimpl
def hc_register_cli_commands(cli: click.Group) -> None:
    from hospital_complaints.plugin_api import lazy_command

    cli.add_command(lazy_command(
        "dicom", "hc_dicom.cli:dicom_group",
        "PACS: DICOMweb sync and search, modality worklist, MPPS, viewer links, sharing."))


@hookimpl
def hc_register_migrations(register: Callable[[str | Path], None]) -> None:
    """The adapter's Alembic branch ``dicom``."""
    from .migrations import DIRECTORY

    register(DIRECTORY)


@hookimpl
def hc_register_exam_sources(register: Callable[[ExamSource], None], app: Any) -> None:
    """The DICOMweb server as the exam source ``dicom:qido``, when ``HC_DICOMWEB_URL`` is
    set."""
    from .settings import settings_of

    if app is not None and settings_of(app).dicomweb_url is not None:
        from .sync import QidoSource

        register(QidoSource(app))


@hookimpl
def hc_register_integrity_checks(register: Callable[[IntegrityCheck], None]) -> None:
    """The hash chains over the raw MPPS messages and the disclosures, for ``audit verify``."""
    from .chain import DisclosureChainCheck, MppsChainCheck

    register(MppsChainCheck())
    register(DisclosureChainCheck())


@hookimpl
def hc_register_encrypted_data(register: Callable[[EncryptedData], None]) -> None:
    """The raw MPPS messages and the disclosures' details, for ``keys status``."""
    from .chain import EncryptedRows

    register(EncryptedRows("mpps"))
    register(EncryptedRows("disclosures"))

"""The plugin module: what the entry point ``fhir`` loads. Hook implementations only;
nothing connects or reads files at import time."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import IO, TYPE_CHECKING, Any

from hospital_complaints.plugin_api import hookimpl

if TYPE_CHECKING:
    import click
    from hospital_complaints.plugin_api import Case, ExamSource, Exporter, PluginSettings

    from .export import ExportOptions, Version
    from .settings import FhirSettings


class FhirExporter:
    """Exporter ``fhir-r4`` / ``fhir-r5``: NDJSON of whole cases, identity masked."""

    def __init__(self, version: Version, settings: FhirSettings | None = None) -> None:
        self.version = version
        self.id = f"fhir-{version.lower()}"
        self.description = (f"FHIR {version} NDJSON: Communication, Tasks, "
                            "QuestionnaireResponse, Provenance per case (identity masked)")
        self._settings = settings

    def export(self, cases: Iterable[Case], out: IO[str]) -> int:
        from .service import export_cases
        from .settings import FhirSettings

        settings = self._settings or FhirSettings()
        options: ExportOptions = settings.export_options(version=self.version)
        return export_cases(list(cases), out, options, "ndjson")


@hookimpl
def hc_register_settings(register: Callable[[PluginSettings], None]) -> None:
    from .settings import DECLARATION

    register(DECLARATION)


@hookimpl
def hc_register_exporters(register: Callable[[Exporter], None], app: Any) -> None:
    from .settings import fhir_settings

    settings = fhir_settings(app)
    register(FhirExporter("R4", settings))
    register(FhirExporter("R5", settings))


@hookimpl
def hc_register_exam_sources(register: Callable[[ExamSource], None], app: Any) -> None:
    """A FHIR server's exams, when ``HC_FHIR_SERVER`` is set."""
    from .settings import fhir_settings

    settings = fhir_settings(app)
    if settings.server:
        from .client import FhirClient
        from .exams import FhirExamSource

        client = FhirClient(settings.server, token=settings.token,
                            verify=settings.ca_bundle or True)
        register(FhirExamSource(f"fhir:{settings.server}", client=client,
                                accession_system=settings.accession_system))


@hookimpl
def hc_register_cli_commands(cli: click.Group) -> None:
    from hospital_complaints.plugin_api import lazy_command

    cli.add_command(lazy_command(
        "fhir", "hc_fhir.cli:fhir_group",
        "FHIR R4/R5 exchange: export, push to a server, import portal complaints."))

"""``hospital-complaints fhir ...``: export, push, import, terminology."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from hospital_complaints.plugin_api import (
    Case,
    ComplaintService,
    RevealGrant,
    Viewer,
    cli_app,
    read_text,
)
from hospital_complaints.plugin_api import cli_service as get_service

from .bundle import read_json_or_ndjson
from .client import FhirClient
from .errors import FhirValidationError
from .service import export_cases, import_complaint_once, push_cases
from .settings import check_version, fhir_settings
from .terminology import write_terminology

_VERSION = click.option("--version", "version", type=click.Choice(["R4", "R5"],
                        case_sensitive=False), default=None,
                        help="FHIR version (default: HC_FHIR_VERSION, else R4).")


def _reveal(f: Any) -> Any:
    """--reveal-identity and who asks for it: the access decision is made and recorded per
    case (the same rules as `hospital-complaints reveal`)."""
    for option in reversed([
        click.option("--reveal-identity", is_flag=True, default=False,
                     help="Write names, phone numbers and ID numbers unmasked for the cases "
                          "the access decision allows for --user (each decision, allowed or "
                          "refused, is recorded on the case); the others stay masked."),
        click.option("--user", default=None, help="With --reveal-identity: who asks."),
        click.option("--role", "roles", multiple=True,
                     help="With --reveal-identity: the asker's roles (repeatable)."),
        click.option("--department", default=None,
                     help="With --reveal-identity: the asker's department."),
        click.option("--purpose", default=None,
                     help="With --reveal-identity: why identity is needed (audited)."),
    ]):
        f = option(f)
    return f


def _grants(service: ComplaintService, cases: list[Case], reveal: bool, user: str | None,
            roles: tuple[str, ...], department: str | None,
            purpose: str | None) -> dict[str, RevealGrant]:
    if not reveal:
        if user or roles or department or purpose:
            raise click.UsageError("--user/--role/--department/--purpose go with "
                                   "--reveal-identity")
        return {}
    if not user or not purpose:
        raise click.UsageError("--reveal-identity needs --user and --purpose (and the "
                               "asker's --role and --department): every reveal is decided and "
                               "recorded per case")
    viewer = Viewer(user=user, roles=frozenset(roles), department=department)
    grants = service.reveal_many([c.reference for c in cases], viewer, purpose)
    refused = len(cases) - len(grants)
    click.echo(f"identity revealed for {len(grants)} cases; refused (kept masked) for "
               f"{refused}; every decision is recorded on its case "
               f"(已披露 {len(grants)} 件，拒绝 {refused} 件，均已记录)", err=True)
    return grants


@click.group("fhir")
def fhir_group() -> None:
    """FHIR R4/R5 exchange: export, push to a server, import portal complaints."""


@fhir_group.command("export")
@_VERSION
@click.option("--format", "fmt", type=click.Choice(["bundle", "ndjson"]), default="ndjson",
              show_default=True)
@_reveal
@click.argument("out", type=click.File("w", encoding="utf-8"))
def export_cmd(version: str | None, fmt: str, reveal_identity: bool, user: str | None,
               roles: tuple[str, ...], department: str | None, purpose: str | None,
               out: Any) -> None:
    """Export every case as FHIR to OUT ('-' for standard output), identity masked unless
    --reveal-identity is given and allowed for the case."""
    service = get_service(click.get_current_context())
    settings = fhir_settings(cli_app())
    cases = list(service.iter_cases())
    grants = _grants(service, cases, reveal_identity, user, roles, department, purpose)
    options = settings.export_options(version=check_version(version) if version else None,
                                      grants=grants)
    n = export_cases(cases, out, options, "bundle" if fmt == "bundle" else "ndjson")
    click.echo(f"exported {n} FHIR {options.version} resources", err=True)


@fhir_group.command("push")
@click.option("--server", default=None, help="FHIR base URL (default: HC_FHIR_SERVER).")
@click.option("--token", default=None, envvar="HC_FHIR_TOKEN",
              help="Bearer token (default: HC_FHIR_TOKEN).")
@_VERSION
@_reveal
def push_cmd(server: str | None, token: str | None, version: str | None,
             reveal_identity: bool, user: str | None, roles: tuple[str, ...],
             department: str | None, purpose: str | None) -> None:
    """Push every case to a FHIR server, one transaction Bundle per case (identity masked
    unless --reveal-identity is given and allowed for the case)."""
    service = get_service(click.get_current_context())
    settings = fhir_settings(cli_app())
    url = server or settings.server
    if not url:
        raise click.UsageError("give --server URL or set HC_FHIR_SERVER")
    cases = list(service.iter_cases())
    grants = _grants(service, cases, reveal_identity, user, roles, department, purpose)
    options = settings.export_options(version=check_version(version) if version else None,
                                      grants=grants)
    client = FhirClient(url, token=token or settings.token, verify=settings.ca_bundle or True)
    locations = push_cases(client, cases, options)
    click.echo(f"pushed {len(locations)} resources to {url}")


@fhir_group.command("import")
@_VERSION
@click.option("--actor", default="fhir:import", show_default=True)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_cmd(version: str | None, actor: str, file: Path) -> None:
    """Register the complaint(s) in FILE: a Communication, a Bundle, or NDJSON of them."""
    service = get_service(click.get_current_context())
    v = check_version(version) if version else fhir_settings(cli_app()).version
    try:
        items = list(read_json_or_ndjson(read_text(file)))
    except json.JSONDecodeError as exc:
        raise click.ClickException(
            f"{file}: not JSON or NDJSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
            f"\n{file}：不是 JSON 或 NDJSON（第 {exc.lineno} 行第 {exc.colno} 列）") from None
    except RecursionError:
        raise click.ClickException(f"{file}: JSON nested too deeply\n{file}：JSON 嵌套层数过多"
                                   ) from None
    for item in items:
        try:
            case, created = import_complaint_once(service, item, actor=actor, version=v)
        except FhirValidationError as exc:
            click.echo(json.dumps(exc.operation_outcome(), ensure_ascii=False, indent=1),
                       err=True)
            raise
        if created:
            click.echo(f"{case.reference} {case.state.value}")
        else:
            click.echo(f"{case.reference} already registered (this portal submission was "
                       "imported before; nothing new was stored 已登记过)")


@fhir_group.command("terminology")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path),
                default=Path("schemas/fhir"))
def terminology_cmd(folder: Path) -> None:
    """Write our CodeSystems, ValueSets and the follow-up Questionnaire into FOLDER."""
    for path in write_terminology(folder):
        click.echo(str(path))

"""``hospital-complaints report ...``: the monthly report (月报), returns, and the list of
registered reports (``app.reports``)."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.table import Table

from ..plugins.types import Viewer
from ..reports.build import Month, ReportRequest
from ..reports.render import FORMATS
from ..reports.service import describe
from .context import get_app
from .errors import ErrorBoundaryGroup
from .output import console


@click.group("report", cls=ErrorBoundaryGroup)
def report() -> None:
    """Reports: the monthly report with charts and the three rates, and returns (KO41(a),
    the hotline's monthly work-order report). Every format leaves identity out."""


def _run(report_id: str, month: str, department: str | None, fmt: str, out: str,
         months: int, user: str | None, roles: tuple[str, ...]) -> None:
    app = get_app()
    viewer = Viewer(user=user, roles=frozenset(roles)) if user else None
    request = ReportRequest(Month.parse(month, "--month"), department, viewer, months)
    built = app.reports.build(report_id, request)
    path = app.reports.write(built, fmt, Path(out))
    cases = built.meta.get("cases_read")
    extra = f", {cases} cases read 读取案件" if cases is not None else ""
    click.echo(f"wrote {path} ({fmt}; {built.title.zh} {built.title.en}, {built.period}, "
               f"{built.scope}{extra})")


def _options(f: click.decorators.FC) -> click.decorators.FC:
    for option in reversed((
        click.option("--month", required=True, metavar="YYYY-MM",
                     help="The month, e.g. 2026-11 (in HC_TIMEZONE)."),
        click.option("--department", metavar="ID", default=None,
                     help="Only this department and its units (an id, name or alias)."),
        click.option("--format", "fmt", type=click.Choice(FORMATS), default="html",
                     show_default=True, help="html (charts inline, works offline), pdf "
                     "(printed by headless Chromium), xlsx, csv (UTF-8 with BOM), json."),
        click.option("--user", default=None, help="Who is looking (with --role: staff names "
                     "in the scan-duration table for the configured roles)."),
        click.option("--role", "roles", multiple=True, help="The viewer's role (repeatable)."),
    )):
        f = option(f)
    return f


@report.command("monthly")
@_options
@click.argument("out", type=click.Path(dir_okay=False, writable=True))
def monthly_cmd(month: str, department: str | None, fmt: str, user: str | None,
                roles: tuple[str, ...], out: str) -> None:
    """Write the monthly report (月报) of --month to OUT."""
    _run("monthly", month, department, fmt, out, 1, user, roles)


@report.command("run")
@click.argument("report_id", metavar="REPORT")
@_options
@click.option("--months", type=click.IntRange(1, 24), default=1, show_default=True,
              help="Months covered, ending with --month (a KO41(a) quarter: 3).")
@click.argument("out", type=click.Path(dir_okay=False, writable=True))
def run_cmd(report_id: str, month: str, department: str | None, fmt: str, user: str | None,
            roles: tuple[str, ...], months: int, out: str) -> None:
    """Write any registered REPORT (see `report list`), e.g. ko41a or hotline-monthly."""
    _run(report_id, month, department, fmt, out, months, user, roles)


@report.command("list")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
def list_cmd(fmt: str) -> None:
    """List the registered reports and the formats they can be written in."""
    found = describe(get_app().reports.definitions)
    if fmt == "json":
        click.echo(json.dumps({"reports": found, "formats": list(FORMATS)},
                              ensure_ascii=False, indent=1))
        return
    table = Table("id", "报表", "report", "description", title="Reports 报表")
    for d in found:
        table.add_row(d["id"], d["title"]["zh"], d["title"]["en"], d["description"]["en"])
    console(160).print(table)
    click.echo("formats: " + ", ".join(FORMATS))

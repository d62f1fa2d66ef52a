"""Entry point of the ``hospital-complaints`` console script."""

from __future__ import annotations

import sys

import click
from rich.table import Table

from .. import __version__
from ..app import configure
from ..domain import taxonomy, workflow
from ..errors import HospitalComplaintsError
from ..settings import debug_requested
from .context import CliState, get_state
from .errors import ErrorBoundaryGroup, internal_error
from .output import console


@click.group(cls=ErrorBoundaryGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hospital-complaints")
@click.option("--db", "db_url", metavar="URL", default=None,
              help="Database URL: sqlite:///file.db, postgresql://user@host/db, "
                   "mariadb://user:pw@host/db. Default: $HC_DATABASE_URL, else "
                   "sqlite:///hospital-complaints.db")
@click.pass_context
def cli(ctx: click.Context, db_url: str | None) -> None:
    """Complaint handling for hospital information systems (医疗投诉管理).

    Run `hospital-complaints demo` to see a week of an imaging department's complaints.
    """
    get_state(ctx).db_url = db_url


@cli.command("plugins")
def plugins_cmd() -> None:
    """List loaded plugins and the hooks each implements."""
    state = get_state(click.get_current_context())
    table = Table("plugin", "distribution", "hooks", title="Loaded plugins 已加载插件")
    for info in state.plugins.plugins():
        table.add_row(info.name, info.distribution or "-", ", ".join(info.hooks))
    console().print(table)
    if state.settings.disabled_plugins:
        click.echo("blocked by HC_DISABLE_PLUGINS: " + ", ".join(sorted(
            state.settings.disabled_plugins)))


@cli.command("taxonomy")
def taxonomy_cmd() -> None:
    """Show every category, channel, state and outcome with its Chinese and English label."""
    out = console()
    for enum_cls in (taxonomy.ComplaintKind, taxonomy.Channel, taxonomy.Category,
                     taxonomy.CaseState, taxonomy.OutcomeKind, taxonomy.ActionType,
                     taxonomy.EvidenceType, taxonomy.TeamRole, taxonomy.ExamEventType,
                     taxonomy.WorkOrderStatus, taxonomy.RequestType, taxonomy.ReturnReason,
                     taxonomy.Resolution, taxonomy.CallbackSatisfaction,
                     taxonomy.SupervisionTier, taxonomy.NotAcceptedReason):
        table = Table("value", "中文", "English", title=enum_cls.__name__)
        for member in enum_cls:
            lab = taxonomy.label(member)
            table.add_row(str(member.value), lab.zh, lab.en)
        out.print(table)


@cli.command("workflow")
def workflow_cmd() -> None:
    """Print the workflow transition table (state x command -> state)."""
    states = list(taxonomy.CaseState)
    table = Table("command", "操作", *[s.value for s in states], title="Workflow 流程状态表")
    for command, row in workflow.TABLE.items():
        cells = []
        for s in states:
            target = row.get(s)
            cells.append("" if target is None else ("=" if target == workflow.SAME else
                                                    str(target)))
        table.add_row(command, workflow.COMMAND_LABELS[command][0], *cells)
    console(240).print(table)
    click.echo("'=' records without changing state; 'decided': the command decides (an "
               "approved re-route ends local handling; a split restores the merged case's "
               "state); empty = not allowed (raises an error).")


@cli.command("schemas")
@click.option("--out", type=click.Path(file_okay=False), default="schemas", show_default=True,
              help="Folder to write the JSON Schema files into.")
def schemas_cmd(out: str) -> None:
    """Write the JSON Schema of intake, command and event models."""
    from pathlib import Path

    from ..schemas import write_schemas

    for path in write_schemas(Path(out)):
        click.echo(str(path))


def _register_builtin_commands() -> None:
    from .cases import register_case_commands
    from .demo import demo_cmd
    from .exams import register_exam_commands
    from .keys import register_key_commands
    from .sla import sla
    from .surveys import register_survey_commands
    from .worker import register_worker_commands
    from .workorders import register_workorder_commands

    cli.add_command(demo_cmd)
    cli.add_command(sla)
    register_case_commands(cli)
    register_exam_commands(cli)
    register_key_commands(cli)
    register_worker_commands(cli)
    register_survey_commands(cli)
    register_workorder_commands(cli)


def start() -> CliState:
    """Settings (checked) and plugins (loaded explicitly, never at import), with every
    command registered: what ``main`` runs the command line with. The application itself is
    built (``bootstrap``) when a command first needs it, on the database of ``--db``."""
    settings, plugins = configure()
    _register_builtin_commands()
    plugins.add_cli_commands(cli)
    return CliState(settings=settings, plugins=plugins)


def main(argv: list[str] | None = None) -> None:
    """Start (see :func:`start`), then run the command line."""
    try:
        state = start()
    except HospitalComplaintsError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    except Exception as exc:  # a plugin that fails oddly while loading: still no traceback
        if debug_requested():
            raise
        click.echo(f"Error: {internal_error(exc).message}", err=True)
        sys.exit(2)
    cli.main(args=argv, prog_name="hospital-complaints", obj=state)


if __name__ == "__main__":  # pragma: no cover
    main()

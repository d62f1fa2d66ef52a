"""Entry point of the ``hospital-complaints`` console script."""

from __future__ import annotations

import sys
from importlib import import_module

import click

from ..errors import HospitalComplaintsError
from .context import CliState, get_state
from .errors import ErrorBoundaryGroup, internal_error

#: the core's commands: name -> (module, attribute, short help). A command's module (and what it
#: imports: the domain, storage, rich tables) is loaded only when the command runs, so that
#: ``--help`` and a command's start do not pay for every other command (issue: start-up time).
#: ``tests/unit/test_cli_startup.py`` keeps the short helps equal to the commands' own.
LAZY_COMMANDS: dict[str, tuple[str, str, str]] = {
    "act": ("cases", "act_cmd",
            "Carry out a workflow COMMAND on a case (see `hospital-complaints workflow`)."),
    "attach": ("cases", "attach_cmd",
               "Attach a file (PDF, image, recording, video, text; at most 20 MB) to a case."),
    "audit": ("cases", "audit_group", "Check the tamper-evident event log."),
    "correlate": ("exams", "correlate_cmd",
                  "Check complaints against exam records (影像检查关联分析)."),
    "demo": ("demo", "demo_cmd",
             "Play a week of complaints in an imaging department and print a summary."),
    "exams": ("exams", "exams_group",
              "Imaging records beside complaints: exams, equipment faults, duty roster..."),
    "export": ("cases", "export_cmd",
               "Export cases (all, or those the filters select), identity masked, to OUT..."),
    "keys": ("keys", "keys_group",
             "Encryption keys of personal data: generate, status, rotate (加密密钥管理)."),
    "list": ("cases", "list_cmd", "List cases, identity masked (投诉列表，身份信息脱敏)."),
    "outbox": ("worker", "outbox_group",
               "Notifications: one delivery per event and notifier, sent by the worker."),
    "register": ("cases", "register_cmd",
                 "Register a complaint from a JSON file (- for standard input), or many with..."),
    "report": ("reports", "report",
               "Reports: the monthly report with charts and the three rates, and returns..."),
    "reveal": ("cases", "reveal_cmd",
               "Show the complainant's identity, if access control allows; every reveal is..."),
    "show": ("cases", "show_cmd", "Show one case, identity masked (查看投诉详情)."),
    "sla": ("sla", "sla",
            "Deadlines (SLA): due dates per policy, the reminder/overdue sweep, completion..."),
    "survey": ("surveys", "survey_group",
               "Patient surveys: post-exam experience and complaint follow-up (回访)."),
    "worker": ("worker", "worker_cmd",
               "Run the background worker: deliver notifications (retries, dead letters),..."),
    "workorder": ("workorders", "workorder_group", "Hotline work orders (12345 / 12320 工单)."),
}


class LazyCommand(click.Command):
    """A plugin's command that is imported only when it runs: ``hc_register_cli_commands``
    adds ``lazy_command("hl7", "hc_hl7v2.cli:hl7_group", "HL7 v2 ...")`` instead of the
    command itself, so that the command line's start does not import the adapter."""

    def __init__(self, name: str, target: str, short_help: str) -> None:
        super().__init__(name, short_help=short_help, help=short_help)
        self.target = target

    def resolve(self) -> click.Command:
        module, _, attribute = self.target.partition(":")
        command: click.Command = getattr(import_module(module), attribute)
        return command


def lazy_command(name: str, target: str, short_help: str) -> click.Command:
    """A command for ``hc_register_cli_commands`` that imports ``module:attribute`` when it
    runs (its ``short_help`` is what ``--help`` lists until then)."""
    return LazyCommand(name, target, short_help)


class LazyGroup(ErrorBoundaryGroup):
    """The top group: the core's commands are imported when they run (:data:`LAZY_COMMANDS`);
    plugins' commands are added as they are (``hc_register_cli_commands``)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(LAZY_COMMANDS))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = super().get_command(ctx, cmd_name)
        if isinstance(found, LazyCommand):
            found = found.resolve()
            self.add_command(found, cmd_name)
        elif found is None and cmd_name in LAZY_COMMANDS:
            found = _load(cmd_name)
            self.add_command(found, cmd_name)
        return found

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The list in ``--help``, without importing the commands that are not loaded."""
        rows = []
        width = formatter.width - 6 - max(len(n) for n in self.list_commands(ctx))
        for name in self.list_commands(ctx):
            loaded = self.commands.get(name)
            if isinstance(loaded, LazyCommand):
                rows.append((name, loaded.short_help or ""))
            elif loaded is not None:
                if loaded.hidden:
                    continue
                rows.append((name, loaded.get_short_help_str(width)))
            else:
                rows.append((name, LAZY_COMMANDS[name][2]))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def _load(name: str) -> click.Command:
    module, attribute, _help = LAZY_COMMANDS[name]
    command: click.Command = getattr(import_module(f".{module}", __package__), attribute)
    return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="hospital-complaints", prog_name="hospital-complaints")
@click.option("--db", "db_url", metavar="URL", default=None,
              help="Database URL: sqlite:///file.db, postgresql://user@host/db, "
                   "mariadb://user:pw@host/db. Default: $HC_DATABASE_URL, else "
                   "sqlite:///hospital-complaints.db")
@click.pass_context
def cli(ctx: click.Context, db_url: str | None) -> None:
    """Complaint handling for hospital information systems (医疗投诉管理).

    Run `hospital-complaints demo` to see a week of an imaging department's complaints.
    """
    state = get_state(ctx)
    state.db_url = db_url
    state.check_settings()


@cli.command("plugins")
def plugins_cmd() -> None:
    """List loaded plugins and the hooks each implements."""
    from rich.table import Table

    from .output import console

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
    from rich.table import Table

    from ..domain import taxonomy
    from .output import console

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
    from rich.table import Table

    from ..domain import taxonomy, workflow
    from .output import console

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
    """Load every core command now (tests and tools that walk the command tree); the command
    line itself loads each one when it runs (:class:`LazyGroup`)."""
    for name in LAZY_COMMANDS:
        if name not in cli.commands:
            cli.add_command(_load(name), name)
    for name, command in list(cli.commands.items()):
        if isinstance(command, LazyCommand):
            cli.add_command(command.resolve(), name)


def start() -> CliState:
    """The plugins the settings allow (``HC_DISABLE_PLUGINS``, read without the settings
    models: :func:`~hospital_complaints.settings.plugin_switches`), loaded explicitly (never
    at import), with every command registered: what ``main`` runs the command line with.
    The core's settings are checked before a command runs (the ``cli`` group), the plugins'
    own sections when a command first needs the settings (:attr:`CliState.settings`), and
    the application is built (``bootstrap``) then too, on the database of ``--db``:
    ``--help`` needs none of them, so it does not import pydantic or any settings model."""
    from ..plugins.manager import HCPluginManager
    from ..settings import plugin_switches

    switches = plugin_switches()
    if switches is None:  # the settings file gives them in a form only the models read
        from ..settings import Settings

        settings = Settings.load()
        switches = settings.disabled_plugins, settings.trace_hooks
    blocked, trace = switches
    plugins = HCPluginManager(blocked=blocked, trace=trace)
    plugins.load_entrypoints()
    plugins.add_cli_commands(cli)
    return CliState(plugins=plugins)


def main(argv: list[str] | None = None) -> None:
    """Start (see :func:`start`), then run the command line."""
    try:
        state = start()
    except HospitalComplaintsError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    except Exception as exc:  # a plugin that fails oddly while loading: still no traceback
        from ..settings import debug_requested

        if debug_requested():
            raise
        click.echo(f"Error: {internal_error(exc).message}", err=True)
        sys.exit(2)
    cli.main(args=argv, prog_name="hospital-complaints", obj=state)


if __name__ == "__main__":  # pragma: no cover - ``python -m hospital_complaints.cli.main``
    # run the imported module's main, not this __main__ copy: plugins' lazy commands are
    # instances of the imported module's classes
    from hospital_complaints.cli.main import main as _main

    _main()

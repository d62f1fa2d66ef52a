"""Commands a clerk uses to work cases from the shell; all read and write the database."""

from __future__ import annotations

import json
import os
import sys
from datetime import date
from typing import Any

import click
from rich.table import Table

from ..domain.case import Case
from ..domain.commands import PUBLIC_COMMANDS
from ..domain.personal import mask_dump
from ..domain.taxonomy import CaseState, Category, Channel, ComplaintKind, label
from ..domain.views import PROTECTED, summarize
from ..errors import FieldProblem, InvalidInput
from ..plugins.types import Viewer
from ..services.service import CaseFilter
from .context import get_app, get_service
from .output import console as make_console
from .output import styled


def _actor() -> str:
    ctx = click.get_current_context(silent=True)
    state = ctx.find_root().obj if ctx is not None else None
    configured = getattr(getattr(state, "settings", None), "actor", None)
    return configured or f"cli:{os.environ.get('USER', 'unknown')}"


actor_option = click.option("--actor", default=_actor, show_default="$HC_ACTOR or cli:$USER",
                             help="Who is doing this (recorded on the event).")
format_option = click.option("--format", "fmt", type=click.Choice(["table", "json"]),
                             default="table", show_default=True)


encoding_option = click.option(
    "--encoding", default=None, metavar="NAME",
    help="Text encoding of the file (default: detected; UTF-8 with or without BOM, or "
         "GB18030/GBK as Excel saves on a zh-CN PC).")


def _read_input(file: str, encoding: str | None) -> str:
    """A file's text (``-``: standard input), decoded as documented in ``files.py``."""
    from pathlib import Path

    from ..files import decode, read_text

    if file == "-":
        return decode(sys.stdin.buffer.read(), "standard input", encoding)
    return read_text(Path(file), encoding)


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput("filter", [FieldProblem(option, value, "a date YYYY-MM-DD")],
                           [f"  - {option}：日期格式应为 YYYY-MM-DD"]) from None


def filter_options(f: Any) -> Any:
    """The filters of `list` and `export`."""
    for option in reversed([
        click.option("--state", "states", multiple=True,
                     type=click.Choice([s.value for s in CaseState]),
                     help="Only cases in this state (repeatable)."),
        click.option("--department", help="Only cases of this department (or a unit within "
                     "it): an id, a Chinese or English name or an alias, e.g. 影像科."),
        click.option("--open", "open_only", is_flag=True, help="Only open cases."),
        click.option("--channel", type=click.Choice([c.value for c in Channel]),
                     help="Only cases that came by this channel."),
        click.option("--kind", type=click.Choice([k.value for k in ComplaintKind]),
                     help="Only complaints, reports, suggestions ..."),
        click.option("--category", type=click.Choice([c.value for c in Category]),
                     help="Only cases classified under this category."),
        click.option("--from", "received_from", metavar="DATE",
                     help="Received on or after this day (YYYY-MM-DD, HC_TIMEZONE)."),
        click.option("--to", "received_to", metavar="DATE",
                     help="Received on or before this day."),
    ]):
        f = option(f)
    return f


def case_filter(states: tuple[str, ...] = (), department: str | None = None,
                open_only: bool = False, channel: str | None = None, kind: str | None = None,
                category: str | None = None, received_from: str | None = None,
                received_to: str | None = None) -> CaseFilter:
    return CaseFilter(states=states, department=department, open_only=open_only,
                      channel=channel, kind=kind, category=category,
                      received_from=_day(received_from, "--from"),
                      received_to=_day(received_to, "--to"))


@click.command("list")
@filter_options
@click.option("--limit", type=click.IntRange(1), default=None,
              help="At most this many cases (a page).")
@click.option("--after", metavar="REF", default=None,
              help="Start after this reference (the last one of the previous page).")
@format_option
def list_cmd(limit: int | None, after: str | None, fmt: str, **filters: Any) -> None:
    """List cases, identity masked (投诉列表，身份信息脱敏)."""
    rows = get_app().complaints.list_cases(filters=case_filter(**filters), limit=limit,
                                           after=after)
    if fmt == "json":
        for s in rows:
            click.echo(s.model_dump_json())
        return
    table = Table("reference", "received", "kind", "state", "department", "subject",
                  "complainant", title=f"{len(rows)} cases")
    for s in rows:
        table.add_row(s.reference, f"{s.received_at:%Y-%m-%d %H:%M}", label(s.kind).zh,
                      label(s.state).zh, (s.department or "-").split(" ")[0], s.subject,
                      s.complainant)
    make_console().print(table)


def case_view(case: Case) -> dict[str, Any]:
    """Everything about a case, with identity masked (a report's complainant removed)."""
    c = case.complaint
    complaint = mask_dump(c)
    if c.is_whistleblowing:
        complaint["complainant"] = {"role": c.complainant.role.value, "protected": PROTECTED}
    return {
        "summary": summarize(case).model_dump(mode="json"),
        "complaint": complaint,
        "suggestions": [s.model_dump(mode="json") for s in case.suggestions],
        "investigation": {
            "team": [m.model_dump(mode="json") for m in case.investigation.team],
            "evidence": [e.model_dump(mode="json") for e in case.investigation.evidence],
            "findings": [f.model_dump(mode="json") for f in case.investigation.findings],
        },
        "actions": [a.model_dump(mode="json") for a in case.actions.values()],
        "communications": [e.model_dump(mode="json") for e in case.communications],
        "response": case.response.model_dump(mode="json") if case.response else None,
        "follow_up": case.follow_up.model_dump(mode="json") if case.follow_up else None,
        "follow_up_waived": case.follow_up_waived,
        "outcome": case.outcome.model_dump(mode="json") if case.outcome else None,
        "extensions": [vars(e) | {"at": e.at.isoformat()} for e in case.extensions],
    }


@click.command("show")
@click.argument("reference")
@click.option("--history", is_flag=True, help="Also list every event.")
@format_option
def show_cmd(reference: str, history: bool, fmt: str) -> None:
    """Show one case, identity masked (查看投诉详情)."""
    service = get_service(click.get_current_context())
    case = service.get(reference)
    view = case_view(case)
    events = [e.model_dump(mode="json") for e in service.history(reference)] if history else []
    if fmt == "json":
        if history:
            view["events"] = events
        click.echo(json.dumps(view, ensure_ascii=False, indent=2))
        return
    s = summarize(case)
    console = make_console()
    console.print(styled((s.reference, "bold"),
                         f" {s.subject}  [{label(s.state)}] v{s.version}"))
    received = s.received_at.strftime("%Y-%m-%d %H:%M %z")
    console.print(f"  {label(s.kind)} via {label(s.channel)}, received {received}; "
                  f"department {s.department or '-'}; owner {s.owner or '-'}")
    console.print(f"  complainant: {s.complainant}; patient: {s.patient or '-'}")
    console.print(f"  categories: {', '.join(str(label(c)) for c in s.categories) or '-'}")
    if case.suggestions:
        console.print("  suggested: " + ", ".join(
            f"{label(x.category).zh} {x.confidence:.2f} ({'/'.join(x.matched)})"
            for x in case.suggestions))
    for link in case.complaint.exam_links:
        console.print(f"  exam: {link.accession_number or '-'} {link.modality or ''} "
                      f"{link.station or ''}")
    for e in case.investigation.evidence:
        console.print(f"  evidence {e.evidence_id} [{label(e.type).zh}] {e.description}")
    for f in case.investigation.findings:
        console.print(f"  finding: {f.text}")
    for a in case.actions.values():
        console.print(f"  action {a.action_id} [{label(a.type).zh}] {a.description} - "
                      f"{a.owner}, due {a.due}, {label(a.status)}")
    if case.outcome:
        console.print(f"  outcome: {label(case.outcome.kind)}")
    failures = service.notification_failures(reference)
    if failures:
        console.print(styled("  ", (f"{len(failures)} notification failure(s)", "red"),
                             ": " + "; ".join(f"{f.plugin} on {f.event_type}: {f.error}"
                                              for f in failures)))
    for row in events:
        console.print(f"  #{row['seq']} {row['at']} {row['type']} by {row['actor']}"
                      + (f" - {row['reason']}" if row.get("reason") else ""))


@click.command("register")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--idempotency-key", help="e.g. the hotline ticket id: a retry returns the "
              "case the first call created.")
@click.option("--channel", "intake_channel", help="Normalise FILE with this channel's intake "
              "plugin (e.g. web_form, hotline_platform) instead of reading a ComplaintDraft.")
@click.option("--many", is_flag=True, help="FILE holds many complaints: JSON lines, or CSV "
              "(by the .csv suffix or --csv); a bad line is reported and skipped.")
@click.option("--csv", "csv_format", is_flag=True, help="with --many: FILE is CSV")
@encoding_option
@format_option
@actor_option
def register_cmd(file: str, idempotency_key: str | None, intake_channel: str | None,
                 many: bool, csv_format: bool, encoding: str | None, fmt: str,
                 actor: str) -> None:
    """Register a complaint from a JSON file (- for standard input), or many with --many.

    \b
    --many FILE.jsonl   one ComplaintDraft JSON object per line ("idempotency_key" optional)
    --many FILE.csv     columns = field names, dots for nested (complainant.name),
                        categories / accession_numbers separated by ";", idempotency_key
    Historical received times are fine, future ones are refused. Good lines are stored
    1,000 per transaction; re-running the same file stores nothing twice (keys).
    """
    from ..files import load_json

    if many:
        _register_many(file, csv_format or file.lower().endswith(".csv"), encoding, fmt,
                       actor)
        return

    data = load_json(_read_input(file, encoding), "complaint file")
    if not isinstance(data, dict):
        raise InvalidInput("complaint file", [FieldProblem(
            "(whole file)", f"a JSON {type(data).__name__}", "a JSON object of the complaint's "
            "fields (see schemas/complaint-draft.schema.json)")],
            ["  - 文件内容须为一个 JSON 对象（{...}），参见 schemas/complaint-draft.schema.json"])
    service = get_service(click.get_current_context())
    if intake_channel:
        case, created = service.intake_once(intake_channel, data, actor=actor,
                                            idempotency_key=idempotency_key)
    else:
        case, created = service.register_once(data, actor=actor,
                                              idempotency_key=idempotency_key)
    if fmt == "json":
        click.echo(json.dumps({"reference": case.reference, "created": created,
                               "state": case.state.value, "version": case.version}))
    elif created:
        click.echo(case.reference)
    else:
        click.echo(f"{case.reference} (already registered with this idempotency key; nothing "
                   "new was stored 已登记过，未重复登记)")


def _register_many(file: str, csv_format: bool, encoding: str | None, fmt: str,
                   actor: str) -> None:
    from rich.progress import BarColumn, TextColumn

    from .bulk import bulk_rows
    from .progress import progress_bar

    text = _read_input(file, encoding)
    total = max(0, text.count("\n") + (0 if text.endswith("\n") else 1) - (1 if csv_format
                                                                              else 0))
    service = get_service(click.get_current_context())
    stderr = make_console()
    stderr.file = sys.stderr
    # redrawn after each batch, without a refresh thread (see cli/progress.py)
    with progress_bar(TextColumn("registering 登记中"), BarColumn(),
                      TextColumn("{task.completed}/{task.total} lines"), console=stderr,
                      transient=True, disable=fmt == "json" or total < 2000) as progress:
        task = progress.add_task("bulk", total=total)
        result = service.register_bulk(
            bulk_rows(text, file, csv_format=csv_format), actor=actor,
            on_progress=lambda n: progress.update(task, completed=n))
    if fmt == "json":
        click.echo(json.dumps({
            "registered": [{"line": n, "reference": r} for n, r in result.registered],
            "existing": [{"line": n, "reference": r} for n, r in result.existing],
            "refused": [{"line": n, "error": e.en, "error_zh": e.zh}
                        for n, e in result.refused]}, ensure_ascii=False))
    else:
        for n, error in result.refused[:50]:
            click.echo(f"line {n}: {error.en}\n{error.zh}", err=True)
        if len(result.refused) > 50:
            click.echo(f"... and {len(result.refused) - 50} more refused lines", err=True)
        click.echo(f"registered {len(result.registered)}, already registered "
                   f"{len(result.existing)} (idempotency keys), refused "
                   f"{len(result.refused)} (新登记 {len(result.registered)}，已登记 "
                   f"{len(result.existing)}，未通过 {len(result.refused)})")
    if result.refused:
        sys.exit(1)


def _json_kind(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", int: "number",
            float: "number"}.get(type(value), "null")


def _parse_pairs(pairs: tuple[str, ...]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise InvalidInput("--set", [FieldProblem("--set", pair, "key=value")],
                               ["--set 参数须为 key=value 形式"])
        try:
            data[key] = json.loads(raw)
        except (json.JSONDecodeError, RecursionError):
            data[key] = raw
    return data


class _ActCommand(click.Command):
    """``act --help`` lists every command with its fields, generated from the command models
    (their JSON Schemas), so the help never falls behind the code."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_epilog(ctx, formatter)
        with formatter.section("Commands and their fields, * required (操作及字段，* 为必填)"):
            formatter.write_dl([(name, command_fields(name)) for name in PUBLIC_COMMANDS])


def command_fields(name: str) -> str:
    """``method* (phone|sms|...): how ...; message* (string): ...`` for one command."""
    from ..domain.commands import COMMAND_BY_NAME

    schema = COMMAND_BY_NAME[name].model_json_schema()
    defs = schema.get("$defs", {})
    required = set(schema.get("required", []))
    parts = []
    for field, spec in schema.get("properties", {}).items():
        if spec.get("readOnly"):
            continue
        parts.append(f"{field}{'*' if field in required else ''} ({_kind(spec, defs)})"
                     + (f": {spec['description']}" if spec.get("description") else ""))
    return "; ".join(parts)


def _kind(spec: dict[str, Any], defs: dict[str, Any]) -> str:
    if "$ref" in spec:
        target = defs.get(spec["$ref"].rsplit("/", 1)[-1], {})
        return "|".join(str(v) for v in target["enum"]) if "enum" in target else "object"
    if "anyOf" in spec:
        return " or ".join(_kind(s, defs) for s in spec["anyOf"] if s.get("type") != "null")
    if spec.get("type") == "array":
        return f"list of {_kind(spec.get('items', {}), defs)}"
    if "enum" in spec:
        return "|".join(str(v) for v in spec["enum"])
    return str(spec.get("format") or spec.get("type") or "value")


@click.command("act", cls=_ActCommand)
@click.argument("reference")
@click.argument("command", type=click.Choice(PUBLIC_COMMANDS))
@click.option("--set", "pairs", multiple=True, metavar="KEY=VALUE",
              help="A field of the command; VALUE is JSON when it parses, else text. Repeatable.")
@click.option("--data", help="All fields as one JSON object (merged under --set).")
@click.option("--reason", help="Why (recorded on the event).")
@click.option("--expected-version", type=int, help="Refuse if the case changed since you "
              "looked at this version.")
@actor_option
def act_cmd(reference: str, command: str, pairs: tuple[str, ...], data: str | None,
            reason: str | None, expected_version: int | None, actor: str) -> None:
    """Carry out a workflow COMMAND on a case (see `hospital-complaints workflow`).

    Example: act HC-20261121-0001 acknowledge --set method=phone --set message=已收到
    """
    from ..files import load_json

    fields = load_json(data, "--data") if data else {}
    if not isinstance(fields, dict):
        raise InvalidInput(f"command '{command}'", [FieldProblem(
            "--data", f"a JSON {_json_kind(fields)}", "a JSON object of the command's fields, "
            "e.g. --data '{\"method\": \"phone\", \"message\": \"...\"}'")],
            [f"  - --data：须为 JSON 对象（{{...}}），收到的是 JSON {_json_kind(fields)}"])
    fields.update(_parse_pairs(pairs))
    service = get_service(click.get_current_context())
    event = service.execute(reference, (command, fields), actor=actor, reason=reason,
                            expected_version=expected_version)
    case = service.get(reference)
    click.echo(f"{reference} #{event.seq} {event.type} -> {case.state.value} "
               f"({label(case.state).zh})")


@click.command("attach")
@click.argument("reference")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@actor_option
def attach_cmd(reference: str, file: str, actor: str) -> None:
    """Attach a file (PDF, image, recording, video, text; at most 20 MB) to a case."""
    from pathlib import Path

    path = Path(file)
    service = get_service(click.get_current_context())
    try:
        stream = path.open("rb")
    except OSError as exc:
        raise InvalidInput("attachment", [FieldProblem(
            str(path), exc.strerror or "unreadable", "a readable file")],
            [f"  - {path}：无法读取（{exc.strerror}）"]) from None
    with stream:  # streamed: a file over the limit is refused after the limit, not read whole
        event = service.attach(reference, stream, path.name, actor=actor)
    a = event.payload["attachment"]
    click.echo(f"{reference} #{event.seq} attached {a['filename']} ({a['media_type']}, "
               f"{a['size_bytes']} bytes, sha256 {a['sha256'][:12]}...)")


@click.command("reveal")
@click.argument("reference")
@click.option("--user", required=True, help="Who is asking.")
@click.option("--role", "roles", multiple=True, help="The asker's roles (repeatable).")
@click.option("--department", help="The asker's department.")
@click.option("--purpose", required=True, help="Why the identity is needed (audited).")
def reveal_cmd(reference: str, user: str, roles: tuple[str, ...], department: str | None,
               purpose: str) -> None:
    """Show the complainant's identity, if access control allows; every reveal is audited."""
    viewer = Viewer(user=user, roles=frozenset(roles), department=department)
    shown = get_service(click.get_current_context()).reveal_identity(reference, viewer, purpose)
    click.echo(json.dumps(shown, ensure_ascii=False, indent=2))


@click.command("export")
@click.option("--format", "exporter", default="jsonl", show_default=True,
              help="An exporter id (see `plugins`): jsonl, csv, ...")
@filter_options
@click.argument("out", type=click.File("w", encoding="utf-8"), default="-")
def export_cmd(exporter: str, out: Any, **filters: Any) -> None:
    """Export cases (all, or those the filters select), identity masked, to OUT (default
    standard output)."""
    n = get_app().exports.export(exporter, out, case_filter(**filters))
    click.echo(f"exported {n} cases", err=True)


@click.group("audit")
def audit_group() -> None:
    """Check the tamper-evident event log."""


@audit_group.command("verify")
def audit_verify_cmd() -> None:
    """Check everything that is tamper-evident; name each bad row and exit 1 if anything was
    altered, deleted or reordered: the event log's hash chains, the cases listing against
    the events, the seals of exam/fault/roster rows, and plugins' own checks (raw HL7)."""
    report = get_app().audit.verify()
    if not report.ok:
        for p in report.problems[:200]:
            click.echo(f"BAD: {p}", err=True)
        if len(report.problems) > 200:
            click.echo(f"... and {len(report.problems) - 200} more problems", err=True)
        click.echo(f"FAILED: {len(report.problems)} problems 发现 {len(report.problems)} "
                   "处篡改或损坏", err=True)
        sys.exit(1)
    click.echo(f"ok: {report.events} events, chain head {report.chain_head}; cases listing "
               f"matches the events; {report.evidence_rows} evidence rows checked"
               + "".join(f"; {c}: ok" for c in report.checks))
    for table, n in sorted(report.unsealed.items()):
        click.echo(f"note: {n} rows of {table} were written before release 0.2 and carry no "
                   "seal; `hospital-complaints keys rotate` seals them")


def register_case_commands(cli: click.Group) -> None:
    for command in (list_cmd, show_cmd, register_cmd, act_cmd, attach_cmd, reveal_cmd,
                    export_cmd, audit_group):
        cli.add_command(command)

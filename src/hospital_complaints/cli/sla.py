"""``hospital-complaints sla ...``: deadlines, sweep, metrics and the known policies
(``app.deadlines``).

The group converts library errors into a message and exit status 1, so it behaves the same
mounted under the main command or run on its own (then on an in-memory application with the
built-in policies).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..app import App, bootstrap
from ..domain.taxonomy import Complexity, Milestone, label
from ..errors import FieldProblem, InvalidInput
from ..settings import DatabaseSettings, Settings
from ..sla.calendars import CALENDAR_DIR_ENV, Calendars
from ..sla.engine import Deadline, deadlines, require_aware
from ..sla.extensions import check_extension
from ..sla.metrics import HOTLINE_REFERENCE
from ..sla.policy import SlaPolicy, override
from ..sla.registry import COMBINE_EXAMPLE, PolicyRegistry
from ..sla.sweep import SweepItem, SweepResult
from .errors import ErrorBoundaryGroup
from .output import console as output_console

POLICY_ENV = "HC_SLA_POLICY"
_WEEKDAYS = ("周一 Mon", "周二 Tue", "周三 Wed", "周四 Thu", "周五 Fri", "周六 Sat", "周日 Sun")


@click.group("sla", cls=ErrorBoundaryGroup)
def sla() -> None:
    """Deadlines (SLA): due dates per policy, the reminder/overdue sweep, completion metrics.

    Site calendar files (a year's official holiday arrangement) load from --calendar or from
    every *.json file in $HC_CALENDAR_DIR.
    """


# -- shared helpers -------------------------------------------------------------------------------


def _app(ctx: click.Context) -> App:
    """The main CLI's application; on its own, an in-memory one with the built-in policies."""
    from .context import CliState

    root = ctx.find_root()
    if isinstance(root.obj, CliState):
        return root.obj.get_app()
    if not isinstance(root.obj, App):
        from ..plugins.builtin import sla_profiles
        from ..plugins.manager import HCPluginManager

        plugins = HCPluginManager()
        plugins.register(sla_profiles, name="sla_profiles")
        settings = Settings.load()
        root.obj = bootstrap(settings.model_copy(update={
            "database": DatabaseSettings(url="memory://")}), plugins=plugins)
    assert isinstance(root.obj, App)
    return root.obj


def policy_registry(ctx: click.Context) -> PolicyRegistry:
    """Policies from the plugin system (``hc_register_sla_policies``)."""
    return _app(ctx).deadlines.registry


def default_policy(ctx: click.Context) -> str:
    return _app(ctx).deadlines.default_spec


def load_calendars(ctx: click.Context, files: Iterable[str]) -> Calendars:
    deadline_service = _app(ctx).deadlines
    deadline_service.load_calendar_files(files)
    return deadline_service.calendars


def parse_instant(text: str, option: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput("option", [FieldProblem(
            option, text, "an ISO 8601 date and time with offset, e.g. 2026-09-30T10:00:00+08:00"
        )], [f"  - {option}：无法识别的时间 {text!r}，格式如 2026-09-30T10:00:00+08:00"]) from None
    return require_aware(value, option)


def _pairs(values: Iterable[str], option: str) -> list[tuple[str, str]]:
    out = []
    for v in values:
        key, sep, val = v.partition("=")
        if not sep or not key.strip() or not val.strip():
            raise click.BadParameter(f"{v!r}: write NAME=VALUE, e.g. respond=7wd",
                                     param_hint=option)
        out.append((key.strip(), val.strip()))
    return out


def _calendar_option(f: Any) -> Any:
    return click.option(
        "--calendar", "calendar_files", multiple=True,
        type=click.Path(exists=True, dir_okay=False),
        help="Site calendar file (JSON) to load; repeatable. Also read: "
        f"${CALENDAR_DIR_ENV}/*.json",
    )(f)


def _format_option(f: Any) -> Any:
    return click.option("--format", "fmt", type=click.Choice(["table", "json"]),
                        default="table", show_default=True)(f)


def _show_due(d: datetime) -> str:
    return f"{d.isoformat(sep=' ', timespec='seconds')} {_WEEKDAYS[d.weekday()]}"


def _milestone_label(name: str) -> str:
    try:
        lab = label(Milestone(name))
    except ValueError:
        return name
    return f"{name} {lab.zh}"


def _console() -> Console:
    """Rich output with markup off (stored text is data); 120 columns when not on a
    terminal (pipes, files, tests)."""
    return output_console(None if sys.stdout.isatty() else 120)


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


# -- sla policies ---------------------------------------------------------------------------------


@sla.command("policies")
@_format_option
@click.pass_context
def policies_cmd(ctx: click.Context, fmt: str) -> None:
    """List the known SLA policies, their deadlines and sources."""
    registry = policy_registry(ctx)
    if fmt == "json":
        _echo_json([_policy_json(p) for p in registry])
        return
    table = Table("id", "title 名称", "deadlines 期限", "source 依据",
                  title="SLA policies 时限策略", show_lines=True)
    for p in registry:
        rules = "\n".join(
            f"{r.milestone.value}{'.' + r.complexity.value if r.complexity else ''}: "
            f"{r.describe()}" for r in p.rules)
        table.add_row(p.id, f"{p.title_zh}\n{p.title_en}", rules, p.source)
    _console().print(table)
    click.echo(f"Combine policies per milestone, e.g. --policy {COMBINE_EXAMPLE}")


def _policy_json(p: SlaPolicy) -> dict[str, Any]:
    return {
        "id": p.id, "title_zh": p.title_zh, "title_en": p.title_en, "source": p.source,
        "zone": p.zone, "calendar": p.calendar, "roll_to_working_day": p.roll_to_working_day,
        "rules": [{"milestone": r.milestone.value,
                   "complexity": r.complexity.value if r.complexity else None,
                   "amount": r.amount, "unit": r.unit.value, "anchor": r.anchor.value,
                   "source": r.source, "note": r.note} for r in p.rules],
        "extensions": [{"milestone": e.milestone.value, "max_days": e.max_days,
                        "consent_required": e.consent_required, "source": e.source}
                       for e in p.extensions],
    }


# -- sla deadlines --------------------------------------------------------------------------------


@sla.command("deadlines")
@click.option("--policy", "policy_spec", required=True,
              help=f"Policy id or combination, e.g. {COMBINE_EXAMPLE}")
@click.option("--received", required=True, help="When the complaint was received (ISO 8601 with "
              "offset), e.g. 2026-09-30T10:00:00+08:00")
@click.option("--complexity", type=click.Choice([c.value for c in Complexity]),
              default=Complexity.SIMPLE.value, show_default=True)
@click.option("--acknowledged", default=None,
              help="When the case was accepted (for periods counted from acceptance)")
@click.option("--set", "settings", multiple=True, metavar="MILESTONE=DURATION",
              help="Change a period: respond=7wd, close=20d, acknowledge=24h, respond.complex=3wd")
@click.option("--extend", "extend", multiple=True, metavar="MILESTONE=DAYS",
              help="Apply an extension (checked against the policy), e.g. close=30")
@click.option("--consent", is_flag=True, help="The complainant consented to the extension(s)")
@_calendar_option
@_format_option
@click.pass_context
def deadlines_cmd(ctx: click.Context, policy_spec: str, received: str, complexity: str,
                  acknowledged: str | None, settings: tuple[str, ...], extend: tuple[str, ...],
                  consent: bool, calendar_files: tuple[str, ...], fmt: str) -> None:
    """Due date and time of each milestone for one complaint."""
    received_at = parse_instant(received, "--received")
    acknowledged_at = parse_instant(acknowledged, "--acknowledged") if acknowledged else None
    calendars = load_calendars(ctx, calendar_files)
    policy = policy_registry(ctx).resolve(policy_spec)
    overrides = dict(_pairs(settings, "--set"))
    if overrides:
        policy = override(policy, overrides)
    granted: dict[str, int] = {}
    for name, days_text in _pairs(extend, "--extend"):
        if not days_text.isdigit():
            raise click.BadParameter(f"{days_text!r} is not a number of days",
                                     param_hint="--extend")
        granted[name] = check_extension(policy, granted, name, int(days_text), consent)
    found = deadlines(policy, received_at, Complexity(complexity), calendars=calendars,
                      extensions=granted, acknowledged_at=acknowledged_at)
    if fmt == "json":
        _echo_json({
            "policy": policy.id, "received": received_at.isoformat(),
            "complexity": complexity, "zone": policy.zone, "calendar": policy.calendar,
            "overrides": overrides, "deadlines": [d.to_json() for d in found],
        })
        return
    _deadline_table(policy, received_at, complexity, found, calendars)


def _deadline_table(policy: SlaPolicy, received_at: datetime, complexity: str,
                    found: list[Deadline], calendars: Calendars) -> None:
    console = _console()
    table = Table(title=f"{policy.id}: {policy.title_zh} / {policy.title_en}", show_lines=True)
    for heading in ("milestone 环节", "period 期限", "due 截止"):
        table.add_column(heading, no_wrap=True)
    table.add_column("notes 说明")
    for d in found:
        notes = list(d.notes)
        if d.moved_from:
            notes.insert(0, f"last day {d.moved_from} is a rest day: moved to the next working "
                            "day 期限末日为休息日，顺延")
        if d.extended_by:
            notes.insert(0, f"extended by {d.extended_by} days 已延期")
        if d.anchor != "received":
            notes.insert(0, f"counted from {d.anchor}")
        due = Text(_show_due(d.due))
        if d.provisional:
            due.append("\n⚠ PROVISIONAL 暂定", style="bold yellow")
        table.add_row(_milestone_label(d.milestone), d.rule, due, "\n".join(notes) or d.source)
    console.print(f"received 收到: {_show_due(received_at.astimezone(policy.tz))}  "
                  f"complexity 复杂程度: {complexity}  zone 时区: {policy.zone}")
    console.print(table)
    if not found:
        console.print("this policy sets no acknowledge/respond/close deadline for this complaint")
    years = sorted({y for d in found for y in d.provisional_years})
    cal = calendars.get(policy.calendar)
    for year in years:
        console.print(Text.assemble(
            ("⚠ Provisional deadline(s) 暂定期限", "bold yellow"),
            f": {year} — {cal.basis(year)}. "
            f"Load the official {year} arrangement with --calendar FILE or ${CALENDAR_DIR_ENV} "
            f"(see docs/sla.md); the date will be recomputed. 未载入{year}年官方节假日安排，"
            "仅按周末和固定日期节日计算，载入后将重新计算。"
        ))


# -- sla sweep ------------------------------------------------------------------------------------


@sla.command("sweep")
@click.option("--at", "at_text", default=None,
              help="Sweep as of this instant (ISO 8601 with offset); default: the service's "
              "clock")
@click.option("--policy", "policy_spec", default=None,
              help=f"Policy id or combination applied to cases (default ${POLICY_ENV} or "
              "imaging-dept)")
@click.option("--dry-run", is_flag=True, help="Report only; do not record the new alerts")
@click.option("--limit", default=50, show_default=True, help="Rows per table")
@_calendar_option
@_format_option
@click.pass_context
def sweep_cmd(ctx: click.Context, at_text: str | None, policy_spec: str | None, dry_run: bool,
              limit: int, calendar_files: tuple[str, ...], fmt: str) -> None:
    """Find deadlines due soon (催办), overdue (督办) and breached; record new alerts once.

    Try --dry-run first: without it, each new reminder or escalation is recorded on its case
    (once) and notifiers hear of it."""
    at = parse_instant(at_text, "--at") if at_text is not None else None
    load_calendars(ctx, calendar_files)
    result = _app(ctx).deadlines.sweep(at, spec=policy_spec, dry_run=dry_run)
    if fmt == "json":
        _echo_json({**result.to_json(), "recorded": not dry_run})
        return
    _sweep_tables(result, limit, dry_run)


def _sweep_tables(result: SweepResult, limit: int, dry_run: bool) -> None:
    console = _console()
    console.print(
        f"sweep at {result.at.isoformat()}: {result.cases} open cases; "
        f"{len(result.overdue)} overdue 超期, {len(result.due_soon)} due soon 即将到期, "
        f"{len(result.breached)} breached 逾期完成; {len(result.new_alerts)} new alerts "
        + ("(dry run: not recorded)" if dry_run else "recorded"))
    groups: tuple[tuple[str, list[SweepItem]], ...] = (
        ("overdue 已超期（督办）", result.overdue), ("due soon 即将到期（催办）", result.due_soon),
        ("breached 逾期完成", result.breached))
    for title, items in groups:
        if not items:
            continue
        table = Table("reference", "milestone", "due", "department", title=title)
        for i in sorted(items, key=lambda i: i.due)[:limit]:
            due = _show_due(i.due) + (" ⚠ provisional" if i.provisional else "")
            table.add_row(i.reference, _milestone_label(i.milestone), due, i.department or "-")
        console.print(table)
        if len(items) > limit:
            console.print(f"... and {len(items) - limit} more (--limit, or --format json)")


# -- sla metrics ----------------------------------------------------------------------------------


@sla.command("metrics")
@click.option("--at", "at_text", default=None, help="As of this instant (default: service clock)")
@click.option("--zone", default=None, help="IANA zone of months and days (default: HC_TIMEZONE)")
@click.option("--from", "start", default=None,
              help="work orders dispatched from this day (default: Monday of --at's week)")
@click.option("--to", "end", default=None,
              help="work orders dispatched up to this day (default: Sunday of that week)")
@click.option("--work-orders/--no-work-orders", default=True, show_default=True,
              help="also the three rates of hotline work orders (响应率、解决率、满意率)")
@_format_option
@click.pass_context
def metrics_cmd(ctx: click.Context, at_text: str | None, zone: str | None, start: str | None,
                end: str | None, work_orders: bool, fmt: str) -> None:
    """Share of cases finished within 7 and 30 days, per department and month of receipt;
    and per unit the three rates of hotline work orders for a week (or --from/--to)."""
    from datetime import date, timedelta

    from ..clock import zone as zone_of

    app = _app(ctx)
    at = parse_instant(at_text, "--at") if at_text else app.clock.now()
    tz = zone or app.settings.timezone
    rows = app.deadlines.metrics(at, zone=tz)
    local = at.astimezone(zone_of(tz)).date()
    try:
        first = date.fromisoformat(start) if start else local - timedelta(days=local.weekday())
        last = date.fromisoformat(end) if end else first + timedelta(days=6)
    except ValueError as exc:
        raise click.BadParameter(f"{exc}; use YYYY-MM-DD  日期格式应为 YYYY-MM-DD") from None
    units = app.workorders.rates(first, last) if work_orders else []
    definitions = app.workorders.definitions
    if fmt == "json":
        _echo_json({"at": at.isoformat(), "zone": tz,
                    "reference": {str(k): v for k, v in HOTLINE_REFERENCE.items()},
                    "rows": [r.to_json() for r in rows],
                    "work_orders": {"from": first.isoformat(), "to": last.isoformat(),
                                    "definitions": {"zh": definitions.text("zh"),
                                                    "en": definitions.text("en")},
                                    "units": [u.to_json(definitions) for u in units]}})
        return
    table = Table("month", "department", "received", "finished", "≤7 d", "≤30 d",
                  title="Completion 办结率 (12320 reference: 53% ≤7 d, 85% ≤30 d)")
    for r in rows:
        shares = [f"{r.within[d]} ({(r.share(d) or 0):.0%})" for d in (7, 30)]
        table.add_row(r.month, r.department, str(r.received), str(r.finished), *shares)
    _console().print(table)
    if not work_orders:
        return
    rates = Table("unit 单位", "dispatched 派单", "response 响应率", "resolution 解决率",
                  "satisfaction 满意率", "score 综合", "overdue 超期",
                  title=f"Work orders 工单三率 {first.isoformat()} – {last.isoformat()}")
    for u in units:
        got = u.rates(definitions)
        score = got["score"]
        rates.add_row(u.unit, str(u.dispatched),
                      _pct(got["response"], u.signed_in_time, u.dispatched),
                      _pct(got["resolution"], u.resolved, u.called_back),
                      _pct(got["satisfaction"], None, u.called_back),
                      "-" if score is None else f"{score:.3f}", str(u.overdue))
    _console().print(rates)
    if not units:
        click.echo("no hotline work orders dispatched in this period 本期无热线工单")
    for line in definitions.text("zh") + definitions.text("en"):
        click.echo(f"  {line}")


def _pct(value: float | None, part: int | None, whole: int) -> str:
    if value is None:
        return "-"
    count = f" ({part}/{whole})" if part is not None else f" (of {whole})"
    return f"{value:.0%}{count}"


__all__ = ["POLICY_ENV", "default_policy", "load_calendars", "parse_instant",
           "policy_registry", "sla"]

"""``hospital-complaints workorder ...``: hotline work orders (工单). The lifecycle commands
(sign_work_order, request_extension, reply_work_order ...) run through ``act`` like every
command; this group shows a work order's limits, the profiles, the three rates, duplicates,
merging and splitting, and runs the supervision sweep."""

from __future__ import annotations

import json

import click
from rich.table import Table

from ..domain.taxonomy import label
from ..domain.workorders import is_work_order, work_order_of
from .context import get_app
from .output import console as make_console


def _actor() -> str:
    import os

    app = get_app()
    return app.settings.actor or f"cli:{os.environ.get('USER', 'unknown')}"


@click.group("workorder")
def workorder_group() -> None:
    """Hotline work orders (12345 / 12320 工单).

    \b
    workorder show REF                 platform status, ticket ids, time limits, tiers
    workorder profiles                 the regional profiles and their sources
    workorder duplicates REF           probable duplicates (never merged automatically)
    workorder merge SURVIVOR OTHER     并单: OTHER goes on in SURVIVOR; both histories kept
    workorder split REF                拆单: undo a wrong merge
    workorder supervise                record due reminders / supervision / public naming
    The lifecycle: hc act REF sign_work_order | return_work_order | request_reroute |
    dispute_dispatch | request_extension | record_platform_decision | reply_work_order |
    record_callback | redo_work_order (see `hc act --help`).
    """


@workorder_group.command("show")
@click.argument("reference")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def show_cmd(reference: str, fmt: str) -> None:
    """A work order's platform status, ticket ids, limits and supervision tiers."""
    app = get_app()
    case = app.complaints.get(reference)
    dl = app.workorders.deadlines(case)
    wo = work_order_of(case)
    profile = app.workorders.profile_for(case)
    if fmt == "json":
        click.echo(json.dumps({
            "reference": case.reference, "platform": wo.platform, "tickets": wo.tickets,
            "status": wo.status.value, "request_type": wo.request_type.value,
            "redo_count": wo.redo_count, "deadlines": dl.to_json(),
            "supervision": sorted(f"{t}:{r}" for t, r in wo.supervision)},
            ensure_ascii=False, indent=2))
        return
    status = label(wo.status)
    click.echo(f"{case.reference}  {wo.platform}  tickets 工单号: {', '.join(wo.tickets) or '-'}")
    click.echo(f"status 状态: {status.zh} / {status.en}   case 投诉状态: {case.state.value}")
    click.echo(f"profile 时限配置: {profile.id} — {profile.title_zh}")
    click.echo(f"due 办理时限: {dl.due:%Y-%m-%d %H:%M} ({dl.basis}"
               + (f", +{dl.extended_by_wd} working days extension" if dl.extended_by_wd else "")
               + ")")
    if dl.sign_by:
        click.echo(f"sign by 签收时限: {dl.sign_by:%Y-%m-%d %H:%M}")
    if dl.return_by:
        click.echo(f"return by 退回时限: {dl.return_by:%Y-%m-%d %H:%M}")
    for tier, at in dl.tiers:
        done = "recorded 已记录" if (tier.value, dl.round) in wo.supervision else ""
        click.echo(f"{label(tier).zh} {tier.value}: {at:%Y-%m-%d %H:%M} {done}")
    if wo.pending is not None:
        click.echo(f"waiting for the platform 待平台审核: {label(wo.pending.kind).zh}")
    for cb in wo.callbacks:
        click.echo(f"call-back 回访 {cb.at:%Y-%m-%d}: {label(cb.satisfaction).zh}"
                   + ("" if cb.resolved is None else f", resolved={cb.resolved}"))


@workorder_group.command("profiles")
def profiles_cmd() -> None:
    """The regional profiles (built-in and HC_WORKORDER_PROFILES_DIR) and their sources."""
    app = get_app()
    table = Table("id", "platforms", "time limit 办理时限", "return 退回", "extension 延期",
                  "tiers 督办层级", "source 依据")
    for p in app.workorders.profiles.values():
        limits = ", ".join(f"{k} {v.describe()}" for k, v in p.finish.items())
        tiers = ", ".join(f"{label(t.tier).zh} {t.offset.amount:+d}{t.offset.unit.value[0]}"
                          for t in p.tiers)
        table.add_row(p.id, ", ".join(p.platforms), limits,
                      p.return_within.describe() if p.return_within else "-",
                      (p.extension_max.describe() if p.extension_max else "-")
                      + (" (consent 须同意)" if p.extension_consent else ""),
                      tiers, p.source[:160])
    make_console(200).print(table)
    mapping = app.settings.workorders.platform_profiles
    click.echo("in use 当前使用: " + ", ".join(f"{k} → {v}" for k, v in mapping.items())
               + f"; other platforms → {app.settings.workorders.default_profile}")


@workorder_group.command("duplicates")
@click.argument("reference")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
def duplicates_cmd(reference: str, fmt: str) -> None:
    """Probable duplicates of a case, with the reasons; merge them with `workorder merge`."""
    found = get_app().workorders.duplicates(reference)
    if fmt == "json":
        click.echo(json.dumps([d.to_json() for d in found], ensure_ascii=False, indent=2))
        return
    if not found:
        click.echo("no probable duplicates 未发现疑似重复")
        return
    table = Table("case 投诉", "score 相似度", "state 状态", "subject 主题", "why 依据")
    for d in found:
        table.add_row(d.reference, f"{d.score:.2f}", d.state, d.subject,
                      "; ".join(f"{zh} / {en}" for zh, en in d.reasons))
    make_console().print(table)


@workorder_group.command("merge")
@click.argument("survivor")
@click.argument("other")
@click.option("--reason", required=True, help="why they are the same request (并单理由)")
def merge_cmd(survivor: str, other: str, reason: str) -> None:
    """并单: OTHER goes on in SURVIVOR; the reply answers every ticket id."""
    app = get_app()
    app.workorders.merge(survivor, other, reason=reason, actor=_actor())
    case = app.complaints.get(survivor)
    tickets = work_order_of(case).tickets if is_work_order(case) else []
    click.echo(f"merged {other} into {survivor}; tickets answered together: "
               f"{', '.join(tickets) or '-'} (已并单)")


@workorder_group.command("split")
@click.argument("reference")
@click.option("--reason", required=True, help="why the merge was wrong (拆单理由)")
def split_cmd(reference: str, reason: str) -> None:
    """拆单: undo a wrong merge; the merged case gets back the state it had."""
    app = get_app()
    app.workorders.split(reference, reason=reason, actor=_actor())
    click.echo(f"split {reference}: it is {app.complaints.get(reference).state.value} again "
               "(已拆单)")


@workorder_group.command("supervise")
def supervise_cmd() -> None:
    """Record every reminder (催办), supervision (督办) and public naming (通报) that has come
    due (the worker's sweep does it too)."""
    n = get_app().workorders.supervise()
    click.echo(f"recorded {n} supervision tiers 已记录 {n} 条")


def register_workorder_commands(cli: click.Group) -> None:
    cli.add_command(workorder_group)

"""``hospital-complaints worker`` and the ``outbox`` commands (docs/notifications.md)."""

from __future__ import annotations

import json
import signal
import sys
from datetime import UTC, datetime
from types import FrameType
from typing import Any

import click
from rich.table import Table

from ..domain.notifications import DEAD, DELIVERY_STATES
from ..storage.base import QueuedDelivery
from .context import get_app, get_service
from .output import console as make_console


@click.group("outbox")
def outbox_group() -> None:
    """Notifications: one delivery per event and notifier, sent by the worker.

    \b
    outbox status          rows per notifier and state, and the lag
    outbox list            deliveries (--status pending|delivered|dead, --notifier, --case)
    outbox failed          dead letters, with the last error
    outbox retry ID...     re-queue dead letters (--all, or --all --notifier N)
    outbox dispatch        one delivery round now, without a worker
    """


@outbox_group.command("status")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
def outbox_status_cmd(fmt: str) -> None:
    """Deliveries per notifier: pending, delivered, dead; and the oldest pending's age."""
    status = get_app().notifications.status()
    if fmt == "json":
        click.echo(json.dumps(status, ensure_ascii=False, indent=2))
        return
    if not status["notifiers"]:
        click.echo("no notifiers are installed and the outbox is empty "
                   "(未安装通知渠道，投递队列为空); see docs/notifications.md")
        return
    table = Table("notifier 渠道", "pending 待投递", "delivered 已投递", "dead 死信",
                  "trusted 可见个人信息", "description 说明")
    for nid, row in status["notifiers"].items():
        table.add_row(nid, str(row["pending"]), str(row["delivered"]), str(row["dead"]),
                      "yes" if row["trusted"] else "no",
                      row["description"] if row["installed"] else "(not installed 未安装)")
    make_console().print(table)
    click.echo(f"lag (oldest pending) 最早待投递已等待: {status['lag_s']:.0f} s")


def _rows_table(rows: list[QueuedDelivery], *, errors: bool) -> Table:
    headers = ["id", "case 投诉", "event 事件", "notifier 渠道", "status 状态", "attempts 次数",
               "queued 入队"]
    if errors:
        headers.append("last error 最近错误")
    table = Table(*headers)
    for r in rows:
        zh, _en = DELIVERY_STATES.get(r.status, (r.status, r.status))
        cells = [str(r.id), r.complaint_ref, r.type, r.notifier, f"{r.status} {zh}",
                 str(r.attempts),
                 datetime.fromtimestamp(r.created_s, UTC).strftime("%Y-%m-%d %H:%M:%SZ")]
        if errors:
            cells.append((r.last_error or "")[:200])
        table.add_row(*cells)
    return table


def _as_json(r: QueuedDelivery) -> dict[str, Any]:
    return {"id": r.id, "case": r.complaint_ref, "event_id": r.event_id, "type": r.type,
            "notifier": r.notifier, "status": r.status, "attempts": r.attempts,
            "queued_s": r.created_s, "next_attempt_s": r.next_attempt_s,
            "delivered_s": r.delivered_s, "last_error": r.last_error}


@outbox_group.command("list")
@click.option("--status", type=click.Choice(sorted(DELIVERY_STATES)), default=None)
@click.option("--notifier", default=None, help="only this notifier's deliveries")
@click.option("--case", "reference", default=None, help="only this case's deliveries")
@click.option("--limit", type=click.IntRange(1, 100_000), default=100, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
def outbox_list_cmd(status: str | None, notifier: str | None, reference: str | None,
                    limit: int, fmt: str) -> None:
    """Deliveries, oldest first."""
    rows = get_app().notifications.deliveries(status=status, notifier=notifier,
                                              reference=reference, limit=limit)
    if fmt == "json":
        for r in rows:
            click.echo(json.dumps(_as_json(r), ensure_ascii=False))
        return
    make_console().print(_rows_table(rows, errors=status == DEAD))


@outbox_group.command("failed")
@click.option("--notifier", default=None, help="only this notifier's dead letters")
@click.option("--case", "reference", default=None, help="only this case's dead letters")
@click.option("--limit", type=click.IntRange(1, 100_000), default=100, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
def outbox_failed_cmd(notifier: str | None, reference: str | None, limit: int,
                      fmt: str) -> None:
    """Dead letters: deliveries that ran out of attempts or were refused; re-queue them
    with ``outbox retry ID``."""
    rows = get_app().notifications.failed(notifier=notifier, reference=reference,
                                          limit=limit)
    if fmt == "json":
        for r in rows:
            click.echo(json.dumps(_as_json(r), ensure_ascii=False))
        return
    if not rows:
        click.echo("no dead letters 没有死信")
        return
    make_console().print(_rows_table(rows, errors=True))
    click.echo(f"{len(rows)} dead letters; re-queue with: hospital-complaints outbox retry "
               f"{rows[0].id} (或 --all) 共 {len(rows)} 条死信")


@outbox_group.command("retry")
@click.argument("ids", nargs=-1, type=click.IntRange(1))
@click.option("--all", "everything", is_flag=True, help="every dead letter")
@click.option("--notifier", default=None, help="with --all: only this notifier's")
def outbox_retry_cmd(ids: tuple[int, ...], everything: bool, notifier: str | None) -> None:
    """Re-queue dead letters: due at once, attempts counted from zero. The worker sends
    them in its next round (each with its original event id, so a receiver that got it
    before recognises it)."""
    if not ids and not everything:
        raise click.UsageError("name the dead letters to re-queue (see `outbox failed`), or "
                               "--all  请指定要重新投递的死信编号，或使用 --all")
    if ids and everything:
        raise click.UsageError("give ids or --all, not both  编号与 --all 只能二选一")
    n = get_app().notifications.retry(list(ids) if ids else None, notifier=notifier)
    click.echo(f"re-queued {n} deliveries 已重新排队 {n} 条")


@outbox_group.command("dispatch")
def outbox_dispatch_cmd() -> None:
    """Deliver now, without a running worker: one round of the durable queue, and the
    in-process listeners (``hc_after_event``) left undelivered by a crash."""
    app = get_app()
    n = get_service(click.get_current_context()).dispatch_pending()
    result = app.notifications.dispatch(f"cli:{id(app)}")
    click.echo(f"in-process listeners: {n} events; queue: {result.total('delivered')} "
               f"delivered, {result.total('retry')} to retry, {result.total('dead')} dead "
               "letters")


@click.command("worker")
@click.option("--once", is_flag=True,
              help="run every job once and deliver what is due, then exit (cron, tests)")
@click.option("--jobs", default=None, metavar="LIST",
              help="comma-separated subset of: deliver, sweep, sync (default all)")
@click.option("--metrics-port", type=click.IntRange(0, 65535), default=None,
              help="serve Prometheus metrics at http://HOST:PORT/metrics "
                   "(default HC_WORKER_METRICS_PORT; none if unset)")
@click.option("--metrics-host", default=None, help="default HC_WORKER_METRICS_HOST, 127.0.0.1")
def worker_cmd(once: bool, jobs: str | None, metrics_port: int | None,
               metrics_host: str | None) -> None:
    """Run the background worker: deliver notifications (retries, dead letters), sweep
    deadlines (reminders 催办 and escalations 督办), sync exam sources.

    \b
    Several workers may run against PostgreSQL/MariaDB; on SQLite one runs and others wait.
    SIGTERM or Ctrl-C: the delivery in hand finishes, then the worker stops (exit 0).
    """
    from ..services.metrics import WorkerMetrics

    app = get_app()
    wanted = {j.strip() for j in jobs.split(",") if j.strip()} if jobs else None
    settings = app.settings.worker
    port = metrics_port if metrics_port is not None else settings.metrics_port
    metrics = WorkerMetrics()
    worker = app.worker(jobs=wanted, metrics=metrics,
                        on_line=lambda line: click.echo(line, err=True))
    if port is not None:
        host = metrics_host or settings.metrics_host
        bound = metrics.serve(port, host)
        click.echo(f"metrics: http://{host}:{bound}/metrics", err=True)

    def _stop(signum: int, _frame: FrameType | None) -> None:
        click.echo(f"{signal.Signals(signum).name}: finishing the item in hand, then stopping "
                   "(收到停止信号，处理完当前项目后退出)", err=True)
        worker.stop()

    previous = {s: signal.signal(s, _stop) for s in (signal.SIGTERM, signal.SIGINT)}
    click.echo(f"worker {worker.owner} started: jobs {', '.join(sorted(worker.enabled))}; "
               f"notifiers: {', '.join(sorted(app.notifications.notifiers)) or 'none'} "
               "(后台进程已启动)", err=True)
    try:
        report = worker.run(once=once)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    click.echo(f"worker stopped: {report.delivered} delivered, {report.retried} to retry, "
               f"{report.dead} dead letters, {report.rounds} rounds"
               + (f", {len(report.errors)} job errors" if report.errors else "")
               + f" (后台进程已停止：已投递 {report.delivered})", err=True)
    if report.errors and once:
        sys.exit(1)


def register_worker_commands(cli: click.Group) -> None:
    cli.add_command(outbox_group)
    cli.add_command(worker_cmd)

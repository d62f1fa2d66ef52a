"""``hospital-complaints hotline ...``: pull, import, export replies, check a mapping, list
and retry the records that could not be used, sign with the order's own time limit."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from hospital_complaints.plugin_api import ErrorBoundaryGroup, cli_app

from .errors import invalid, plain

if TYPE_CHECKING:
    from hospital_complaints.plugin_api import App

    from .settings import Connector

_MAPPING = click.option("--mapping", "mapping", required=True, metavar="FILE|ID",
                        help="A mapping file, or the id of a connector in HC_HOTLINE_MAPPINGS.")


def _app() -> App:
    return cli_app(click.get_current_context())


def _connector(name: str) -> Connector:
    from .settings import connector_for

    return connector_for(_app(), name)


def _err(line: str) -> None:
    click.echo(line, err=True)


@click.group("hotline", cls=ErrorBoundaryGroup)
def hotline_group() -> None:
    """Hotline platform work orders (12345/12320 热线工单): pull, import, export replies."""


# -- check-mapping -------------------------------------------------------------------------------


@hotline_group.command("check-mapping")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def check_mapping_cmd(file: Path) -> None:
    """Check a mapping file; every problem is named by its key (映射文件检查)."""
    from .mapping import load_mapping

    m = load_mapping(file)
    feeds = [n for n in ("orders", "results") if getattr(m, n) is not None]
    click.echo(f"{file}: ok: connector {m.id}, platform {m.platform} "
               f"({plain(m.title.zh)} / {plain(m.title.en)})")
    click.echo(f"  pull: {', '.join(feeds) or 'none'}; push: {', '.join(m.push_kinds) or 'none'}"
               f"; file exchange: {'yes' if m.file else 'no'}; auth: {m.auth.scheme}")
    click.echo(f"  映射文件有效：拉取 {len(feeds)} 项，推送 {len(m.push_kinds)} 项")


# -- connectors ----------------------------------------------------------------------------------


@hotline_group.command("connectors")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def connectors_cmd(fmt: str) -> None:
    """The configured connectors, their feeds, pushes and watermarks (已配置的热线对接)."""
    from .pull import watermark_key
    from .settings import connectors

    app = _app()
    rows: list[dict[str, Any]] = []
    for c in connectors(app).values():
        m = c.mapping
        rows.append({
            "id": m.id, "platform": m.platform, "title": m.title.model_dump(),
            "file": str(c.path), "notifier": c.name if m.push_kinds else None,
            "trusted": c.name in app.settings.notifications.trusted,
            "job": c.name if (m.orders or m.results) else None,
            "push": m.push_kinds,
            "watermarks": {f: app.locks.watermark(watermark_key(m.id, f))
                           for f in ("orders", "results") if getattr(m, f) is not None}})
    if fmt == "json":
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo("no hotline connector is configured (HC_HOTLINE_MAPPINGS) "
                   "未配置热线对接")
    for r in rows:
        marks = ", ".join(f"{k} {v or '(not yet)'}" for k, v in r["watermarks"].items())
        click.echo(f"{r['id']}  platform {r['platform']}  {plain(r['title']['zh'])}  "
                   f"push: {', '.join(r['push']) or '-'}  pulled to: {marks or '-'}")


# -- pull ----------------------------------------------------------------------------------------


@hotline_group.command("pull")
@click.option("--once", is_flag=True, help="Pull each connector once, then exit.")
@click.option("--connector", "names", multiple=True, metavar="ID",
              help="Only this connector (repeatable; default: all configured).")
def pull_cmd(once: bool, names: tuple[str, ...]) -> None:
    """Pull new work orders and the platform's results (拉取工单与办理结果).

    The worker does the same every HC_HOTLINE_POLL_S seconds; a connector the worker is
    pulling at this moment is skipped. Exits 1 when a pull failed."""
    from .pull import pull
    from .settings import connectors, section

    app = _app()
    configured = connectors(app)
    unknown = [n for n in names if n not in configured]
    if unknown or not configured:
        known = ", ".join(sorted(configured)) or "none configured (HC_HOTLINE_MAPPINGS)"
        raise invalid("hotline pull", "--connector", unknown[0] if unknown else "(none)",
                      f"a configured connector: {known}", f"可用的对接：{known}")
    chosen = [configured[n] for n in names] if names else list(configured.values())
    chosen = [c for c in chosen if c.mapping.orders or c.mapping.results]
    settings = section(app)
    owner = f"cli:{socket.gethostname()}:{os.getpid()}"
    failed = False
    while True:
        for c in chosen:
            lock = f"job:{c.name}"
            if not app.locks.acquire(lock, owner, time.time(), 600.0):
                _err(f"{c.name}: a worker is pulling it now; skipped (后台正在拉取，跳过)")
                continue
            try:
                report = pull(app, c, max_pages=settings.max_pages)
            finally:
                with contextlib.suppress(Exception):
                    app.locks.release(lock, owner)
            click.echo(plain(report.line(), 2000))
            failed = failed or not report.ok
        if once:
            break
        try:
            time.sleep(max(settings.poll_s, 5.0))
        except KeyboardInterrupt:
            break
    if failed:
        raise SystemExit(1)


# -- file exchange ---------------------------------------------------------------------------


@hotline_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_MAPPING
@click.option("--encoding", default=None, help="The CSV's encoding (default: detected: UTF-8, "
              "UTF-8 with BOM, GB18030).")
@click.option("--sheet", default=None, help="The worksheet (default: the mapping's, else the "
              "first).")
@click.option("--progress-every", default=500, show_default=True, type=click.IntRange(1),
              help="Report progress on stderr every N rows.")
def import_cmd(file: Path, mapping: str, encoding: str | None, sheet: str | None,
               progress_every: int) -> None:
    """Import the platform's exported work-order list (XLSX/CSV) (导入平台导出的工单列表).

    Re-importing registers nothing twice. Rows that cannot be used are kept (hotline rejects)
    and the command exits 1."""
    from .files import import_orders

    def progress(done: int, total: int | None) -> None:
        _err(f"  {done:,} / {total:,} rows (行)" if total else f"  {done:,} rows (行)")

    report = import_orders(_app(), _connector(mapping), file, encoding=encoding, sheet=sheet,
                           progress=progress, progress_every=progress_every)
    click.echo(plain(report.line(), 4000))
    for problem in report.tally.problems[1:20]:
        click.echo(f"  - {plain(problem, 400)}")
    if report.tally.kept:
        click.echo(f"{report.tally.kept} row(s) kept as unusable: see `hospital-complaints "
                   "hotline rejects` (不可用的行已保留)")
        raise SystemExit(1)


@hotline_group.command("export-replies")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@_MAPPING
@click.option("--from", "start", required=True, type=click.DateTime(["%Y-%m-%d"]),
              help="First day (YYYY-MM-DD).")
@click.option("--to", "end", required=True, type=click.DateTime(["%Y-%m-%d"]),
              help="Last day, included.")
@click.option("--encoding", default="utf-8-sig", show_default=True,
              help="CSV encoding (gb18030 for old Excel).")
def export_cmd(out: Path, mapping: str, start: Any, end: Any, encoding: str) -> None:
    """Write the period's replies in the platform's import layout (导出答复，按平台格式)."""
    from .files import export_replies

    a: date = start.date()
    b: date = end.date()
    if b < a:
        raise invalid("export-replies", "--to", b.isoformat(), f"a day on or after --from "
                      f"{a.isoformat()}", "--to 不能早于 --from")
    n = export_replies(_app(), _connector(mapping), a, b, out, encoding=encoding)
    click.echo(f"{out}: {n} reply row(s) from {a} to {b} (已导出答复 {n} 行)")


# -- kept records ------------------------------------------------------------------------------


@hotline_group.command("rejects")
@click.option("--connector", default=None, metavar="ID")
@click.option("--all", "include_resolved", is_flag=True, help="Also the ones done with.")
@click.option("--retry", "retry_ids", multiple=True, type=int, metavar="ID",
              help="Take this kept record again with the current mapping (repeatable).")
@click.option("--resolve", "resolve_ids", multiple=True, type=int, metavar="ID",
              help="Mark as done without taking it (handled by hand).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def rejects_cmd(connector: str | None, include_resolved: bool, retry_ids: tuple[int, ...],
                resolve_ids: tuple[int, ...], fmt: str) -> None:
    """Records that could not be used, kept encrypted (不可用记录：查看、重试、标记已处理).
    Their content is never printed: it may name the caller."""
    from .intake import Taker, Tally
    from .records import api_getter
    from .settings import connectors
    from .store import store_for

    app = _app()
    store = store_for(app)
    rows = {r.id: r for r in store.rejects(include_resolved=True)}
    for rid in (*retry_ids, *resolve_ids):
        if rid not in rows:
            raise invalid("hotline rejects", "ID", rid, "the id of a kept record "
                          "(hotline rejects)", f"没有编号为 {rid} 的不可用记录")
    for rid in retry_ids:
        row = rows[rid]
        c = connectors(app).get(row.connector)
        if c is None:
            raise invalid("hotline rejects --retry", "connector", row.connector,
                          "a configured connector", f"对接 {row.connector} 未配置")
        raw = store.reject_raw(rid)
        tally = Tally()
        taker = Taker(app, c)
        if row.source.startswith("import:"):
            cols = c.mapping.file.columns if c.mapping.file else {}
            values = {ours: raw.get(title) for ours, title in cols.items()}

            def get(field: str, _v: dict[str, Any] = values,
                    _cols: dict[str, str] = cols) -> tuple[Any, str]:
                return _v.get(field), _cols.get(field, field)
            formats = ((c.mapping.file.time_format,) if c.mapping.file else ()) \
                + c.mapping.time_formats
            outcome = taker.take(get, raw, row.source, tally, time_formats=formats)
        else:
            default = "called_back" if row.source == "pull:results" else "dispatched"
            outcome = taker.take(api_getter(c.mapping, raw), raw, row.source, tally,
                                 default_meaning=default)
        if outcome != "kept":
            store.resolve(rid, app.clock.now())
            click.echo(f"{rid}: {outcome} (已处理)")
        else:
            click.echo(f"{rid}: still unusable, kept again: {plain(tally.problems[0], 400)}")
    for rid in resolve_ids:
        store.resolve(rid, app.clock.now())
        click.echo(f"{rid}: marked done (已标记为已处理)")
    if retry_ids or resolve_ids:
        return
    listed = [r for r in store.rejects(connector, include_resolved=include_resolved)]
    if fmt == "json":
        click.echo(json.dumps([r.__dict__ for r in listed], ensure_ascii=False, indent=2))
        return
    if not listed:
        click.echo("no kept records (没有不可用记录)")
    for r in listed:
        done = f"  done {r.resolved_at}" if r.resolved_at else ""
        click.echo(f"{r.id}  {r.at}  {r.connector}  {plain(r.source, 120)}  "
                   f"ticket {plain(r.ticket or '-', 60)}{done}")
        click.echo(f"    {plain(r.error_en, 500)}")
        click.echo(f"    {plain(r.error_zh, 500)}")


# -- signing with the order's own limit ------------------------------------------------------


@hotline_group.command("sign")
@click.argument("reference")
@click.option("--note", default=None, help="A note to the platform (签收说明).")
@click.option("--actor", envvar="HC_ACTOR", required=True, help="Who signs (env HC_ACTOR).")
def sign_cmd(reference: str, note: str | None, actor: str) -> None:
    """Sign for a work order with the time limit the order carried (按工单时限签收)."""
    from .signing import sign

    event = sign(_app(), reference, actor=actor, note=note)
    due = event.payload.get("due")
    click.echo(f"{reference}: signed (已签收){f'; due {due}' if due else ''}")

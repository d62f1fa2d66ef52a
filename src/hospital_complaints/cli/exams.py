"""``hospital-complaints exams ...`` (imaging records) and ``hospital-complaints correlate``."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import click
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..clock import zone
from ..correlation import DepartmentSummary, EvidencePack
from ..correlation.importers import ImportReport, Kind
from ..domain.taxonomy import label
from ..errors import FieldProblem, InvalidInput
from .cases import actor_option, format_option
from .context import get_app
from .output import console as make_console
from .output import styled
from .progress import progress_bar

SHOWN_PROBLEMS = 50


@click.group("exams")
def exams_group() -> None:
    """Imaging records beside complaints: exams, equipment faults, duty roster (影像检查记录)."""


def _run_import(path: str, kind: Kind, timezone: str | None, source: str | None,
                quiet: bool, encoding: str | None = None, summary: bool | None = None,
                workers: int | None = None) -> None:
    """Import one file. Quiet: no progress bar and no flagged rows, only the rejected rows
    (on standard error), and the summary line only when asked for (``--summary``).

    The progress bar is redrawn when progress is reported, not by a refresh thread
    (``cli/progress.py``): the exam import forks its worker processes only from a process
    without other threads. Once every row is read, the bar says the rows are being written:
    the last batches, and in a large load the index build and the commit, report nothing
    more (about 10 s for a million rows)."""
    imaging = get_app().imaging
    p = Path(path)
    console = make_console()
    shown = not quiet and console.is_terminal
    total = _count_rows(p) if shown else None
    name = escape(p.name)  # the description is Rich markup: a file name is text
    with progress_bar(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=console, disable=not shown) as progress:
        task = progress.add_task(f"importing {name} 导入中", total=total)
        on_progress: Callable[[int], None] | None = None
        if shown:
            def on_progress(n: int) -> None:
                if total is not None and n >= total:
                    progress.update(task, completed=n, description=(
                        f"writing {name} to the database 写入数据库"))
                else:
                    progress.update(task, completed=n)

        report = imaging.import_file(p, kind, tz=zone(timezone) if timezone else None,
                                     source=source, on_progress=on_progress,
                                     encoding=encoding, workers=workers)
        progress.update(task, description=f"imported {name} 已导入")
    _print_report(report, flagged=not quiet, summary=not quiet if summary is None else summary)


def _count_rows(p: Path) -> int | None:
    """The rows of a CSV or JSONL file (lines, less a CSV's header), for the progress bar."""
    if p.suffix.lower() not in {".csv", ".jsonl"} or not p.is_file():
        return None
    with p.open("rb") as f:
        lines = sum(block.count(b"\n") for block in iter(lambda: f.read(1 << 20), b""))
    return max(0, lines - (1 if p.suffix.lower() == ".csv" else 0))


def _print_report(report: ImportReport, *, flagged: bool = True, summary: bool = True) -> None:
    for problem in report.rejected[:SHOWN_PROBLEMS]:
        click.echo(f"rejected 拒绝: {problem}", err=True)
    if len(report.rejected) > SHOWN_PROBLEMS:
        click.echo(f"... and {len(report.rejected) - SHOWN_PROBLEMS} more problems", err=True)
    if flagged:
        for line, acc, flags in report.flagged[:SHOWN_PROBLEMS]:
            click.echo(f"flagged 标记: line {line}, exam {acc}: {flags} (kept 已保留)")
        if len(report.flagged) > SHOWN_PROBLEMS:
            click.echo(f"... and {len(report.flagged) - SHOWN_PROBLEMS} more flagged exams")
    if summary:
        click.echo(f"{report.kind}: read {report.read} rows, imported {report.imported}, "
                   f"rejected {report.rejected_rows}, flagged {len(report.flagged)} "
                   f"(读取 {report.read} 行，导入 {report.imported}，拒绝 {report.rejected_rows}，"
                   f"标记 {len(report.flagged)})")


_tz_option = click.option("--timezone", default=None, metavar="ZONE",
                          help="IANA zone for times without a UTC offset (else they are "
                               "rejected), e.g. Asia/Shanghai.")
_source_option = click.option("--source", default=None, help="Source name (default: file name).")
_quiet_option = click.option(
    "--quiet", is_flag=True,
    help="Print only rejected rows (on standard error): no progress bar, no flagged rows, "
         "no summary line unless --summary.")
_summary_option = click.option(
    "--summary/--no-summary", default=None,
    help="The final line (rows read, imported, rejected, flagged); on unless --quiet.")
_encoding_option = click.option(
    "--encoding", default=None, metavar="NAME",
    help="Text encoding (default: detected; UTF-8 with or without BOM, or GB18030/GBK as "
         "Excel saves CSV on a zh-CN PC).")

_workers_option = click.option(
    "--workers", type=click.IntRange(min=0), default=None, metavar="N",
    help="Processes that parse and seal a large CSV (50,000 rows or more) while the "
         "database writes; default: one per core (at most 8); 0: none. 解析进程数。")


@exams_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@_tz_option
@_source_option
@_quiet_option
@_summary_option
@_encoding_option
@_workers_option
def import_exams_cmd(file: str, timezone: str | None, source: str | None, quiet: bool,
                     summary: bool | None, encoding: str | None, workers: int | None) -> None:
    """Import exams (CSV/JSON, one row per exam with milestone columns; CSV as Excel saves
    it). Re-importing the same file changes nothing; wrong rows are reported with line,
    column and value and left out."""
    _run_import(file, "exams", timezone, source, quiet, encoding, summary, workers)


@exams_group.command("import-faults")
@click.argument("file", type=click.Path(dir_okay=False))
@_tz_option
@_source_option
@_quiet_option
@_summary_option
@_encoding_option
def import_faults_cmd(file: str, timezone: str | None, source: str | None, quiet: bool,
                      summary: bool | None, encoding: str | None) -> None:
    """Import equipment faults and their repair work orders (CSV/JSON)."""
    _run_import(file, "faults", timezone, source, quiet, encoding, summary)


@exams_group.command("import-roster")
@click.argument("file", type=click.Path(dir_okay=False))
@_tz_option
@_source_option
@_quiet_option
@_summary_option
@_encoding_option
def import_roster_cmd(file: str, timezone: str | None, source: str | None, quiet: bool,
                      summary: bool | None, encoding: str | None) -> None:
    """Import duty roster shifts (CSV/JSON)."""
    _run_import(file, "roster", timezone, source, quiet, encoding, summary)


@exams_group.command("show")
@click.argument("accession")
@format_option
def show_exam_cmd(accession: str, fmt: str) -> None:
    """One exam's timeline, delays and data-quality flags."""
    imaging = get_app().imaging
    exam = imaging.exam(accession)
    entries = imaging.timeline(accession)
    if fmt == "json":
        click.echo(json.dumps({
            "accession_number": accession, "modality": exam.modality, "station": exam.station,
            "timeline": [{"event": e.event.value, "at": e.at.isoformat()} for e in entries],
            "wait_min": exam.minutes("wait"), "slip_min": exam.minutes("slip"),
            "report_min": exam.minutes("report"), "flags": list(exam.flags)},
            ensure_ascii=False))
        return
    table = Table("event", "事件", "at", title=f"{accession} {exam.modality or ''} "
                  f"{exam.station or ''}")
    for e in entries:
        table.add_row(e.event.value, label(e.event).zh,
                      f"{e.at.astimezone(imaging.tz):%Y-%m-%d %H:%M}")
    make_console().print(table)
    for metric, zh, en in (("wait", "候检等待", "wait: arrived to started"),
                           ("slip", "较预约推迟", "slip: scheduled to started"),
                           ("report", "报告用时", "report: completed to final report")):
        minutes = exam.minutes(metric)
        shown = "-" if minutes is None else f"{minutes:.0f} min"
        click.echo(f"{zh} {en}: {shown}")
    if exam.flags:
        click.echo("flags: " + ", ".join(exam.flags))


@exams_group.command("suggest")
@click.argument("reference")
@format_option
def suggest_cmd(reference: str, fmt: str) -> None:
    """Candidate exams for a complaint without an exam link (nothing is linked)."""
    found = get_app().imaging.suggest(reference)
    if fmt == "json":
        for s in found:
            click.echo(json.dumps({"accession_number": s.exam.accession_number,
                                   "modality": s.exam.modality, "station": s.exam.station,
                                   "score": s.score, "reasons": s.reasons}, ensure_ascii=False))
        return
    if not found:
        click.echo(f"no candidate exams for {reference} (needs a patient id and imported exams)"
                   f" 无候选检查")
        return
    table = Table("accession", "modality", "station", "score", "reasons",
                  title=f"candidates for {reference} (link one with link_exam)")
    for s in found:
        table.add_row(s.exam.accession_number, s.exam.modality or "-", s.exam.station or "-",
                      f"{s.score:.2f}", "\n".join(s.reasons))
    make_console().print(table)


def _day(value: str | None, name: str) -> str:
    if value is None:
        raise InvalidInput("correlate", [FieldProblem(name, None, "a date YYYY-MM-DD "
                                                      "(needed with --summary)")],
                           [f"--summary 需要 {name} 日期"])
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise InvalidInput("correlate", [FieldProblem(name, value, "a date YYYY-MM-DD")],
                           [f"{name} 日期格式应为 YYYY-MM-DD"]) from None


@click.command("correlate")
@click.option("--complaint", "reference", metavar="REF",
              help="Build the evidence pack for this complaint.")
@click.option("--accession", default=None, help="Use this exam instead of the linked one.")
@click.option("--accept", is_flag=True,
              help="Record the pack as evidence items on the case (needs an investigation).")
@click.option("--summary", is_flag=True, help="Department analytics over all exams.")
@click.option("--from", "day_from", metavar="DATE", help="First day (with --summary).")
@click.option("--to", "day_to", metavar="DATE", help="Last day (with --summary).")
@click.option("--alert", is_flag=True,
              help="With --summary: record each new cluster as a cluster_alert event on its "
                   "latest complaint (once; notifiers hear of it).")
@format_option
@actor_option
def correlate_cmd(reference: str | None, accession: str | None, accept: bool, summary: bool,
                  day_from: str | None, day_to: str | None, alert: bool, fmt: str,
                  actor: str) -> None:
    """Check complaints against exam records (影像检查关联分析).

    --complaint REF: the exam's timeline and delays against the day and the device, faults
    during the visit, staff on duty, and a finding. --summary --from --to: complaint rates per
    1,000 exams, waiting and report-delay bands, faults and clusters.
    """
    if summary == (reference is not None):
        raise click.UsageError("give either --complaint REF or --summary --from DATE --to DATE")
    imaging = get_app().imaging
    if reference is not None:
        pack = imaging.evidence(reference, accession)
        if fmt == "json":
            click.echo(pack.model_dump_json(indent=2))
        else:
            _print_pack(pack, imaging.tz)
        if accept:
            events = imaging.accept_evidence(reference, pack, actor=actor)
            click.echo(f"recorded {len(events)} evidence items on {reference} "
                       f"(已记录 {len(events)} 项证据)")
        return
    first, last = _day(day_from, "--from"), _day(day_to, "--to")
    if first > last:
        raise InvalidInput("correlate", [FieldProblem(
            "--from", first, f"a day on or before --to ({last})")],
            [f"  - --from {first} 晚于 --to {last}：起始日期须不晚于结束日期"])
    result = imaging.summary(first, last)
    if fmt == "json":
        click.echo(result.model_dump_json(indent=2))
    else:
        _print_summary(result)
    if alert:
        new = imaging.record_cluster_alerts(result.clusters)
        click.echo(f"{len(result.clusters)} clusters; {new} new cluster alerts recorded "
                   f"(notifiers are told through the outbox) 已记录 {new} 条新的聚集提醒")


def _print_pack(pack: EvidencePack, tz: ZoneInfo) -> None:
    console = make_console()
    console.print(styled((pack.complaint_ref, "bold"), f" exam {pack.accession_number} "
                         f"{pack.modality or ''} {pack.station or ''}"))
    timeline = Table("event 事件", "at 时间", title="timeline 检查时间线")
    for t in pack.timeline:
        timeline.add_row(f"{t.label_zh} {t.label_en}", f"{t.at:%Y-%m-%d %H:%M}")
    console.print(timeline)
    metrics = Table("measure 指标", "minutes", "target", "day pct (n)", "device pct (n)",
                    title="delays 延误")
    for m in pack.metrics:
        metrics.add_row(f"{m.label_zh} {m.label_en}",
                        "-" if m.minutes is None else f"{m.minutes:.0f}"
                        + (" !" if m.over_target else ""), f"{m.target:.0f}",
                        "-" if m.day_percentile is None else f"P{m.day_percentile:.0f} ({m.day_n})",
                        "-" if m.device_percentile is None
                        else f"P{m.device_percentile:.0f} ({m.device_n})")
    console.print(metrics)
    for f in pack.faults:
        restored = "?" if f.restored_at is None else f"{f.restored_at.astimezone(tz):%H:%M}"
        console.print(f"fault 故障 {f.fault_id} {f.station}"
                      f"{'' if f.same_station else ' (same modality 同类设备)'}: "
                      f"{f.reported_at.astimezone(tz):%m-%d %H:%M} → "
                      f"{restored}"
                      f", on site after {f.response_min} min (target {f.response_target_min:.0f})"
                      f"; cause {f.cause or '-'}")
    for s in pack.staff:
        console.print(f"on duty 值班: {s.staff} ({s.role}{', ' + s.station if s.station else ''}) "
                      f"{s.start.astimezone(tz):%H:%M}-{s.end.astimezone(tz):%H:%M}")
    if pack.flags:
        console.print("flags 数据标记: " + ", ".join(pack.flags))
    console.print(f"finding 发现: {pack.finding_zh}")
    console.print(f"finding: {pack.finding_en}")


def _print_summary(result: DepartmentSummary) -> None:
    console = make_console()
    console.print(styled((f"{result.day_from} – {result.day_to}", "bold"),
                         f": {result.exams} exams, {result.complaints} complaints linked to "
                         "exams"))
    for dim, rows in result.rates.items():
        table = Table(dim, "exams", "complaints", "per 1,000",
                      title=f"complaint rate by {dim} 每千例检查投诉率")
        for r in rows:
            table.add_row(r.key, str(r.exams), str(r.complaints),
                          "-" if r.per_1000 is None else f"{r.per_1000:.2f}")
        console.print(table)
    for title, bands in (("waiting time 候检等待", result.wait_bands),
                         ("report turnaround 报告时长", result.report_bands)):
        table = Table("band", "exams", "complaints", "per 1,000", "RR vs lowest",
                      title=title)
        for b in bands:
            table.add_row(b.band, str(b.exams), str(b.complaints),
                          "-" if b.per_1000 is None else f"{b.per_1000:.2f}",
                          "-" if b.relative_risk is None else f"{b.relative_risk:.2f}")
        console.print(table)
    table = Table("fault", "station", "reported", "urgent", "on site (target)", "down min",
                  "exams station/mod", "complaints", title="faults 设备故障")
    for f in result.faults:
        table.add_row(f.fault_id, f.station, f"{f.reported_at:%m-%d %H:%M}",
                      "yes" if f.urgent else "no",
                      f"{f.response_min if f.response_min is not None else '-'} "
                      f"({f.response_target_min:.0f}) "
                      + ("met" if f.response_met else "-" if f.response_met is None else "MISSED"),
                      "-" if f.downtime_min is None else f"{f.downtime_min:.0f}",
                      f"{f.exams_on_station}/{f.exams_of_modality}", str(f.complaints))
    console.print(table)
    for c in result.clusters:
        console.print(f"cluster 聚集 [{c.kind}] {c.key}: {len(c.complaint_refs)} complaints "
                      f"{c.first:%m-%d} – {c.last:%m-%d}: {', '.join(c.complaint_refs)}")
    sys.stdout.flush()


def register_exam_commands(cli: click.Group) -> None:
    cli.add_command(exams_group)
    cli.add_command(correlate_cmd)

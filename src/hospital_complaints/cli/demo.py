"""``hospital-complaints demo``: a week of an imaging department's complaints, summarised."""

from __future__ import annotations

import uuid
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn
from rich.table import Table

from ..app import App, bootstrap
from ..clock import FixedClock
from ..demo.scenario import WEEK_START, demo_imaging, run_scenario
from ..domain.complaint import Complaint
from ..domain.taxonomy import Milestone, OutcomeKind, label
from ..sla import status_at
from .context import get_state
from .output import console as make_console
from .output import styled
from .progress import progress_bar


@click.command("demo")
@click.option("--quiet", is_flag=True, help="Print only the summary, no progress.")
def demo_cmd(quiet: bool) -> None:
    """Play a week of complaints in an imaging department and print a summary.

    Complaints arrive by front desk, 12320 hotline work order, web form, letter, voicemail and
    e-mail, and walk through acknowledgement, investigation with evidence, rectification with
    owners and due dates, response, follow-up and closing; one is withdrawn, one referred.
    """
    state = get_state(click.get_current_context())
    console = make_console()
    clock = FixedClock(WEEK_START)
    store = state.get_app().store
    app = bootstrap(state.get_app().settings, plugins=state.plugins, clock=clock, store=store)
    service = app.complaints
    where = store.engine.url.render_as_string(hide_password=True)
    console.print(styled(("hospital-complaints demo", "bold"),
                         ": 影像科一周投诉处理 a week in an imaging department "
                         f"(database: {where})"))
    with progress_bar(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      console=console, disable=quiet, transient=False) as progress:
        task = progress.add_task("playing the week", total=None)

        def step(text: str, total: int) -> None:
            progress.update(task, total=total, advance=1, description=text)

        result = run_scenario(service, clock, on_step=step, run_id=f"-{uuid.uuid4().hex[:8]}")
    refs = set(result.references.values())
    cases = [s for s in service.list_cases() if s.reference in refs]

    table = Table(title="Cases 投诉案件 (identity masked 身份信息已脱敏)", show_lines=False)
    table.add_column("reference 编号", no_wrap=True)
    for col in ("channel 渠道", "kind 类型", "state 状态", "outcome 结果", "department 科室",
                "categories 分类", "complainant 投诉人"):
        table.add_column(col)
    for s in cases:
        table.add_row(
            s.reference, label(s.channel).zh, label(s.kind).zh, label(s.state).zh,
            label(OutcomeKind(s.outcome)).zh if s.outcome else "-",
            (s.department or "-").split(" ")[0],
            ", ".join(label(c).zh for c in s.categories) or "-", s.complainant,
        )
    console.print(table)

    ct = service.get(result.references["ct"])
    console.print(styled("\n", (ct.reference, "bold"), f" {ct.complaint.subject}"))
    met = {"acknowledge": ct.acknowledged_at, "respond": ct.response.at if ct.response else None,
           "close": ct.closed_at}
    for d in app.deadlines.for_case(ct.reference):
        if d.milestone in met:
            as_of = max(clock.now(), ct.events[-1].at)  # the week's steps are not in time order
            status = status_at(d.due, d.due_soon_from, met[d.milestone], as_of)
            console.print(f"  deadline 时限 {label(Milestone(d.milestone)).zh} {d.milestone}: "
                          f"due {d.due:%a %m-%d %H:%M} ({d.rule}, {d.policy}) - {status.value}")
    team = ", ".join(f"{m.name}({label(m.role).zh})" for m in ct.investigation.team)
    console.print(f"  team 调查组: {team}")
    for e in ct.investigation.evidence:
        console.print(f"  evidence {e.evidence_id} [{label(e.type).zh}] {e.description}")
    for f in ct.investigation.findings:
        console.print(f"  finding 结论: {f.text}")
        for rc in f.root_causes:
            console.print(f"    root cause 根因: {rc}")
    for a in ct.actions.values():
        console.print(f"  action {a.action_id} [{label(a.type).zh}] {a.description} — owner "
                      f"{a.owner}, due {a.due}, {label(a.status).zh}")
    if ct.follow_up is not None:
        console.print(f"  follow-up 回访: satisfaction {ct.follow_up.satisfaction}/5")
    console.print(f"  events 事件: {ct.version}, state {label(ct.state)}")
    _print_correlation(console, app, ct.complaint)
    _print_work_orders(console, app, result.references, result.duplicates)

    closed = sum(1 for c in cases if c.state.value == "closed")
    console.print(
        f"\n{len(cases)} cases; {closed} closed, "
        f"{sum(1 for c in cases if c.state.value == 'withdrawn')} withdrawn, "
        f"{sum(1 for c in cases if c.state.value == 'referred')} referred, "
        f"{sum(1 for c in cases if c.state.value == 'merged')} merged, "
        f"{sum(1 for c in cases if c.state.value not in _ENDED)} open. "
        f"Notifications delivered: {sum(result.notifications.values())}; "
        f"failed: {sum(len(service.notification_failures(r)) for r in refs)}."
    )
    report_path = _write_month_report(app)
    console.print(f"Monthly report 月报: {report_path} (HTML, opens offline; also "
                  "hospital-complaints report monthly --month 2026-11 --format xlsx|pdf|csv|json "
                  "OUT)")
    console.print(f"Saved. Try: hospital-complaints list · hospital-complaints show "
                  f"{result.references['ct']} --history · hospital-complaints audit verify")


_WORK_ORDER_EVENTS = {
    "work_order_signed": "签收 signed", "extension_requested": "延期申请 extension asked",
    "platform_decision_recorded": "平台审核 platform decided",
    "work_order_replied": "办结答复 replied", "callback_recorded": "回访 call-back",
    "work_order_redone": "重办 redo", "closed": "办结 closed",
}


_ENDED = ("closed", "withdrawn", "referred", "merged")


def _write_month_report(app: App) -> Path:
    """The week's month as the monthly report (月报), next to the database."""
    path = Path(f"hospital-complaints-report-{WEEK_START:%Y-%m}.html")
    return app.reports.write(app.reports.monthly(f"{WEEK_START:%Y-%m}"), "html", path)


def _print_work_orders(console: Console, app: App, refs: dict[str, str],
                       duplicates: list[tuple[str, float]]) -> None:
    """The 12320 work order's way through the platform's steps, the 12345 duplicate call,
    and the week's three rates."""
    from datetime import timedelta

    from ..demo.scenario import WEEK_START

    mr = app.complaints.get(refs["mr"])
    wo = mr.work_order
    tickets = ", ".join(wo.tickets) if wo else "-"
    console.print(styled("\n", (mr.reference, "bold"), f" 12320 work order 工单 {tickets}: "
                         f"{mr.complaint.subject}"))
    for e in mr.events:
        if e.type in _WORK_ORDER_EVENTS:
            detail = e.payload.get("satisfaction") or e.payload.get("resolution") or ""
            console.print(f"  {e.at:%a %H:%M} {_WORK_ORDER_EVENTS[e.type]} {detail}".rstrip())
    if "ct-call" in refs:
        call = app.complaints.get(refs["ct-call"])
        found = ", ".join(f"{r} ({score:.2f})" for r, score in duplicates) or "none"
        console.print(f"  12345 call 来电 {call.reference} ({call.complaint.external_id}): "
                      f"probable duplicates 疑似重复 {found}; state {label(call.state).zh} "
                      f"{call.state.value}" + (f" → {call.merged_into}" if call.merged_into
                                               else ""))
    first = WEEK_START.date()
    units = app.workorders.rates(first, first + timedelta(days=6))
    definitions = app.workorders.definitions
    for u in units:
        r = u.rates(definitions)
        shown = "  ".join(f"{name} {'-' if r[key] is None else f'{r[key]:.0%}'}"
                          for name, key in (("响应率 response", "response"),
                                            ("解决率 resolution", "resolution"),
                                            ("满意率 satisfaction", "satisfaction")))
        console.print(f"  three rates 三率 {u.unit}: {u.dispatched} work orders; {shown}")
    console.print("  (`hospital-complaints sla metrics --at 2026-11-20T18:00:00+08:00` shows "
                  "them per unit with their definitions)")


def _print_correlation(console: Console, app: App, complaint: Complaint) -> None:
    """Load the week's imaging records and show what the exam record says. The exams come
    through a plugin's feed when one shows itself (``hc_demo_exam_feed``: the HL7 v2 adapter
    sends them as a RIS's HL7 messages), else directly."""
    imaging = app.imaging
    exams, faults, shifts = demo_imaging()
    feed = app.plugins.demo_exam_feed(app, exams)
    if feed is None:
        imaging.add_exams(exams)
        console.print(f"  exams 检查记录: {len(exams)} stored directly (HL7 v2 adapter not "
                      "installed or disabled)")
    else:
        for line in feed.lines:
            console.print(f"  {line}")
        if not feed.stored_all:
            console.print(styled(("  some exams did not arrive through the feed; stored "
                                  "directly", "red")))
            imaging.add_exams(exams)
    imaging.add_faults(faults)
    imaging.add_shifts(shifts)
    pack = imaging.evidence(complaint.reference)
    console.print(f"  correlation 关联分析 ({len(exams)} exams, {len(faults)} faults imported): "
                  f"{pack.finding_en}")
    console.print(f"    {pack.finding_zh}")
    imaging.refresh_links()  # the demo's cases were linked before their exams arrived
    summary = imaging.summary("2026-11-13", "2026-11-20")
    for f in summary.faults:
        met = {True: "met", False: "MISSED", None: "-"}[f.response_met]
        console.print(f"  fault 故障 {f.fault_id} {f.station}: on site after {f.response_min} "
                      f"min (target {f.response_target_min:.0f}, {met}); "
                      f"{f.exams_on_station} exams on {f.station}, {f.exams_of_modality} "
                      f"{f.modality} exams during the outage, {f.complaints} complaint(s)")

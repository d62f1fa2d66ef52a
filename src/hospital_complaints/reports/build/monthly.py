"""The monthly report (月报): flow, volumes, deadlines, overdue, the three rates, outcomes,
rectification, follow-up, imaging and root causes, each with the previous month and a
12-month trend. The counting rules are in docs/reports.md."""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

from ...domain.taxonomy import (
    ActionType,
    Category,
    Channel,
    ComplaintKind,
    Milestone,
    OutcomeKind,
    label,
)
from ...sla import HOTLINE_REFERENCE
from .data import (
    CURRENT,
    NO_UNIT,
    PREVIOUS,
    ReportData,
    ReportRequest,
    Unit,
    as_of,
    breakdown,
    report_notes,
)
from .dues import Dues
from .facts import CaseFact
from .followup import FollowUpResult
from .imaging import imaging_section
from .model import Bi, Chart, Column, ReferenceLine, Report, Section, Series, Table, Value
from .overdue import milestone_label, overdue_items
from .period import Month
from .rates import NAMES, RateCounter, Ratio

TITLE = Bi("投诉管理月报", "Monthly complaints report")
ALL = "全部 all"
UNCLASSIFIED = Bi("未分类", "unclassified")
NO_OUTCOME = Bi("无结果", "no outcome")
MERGED = Bi("并单（并入他案办理）", "merged into another case")

NEW = Bi("新受理", "new")
CARRIED = Bi("上月结转", "carried forward")
FINISHED = Bi("办结（含撤回、转办、不予受理、并单）",
              "finished (closed, withdrawn, referred, not accepted, merged)")
OPEN_END = Bi("月末在办", "open at month end")

ACK_24H = Bi("24 小时内首次反馈", "first feedback within 24 h")
RESPOND = Bi("在时限政策内答复", "answered within the policy")
CLOSED_7 = Bi("7 天内办结", "finished within 7 days")
CLOSED_30 = Bi("30 天内办结", "finished within 30 days")


def lab(member: object) -> str:
    found = label(member)
    return f"{found.zh} {found.en}"


@dataclass
class _Ctx:
    data: ReportData
    request: ReportRequest
    tz: ZoneInfo
    months: tuple[Month, ...]
    as_of: datetime
    facts: list[CaseFact]
    dues: Dues
    units: dict[str, Unit]

    def window(self, m: Month) -> tuple[datetime, datetime]:
        return m.start(self.tz), m.end(self.tz)

    def unit(self, fact: CaseFact) -> Unit:
        key = fact.department or ""
        found = self.units.get(key)
        if found is None:
            found = self.units[key] = (self.data.unit(fact.department)
                                       if fact.department else NO_UNIT)
        return found

    @cached_property
    def starts(self) -> list[datetime]:
        return [m.start(self.tz) for m in self.months]

    @cached_property
    def end(self) -> datetime:
        return self.months[-1].end(self.tz)

    @cached_property
    def ends(self) -> list[datetime]:
        """Each month's end as counted: its end, or the report's instant while it runs."""
        return [min(m.end(self.tz), self.as_of) for m in self.months]

    def slot(self, at: datetime | None) -> int | None:
        """The index of the month ``at`` falls in, or ``None``."""
        if at is None:
            return None
        i = bisect_right(self.starts, at) - 1
        return None if i < 0 or at >= self.end else i

    def span(self, since: datetime, until: datetime | None) -> range:
        """The months whose counted end is after ``since`` and not after ``until`` (``None``:
        still not done): what "open at month end" counts."""
        first = bisect_right(self.ends, since)
        last = len(self.months) if until is None else bisect_right(self.ends, until)
        return range(first, last)

    @cached_property
    def measured(self) -> dict[str, dict[str, tuple[bool, bool]]]:
        """Each case's deadline measures, computed once (by reference)."""
        return {}

    def zeros(self) -> list[int]:
        return [0] * len(self.months)


def _in(at: datetime | None, start: datetime, end: datetime) -> bool:
    return at is not None and start <= at < end


class MonthlyReport:
    id = "monthly"
    title = TITLE
    description = Bi("案件流转、时限、超期、三率、办理结果、整改、回访、影像指标和主要原因，"
                     "含环比与 12 个月趋势",
                     "flow, deadlines, overdue, the three rates, outcomes, rectification, "
                     "follow-up, imaging and root causes, with the previous month and a "
                     "12-month trend")

    def build(self, data: ReportData, request: ReportRequest) -> Report:
        tz = data.tz
        months = request.month.trend(12)
        instant = as_of(data, request.month)
        scope, within = data.scope(request.department)
        read = data.facts(months[0].start(tz), request.month.end(tz), instant)
        facts = [f for f in read if within(f.department)]
        ctx = _Ctx(data, request, tz, months, instant, facts,
                   Dues(data.policy(), data.calendars()), {})
        sections = (
            Section("summary", Bi("概况", "Overview"), (_flow(ctx),)),
            Section("volumes", Bi("投诉数量", "Volumes"), _volumes(ctx)),
            Section("deadlines", Bi("办理时限", "Deadlines"), _deadlines(ctx)),
            Section("overdue", Bi("超期清单", "Overdue"), _overdue(ctx)),
            Section("rates", Bi("三率", "The three rates"), _rates(ctx)),
            Section("outcomes", Bi("办理结果", "Outcomes"), (_outcomes(ctx),)),
            Section("actions", Bi("整改", "Rectification"), _actions(ctx)),
            _follow_up(ctx),
            imaging_section(data.imaging(months, request), months, data.settings),
            Section("root_causes", Bi("主要原因", "Root causes"), (_root_causes(ctx),)),
        )
        return Report(self.id, self.title, str(request.month), scope, instant, data.now,
                      sections, report_notes(instant),
                      {"cases_read": len(facts), "months": [str(m) for m in months],
                       "sla_policy": data.policy_spec, "timezone": str(tz)})


# -- overview ----------------------------------------------------------------------------------


def _flow(ctx: _Ctx) -> Table:
    new, carried, finished, open_end = ctx.zeros(), ctx.zeros(), ctx.zeros(), ctx.zeros()
    n = len(ctx.months)
    for x in ctx.facts:
        done = x.finished_at
        i = ctx.slot(x.received_at)
        if i is not None:
            new[i] += 1
        j = ctx.slot(done)
        if j is not None:
            finished[j] += 1
        # carried into month k: received before its start, not finished before it
        first = bisect_right(ctx.starts, x.received_at)
        last = n if done is None else bisect_right(ctx.starts, done)
        for k in range(first, last):
            carried[k] += 1
        for k in ctx.span(x.received_at, done):  # open at the end of month k
            open_end[k] += 1
    rows: list[tuple[Bi, list[int]]] = [(NEW, new), (CARRIED, carried), (FINISHED, finished),
                                         (OPEN_END, open_end)]
    chart = Chart("flow_trend", Bi("受理与办结趋势", "Received and finished, 12 months"), "line",
                  tuple(str(m) for m in ctx.months),
                  tuple(Series(name, _nums(v)) for name, v in rows if name is not CARRIED))
    return breakdown("flow", Bi("案件流转", "Case flow"), Bi("项目", "item"), ctx.months,
                     [(str(name), v) for name, v in rows], chart=chart)


def _nums(values: Sequence[Value]) -> tuple[float | int | None, ...]:
    return tuple(v if isinstance(v, (int, float)) and not isinstance(v, bool) else None
                 for v in values)


# -- volumes -----------------------------------------------------------------------------------


def _count_by(ctx: _Ctx, keys: Callable[[CaseFact], Iterable[str]]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = defaultdict(ctx.zeros)
    for x in ctx.facts:
        i = ctx.slot(x.received_at)
        if i is None:
            continue
        for k in keys(x):
            out[k][i] += 1
    return out


def _volumes(ctx: _Ctx) -> tuple[Table, ...]:
    kinds = _count_by(ctx, lambda x: (x.kind,))
    channels = _count_by(ctx, lambda x: (x.channel,))
    cats = _count_by(ctx, lambda x: x.categories or ("(none)",))
    total = _count_by(ctx, lambda x: ("cases",))
    zero = [0] * len(ctx.months)
    by_kind = breakdown("by_kind", Bi("按类型", "By kind"), Bi("类型", "kind"), ctx.months,
                        [(lab(k), kinds.get(k.value, zero)) for k in ComplaintKind])
    by_channel = breakdown("by_channel", Bi("按渠道", "By channel"), Bi("渠道", "channel"),
                           ctx.months, [(lab(c), channels.get(c.value, zero)) for c in Channel])
    cat_rows = [(lab(c), cats.get(c.value, zero)) for c in Category]
    cat_rows.append((str(UNCLASSIFIED), cats.get("(none)", zero)))
    chart = Chart("by_category_chart", Bi("本月按类别", "By category, this month"), "bar",
                  tuple(name for name, _ in cat_rows),
                  (Series(CURRENT, tuple(v[-1] for _, v in cat_rows)),
                   Series(PREVIOUS, tuple(v[-2] for _, v in cat_rows))))
    cat_rows.append(("(cases 案件数)", total.get("cases", zero)))
    by_category = breakdown(
        "by_category", Bi("按类别", "By category"), Bi("类别", "category"), ctx.months, cat_rows,
        notes=(Bi("一件投诉涉及多个类别时，每个类别各计一次；“案件数”一行每件只计一次。",
                  "A case with several categories counts once under each; the row "
                  "'(cases 案件数)' counts each case once."),), chart=chart)
    units = _count_by(ctx, lambda x: (ctx.unit(x).id,))
    names = {u.id: str(u.name) for u in ctx.units.values()}
    names.setdefault(NO_UNIT.id, str(NO_UNIT.name))
    order = sorted(units, key=lambda k: (-units[k][-1], -sum(units[k]), names.get(k, k)))
    by_department = breakdown("by_department", Bi("按科室", "By department"),
                              Bi("科室", "department"), ctx.months,
                              [(names.get(k, k), units[k]) for k in order])
    return by_kind, by_channel, by_category, by_department


# -- deadlines ---------------------------------------------------------------------------------


def _window_end(received: datetime, days: int, tz: ZoneInfo) -> datetime:
    """The end of the ``days``-th calendar day after the day of receipt (``sla metrics``)."""
    day: date = received.astimezone(tz).date() + timedelta(days=days)
    return datetime.combine(day, time.max, tzinfo=tz)


def _measures(ctx: _Ctx, x: CaseFact) -> dict[str, tuple[bool, bool]]:
    """(counted, met) per deadline measure of a case received in the month."""
    out: dict[str, tuple[bool, bool]] = {}
    ack, limit = x.first_acknowledged_at, x.received_at + timedelta(hours=24)
    out["ack_24h"] = (ack is not None or limit <= ctx.as_of,
                      ack is not None and ack <= limit)
    due = ctx.dues.due(x, Milestone.RESPOND)
    answer = x.first_responded_at
    if due is not None:
        out["respond_policy"] = (answer is not None or due <= ctx.as_of,
                                 answer is not None and answer <= due)
    done = x.finished_at
    for days in (7, 30):
        out[f"closed_{days}d"] = (True, done is not None
                                  and done <= _window_end(x.received_at, days, ctx.tz))
    return out


MEASURES = (("ack_24h", ACK_24H), ("respond_policy", RESPOND), ("closed_7d", CLOSED_7),
            ("closed_30d", CLOSED_30))


def _shares(ctx: _Ctx, facts: Iterable[CaseFact]) -> dict[str, list[Ratio]]:
    counts = {k: [[0, 0] for _ in ctx.months] for k, _ in MEASURES}
    for x in facts:
        i = ctx.slot(x.received_at)
        if i is None:
            continue
        found = ctx.measured.get(x.reference)
        if found is None:
            found = ctx.measured[x.reference] = _measures(ctx, x)
        for key, (counted, met) in found.items():
            if counted:
                cell = counts[key][i]
                cell[0] += met
                cell[1] += 1
    return {k: [Ratio(a, b) for a, b in v] for k, v in counts.items()}


def _deadlines(ctx: _Ctx) -> tuple[Table, ...]:
    shares = _shares(ctx, ctx.facts)
    rows = [(name, [r.share for r in shares[key]]) for key, name in MEASURES]
    chart = Chart("deadlines_trend", Bi("时限达标率趋势", "Deadlines met, 12 months"), "line",
                  tuple(str(m) for m in ctx.months),
                  tuple(Series(name, _nums(v)) for name, v in rows), "pct",
                  (ReferenceLine(Bi(f"热线 7 天 {HOTLINE_REFERENCE[7]:.0%}",
                                    f"hotline 7 days {HOTLINE_REFERENCE[7]:.0%}"),
                                 HOTLINE_REFERENCE[7]),
                   ReferenceLine(Bi(f"热线 30 天 {HOTLINE_REFERENCE[30]:.0%}",
                                    f"hotline 30 days {HOTLINE_REFERENCE[30]:.0%}"),
                                 HOTLINE_REFERENCE[30])))
    spec = ctx.data.policy_spec
    notes = (Bi("7 天、30 天办结率的参考线为北京 12320 热线公布的 53% 与 85%。",
                "Reference lines: the Beijing 12320 hotline's reported 53 % closed within 7 "
                "days and 85 % within 30."),
             Bi(f"答复时限按时限政策「{spec}」计算；只统计期限已到或已达成的案件。",
                f"The answer deadline is the SLA policy '{spec}''s; shares count only cases "
                "whose time has run out or that reached the milestone."))
    overall = breakdown("deadlines", Bi("时限", "Deadlines"), Bi("指标", "measure"), ctx.months,
                        [(str(name), v) for name, v in rows], kind="pct", notes=notes,
                        chart=chart)
    columns = [Column("unit", Bi("科室", "unit"), "text")]
    for key, name in MEASURES:
        columns += [Column(f"{key}_n", Bi(f"{name.zh}（应计）", f"{name.en} (counted)")),
                    Column(key, Bi(f"{name.zh}（本月）", f"{name.en} (this month)"), "pct"),
                    Column(f"{key}_prev", Bi(f"{name.zh}（上月）", f"{name.en} (previous)"),
                           "pct")]
    per_unit: dict[str, list[CaseFact]] = defaultdict(list)
    for x in ctx.facts:
        per_unit[ctx.unit(x).id].append(x)
    unit_rows: list[tuple[Value, ...]] = []
    for uid, facts in _unit_order(ctx, per_unit):
        s = _shares(ctx, facts)
        if not any(s[k][-1].d or s[k][-2].d for k, _ in MEASURES):
            continue
        row: list[Value] = [_unit_name(ctx, uid)]
        for key, _ in MEASURES:
            row += [s[key][-1].d, s[key][-1].share, s[key][-2].share]
        unit_rows.append(tuple(row))
    by_unit = Table("deadlines_by_unit", Bi("各科室时限", "Deadlines per unit"), tuple(columns),
                    tuple(unit_rows))
    return overall, by_unit


def _unit_name(ctx: _Ctx, uid: str) -> str:
    for u in ctx.units.values():
        if u.id == uid:
            return str(u.name)
    return uid


def _unit_order(ctx: _Ctx, groups: dict[str, list[CaseFact]]) \
        -> list[tuple[str, list[CaseFact]]]:
    start, end = ctx.window(ctx.months[-1])

    def current(facts: list[CaseFact]) -> int:
        return sum(_in(x.received_at, start, end) for x in facts)

    return sorted(groups.items(), key=lambda kv: (-current(kv[1]), -len(kv[1]),
                                                  _unit_name(ctx, kv[0])))


# -- overdue -----------------------------------------------------------------------------------


def _overdue(ctx: _Ctx) -> tuple[Table, ...]:
    items = overdue_items(ctx.facts, ctx.dues, ctx.as_of)
    rows = [(str(ctx.unit(o.fact).name), o.fact.reference, milestone_label(o.milestone),
             o.due.astimezone(ctx.tz), o.days) for o in items]
    rows.sort(key=lambda r: (r[0], r[3], r[1]))
    cases: dict[str, set[str]] = defaultdict(set)
    deadlines: Counter[str] = Counter()
    for r in rows:
        cases[r[0]].add(r[1])
        deadlines[r[0]] += 1
    units = sorted(cases, key=lambda u: (-len(cases[u]), -deadlines[u], u))
    at = ctx.as_of.isoformat(timespec="minutes")
    summary = Table("overdue_by_unit", Bi("各科室超期汇总", "Overdue per unit"),
                    (Column("unit", Bi("科室", "unit"), "text"),
                     Column("cases", Bi("超期案件", "cases")),
                     Column("deadlines", Bi("超期事项", "deadlines"))),
                    tuple((u, len(cases[u]), deadlines[u]) for u in units))
    chart = Chart("overdue_chart", Bi("各科室超期件数", "Overdue per unit"), "bar", tuple(units),
                  (Series(Bi("超期事项", "overdue deadlines"), tuple(deadlines[u] for u in units)),
                   Series(Bi("超期案件", "cases"), tuple(len(cases[u]) for u in units))))
    listing = Table("overdue", Bi("超期清单（督办）", "Overdue list"),
                    (Column("unit", Bi("科室", "unit"), "text"),
                     Column("reference", Bi("编号", "reference"), "text"),
                     Column("milestone", Bi("事项", "deadline"), "text"),
                     Column("due", Bi("期限", "due"), "datetime"),
                     Column("days_overdue", Bi("超期天数", "days overdue"))),
                    tuple(rows),
                    (Bi(f"截至 {at} 仍在办且已过期限的事项；不含投诉人身份信息。",
                        f"Open cases with a deadline past due at {at}; no complainant identity "
                        "is shown."),), chart)
    return summary, listing


# -- the three rates ---------------------------------------------------------------------------


def _rates(ctx: _Ctx) -> tuple[Table, ...]:
    counter = RateCounter(ctx.data.settings.rates, ctx.dues, ctx.as_of)
    per_unit: dict[str, list[CaseFact]] = defaultdict(list)
    for x in ctx.facts:
        per_unit[ctx.unit(x).id].append(x)
    columns = [Column("unit", Bi("科室", "unit"), "text")]
    for key in ("response", "resolution", "satisfaction"):
        name = NAMES[key]
        columns += [
            Column(f"{key}_n", Bi(f"{name.zh}分子", f"{name.en} rate: numerator")),
            Column(f"{key}_d", Bi(f"{name.zh}分母", f"{name.en} rate: denominator")),
            Column(key, Bi(f"{name.zh}（本月）", f"{name.en} rate (this month)"), "pct"),
            Column(f"{key}_prev", Bi(f"{name.zh}（上月）", f"{name.en} rate (previous)"), "pct")]
    columns += [Column("weighted", Bi("综合得分（本月）", "weighted score (this month)"), "pct"),
                Column("weighted_prev", Bi("综合得分（上月）", "weighted score (previous)"),
                       "pct")]

    def row(name: str, facts: list[CaseFact]) -> tuple[Value, ...]:
        *_, before, now = counter.by_month(facts, ctx.slot, len(ctx.months))
        out: list[Value] = [name]
        for key in ("response", "resolution", "satisfaction"):
            out += [now[key].n, now[key].d, now[key].share, before[key].share]
        return (*out, counter.weighted(now), counter.weighted(before))

    rows = []
    for uid, facts in _unit_order(ctx, per_unit):
        r = row(_unit_name(ctx, uid), facts)
        if any(r[i] for i in (2, 6, 10)) or any(v is not None for v in (r[4], r[8], r[12])):
            rows.append(r)
    rows.append(row(ALL, ctx.facts))
    chart = Chart("rates_chart", Bi("各科室三率（本月）", "The three rates per unit, this month"),
                  "bar", tuple(str(r[0]) for r in rows),
                  tuple(Series(NAMES[k], _nums([r[i] for r in rows]))
                        for k, i in (("response", 3), ("resolution", 7), ("satisfaction", 11))),
                  "pct")
    table = Table("rates", Bi("三率（响应率、解决率、满意率）", "The three rates"), tuple(columns),
                  tuple(rows), counter.notes(ctx.data.policy_spec), chart)
    trend = counter.by_month(ctx.facts, ctx.slot, len(ctx.months))
    rate_rows = [(f"{NAMES[k].zh} {NAMES[k].en} rate", [t[k].share for t in trend])
                 for k in ("response", "resolution", "satisfaction")]
    trend_table = breakdown("rates_trend", Bi("三率趋势（全部科室）", "The three rates, 12 months"),
                            Bi("指标", "rate"), ctx.months, rate_rows, kind="pct")
    return table, trend_table


# -- outcomes, actions -------------------------------------------------------------------------


def _outcomes(ctx: _Ctx) -> Table:
    counts: dict[str, list[int]] = defaultdict(ctx.zeros)
    for x in ctx.facts:
        i = ctx.slot(x.finished_at)
        if i is not None:
            key = "(merged)" if x.merged_into is not None else x.outcome or "(none)"
            counts[key][i] += 1
    rows = [(lab(k), counts[k.value]) for k in OutcomeKind]
    rows.append((str(MERGED), counts["(merged)"]))
    rows.append((str(NO_OUTCOME), counts["(none)"]))
    chart = Chart("outcomes_chart", Bi("本月办理结果", "Outcomes, this month"), "bar",
                  tuple(name for name, _ in rows),
                  (Series(CURRENT, tuple(v[-1] for _, v in rows)),))
    return breakdown("outcomes", Bi("办理结果（本月办结）", "Outcomes of cases finished"),
                     Bi("结果", "outcome"), ctx.months, rows, chart=chart)


def _actions(ctx: _Ctx) -> tuple[Table, ...]:
    open_end, due, overdue, finished, verified = (ctx.zeros() for _ in range(5))
    by_type: dict[str, list[int]] = defaultdict(ctx.zeros)
    for x in ctx.facts:
        for a in x.actions:
            i = ctx.slot(a.planned_at)
            if i is not None:
                by_type[a.type][i] += 1
            if a.effective and (i := ctx.slot(a.verified_at)) is not None:
                verified[i] += 1
            if a.cancelled:
                continue
            for k in ctx.span(a.planned_at, a.finished_at):
                open_end[k] += 1
            due_end = datetime.combine(a.due, time.max, tzinfo=ctx.tz)
            for k in ctx.span(max(a.planned_at, due_end), a.finished_at):
                overdue[k] += 1
            if (i := ctx.slot(datetime.combine(a.due, time(0), tzinfo=ctx.tz))) is not None:
                due[i] += 1
            if (i := ctx.slot(a.finished_at)) is not None:
                finished[i] += 1
    rows = [(Bi("月末未完成", "open at month end"), open_end),
            (Bi("本月到期", "due in the month"), due),
            (Bi("月末已超期", "overdue at month end"), overdue),
            (Bi("本月完成", "finished in the month"), finished),
            (Bi("本月验证有效", "verified effective in the month"), verified)]
    table = breakdown("actions", Bi("整改措施", "Rectification actions"), Bi("项目", "item"),
                      ctx.months, [(str(name), v) for name, v in rows])
    types = breakdown(
        "actions_by_type", Bi("本月新定整改措施（按类型）", "Actions planned, by type"),
        Bi("类型", "type"), ctx.months,
        [(lab(t), by_type.get(t.value, ctx.zeros())) for t in ActionType])
    return table, types


# -- follow-up ---------------------------------------------------------------------------------


def _score_label(s: int) -> str:
    return f"{s} 分 score {s}"


def _follow_up(ctx: _Ctx) -> Section:
    made_v, scored_v, unreachable, waived = (ctx.zeros() for _ in range(4))
    scores = {s: ctx.zeros() for s in range(1, 6)}
    for x in ctx.facts:
        if x.follow_up_waived and (i := ctx.slot(x.finished_at)) is not None:
            waived[i] += 1
        f = x.follow_up
        if f is None or (i := ctx.slot(f.at)) is None:
            continue
        made_v[i] += 1
        if f.unreachable:
            unreachable[i] += 1
        elif f.satisfaction is not None:
            scored_v[i] += 1
            if f.satisfaction in scores:
                scores[f.satisfaction][i] += 1
    calls = breakdown("follow_up", Bi("回访（本系统记录）", "Follow-up calls recorded on cases"),
                      Bi("项目", "item"), ctx.months,
                      [("回访次数 follow-ups made", made_v),
                       ("有评分 answered with a score", scored_v),
                       ("无法联系 unreachable", unreachable),
                       ("免于回访（本月办结） waived (cases finished)", waived)])
    rate = breakdown("follow_up_rate", Bi("回访应答率", "Follow-up response rate"),
                     Bi("指标", "measure"), ctx.months,
                     [("应答率 response rate",
                       [s / m if m else None
                        for s, m in zip(scored_v, made_v, strict=True)])], kind="pct")
    dist = [(_score_label(s), scores[s]) for s in range(1, 6)]
    chart = Chart("satisfaction_chart", Bi("满意度分布（本月）", "Satisfaction, this month"), "bar",
                  tuple(str(s) for s in range(1, 6)),
                  (Series(CURRENT, _nums([v[-1] for _, v in dist])),
                   Series(PREVIOUS, _nums([v[-2] for _, v in dist]))))
    satisfaction = breakdown("satisfaction", Bi("满意度分布（1–5 分）", "Satisfaction (1-5)"),
                             Bi("评分", "score"), ctx.months, dist, chart=chart)
    tables = [calls, rate, satisfaction]
    notes: list[Bi] = []
    sources = list(ctx.data.follow_up_sources())
    if not sources:
        notes.append(Bi("患者满意度调查：无数据（未安装调查数据源）。",
                        "Patient surveys: no data (no survey source is installed)."))
    start, end = ctx.months[0].start(ctx.tz), ctx.months[-1].end(ctx.tz)
    _, within = ctx.data.scope(ctx.request.department)
    for source in sources:
        results = [r for r in source.results(start, end) if r.at <= ctx.as_of
                   and (ctx.request.department is None or within(r.department))]
        tables.append(_survey_table(ctx, source.id, source.title, results))
    return Section("follow_up", Bi("回访与满意度", "Follow-up and satisfaction"), tuple(tables),
                   tuple(notes))


def _answered_with(score: int) -> Callable[[FollowUpResult], bool]:
    return lambda r: r.answered and r.satisfaction == score


def _survey_table(ctx: _Ctx, source_id: str, title: Bi,
                  results: list[FollowUpResult]) -> Table:
    def count(test: Callable[[FollowUpResult], bool]) -> list[int]:
        out = ctx.zeros()
        for r in results:
            if test(r) and (i := ctx.slot(r.at)) is not None:
                out[i] += 1
        return out

    rows: list[tuple[str, Sequence[Value]]] = [
        ("邀请 invited", count(lambda r: True)), ("应答 answered", count(lambda r: r.answered))]
    rows += [(_score_label(s), count(_answered_with(s))) for s in range(1, 6)]
    notes = () if results else (Bi("本期无数据。", "No data for this period."),)
    return breakdown(f"survey_{source_id}", title, Bi("项目", "item"), ctx.months, rows,
                     notes=notes)


# -- root causes -------------------------------------------------------------------------------


def _root_causes(ctx: _Ctx) -> Table:
    counts: dict[str, list[int]] = defaultdict(ctx.zeros)
    taken: dict[str, Counter[str]] = defaultdict(Counter)
    cur = len(ctx.months) - 1
    for x in ctx.facts:
        i = ctx.slot(x.finished_at)
        if i is None:
            continue
        for cause in x.root_causes:
            counts[cause][i] += 1
            if i == cur:
                for a in x.actions:
                    if not a.cancelled:
                        taken[cause][a.type] += 1
    top = sorted((c for c in counts if counts[c][-1] > 0),
                 key=lambda c: (-counts[c][-1], -sum(counts[c]), c))
    top = top[:ctx.data.settings.top_root_causes]

    def actions(cause: str) -> str:
        parts = [f"{lab(ActionType(t))} ×{n}" for t, n in taken[cause].most_common()]
        return "；".join(parts) or "—"

    return breakdown(
        "root_causes", Bi("主要原因及整改", "Top root causes and what was done"),
        Bi("原因", "root cause"), ctx.months, [(c, counts[c]) for c in top],
        extra=(Column("actions", Bi("本月整改措施", "actions taken this month"), "text"),),
        extra_values=[(actions(c),) for c in top],
        notes=(Bi("按本月办结案件的调查结论统计（每件每个原因计一次）。",
                  "Counted from the findings of cases finished in each month (each cause once "
                  "per case)."),))

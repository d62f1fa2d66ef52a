"""The imaging section of the monthly report: complaints per 1,000 exams, waiting and report
bands with relative risk, waits against the benchmark, late reports, people who left
unexamined, equipment faults and on-site response, scan durations, year on year.

:class:`ImagingFigures` is what ``App.reports.imaging`` reads from the exam tables
(``reports/readers.py``); :func:`imaging_section` draws it. Without exams the section says so.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from .config import ReportSettings
from .data import breakdown
from .model import Bi, Chart, Column, ReferenceLine, Section, Series, Table, Value
from .period import Month

TITLE = Bi("影像检查指标", "Imaging")
ALL = "全部 all"
RR_NOTE = Bi("相对风险以最短分段为 1。", "Relative risk against the shortest band (= 1).")


@dataclass(frozen=True, slots=True)
class Band:
    band: str
    exams: int
    complaints: int
    relative_risk: float | None


@dataclass(frozen=True, slots=True)
class Fault:
    fault_id: str
    device: str
    modality: str | None
    reported_at: datetime
    urgent: bool
    response_min: float | None
    target_min: float
    complaints: int


@dataclass(frozen=True, slots=True)
class StaffDuration:
    modality: str
    staff: str
    exams: int
    median_min: float


@dataclass(frozen=True, slots=True)
class ImagingFigures:
    """Exam figures per month of ``months`` (the last is the report's). Pairs are
    ``(exams, linked complaints)``; ``reports`` ``(reports, late)``; ``onsite``
    ``(urgent met, urgent, ordinary met, ordinary)``; ``left`` per waiting band
    ``(band, arrived, left)``; ``left_trend`` ``(arrived, left)``."""

    months: tuple[str, ...]
    totals: tuple[tuple[int, int], ...]
    by_modality: Mapping[str, tuple[tuple[int, int], ...]]
    by_device: Mapping[str, tuple[tuple[int, int], ...]]
    year_ago: tuple[int, int]
    wait_target_min: float
    report_target_min: float
    onsite_urgent_min: float
    onsite_min: float
    wait_bands: tuple[Band, ...]
    report_bands: tuple[Band, ...]
    faults: tuple[Fault, ...]
    wait_avg: tuple[float | None, ...]
    peak_wait: tuple[float | None, ...]
    peak_hour: tuple[int | None, ...]
    reports: tuple[tuple[int, int], ...]
    onsite: tuple[tuple[int, int, int, int], ...]
    left: tuple[tuple[str, int, int], ...]
    left_trend: tuple[tuple[int, int], ...]
    scan: tuple[StaffDuration, ...]
    staff_named: bool = False


def per_1000(complaints: int, exams: int) -> float | None:
    return None if exams == 0 else round(complaints / exams * 1000, 3)


def _share(n: int, d: int) -> float | None:
    return n / d if d else None


def _num(v: float | int) -> Value:
    return int(v) if float(v).is_integer() else float(v)


def _per_1000_table(table_id: str, title: Bi, key: Bi, months: Sequence[Month],
                    series: Mapping[str, tuple[tuple[int, int], ...]],
                    first: tuple[str, tuple[tuple[int, int], ...]] | None,
                    chart_id: str | None) -> Table:
    items = ([first] if first else []) + sorted(series.items())
    rows = [(name, [per_1000(c, e) for e, c in pairs]) for name, pairs in items]
    chart = None
    if chart_id:
        chart = Chart(chart_id, Bi("每千例检查投诉数", "Complaints per 1,000 exams"), "line",
                      tuple(str(m) for m in months),
                      tuple(Series(Bi(name, name), tuple(v)) for name, v in rows), "rate")
    return breakdown(table_id, title, key, months, rows, kind="float",
                     extra=(Column("exams", Bi("本月检查数", "exams this month")),
                            Column("complaints", Bi("本月关联投诉", "complaints this month"))),
                     extra_values=[(pairs[-1][0], pairs[-1][1]) for _, pairs in items],
                     chart=chart)


def _bands(table_id: str, title: Bi, bands: Sequence[Band]) -> Table:
    return Table(table_id, title,
                 (Column("band", Bi("分段", "band"), "text"),
                  Column("exams", Bi("检查数", "exams")),
                  Column("complaints", Bi("投诉数", "complaints")),
                  Column("per_1000", Bi("每千例", "per 1,000"), "float"),
                  Column("relative_risk", Bi("相对风险", "relative risk"), "float")),
                 tuple((b.band, b.exams, b.complaints, per_1000(b.complaints, b.exams),
                        b.relative_risk) for b in bands), (RR_NOTE,))


def imaging_section(figures: ImagingFigures | None, months: Sequence[Month],
                    settings: ReportSettings) -> Section:
    if figures is None:
        return Section("imaging", TITLE, notes=(Bi(
            "无检查数据：未导入检查记录（RIS/HL7/DICOM 或 exams import），影像指标不可用。",
            "No exam data: no exams have been imported (RIS, HL7, DICOM or exams import), so "
            "the imaging figures are not available."),), available=False)
    f = figures
    cats = tuple(str(m) for m in months)
    tables: list[Table] = [
        _per_1000_table("per_1000_modality",
                        Bi("每千例检查投诉数（按检查类型）",
                           "Complaints per 1,000 exams, by modality"),
                        Bi("检查类型", "modality"), months, f.by_modality, (ALL, f.totals),
                        "per_1000_chart"),
        _per_1000_table("per_1000_device", Bi("每千例检查投诉数（按设备）",
                                              "Complaints per 1,000 exams, by device"),
                        Bi("设备", "device"), months, f.by_device, None, None),
        _bands("wait_bands", Bi("候检等待分段与投诉相对风险", "Waiting bands and relative risk"),
               f.wait_bands),
        _bands("report_bands", Bi("报告时长分段与投诉相对风险",
                                  "Report turnaround bands and relative risk"), f.report_bands),
    ]
    peak = f.peak_hour[-1]
    wait_target = _num(f.wait_target_min)
    peak_text = (f"本月高峰时段为 {peak:02d}:00（检查量最多的小时）", f"this month's peak hour is "
                 f"{peak:02d}:00 (the hour with the most exams)") if peak is not None else (
        "本月无高峰时段数据", "this month has no peak hour")
    wait_rows: list[tuple[str, Sequence[Value]]] = [
        ("平均候检时间（分钟） average wait (min)", list(f.wait_avg)),
        ("高峰时段平均候检（分钟） peak-hour wait (min)", list(f.peak_wait))]
    tables.append(breakdown(
        "wait", Bi("候检时间（签到→开始检查）", "Waiting time (arrived → started)"),
        Bi("指标", "measure"), months, wait_rows, kind="float",
        notes=(Bi(f"基准 {wait_target} 分钟（HC_TARGET_WAIT_MIN）；{peak_text[0]}。",
                  f"Benchmark {wait_target} min (HC_TARGET_WAIT_MIN); {peak_text[1]}."),),
        chart=Chart("wait_chart", Bi("候检时间", "Waiting time"), "line", cats,
                    (Series(Bi("平均", "average"), f.wait_avg),
                     Series(Bi("高峰时段", "peak hour"), f.peak_wait)), "min",
                    (ReferenceLine(Bi(f"基准 {wait_target} 分钟", f"benchmark {wait_target} min"),
                                   f.wait_target_min),))))
    report_target = _num(f.report_target_min)
    tables.append(breakdown(
        "reports_late", Bi("报告超时比例", "Reports released late"), Bi("指标", "measure"), months,
        [("超时比例 share late", [_share(late, n) for n, late in f.reports])], kind="pct",
        notes=(Bi(f"报告时长（检查完成→正式报告）超过 {report_target} 分钟为超时"
                  "（HC_TARGET_REPORT_MIN）。",
                  f"A report is late when completion → final report exceeds {report_target} "
                  "min (HC_TARGET_REPORT_MIN)."),)))
    tables.append(Table(
        "left_unexamined", Bi("签到后未检查离开（按候检分段）",
                              "Arrived but left unexamined, by waiting band"),
        (Column("band", Bi("候检分段", "waiting band"), "text"),
         Column("arrived", Bi("签到人数", "arrived")),
         Column("left", Bi("未检查离开", "left unexamined")),
         Column("share", Bi("比例", "share"), "pct")),
        tuple((band, arrived, left, _share(left, arrived)) for band, arrived, left in f.left),
        (Bi("离开者按签到至取消/爽约记录的时长分段；无该时间者计入“未知”。",
            "People who left are banded by the time from arrival to the cancellation or no-show "
            "record; without one they count as 'unknown'."),)))
    tables.append(breakdown(
        "left_trend", Bi("未检查离开比例", "Left unexamined, share"), Bi("指标", "measure"), months,
        [("比例 share", [_share(left, arrived) if i >= len(months) - 2 else None
                       for i, (arrived, left) in enumerate(f.left_trend)])], kind="pct",
        notes=(Bi("此项需逐行读取检查记录，只统计本月和上月。",
                  "This needs the exam rows themselves, so only this month and the previous one "
                  "are counted."),)))
    urgent, ordinary = _num(f.onsite_urgent_min), _num(f.onsite_min)
    tables.append(Table(
        "faults", Bi("设备故障及到场响应", "Equipment faults and on-site response"),
        (Column("fault", Bi("故障单", "fault"), "text"),
         Column("device", Bi("设备", "device"), "text"),
         Column("modality", Bi("类型", "modality"), "text"),
         Column("reported", Bi("报修时间", "reported"), "datetime"),
         Column("urgent", Bi("紧急", "urgent"), "text"),
         Column("response_min", Bi("到场（分钟）", "on site (min)"), "float"),
         Column("target_min", Bi("目标（分钟）", "target (min)"), "float"),
         Column("met", Bi("是否达标", "met"), "text"),
         Column("complaints", Bi("期间投诉", "complaints"))),
        tuple((x.fault_id, x.device, x.modality, x.reported_at, "是 yes" if x.urgent else "否 no",
               x.response_min, _num(x.target_min),
               None if x.response_min is None else
               ("达标 met" if x.response_min <= x.target_min else "未达标 missed"), x.complaints)
              for x in f.faults),
        (Bi(f"紧急设备 {urgent} 分钟、一般设备 {ordinary} 分钟内到场。",
            f"Engineer on site within {urgent} min for urgent faults, {ordinary} min "
            "otherwise."),)))
    tables.append(breakdown(
        "onsite", Bi("故障到场达标率", "On-site response met"), Bi("类别", "kind"), months,
        [(f"紧急（{urgent} 分钟） urgent ({urgent} min)",
          [_share(a, b) for a, b, _, _ in f.onsite]),
         (f"一般（{ordinary} 分钟） ordinary ({ordinary} min)",
          [_share(c, d) for _, _, c, d in f.onsite])], kind="pct"))
    spread: dict[str, list[float]] = defaultdict(list)
    for s in f.scan:
        spread[s.modality].append(s.median_min)
    scan_notes = [] if f.staff_named else [Bi(
        "技师以字母代称；配置的角色（staff_name_roles）可查看姓名。",
        "Staff are shown as letters; the configured roles (staff_name_roles) see names.")]
    scan_notes.append(Bi("按值班表（设备、时段）确定执行技师；每人至少 5 例。",
                         "The technologist is taken from the duty roster (device and shift); at "
                         "least 5 exams per person."))
    tables.append(Table(
        "scan_duration", Bi("同类检查扫描时长（按技师）", "Scan duration per staff member"),
        (Column("modality", Bi("检查类型", "modality"), "text"),
         Column("staff", Bi("技师", "staff"), "text"),
         Column("exams", Bi("检查数", "exams")),
         Column("median_min", Bi("中位时长（分钟）", "median (min)"), "float"),
         Column("spread_min", Bi("同类最大差（分钟）", "spread in modality (min)"), "float")),
        tuple((s.modality, s.staff, s.exams, s.median_min,
               round(max(spread[s.modality]) - min(spread[s.modality]), 1)) for s in f.scan),
        tuple(scan_notes)))
    now = per_1000(f.totals[-1][1], f.totals[-1][0])
    before = per_1000(f.year_ago[1], f.year_ago[0])
    yoy = None if now is None or not before else round(now / before - 1, 4)
    peer = settings.peer_yoy_change_pct
    peer_note = (("未设置", "which is not set") if peer is None
                 else (f"{peer:g}%", f"set to {peer:g} %"))
    tables.append(Table(
        "yoy", Bi("投诉率同比", "Complaint rate year on year"),
        (Column("measure", Bi("项目", "measure"), "text"),
         Column("value", Bi("数值", "value"), "float")),
        (("本月每千例投诉 per 1,000 exams this month", now),
         ("去年同月每千例投诉 per 1,000 exams a year before", before),
         ("同比变化 change year on year", yoy),
         ("同行同比变化（参考） peers' change (reference)", None if peer is None else peer / 100)),
        (Bi("同比变化与同行参考以比例表示（0.12 = +12%）；同行数据来自设置 "
            f"HC_REPORT_PEER_YOY_PCT，{peer_note[0]}。",
            f"Changes are shares (0.12 = +12 %); the peers' figure comes from "
            f"HC_REPORT_PEER_YOY_PCT, {peer_note[1]}."),)))
    return Section("imaging", TITLE, tuple(tables), (Bi(
        "急诊检查 5 分钟内开始：无数据（检查数据源尚未提供检查优先级）。",
        "Emergency exams started within 5 minutes: no data (exam sources do not record the "
        "exam's priority yet)."),))

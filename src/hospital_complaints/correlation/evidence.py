"""The evidence pack for one complaint: the exam's timeline, its delays against the day's and
the device's distribution and the targets, faults during the visit, staff on duty, and a short
finding in Chinese and English. Nothing is recorded until a person accepts the pack
(:func:`evidence_commands`; ``app.imaging.accept_evidence`` records them)."""

from __future__ import annotations

from datetime import datetime

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from ..domain.commands import AddEvidence
from ..domain.complaint import Complaint, ExamLink
from ..domain.imaging import EquipmentFault
from ..domain.taxonomy import EvidenceType, label
from ..errors import NotFound
from .records import METRIC_LABELS, METRICS, ExamRecord, local_parts
from .repository import ImagingRecords, Rank
from .targets import Targets


class _View(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TimelineView(_View):
    event: str
    label_zh: str
    label_en: str
    at: datetime


class MetricView(_View):
    metric: str
    label_zh: str
    label_en: str
    minutes: float | None
    target: float
    over_target: bool
    day_percentile: float | None
    day_n: int
    device_percentile: float | None
    device_n: int


class FaultView(_View):
    """A fault during the visit. ``station`` and ``same_station`` are read under their old
    names ``device`` and ``same_device`` too (packs saved before the rename)."""

    fault_id: str
    station: str = Field(validation_alias=AliasChoices("station", "device"))
    same_station: bool = Field(validation_alias=AliasChoices("same_station", "same_device"))
    reported_at: datetime
    responder_on_site_at: datetime | None
    restored_at: datetime | None
    urgent: bool
    cause: str | None
    action: str | None
    acceptance: str | None
    response_min: float | None
    response_target_min: float
    response_met: bool | None

    @property
    def device(self) -> str:
        """The old name of :attr:`station` (deprecated)."""
        return self.station

    @property
    def same_device(self) -> bool:
        """The old name of :attr:`same_station` (deprecated)."""
        return self.same_station


class ShiftView(_View):
    staff: str
    role: str
    start: datetime
    end: datetime
    station: str | None = Field(validation_alias=AliasChoices("station", "device"))

    @property
    def device(self) -> str | None:
        """The old name of :attr:`station` (deprecated)."""
        return self.station


class EvidencePack(_View):
    complaint_ref: str
    accession_number: str
    study_instance_uid: str | None
    modality: str | None
    station: str | None
    room: str | None
    timeline: list[TimelineView]
    flags: list[str]
    metrics: list[MetricView]
    faults: list[FaultView]
    staff: list[ShiftView]
    finding_zh: str
    finding_en: str


def resolve_exam(repo: ImagingRecords, complaint: Complaint,
                 accession: str | None = None) -> ExamRecord:
    """The exam a complaint is linked to (or ``accession``); NotFound with what to do."""
    if accession is not None:
        links = [ExamLink(accession_number=accession)]
    else:
        links = list(complaint.exam_links)
    if not links:
        raise NotFound(
            f"complaint {complaint.reference} is not linked to an exam; link one "
            "(command link_exam) or list candidates with `hospital-complaints exams suggest "
            f"{complaint.reference}`",
            f"投诉 {complaint.reference} 未关联检查；请先关联检查号，"
            "或用 exams suggest 查看候选检查")
    for link in links:
        exam = (repo.exam(link.accession_number) if link.accession_number else None) or (
            repo.exam_by_study(link.study_instance_uid) if link.study_instance_uid else None)
        if exam is not None:
            return exam
    shown = ", ".join(link.accession_number or link.study_instance_uid or "?" for link in links)
    raise NotFound(
        f"no imaging record for exam {shown} (complaint {complaint.reference}); import the RIS "
        "export with `hospital-complaints exams import FILE`",
        f"影像记录中没有检查 {shown}（投诉 {complaint.reference}）；请先导入 RIS 检查记录")


def ordinal(n: float) -> str:
    i = round(n)
    suffix = "th" if 10 <= i % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(i % 10, "th")
    return f"{i}{suffix}"


def _hm(t: datetime | None, tz: object) -> str:
    return "?" if t is None else f"{t.astimezone(tz):%H:%M}"  # type: ignore[arg-type]


def build_evidence(repo: ImagingRecords, complaint: Complaint, targets: Targets | None = None,
                   accession: str | None = None) -> EvidencePack:
    """Assemble the evidence pack; raises NotFound for an unlinked or unknown exam."""
    targets = targets or Targets()
    exam = resolve_exam(repo, complaint, accession)
    tz = repo.tz
    anchor = exam.anchor
    day = local_parts(anchor, tz)[0] if anchor else None
    values = {m: v for m in METRICS if (v := exam.minutes(m)) is not None}
    day_ranks: dict[str, Rank] = {}
    dev_ranks: dict[str, Rank] = {}
    if values and day is not None:
        day_ranks = repo.ranks(values, day_from=day, day_to=day, modality=exam.modality)
        month = day[:7]  # the device's distribution: its exams of that calendar month
        dev_ranks = repo.ranks(values, day_from=f"{month}-01", day_to=f"{month}-31",
                               station=exam.station)
    metrics = []
    for metric in METRICS:
        value = values.get(metric)
        day_rank, dev_rank = day_ranks.get(metric), dev_ranks.get(metric)
        zh, en = METRIC_LABELS[metric]
        metrics.append(MetricView(
            metric=metric, label_zh=zh, label_en=en, minutes=value,
            target=targets.target(metric), over_target=value is not None
            and value > targets.target(metric),
            day_percentile=day_rank.percentile if day_rank else None,
            day_n=day_rank.n if day_rank else 0,
            device_percentile=dev_rank.percentile if dev_rank else None,
            device_n=dev_rank.n if dev_rank else 0))
    faults: list[FaultView] = []
    staff: list[ShiftView] = []
    window = exam.window
    if window is not None:
        for f in repo.faults_between(*window):
            same = f.device == exam.station
            if same or (f.modality is not None and f.modality == exam.modality):
                faults.append(fault_view(f, same, targets))
        for s in repo.shifts_between(*window):
            if s.device is None or s.device == exam.station:
                staff.append(ShiftView(staff=s.staff, role=s.role, start=s.start, end=s.end,
                                       station=s.device))
    timeline = [TimelineView(event=e.event.value, label_zh=label(e.event).zh,
                             label_en=label(e.event).en, at=e.at.astimezone(tz))
                for e in repo.timeline(exam.accession_number)]
    zh, en = finding_text(exam, metrics, faults, tz)
    return EvidencePack(
        complaint_ref=complaint.reference, accession_number=exam.accession_number,
        study_instance_uid=exam.study_instance_uid, modality=exam.modality, station=exam.station,
        room=exam.room, timeline=timeline, flags=list(exam.flags), metrics=metrics,
        faults=faults, staff=staff, finding_zh=zh, finding_en=en)


def fault_view(f: EquipmentFault, same_station: bool, targets: Targets) -> FaultView:
    target = targets.onsite_urgent_min if f.urgent else targets.onsite_min
    response = None if f.responder_on_site_at is None else round(
        (f.responder_on_site_at - f.reported_at).total_seconds() / 60, 1)
    return FaultView(
        fault_id=f.fault_id, station=f.device, same_station=same_station,
        reported_at=f.reported_at, responder_on_site_at=f.responder_on_site_at,
        restored_at=f.restored_at, urgent=f.urgent, cause=f.cause, action=f.action,
        acceptance=f.acceptance, response_min=response, response_target_min=target,
        response_met=None if response is None else response <= target)


_VERB = {"wait": ("等待", "waited"), "slip": ("较预约时间推迟", "started late by"),
         "report": ("报告用时", "report took")}


def finding_text(exam: ExamRecord, metrics: list[MetricView], faults: list[FaultView],
                 tz: object) -> tuple[str, str]:
    """A short plain-language finding, e.g. 'waited 72 min (95th percentile that day)'."""
    zh: list[str] = []
    en: list[str] = []
    for m in metrics:
        if m.minutes is None or not (m.over_target or m.metric == "wait"):
            continue
        if m.metric == "slip" and not m.over_target:
            continue
        mins = f"{m.minutes:.0f}"
        pct_en = f"{ordinal(m.day_percentile)} percentile that day, " if m.day_percentile \
            is not None else ""
        pct_zh = f"当日第 {m.day_percentile:.0f} 百分位，" if m.day_percentile is not None else ""
        vz, ve = _VERB[m.metric]
        en.append(f"{ve} {mins} min ({pct_en}target {m.target:.0f})")
        zh.append(f"{vz} {mins} 分钟（{pct_zh}目标 {m.target:.0f} 分钟）")
    for f in faults:
        span = f"{_hm(f.reported_at, tz)}–{_hm(f.restored_at, tz)}"
        en.append(f"{f.station} was down {span} (fault {f.fault_id})")
        zh.append(f"{f.station} 于 {span} 故障停机（故障单 {f.fault_id}）")
    if exam.flags:
        en.append("exam record incomplete or out of order: " + ", ".join(exam.flags))
        zh.append("检查记录不完整或时间顺序异常：" + "，".join(exam.flags))
    if not en:
        return ("未发现超出目标的延误，检查期间无设备故障",
                "no delay over target and no equipment fault during the visit")
    return "；".join(zh), "; ".join(en)


def _at(t: datetime | None) -> str:
    return "-" if t is None else f"{t:%m-%d %H:%M}"


def evidence_commands(reference: str, pack: EvidencePack) -> list[AddEvidence]:
    """The evidence items a clerk records when accepting ``pack``: the exam record, each
    fault, the roster (``app.imaging.accept_evidence`` records them in one transaction)."""
    if pack.complaint_ref != reference:
        raise NotFound(f"this evidence pack is for {pack.complaint_ref}, not {reference}",
                       f"该证据包属于 {pack.complaint_ref}，不是 {reference}")
    times = ", ".join(f"{t.label_en} {t.at:%m-%d %H:%M}" for t in pack.timeline)
    metrics = "; ".join(f"{m.metric} {m.minutes:.0f} min" + (
        f" (day P{m.day_percentile:.0f}, device P{m.device_percentile:.0f})"
        if m.day_percentile is not None and m.device_percentile is not None else "")
        for m in pack.metrics if m.minutes is not None)
    commands = [AddEvidence(
        type=EvidenceType.EXAM_RECORD, reference=f"accession:{pack.accession_number}",
        description=f"{pack.modality or ''} {pack.station or ''} {pack.accession_number}: "
                    f"{times}. {metrics}. {pack.finding_en} / {pack.finding_zh}".strip())]
    for f in pack.faults:
        commands.append(AddEvidence(
            type=EvidenceType.EQUIPMENT_LOG, reference=f"fault:{f.fault_id}",
            description=f"{f.station} fault {f.fault_id}: reported {f.reported_at:%m-%d %H:%M}, "
                        f"on site {_at(f.responder_on_site_at)}, restored {_at(f.restored_at)}; "
                        f"cause: {f.cause or '-'}; action: {f.action or '-'}; "
                        f"acceptance: {f.acceptance or '-'}"))
    if pack.staff:
        commands.append(AddEvidence(
            type=EvidenceType.DUTY_ROSTER, reference=f"roster:{pack.accession_number}",
            description="on duty: " + "; ".join(
                f"{s.staff} ({s.role}{', ' + s.station if s.station else ''}) "
                f"{s.start:%H:%M}-{s.end:%H:%M}" for s in pack.staff)))
    return commands

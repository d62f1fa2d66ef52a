"""Regional work-order profiles (12345 / 12320) as data, their deadlines, the supervision
tiers (催办 / 督办 / 通报), and the three rates (响应率 / 解决率 / 满意率).

A profile is a JSON file (``workorder_profiles/*.json``; a site adds its own in
``HC_WORKORDER_PROFILES_DIR``)::

    {"id": "shandong-12345-2020", "title": {"zh": ..., "en": ...}, "platforms": ["12345"],
     "source": "...the document and the sentence with the number...",
     "finish": {"default": "5wd", "consultation": "3wd", "class:1": "1d"},
     "sign_within": "1wd", "return_within": "2wd", "extension_max": "10wd",
     "extension_consent": false, "callback_within": "1wd", "redo_within": "5wd",
     "tiers": [{"tier": "reminder", "offset": "-1wd"}, {"tier": "supervision", "offset": "0d"},
               {"tier": "naming", "offset": "+6wd"}],
     "calendar": "CN", "zone": "Asia/Shanghai"}

Spans are ``<n>wd`` (working days of the calendar), ``<n>d`` (calendar days, moved to the next
working day if the last one is a rest day) or ``<n>h``. Periods count from the day after the
dispatch (Civil Code Art. 201). A tier's offset is counted from the deadline's last day: ``0d``
is the deadline itself; ``-1wd`` fires at the start of the working day before the last day;
``+1d`` at the start of the day after it (到期次日); ``+6wd`` at the start of the sixth working
day after it, i.e. after five full working days overdue.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from ..clock import zone
from ..domain.case import Case
from ..domain.taxonomy import (
    CallbackSatisfaction,
    Milestone,
    PlatformRequest,
    SupervisionTier,
)
from ..domain.workorders import WorkOrder, is_work_order, work_order_of
from ..errors import ConfigError
from .calendars import Calendars, WorkCalendar
from .engine import END_OF_DAY, last_day
from .policy import DeadlineRule, Unit

_SPAN = re.compile(r"^([+-]?)(\d{1,4})(wd|d|h)$")


@dataclass(frozen=True)
class Span:
    """A signed length: working days, calendar days or hours."""

    amount: int
    unit: Unit

    @classmethod
    def parse(cls, text: str, where: str) -> Span:
        m = _SPAN.match(text.strip())
        if m is None:
            raise ConfigError(f"{where}: {text!r} is not a span like 5wd, 30d, 24h, -1wd, +6wd",
                              f"{where}：{text!r} 不是有效的时长（如 5wd、30d、24h、-1wd、+6wd）")
        sign = -1 if m.group(1) == "-" else 1
        unit = {"wd": Unit.WORKING_DAYS, "d": Unit.DAYS, "h": Unit.HOURS}[m.group(3)]
        return cls(sign * int(m.group(2)), unit)

    def describe(self, lang: str = "en") -> str:
        n = abs(self.amount)
        if lang == "zh":
            return f"{n}{ {'working_days': '个工作日', 'days': '日', 'hours': '小时'}[self.unit]}"
        word = {"working_days": "working day", "days": "day", "hours": "hour"}[self.unit]
        return f"{n} {word}{'' if n == 1 else 's'}"


@dataclass(frozen=True)
class Tier:
    tier: SupervisionTier
    offset: Span
    note: str = ""


@dataclass(frozen=True)
class WorkOrderProfile:
    id: str
    title_zh: str
    title_en: str
    source: str
    finish: Mapping[str, Span]
    platforms: tuple[str, ...] = ()
    sign_within: Span | None = None
    return_within: Span | None = None
    forward_within: Span | None = None
    extension_max: Span | None = None
    extension_consent: bool = False
    callback_within: Span | None = None
    redo_within: Span | None = None
    tiers: tuple[Tier, ...] = ()
    calendar: str = "CN"
    zone: str = "Asia/Shanghai"

    def finish_span(self, wo: WorkOrder) -> tuple[str, Span]:
        """The time limit of this work order: its class's, its request type's, or the
        default."""
        for key in (f"class:{wo.time_limit_class}" if wo.time_limit_class else None,
                    wo.request_type.value, "default"):
            if key is not None and key in self.finish:
                return key, self.finish[key]
        key = next(iter(self.finish))
        return key, self.finish[key]


def _profile(data: Any, where: str) -> WorkOrderProfile:
    if not isinstance(data, dict):
        raise ConfigError(f"work-order profile {where} must hold an object",
                          f"工单时限配置 {where} 须为对象")
    allowed = {"id", "title", "platforms", "source", "finish", "sign_within", "return_within",
               "forward_within", "extension_max", "extension_consent", "callback_within",
               "redo_within", "tiers", "calendar", "zone"}
    unknown = sorted(set(data) - allowed)
    missing = sorted({"id", "title", "source", "finish"} - set(data))
    if unknown or missing:
        raise ConfigError(
            f"work-order profile {where}: unknown keys {unknown}, missing {missing}; allowed: "
            f"{', '.join(sorted(allowed))}",
            f"工单时限配置 {where}：未知字段 {unknown}，缺少 {missing}")
    pid = str(data["id"])
    if not re.match(r"^[a-z0-9][a-z0-9.-]{0,60}$", pid):
        raise ConfigError(f"work-order profile {where}: id {pid!r} must be lower-case letters, "
                          "digits, '-' or '.'", f"工单时限配置 {where}：标识 {pid!r} 无效")
    title = data["title"]
    if not isinstance(title, dict) or not title.get("zh") or not title.get("en"):
        raise ConfigError(f"work-order profile {where}: title needs zh and en",
                          f"工单时限配置 {where}：标题须有中文和英文")
    finish = data["finish"]
    if not isinstance(finish, dict) or not finish:
        raise ConfigError(f"work-order profile {where}: finish must map request types to spans",
                          f"工单时限配置 {where}：finish 须为诉求类型到时限的映射")

    def span(key: str) -> Span | None:
        value = data.get(key)
        return None if value is None else Span.parse(str(value), f"{where}: {key}")

    tiers = []
    for i, t in enumerate(data.get("tiers") or []):
        try:
            tier = SupervisionTier(t["tier"])
        except (KeyError, ValueError, TypeError):
            raise ConfigError(
                f"{where}: tiers[{i}].tier must be one of: "
                f"{', '.join(x.value for x in SupervisionTier)}",
                f"{where}：tiers[{i}].tier 须为 reminder、supervision 或 naming") from None
        tiers.append(Tier(tier, Span.parse(str(t.get("offset", "0d")), f"{where}: tiers[{i}]"),
                          str(t.get("note", ""))))
    zone(str(data.get("zone", "Asia/Shanghai")))
    return WorkOrderProfile(
        id=pid, title_zh=str(title["zh"]), title_en=str(title["en"]),
        source=str(data["source"]),
        finish={str(k): Span.parse(str(v), f"{where}: finish.{k}") for k, v in finish.items()},
        platforms=tuple(str(p) for p in data.get("platforms") or ()),
        sign_within=span("sign_within"), return_within=span("return_within"),
        forward_within=span("forward_within"), extension_max=span("extension_max"),
        extension_consent=bool(data.get("extension_consent", False)),
        callback_within=span("callback_within"), redo_within=span("redo_within"),
        tiers=tuple(tiers), calendar=str(data.get("calendar", "CN")),
        zone=str(data.get("zone", "Asia/Shanghai")))


def load_profiles(site_dir: Path | None = None) -> dict[str, WorkOrderProfile]:
    """The built-in profiles, then the site's (a file with a built-in id replaces it)."""
    found: dict[str, WorkOrderProfile] = {}
    folder = resources.files(__package__).joinpath("workorder_profiles")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            p = _profile(json.loads(entry.read_text(encoding="utf-8")), entry.name)
            found[p.id] = p
    if site_dir is not None:
        if not site_dir.is_dir():
            raise ConfigError(f"HC_WORKORDER_PROFILES_DIR: {site_dir} is not a folder",
                              f"HC_WORKORDER_PROFILES_DIR：{site_dir} 不是文件夹")
        for path in sorted(site_dir.glob("*.json")):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise ConfigError(f"work-order profile {path}: cannot read it ({exc})",
                                  f"工单时限配置 {path} 无法读取（{exc}）") from None
            p = _profile(data, str(path))
            found[p.id] = p
    return found


# -- deadlines ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkOrderDeadlines:
    """The time limits of a work order's current round."""

    profile: str
    round: int
    dispatched_at: datetime
    due: datetime
    basis: str  # "5 working days (default)", "the work order's own deadline", "redo"
    extended_by_wd: int = 0
    sign_by: datetime | None = None
    return_by: datetime | None = None
    callback_by: datetime | None = None
    tiers: tuple[tuple[SupervisionTier, datetime], ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        return {"profile": self.profile, "round": self.round,
                "dispatched_at": self.dispatched_at.isoformat(), "due": self.due.isoformat(),
                "basis": self.basis, "extended_by_working_days": self.extended_by_wd,
                "sign_by": self.sign_by.isoformat() if self.sign_by else None,
                "return_by": self.return_by.isoformat() if self.return_by else None,
                "callback_by": self.callback_by.isoformat() if self.callback_by else None,
                "tiers": {t.value: at.isoformat() for t, at in self.tiers}}


def after(span: Span, start: datetime, profile: WorkOrderProfile, cal: WorkCalendar) -> datetime:
    """The end of a period of ``span`` that starts at ``start`` (counted from the next day)."""
    tz = zone(profile.zone)
    if span.unit is Unit.HOURS:
        return (start + timedelta(hours=span.amount)).astimezone(tz)
    rule = DeadlineRule(Milestone.CLOSE, span.amount, span.unit)
    last, _moved, _years = last_day(rule, start.astimezone(tz).date(), cal, roll=True)
    return datetime.combine(last, END_OF_DAY, tzinfo=tz)


def shift_day(day: date, span: Span, cal: WorkCalendar) -> date:
    """``day`` moved by a signed number of calendar or working days."""
    step = timedelta(days=1 if span.amount >= 0 else -1)
    remaining = abs(span.amount)
    while remaining > 0:
        day += step
        if span.unit is Unit.DAYS or cal.is_working_day(day):
            remaining -= 1
    return day


def add_working_days(due: datetime, days: int, profile: WorkOrderProfile,
                     cal: WorkCalendar) -> datetime:
    tz = zone(profile.zone)
    last = shift_day(due.astimezone(tz).date(), Span(days, Unit.WORKING_DAYS), cal)
    return datetime.combine(last, END_OF_DAY, tzinfo=tz)


def work_order_deadlines(profile: WorkOrderProfile, wo: WorkOrder,
                         calendars: Calendars) -> WorkOrderDeadlines:
    cal = calendars.get(profile.calendar)
    tz = zone(profile.zone)
    start = wo.dispatched_at
    assert start is not None
    if wo.redo_count and wo.redo_due is not None:
        due, basis = wo.redo_due.astimezone(tz), "the redo's deadline (重办时限)"
    elif wo.platform_due is not None:
        due, basis = wo.platform_due.astimezone(tz), "the work order's own deadline (工单时限)"
    else:
        key, span = profile.finish_span(wo)
        due = after(span, start, profile, cal)
        basis = f"{span.describe()} ({key}) / {span.describe('zh')}"
    extra = wo.granted_extension_days()
    if extra:
        due = add_working_days(due, extra, profile, cal)
    tiers = []
    for t in profile.tiers:
        if t.offset.amount == 0:
            tiers.append((t.tier, due))
            continue
        day = shift_day(due.date(), t.offset, cal)
        tiers.append((t.tier, datetime.combine(day, time(0), tzinfo=tz)))
    callback_by = None
    if profile.callback_within is not None and wo.replied_at is not None:
        callback_by = after(profile.callback_within, wo.replied_at, profile, cal)
    return WorkOrderDeadlines(
        profile=profile.id, round=wo.redo_count, dispatched_at=start, due=due, basis=basis,
        extended_by_wd=extra,
        sign_by=after(profile.sign_within, start, profile, cal) if profile.sign_within else None,
        return_by=after(profile.return_within, start, profile, cal)
        if profile.return_within else None,
        callback_by=callback_by, tiers=tuple(tiers))


def extension_granted_total(wo: WorkOrder) -> int:
    return sum(r.granted_days or 0 for r in wo.requests
               if r.kind is PlatformRequest.EXTENSION and r.approved)


# -- the three rates ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RateDefinitions:
    """How the three rates are counted (configurable; written under every table).

    - response (响应率): work orders signed for in time ÷ work orders dispatched in the period;
      "in time" is the profile's sign limit, else ``default_sign_within``;
    - resolution (解决率): call-backs the platform judged resolved ÷ call-backs answered (a
      call-back without the platform's judgement counts the reply's resolution);
    - satisfaction (满意率): (satisfied + ``basically_weight`` × basically satisfied) ÷
      call-backs answered;
    - score: ``weights`` (response, resolution, satisfaction) if set, else none.
    """

    default_sign_within: Span = Span(1, Unit.WORKING_DAYS)
    basically_weight: float = 1.0
    weights: tuple[float, float, float] | None = None

    def text(self, lang: str = "en") -> list[str]:
        if lang == "zh":
            lines = [
                f"响应率 = 按时签收的工单数 ÷ 本期派单数（时限取所属时限配置，未规定的按"
                f"{self.default_sign_within.describe('zh')}）",
                "解决率 = 平台回访判定已解决数 ÷ 已回访数（平台未判定的，按办结答复的办理结果）",
                f"满意率 = （满意 + {self.basically_weight:g} × 基本满意）÷ 已回访数",
            ]
            if self.weights:
                a, b, c = self.weights
                lines.append(f"综合得分 = {a:g} × 响应率 + {b:g} × 解决率 + {c:g} × 满意率")
            return lines
        lines = [
            "response = work orders signed for in time ÷ work orders dispatched in the period "
            f"(the profile's sign limit, else {self.default_sign_within.describe()})",
            "resolution = call-backs the platform judged resolved ÷ call-backs answered (the "
            "reply's resolution where the platform gave no judgement)",
            f"satisfaction = (satisfied + {self.basically_weight:g} × basically satisfied) ÷ "
            "call-backs answered",
        ]
        if self.weights:
            a, b, c = self.weights
            lines.append(f"score = {a:g} × response + {b:g} × resolution + {c:g} × satisfaction")
        return lines


@dataclass
class UnitRates:
    unit: str
    dispatched: int = 0
    signed_in_time: int = 0
    called_back: int = 0
    resolved: int = 0
    satisfied: int = 0
    basically_satisfied: int = 0
    dissatisfied: int = 0
    overdue: int = 0

    def rates(self, d: RateDefinitions) -> dict[str, float | None]:
        response = self.signed_in_time / self.dispatched if self.dispatched else None
        resolution = self.resolved / self.called_back if self.called_back else None
        satisfaction = ((self.satisfied + d.basically_weight * self.basically_satisfied)
                        / self.called_back) if self.called_back else None
        score = None
        if d.weights and None not in (response, resolution, satisfaction):
            a, b, c = d.weights
            score = a * (response or 0) + b * (resolution or 0) + c * (satisfaction or 0)
        return {"response": _r(response), "resolution": _r(resolution),
                "satisfaction": _r(satisfaction), "score": _r(score)}

    def to_json(self, d: RateDefinitions) -> dict[str, Any]:
        return {"unit": self.unit, "dispatched": self.dispatched,
                "signed_in_time": self.signed_in_time, "called_back": self.called_back,
                "resolved": self.resolved, "satisfied": self.satisfied,
                "basically_satisfied": self.basically_satisfied,
                "dissatisfied": self.dissatisfied, "overdue": self.overdue, **self.rates(d)}


def _r(v: float | None) -> float | None:
    return None if v is None else round(v, 4)


def rates_by_unit(cases: Iterable[Case], profile_of: Any, calendars: Calendars,
                  start: datetime, end: datetime, definitions: RateDefinitions,
                  now: datetime) -> list[UnitRates]:
    """The three rates per unit (department) for work orders dispatched in [start, end)."""
    units: dict[str, UnitRates] = {}
    for case in cases:
        if not is_work_order(case) or case.merged_into is not None:
            continue
        received = case.complaint.received_at
        if not start <= received < end:
            continue
        wo = work_order_of(case)
        profile: WorkOrderProfile = profile_of(case)
        cal = calendars.get(profile.calendar)
        row = units.setdefault(case.complaint.department or "-", UnitRates(
            case.complaint.department or "-"))
        row.dispatched += 1
        first_sign = wo.signatures[0] if wo.signatures else None
        sign_span = profile.sign_within or definitions.default_sign_within
        sign_by = after(sign_span, received, profile, cal)
        if first_sign is not None and first_sign <= sign_by:
            row.signed_in_time += 1
        cb = wo.last_callback
        if cb is not None:
            row.called_back += 1
            resolved = cb.resolved if cb.resolved is not None else (
                wo.resolution is not None and wo.resolution.value == "resolved")
            row.resolved += int(bool(resolved))
            row.satisfied += int(cb.satisfaction is CallbackSatisfaction.SATISFIED)
            row.basically_satisfied += int(
                cb.satisfaction is CallbackSatisfaction.BASICALLY_SATISFIED)
            row.dissatisfied += int(cb.satisfaction is CallbackSatisfaction.DISSATISFIED)
        if case.is_open and wo.replied_at is None:
            due = work_order_deadlines(profile, wo, calendars).due
            row.overdue += int(now > due)
    return [units[k] for k in sorted(units)]

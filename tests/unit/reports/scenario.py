"""Random case histories for report tests, played through the real service with a moving
clock, and an independent recount of what the monthly report counts, from the events.

Loaded by path from the reports tests' conftest files (``load_scenario()``).
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hospital_complaints import HospitalComplaintsError
from hospital_complaints.domain.commands import (
    Acknowledge,
    Assign,
    Classify,
    Close,
    Command,
    Decline,
    PlanAction,
    RecordFinding,
    RecordFollowUp,
    RecordProgress,
    Refer,
    Reopen,
    Respond,
    StartInvestigation,
    VerifyAction,
    WaiveFollowUp,
    Withdraw,
)
from hospital_complaints.domain.complaint import Outcome, TeamMember

TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 8, 20, 8, 0, tzinfo=TZ)
CATEGORIES = ["service_attitude", "technical_quality", "process_management",
              "equipment_fault", "communication", "privacy"]
DEPARTMENTS = ["imaging", "超声科", "门诊部", "CT室", None]
CHANNELS = ["front_desk", "hotline", "web_form", "letter", "email", "hotline_platform"]
CAUSES = ["排班不足 short staffing", "设备故障 equipment fault", "沟通不足 poor communication",
          "<b>流程</b> & \"process\""]


def play(app: Any, clock: Any, seed: int, n: int = 25, days: int = 100) -> list[str]:
    """Register ``n`` cases received over ``days`` days from START, each with a random
    history (every command through ``app.complaints``, the clock moving with it)."""
    rng = random.Random(seed)
    svc = app.complaints
    refs = []
    received = sorted(START + timedelta(minutes=rng.randrange(days * 24 * 60)) for _ in range(n))
    for when in received:
        t = when + timedelta(minutes=rng.randrange(1, 90))
        clock.set(t)
        channel = rng.choice(CHANNELS)
        draft: dict[str, Any] = {
            "kind": rng.choice(["complaint"] * 6 + ["suggestion", "report", "consultation"]),
            "channel": channel, "received_at": when.isoformat(),
            "complainant": rng.choice([
                {"role": "patient", "name": "张三", "phone": "13812345678",
                 "consent_to_contact": True},
                {"role": "relative", "name": "李四"}, {"role": "anonymous"}]),
            "subject": "检查等待 <script>alert(1)</script>", "description": "等了很久",
            "categories": rng.sample(CATEGORIES, rng.choice([0, 1, 1, 2, 3])),
            "staff_involved": rng.choice([[], [{"name": "T07", "role": "technologist 技师"}],
                                          [{"name": "N1", "role": "nurse"}]]),
        }
        dept = rng.choice(DEPARTMENTS)
        if dept is not None:
            draft["department"] = dept
        if channel == "hotline_platform":
            draft["transferred_from"] = "12320"
        ref = svc.register(draft, actor="test:clerk").reference
        refs.append(ref)
        _history(svc, clock, rng, ref, t)
    return refs


def _history(svc: Any, clock: Any, rng: random.Random, ref: str, t: datetime) -> None:
    def step(cmd: Command, hours: float) -> bool:
        nonlocal t
        t = t + timedelta(hours=hours)
        clock.set(t)
        try:
            svc.execute(ref, cmd, actor="test:staff")
        except HospitalComplaintsError:
            return False
        return True

    roll = rng.random()
    if roll < 0.08:
        return  # never acknowledged
    if roll < 0.13:
        step(Decline(reason="不属于受理范围"), rng.uniform(1, 30))
        return
    step(Acknowledge(method="phone", message="已收到"), rng.choice([0.5, 3, 20, 30, 60]))
    if rng.random() < 0.3:
        step(Classify(categories=rng.sample(CATEGORIES, rng.randint(1, 2))), 1)
    if rng.random() < 0.2:
        step(Assign(department=rng.choice(["ultrasound", "imaging", "outpatient"])), 1)
    if rng.random() < 0.08:
        step(rng.choice([Withdraw(reason="已解决"), Refer(referred_to="卫生监督所",
                                                        reason="职能范围外")]), 24)
        if rng.random() < 0.5:
            return
        if not step(Reopen(reason="投诉人再次反映"), 72):
            return
    else:
        step(StartInvestigation(team=[TeamMember(name="赵静", role="qc")]), 3)
    step(RecordFinding(text="查明原因", root_causes=rng.sample(CAUSES, rng.randint(1, 2))),
         rng.uniform(5, 100))
    actions = rng.randint(0, 2)
    for _ in range(actions):
        step(PlanAction(type=rng.choice(["training", "process_change", "equipment"]),
                        description="整改", owner="科主任",
                        due=(t + timedelta(days=rng.randint(2, 25))).date()), 1)
    if rng.random() < 0.1:
        return  # stays in investigation
    step(Respond(method="phone", text="答复", outcome=Outcome(kind=rng.choice(
        ["upheld", "partly_upheld", "not_upheld", "resolved_by_explanation"]))),
        rng.uniform(10, 24 * 12))
    for i in range(actions):
        if rng.random() < 0.8:
            step(RecordProgress(action_id=f"A{i + 1}", status=rng.choice(["done", "cancelled"]),
                                note="完成"), rng.uniform(20, 24 * 15))
            if rng.random() < 0.5:
                step(VerifyAction(action_id=f"A{i + 1}", effective=rng.random() < 0.8,
                                  note="复核"), 24)
    r = rng.random()
    if r < 0.6:
        step(RecordFollowUp(method="phone", satisfaction=rng.randint(1, 5)), rng.uniform(5, 200))
    elif r < 0.75:
        step(RecordFollowUp(method="phone", unreachable=True), 30)
    else:
        step(WaiveFollowUp(reason="投诉人不愿回访"), 2)
    if step(Close(), rng.uniform(1, 100)) and rng.random() < 0.1 \
            and step(Reopen(reason="不满意"), 48):
        step(Respond(method="phone", text="再次答复", outcome=Outcome(kind="upheld")), 48)


# -- the independent recount ----------------------------------------------------------------


@dataclass
class Recount:
    """What the report should say, counted straight from the events."""

    new: Counter[str] = field(default_factory=Counter)
    finished: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[tuple[str, str]] = field(default_factory=Counter)
    channels: Counter[tuple[str, str]] = field(default_factory=Counter)
    categories: Counter[tuple[str, str]] = field(default_factory=Counter)
    ack_eligible: Counter[str] = field(default_factory=Counter)
    ack_met: Counter[str] = field(default_factory=Counter)
    scores: Counter[tuple[str, int]] = field(default_factory=Counter)
    unreachable: Counter[str] = field(default_factory=Counter)


def month(at: datetime) -> str:
    return at.astimezone(TZ).strftime("%Y-%m")


def recount(app: Any, refs: list[str], as_of: datetime) -> Recount:
    out = Recount()
    for ref in refs:
        events = app.complaints.history(ref)
        kept = [events[0]]
        for e in events[1:]:
            if e.at > as_of:
                break
            kept.append(e)
        c = kept[0].payload["complaint"]
        received = datetime.fromisoformat(c["received_at"])
        m = month(received)
        out.new[m] += 1
        out.channels[(m, c["channel"])] += 1
        categories = list(dict.fromkeys(c.get("categories") or []))
        ack = end = follow = None
        outcome = None
        for e in kept[1:]:
            if e.type == "classified" and e.payload.get("categories"):
                categories = list(dict.fromkeys(e.payload["categories"]))
            elif e.type == "acknowledged":
                ack = e.at
            elif e.type == "responded":
                outcome = e.payload["outcome"]["kind"]
            elif e.type in ("closed", "withdrawn", "referred", "declined"):
                end = e.at
                outcome = {"withdrawn": "withdrawn", "referred": "referred",
                           "declined": "not_accepted"}.get(e.type, outcome)
            elif e.type == "reopened":
                end = outcome = follow = None
            elif e.type == "follow_up_recorded":
                follow = (e.at, e.payload.get("satisfaction"), e.payload.get("unreachable"))
        for cat in categories or ["(none)"]:
            out.categories[(m, cat)] += 1
        if ack is not None or received + timedelta(hours=24) <= as_of:
            out.ack_eligible[m] += 1
            out.ack_met[m] += int(ack is not None and ack <= received + timedelta(hours=24))
        if end is not None:
            out.finished[month(end)] += 1
            out.outcomes[(month(end), outcome or "(none)")] += 1
        if follow is not None:
            if follow[2]:
                out.unreachable[month(follow[0])] += 1
            elif follow[1] is not None:
                out.scores[(month(follow[0]), int(follow[1]))] += 1
    return out


def day(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=TZ)

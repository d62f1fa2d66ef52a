"""Hotline work orders as a hospital's patient-relations office handles them: sign, ask for
an extension, reply, the platform's call-back, a redo, supervision tiers on the regional
profile's working-day calendar, the three rates, and merging a duplicate call."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from hospital_complaints.clock import FixedClock
from hospital_complaints.domain.taxonomy import CaseState, WorkOrderStatus
from hospital_complaints.errors import GuardFailed, InvalidInput
from hospital_complaints.settings import Settings, WorkOrderSettings
from hospital_complaints.sla.workorders import Span, load_profiles
from hospital_complaints.testing import TZ, RecordingTransport, complaint_draft, make_app, run_cli

#: Friday 20 November 2026, 09:12 (Monday 23 is a working day; no holiday that week)
DISPATCHED = datetime(2026, 11, 20, 9, 12, tzinfo=TZ)


def order(ticket: str = "12345-20261120-0042", *, platform: str = "12345",
          **extra: Any) -> dict[str, Any]:
    return {"ticket_id": ticket, "platform": platform, "accepted_at": DISPATCHED.isoformat(),
            "caller_name": "刘芳", "caller_phone": "13600001111", "consent_to_callback": True,
            "category": "complaint", "title": "CT 检查等了两个多小时",
            "content": "周五上午预约的 CT 检查，到了以后等了两个多小时才做，没有人解释。",
            **extra}


def _app(*plugins: object, tmp_path: Path | None = None, at: datetime = DISPATCHED,
         **wo: Any) -> Any:
    settings = Settings(workorders=WorkOrderSettings(**wo)) if wo else None
    return make_app(*plugins, sql=tmp_path, clock=FixedClock(at), settings=settings)


def act(app: Any, ref: str, command: str, **fields: Any) -> Any:
    return app.complaints.execute(ref, (command, fields), actor="clerk:wang")


@pytest.fixture(params=["memory", "sqlite"])
def where(request: pytest.FixtureRequest, tmp_path: Path) -> Path | None:
    return tmp_path if request.param == "sqlite" else None


def test_profiles_are_data_with_their_sources() -> None:
    profiles = load_profiles()
    assert set(profiles) >= {"beijing-12320", "shandong-12345-2020", "shiyan-12320",
                             "city-12345", "xining-2024"}
    shandong = profiles["shandong-12345-2020"]
    assert shandong.finish["default"] == Span(5, Span.parse("5wd", "x").unit)
    assert shandong.return_within == Span.parse("2wd", "x")
    assert "山东省政务服务热线管理办法" in shandong.source
    assert "UNVERIFIED" in profiles["xining-2024"].source
    city = profiles["city-12345"]
    assert city.finish["consultation"].amount == 3 and city.finish["complaint"].amount == 13


def test_a_site_profile_and_a_bad_one(tmp_path: Path) -> None:
    (tmp_path / "mine.json").write_text(json.dumps({
        "id": "our-city", "title": {"zh": "本市", "en": "our city"}, "source": "local rule",
        "finish": {"default": "7wd"}}), encoding="utf-8")
    assert "our-city" in load_profiles(tmp_path)
    (tmp_path / "bad.json").write_text(json.dumps({
        "id": "bad", "title": {"zh": "x", "en": "x"}, "source": "x",
        "finish": {"default": "5 days"}}), encoding="utf-8")
    from hospital_complaints.errors import ConfigError

    with pytest.raises(ConfigError) as bad:
        load_profiles(tmp_path)
    assert "bad.json" in bad.value.en and "5wd" in bad.value.en


def test_the_whole_lifecycle_sign_extend_reply_dissatisfied_redo_close(
        where: Path | None) -> None:
    app = _app(tmp_path=where)
    ref = app.complaints.intake("hotline_platform", order(), actor="hotline").reference
    dl = app.workorders.deadlines(ref)
    assert dl.profile == "shandong-12345-2020"
    # 5 working days counted from the day after Friday 20 Nov: Mon 23 .. Fri 27
    assert dl.due == datetime(2026, 11, 27, 23, 59, 59, 999999, tzinfo=TZ)
    assert dl.return_by == datetime(2026, 11, 24, 23, 59, 59, 999999, tzinfo=TZ)

    app.clock.advance(timedelta(hours=2))
    act(app, ref, "sign_work_order")
    case = app.complaints.get(ref)
    assert case.state is CaseState.ACKNOWLEDGED
    assert case.work_order.status is WorkOrderStatus.SIGNED

    act(app, ref, "request_extension", days=3, reason="需调取设备维修记录")
    with pytest.raises(GuardFailed, match="record its decision first"):
        act(app, ref, "reply_work_order", method="phone", text="x", resolution="resolved",
            outcome={"kind": "resolved_by_explanation", "reason": "x"})
    act(app, ref, "record_platform_decision", kind="extension", approved=True)
    assert app.workorders.deadlines(ref).due == datetime(2026, 12, 2, 23, 59, 59, 999999, tzinfo=TZ)

    act(app, ref, "reply_work_order", method="phone", text="已核实，设备故障导致延误，已致歉",
        resolution="resolved", outcome={"kind": "resolved_by_explanation",
                                        "reason": "设备故障"})
    assert app.complaints.get(ref).state is CaseState.RESPONDED
    act(app, ref, "record_callback", satisfaction="dissatisfied", resolved=False,
        note="认为解释不够")
    act(app, ref, "redo_work_order", reason="回访不满意，重办")
    case = app.complaints.get(ref)
    assert case.state is CaseState.INVESTIGATING
    assert case.work_order.redo_count == 1 and case.work_order.status is WorkOrderStatus.REDO
    assert app.workorders.deadlines(ref).round == 1

    act(app, ref, "sign_work_order")
    act(app, ref, "reply_work_order", method="in_person", text="科主任当面说明并调整排班",
        resolution="resolved", outcome={"kind": "resolved_by_explanation", "reason": "排班"})
    act(app, ref, "record_callback", satisfaction="satisfied", resolved=True)
    act(app, ref, "close")
    case = app.complaints.get(ref)
    assert case.state is CaseState.CLOSED
    assert case.follow_up is not None and case.follow_up.satisfaction == 5
    types = [e.type for e in case.events]
    assert types.count("work_order_signed") == 2 and "work_order_redone" in types


def test_limits_are_enforced_with_clear_zh_and_en_errors(where: Path | None) -> None:
    app = _app(tmp_path=where)
    ref = app.complaints.intake("hotline_platform", order(), actor="hotline").reference
    app.clock.set(datetime(2026, 11, 25, 9, 0, tzinfo=TZ))  # past the 2-working-day limit
    with pytest.raises(GuardFailed) as late:
        act(app, ref, "return_work_order", reason_code="not_our_remit", reason="非本院职责")
    assert "return limit" in late.value.en and "退回时限" in late.value.zh
    act(app, ref, "sign_work_order")
    with pytest.raises(GuardFailed) as too_much:
        act(app, ref, "request_extension", days=11, reason="x")
    assert "at most 10 working days" in too_much.value.en
    app.clock.set(datetime(2026, 11, 28, 9, 0, tzinfo=TZ))  # after the deadline
    with pytest.raises(GuardFailed) as expired:
        act(app, ref, "request_extension", days=2, reason="x")
    assert "before the deadline" in expired.value.en and "前申请" in expired.value.zh
    with pytest.raises(InvalidInput) as code:
        act(app, ref, "return_work_order", reason_code="bored", reason="x")
    assert "not_our_remit" in code.value.en


def test_beijing_12320_extends_only_with_consent(where: Path | None) -> None:
    app = _app(tmp_path=where)
    ref = app.complaints.intake("hotline_platform", order(platform="12320"),
                                actor="hotline").reference
    act(app, ref, "sign_work_order")
    with pytest.raises(GuardFailed, match="consent"):
        act(app, ref, "request_extension", days=10, reason="需会诊")
    act(app, ref, "request_extension", days=10, reason="需会诊", consent=True)


def test_a_work_order_returned_or_rerouted_ends_local_handling(where: Path | None) -> None:
    app = _app(tmp_path=where)
    ref = app.complaints.intake("hotline_platform", order(), actor="hotline").reference
    act(app, ref, "return_work_order", reason_code="not_our_remit", reason="属医保局职责")
    assert app.complaints.get(ref).state is CaseState.REFERRED
    other = app.complaints.intake("hotline_platform", order("12345-20261120-0043"),
                                  actor="hotline").reference
    act(app, other, "request_reroute", target="市第二医院", reason="检查在二院完成")
    act(app, other, "record_platform_decision", kind="reroute", approved=True)
    case = app.complaints.get(other)
    assert case.state is CaseState.REFERRED and case.outcome.referred_to == "市第二医院"
    third = app.complaints.intake("hotline_platform", order("12345-20261120-0044"),
                                  actor="hotline").reference
    act(app, third, "dispute_dispatch", reason="诉求涉及医保报销")
    act(app, third, "record_platform_decision", kind="dispute", approved=False,
        note="维持派单")
    assert app.complaints.get(third).state is CaseState.REGISTERED
    # the report's fold of the stored rows (no decryption) sees the same endings
    from hospital_complaints.reports.build.facts import fact_from_case, fold_events

    for r in (ref, other, third):
        case = app.complaints.get(r)
        folded = fold_events(r, case.events, app.clock.now())
        assert folded == fact_from_case(case, app.clock.now()), r
    assert fold_events(ref, app.complaints.get(ref).events, app.clock.now()).outcome == \
        "referred"


def test_work_order_commands_refuse_an_ordinary_complaint(where: Path | None) -> None:
    app = _app(tmp_path=where)
    ref = app.complaints.register(complaint_draft(), actor="clerk").reference
    with pytest.raises(GuardFailed) as bad:
        act(app, ref, "sign_work_order")
    assert "hotline platform" in bad.value.en and "工单" in bad.value.zh


def test_supervision_tiers_are_recorded_once_each(where: Path | None) -> None:
    hook = RecordingTransport("hook", event_types=frozenset({"supervision_recorded"}))
    app = _app(hook, tmp_path=where, platform_profiles={"12345": "city-12345"})
    ref = app.complaints.intake("hotline_platform", order(), actor="hotline").reference
    dl = app.workorders.deadlines(ref)
    # 13 working days from the day after 20 Nov: 23 Nov .. 9 Dec
    assert dl.due.date().isoformat() == "2026-12-09"
    tiers = dict(dl.tiers)
    assert tiers[next(t for t in tiers if t.value == "reminder")].date().isoformat() == \
        "2026-12-10"
    assert tiers[next(t for t in tiers if t.value == "naming")].date().isoformat() == \
        "2026-12-17"
    app.clock.set(datetime(2026, 12, 10, 8, 0, tzinfo=TZ))
    assert app.workorders.supervise() == 1  # 催办 the day after expiry
    assert app.workorders.supervise() == 0  # once
    app.clock.set(datetime(2026, 12, 17, 8, 0, tzinfo=TZ))
    assert app.workorders.supervise() == 1  # 通报 after five full working days
    app.worker(jobs={"deliver"}).run(once=True)
    assert [d.data["payload"]["tier"] for d in hook.deliveries] == ["reminder", "naming"]
    assert app.complaints.get(ref).work_order.supervision == {("reminder", 0), ("naming", 0)}


def test_the_three_rates_per_unit(where: Path | None) -> None:
    app = _app(tmp_path=where, weights=(0.1, 0.5, 0.4))
    refs = [app.complaints.intake("hotline_platform", order(f"T{i}"), actor="hotline").reference
            for i in range(3)]
    for ref in refs:
        app.complaints.execute(ref, ("assign", {"department": "放射科"}), actor="clerk")
    act(app, refs[0], "sign_work_order")  # in time
    app.clock.set(DISPATCHED + timedelta(days=4))  # Tuesday: more than 1 working day later
    act(app, refs[1], "sign_work_order")  # late
    for ref, sat in ((refs[0], "satisfied"), (refs[1], "basically_satisfied")):
        act(app, ref, "reply_work_order", method="phone", text="已处理", resolution="resolved",
            outcome={"kind": "resolved_by_explanation", "reason": "x"})
        act(app, ref, "record_callback", satisfaction=sat, resolved=sat == "satisfied")
    [row] = app.workorders.rates(DISPATCHED.date(), DISPATCHED.date() + timedelta(days=6))
    r = row.to_json(app.workorders.definitions)
    assert (r["dispatched"], r["signed_in_time"], r["called_back"]) == (3, 1, 2)
    assert r["response"] == round(1 / 3, 4) and r["resolution"] == 0.5
    assert r["satisfaction"] == 1.0
    assert r["score"] == round(0.1 / 3 + 0.5 * 0.5 + 0.4 * 1.0, 4)
    text = " ".join(app.workorders.definitions.text("zh"))
    assert "响应率" in text and "综合得分" in text


def test_a_duplicate_call_is_suggested_merged_replied_to_both_tickets_and_split(
        where: Path | None) -> None:
    app = _app(tmp_path=where)
    first = app.complaints.intake("hotline_platform", order(
        "12345-A", accession_number="CT20261120-0042"), actor="hotline").reference
    app.clock.advance(timedelta(hours=3))
    again = app.complaints.intake("hotline_platform", {**order(
        "12345-B", accession_number="CT20261120-0042"), "title": "CT 等待太久没人管",
        "content": "上午 CT 检查等了两个多小时，工作人员也不解释。"}, actor="hotline").reference
    unrelated = app.complaints.register(complaint_draft(
        subject="停车场收费", description="医院停车场收费太贵",
        complainant={"role": "relative", "name": "王五", "phone": "13900000000"},
        patient=None),
        actor="clerk").reference
    found = app.workorders.duplicates(first)
    assert [d.reference for d in found] == [again]
    reasons = " ".join(en for _zh, en in found[0].reasons)
    assert "same complainant" in reasons and "CT20261120-0042" in reasons
    assert "13600001111" not in json.dumps(found[0].to_json(), ensure_ascii=False)
    assert unrelated not in [d.reference for d in found]

    app.workorders.merge(first, again, reason="同一诉求重复来电", actor="clerk:wang")
    merged = app.complaints.get(again)
    assert merged.state is CaseState.MERGED and merged.merged_into == first
    assert len(merged.events) >= 2  # its history is kept
    act(app, first, "sign_work_order")
    reply = act(app, first, "reply_work_order", method="phone", text="已致歉并改进",
                resolution="resolved", outcome={"kind": "resolved_by_explanation",
                                                "reason": "x"})
    assert reply.payload["tickets"] == ["12345-A", "12345-B"]
    assert app.workorders.duplicates(first) == []  # a merged case is no longer suggested

    app.workorders.split(again, reason="并错了", actor="clerk:wang")
    back = app.complaints.get(again)
    assert back.state is CaseState.REGISTERED and back.merged_into is None
    assert app.complaints.get(first).work_order.tickets == ["12345-A"]


def test_merge_and_split_are_service_only(where: Path | None) -> None:
    app = _app(tmp_path=where)
    ref = app.complaints.intake("hotline_platform", order(), actor="hotline").reference
    with pytest.raises(InvalidInput) as refused:
        act(app, ref, "merge_into", survivor="HC-X", reason="x")
    assert "'merge_into'" in refused.value.en and "不可提交" in refused.value.zh
    from hospital_complaints.domain.workorder_commands import MergeInto

    with pytest.raises(InvalidInput, match=r"workorders\.merge"):
        app.complaints.execute(ref, MergeInto(survivor="HC-X", reason="x"), actor="clerk")


def test_decline_with_a_not_accepted_reason_code(where: Path | None) -> None:
    app = _app(tmp_path=where)
    ref = app.complaints.register(complaint_draft(), actor="clerk").reference
    act(app, ref, "decline", reason="已进入诉讼程序", reason_code="litigation_or_petition")
    case = app.complaints.get(ref)
    assert case.state is CaseState.CLOSED and case.not_accepted.value == "litigation_or_petition"
    assert case.events[-1].schema_version == 2


def test_workorder_commands(tmp_path: Path) -> None:
    app = _app(tmp_path=tmp_path)
    ref = app.complaints.intake("hotline_platform", order(), actor="hotline").reference
    shown = run_cli(app, "workorder", "show", ref)
    assert shown.exit_code == 0, shown.output
    assert "shandong-12345-2020" in shown.stdout and "2026-11-27" in shown.stdout
    signed = run_cli(app, "act", ref, "sign_work_order")
    assert signed.exit_code == 0, signed.output
    profiles = run_cli(app, "workorder", "profiles")
    assert "city-12345" in profiles.stdout
    rates = run_cli(app, "sla", "metrics", "--work-orders", "--from", "2026-11-16",
                    "--to", "2026-11-22")
    assert rates.exit_code == 0, rates.output
    assert "响应率" in rates.stdout and "response" in rates.stdout

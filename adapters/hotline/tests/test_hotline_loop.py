"""The whole loop against the stand-in platform on loopback: the platform dispatches, the
worker's poller registers, the clerk signs and replies, the worker pushes, the platform calls
back and asks for a redo, the poller records it. Also: merged orders answered on every
ticket, retries with the same request id, refusals as dead letters, unusable records kept."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from hospital_complaints.plugin_api import taxonomy
from hospital_complaints.testing import TZ, run_cli

from hc_hotline.store import store_for

JOB = "hotline:qingchuan-12345"
T1, T2 = "QC2026112000001", "QC2026112000002"


def pull_once(app: Any) -> str:
    report = app.worker(jobs={JOB}).run(once=True)
    assert not report.errors, report.errors
    return str(report.jobs[JOB][-1])


def deliver(app: Any) -> Any:
    return app.notifications.dispatch("test-worker")


def ref_of(app: Any, ticket: str) -> str:
    row = store_for(app).ticket("qingchuan-12345", ticket)
    assert row is not None, ticket
    return str(row.reference)


def act(app: Any, ref: str, name: str, **fields: Any) -> Any:
    return app.complaints.execute(ref, (name, fields), actor="clerk:wang")


REPLY = {"method": "phone", "text": "已核实：当日 CT 设备故障维修导致延误，已当面致歉并调整排班。",
         "resolution": "resolved",
         "outcome": {"kind": "resolved_by_explanation", "reason": "设备故障"}}


def test_dispatch_pull_sign_push_reply_callback_redo(platform: Any, hotline_app: Any) -> None:
    app = hotline_app()
    platform.dispatch(T1, "2026-11-20 08:30:00")

    line = pull_once(app)
    assert "1 new" in line and "新工单 1" in line
    ref = ref_of(app, T1)
    case = app.complaints.get(ref)
    c = case.complaint
    assert (c.channel.value, c.external_id, c.transferred_from) == ("hotline_platform", T1,
                                                                    "12345")
    assert c.complainant.phone == "13600001111" and c.kind.value == "complaint"
    assert [x.accession_number for x in c.exam_links] == ["CT20261120001"]
    assert case.events[0].actor == "platform:qingchuan-12345"

    # the clerk signs; the worker pushes the signature, with the event id as request id
    app.clock.advance(timedelta(minutes=20))
    signed = act(app, ref, "sign_work_order")
    assert deliver(app).total("delivered") == 1
    [push] = platform.pushed("sign")
    assert push["ticket"] == T1 and push["requestId"] == signed.event_id
    assert push["data"] == {"orderNo": T1, "signTime": "2026-11-20 09:20:00"}

    act(app, ref, "reply_work_order", **REPLY)
    assert deliver(app).total("delivered") == 1
    [reply] = platform.pushed("reply")
    assert reply["data"]["replyContent"].startswith("已核实")
    assert (reply["data"]["replyWay"], reply["data"]["handleResult"],
            reply["data"]["handler"]) == ("TEL", "1", "患者服务中心")

    # the platform calls the caller back: dissatisfied; then orders a redo
    app.clock.advance(timedelta(days=1))
    platform.result(T1, "60", "2026-11-21 10:00:00", satisfaction="3", solved="0",
                    remark="认为解释不够")
    assert "1 results applied" in pull_once(app)
    wo = app.complaints.get(ref).work_order
    assert wo.status is taxonomy.WorkOrderStatus.CALLED_BACK
    assert wo.last_callback.satisfaction is taxonomy.CallbackSatisfaction.DISSATISFIED
    assert wo.last_callback.resolved is False

    platform.result(T1, "70", "2026-11-21 11:00:00", deadline="2026-11-30 18:00:00",
                    remark="回访不满意，重办")
    assert "1 results applied" in pull_once(app)
    case = app.complaints.get(ref)
    assert case.work_order.status is taxonomy.WorkOrderStatus.REDO
    assert case.work_order.redo_due == datetime(2026, 11, 30, 18, 0, tzinfo=TZ)
    assert case.events[-1].actor == "platform:qingchuan-12345"

    # nothing happens twice: the order is known, the results were applied
    again = pull_once(app)
    assert "0 new" in again and "0 results applied" in again
    assert [e.type for e in app.complaints.get(ref).events].count("callback_recorded") == 1


def test_extension_request_pushed_and_the_platforms_decision_pulled(
        platform: Any, hotline_app: Any) -> None:
    app = hotline_app()
    platform.dispatch(T1, "2026-11-20 08:30:00")
    pull_once(app)
    ref = ref_of(app, T1)
    act(app, ref, "sign_work_order")
    before = app.workorders.deadlines(ref).due
    act(app, ref, "request_extension", days=3, reason="需调取设备维修记录")
    deliver(app)
    [ext] = platform.pushed("extension")
    assert ext["data"]["days"] == 3 and ext["data"]["callerAgreed"] is False

    platform.result(T1, "40", "2026-11-20 15:00:00", auditResult="1", grantDays="2",
                    remark="同意延期2个工作日")
    assert "1 results applied" in pull_once(app)
    wo = app.complaints.get(ref).work_order
    assert wo.status is taxonomy.WorkOrderStatus.SIGNED
    assert wo.requests[-1].approved is True and wo.requests[-1].granted_days == 2
    assert app.workorders.deadlines(ref).due > before


def test_return_sends_the_platforms_reason_code(platform: Any, hotline_app: Any) -> None:
    app = hotline_app()
    platform.dispatch(T1, "2026-11-20 08:30:00")
    pull_once(app)
    act(app, ref_of(app, T1), "return_work_order", reason_code="wrong_unit",
        reason="应由区卫健委处理")
    deliver(app)
    [ret] = platform.pushed("return")
    assert ret["data"]["reasonCode"] == "R02" and ret["data"]["reasonDesc"] == "应由区卫健委处理"


def test_a_merged_cases_reply_reaches_both_tickets_even_after_a_partial_failure(
        platform: Any, hotline_app: Any) -> None:
    app = hotline_app()
    platform.dispatch(T1, "2026-11-20 08:30:00")
    platform.dispatch(T2, "2026-11-20 08:40:00", content="又打电话：CT 等了两个小时，要求答复。")
    assert "2 new" in pull_once(app)
    a, b = ref_of(app, T1), ref_of(app, T2)
    app.workorders.merge(a, b, reason="同一诉求重复来电", actor="clerk:wang")
    act(app, a, "sign_work_order")
    deliver(app)
    platform.fail_tickets[T2] = 1  # the second ticket's reply fails once (HTTP 503)
    replied = act(app, a, "reply_work_order", **REPLY)
    assert replied.payload["tickets"] == [T1, T2]

    first = deliver(app)
    assert first.total("retry") == 1
    assert [p["ticket"] for p in platform.pushed("reply")] == [T1]
    app.clock.advance(timedelta(hours=1))
    second = deliver(app)
    assert second.total("delivered") == 1
    replies = platform.pushed("reply")
    assert [p["ticket"] for p in replies] == [T1, T2]  # T1's repeat was dropped (code 1009)
    assert [p["requestId"] for p in replies] == [replied.event_id, f"{replied.event_id}:{T2}"]

    # a call-back on the merged ticket is recorded on the surviving case
    platform.result(T2, "60", "2026-11-20 16:00:00", satisfaction="1", solved="1")
    assert "1 results applied" in pull_once(app)
    assert app.complaints.get(a).work_order.last_callback.satisfaction \
        is taxonomy.CallbackSatisfaction.SATISFIED


def test_a_refusal_is_a_dead_letter_naming_the_platforms_answer(
        platform: Any, hotline_app: Any) -> None:
    app = hotline_app()
    platform.dispatch(T1, "2026-11-20 08:30:00")
    pull_once(app)
    platform.refuse_tickets.add(T1)
    act(app, ref_of(app, T1), "sign_work_order")
    assert deliver(app).total("dead") == 1
    [dead] = app.notifications.failed(notifier=JOB)
    text = str(dead.last_error)
    assert "2001" in text and "状态不允许" in text and "sign of ticket" in text


def test_unusable_records_are_kept_encrypted_and_reported_never_a_traceback(
        platform: Any, hotline_app: Any, tmp_path: Any) -> None:
    app = hotline_app()
    platform.dispatch("QC-BAD-TIME", "2026-13-45 99:00:00")
    platform.dispatch("QC-BAD-TYPE", "2026-11-20 08:31:00", appealType="99")
    platform.dispatch(T1, "2026-11-20 08:32:00")
    platform.result("QC-UNKNOWN", "60", "2026-11-20 08:50:00", satisfaction="1")
    line = pull_once(app)
    assert "1 new" in line and "3 kept as unusable" in line
    assert "appealType (category)" in line and "13600001111" not in line
    assert "Traceback" not in line

    result = run_cli(app, "hotline", "rejects")
    assert result.exit_code == 0, result.output
    assert "appealType (category)" in result.output and "codes.category" in result.output
    assert "acceptTime (accepted_at): got '2026-13-45 99:00:00'" in result.output
    assert "不在 codes.category 中" in result.output
    assert "QC-UNKNOWN" in result.output and "本院没有平台 12345 的工单" in result.output
    assert "13600001111" not in result.output and "刘芳" not in result.output

    with sa.create_engine(f"sqlite:///{tmp_path / 'test.db'}").connect() as conn:
        raw = " ".join(r[0] for r in conn.execute(sa.text("select raw from hc_hotline_rejects")))
    assert "13600001111" not in raw and "QC-BAD" not in raw  # encrypted
    rows = store_for(app).rejects()
    assert store_for(app).reject_raw(rows[0].id)["caller"]["phone"] == "13600001111"

    # the result arrived before its order: once the order is registered, a retry applies it
    platform.dispatch("QC-UNKNOWN", "2026-11-20 08:33:00")
    pull_once(app)
    act(app, ref_of(app, "QC-UNKNOWN"), "sign_work_order")
    act(app, ref_of(app, "QC-UNKNOWN"), "reply_work_order", **REPLY)
    unknown = next(r for r in rows if r.ticket == "QC-UNKNOWN")
    retried = run_cli(app, "hotline", "rejects", "--retry", str(unknown.id))
    assert retried.exit_code == 0 and "applied" in retried.output, retried.output
    assert app.complaints.get(ref_of(app, "QC-UNKNOWN")).work_order.last_callback is not None
    done = run_cli(app, "hotline", "rejects", "--resolve", str(rows[0].id))
    assert done.exit_code == 0
    assert len(store_for(app).rejects()) == 1


def test_pull_failures_are_one_line_and_move_no_watermark(platform: Any,
                                                          hotline_app: Any) -> None:
    app = hotline_app(secret="wrong-secret")
    platform.dispatch(T1, "2026-11-20 08:30:00")
    line = pull_once(app)
    assert "pull stopped" in line and "HTTP 401" in line and "拉取中断" in line
    assert app.locks.watermark("hotline:qingchuan-12345:orders") is None

    ok = hotline_app()
    platform.fail_next = 1
    line = pull_once(ok)
    assert "HTTP 500; will retry" in line
    assert "1 new" in pull_once(ok)


def test_pages_and_the_watermark(platform: Any, hotline_app: Any) -> None:
    app = hotline_app()
    start = datetime(2026, 11, 19, 8, 0)
    for i in range(120):
        at = (start + timedelta(minutes=i)).strftime("%Y-%m-%d %H:%M:%S")
        platform.dispatch(f"QC-P{i:04d}", at)
    line = pull_once(app)
    assert "120 new" in line
    assert app.locks.watermark("hotline:qingchuan-12345:orders") == "2026-11-19 09:59:00"
    pages = [p for m, p in platform.requests if p.endswith("/workorders")]
    assert len(pages) == 3  # 50 + 50 + 20

    platform.dispatch("QC-LATE", "2026-11-20 08:00:00")
    line = pull_once(app)
    assert "1 new" in line and "1 already registered" in line  # the boundary is re-read


def test_cli_pull_and_connectors(platform: Any, hotline_app: Any) -> None:
    app = hotline_app()
    platform.dispatch(T1, "2026-11-20 08:30:00")
    result = run_cli(app, "hotline", "pull", "--once")
    assert result.exit_code == 0, result.output
    assert "hotline:qingchuan-12345: 1 new" in result.output
    listed = run_cli(app, "hotline", "connectors")
    assert "qingchuan-12345" in listed.output and "orders 2026-11-20 08:30:00" in listed.output
    bad = run_cli(app, "hotline", "pull", "--once", "--connector", "nowhere")
    assert bad.exit_code == 1 and "nowhere" in bad.output and "qingchuan-12345" in bad.output


def test_signing_with_the_orders_own_deadline(platform: Any, hotline_app: Any) -> None:
    app = hotline_app()
    platform.dispatch(T1, "2026-11-20 08:30:00")
    pull_once(app)
    ref = ref_of(app, T1)
    result = run_cli(app, "hotline", "sign", ref, "--actor", "clerk:wang")
    assert result.exit_code == 0, result.output
    wo = app.complaints.get(ref).work_order
    assert wo.platform_due == datetime(2026, 11, 27, 18, 0, tzinfo=TZ)
    assert wo.time_limit_class == "2"
    assert app.workorders.deadlines(ref).due == datetime(2026, 11, 27, 18, 0, tzinfo=TZ)


def test_an_in_memory_application_works_the_same(platform: Any, hotline_app: Any) -> None:
    app = hotline_app(memory=True)
    platform.dispatch(T1, "2026-11-20 08:30:00")
    platform.dispatch("QC-BAD", "yesterday")
    assert "1 new" in pull_once(app) and "1 kept" in pull_once(app)
    act(app, ref_of(app, T1), "sign_work_order")
    assert deliver(app).total("delivered") == 1
    assert [p["ticket"] for p in platform.pushed("sign")] == [T1]
    assert store_for(app).reject_raw(store_for(app).rejects()[0].id)["acceptTime"] == "yesterday"


def test_a_wrong_push_path_is_refused_for_good(platform: Any, hotline_app: Any,
                                               kit: Any) -> None:
    data = kit.mapping_data(platform.base_url)
    data["push"]["dispute"]["path"] = "/objections/{ticket}"
    app = hotline_app(data=data)
    platform.dispatch(T1, "2026-11-20 08:30:00")
    pull_once(app)
    act(app, ref_of(app, T1), "dispute_dispatch", reason="该诉求属区卫健委职责")
    assert deliver(app).total("dead") == 1
    [dead] = app.notifications.failed(notifier=JOB)
    assert "HTTP 404" in str(dead.last_error) and "dispute of ticket" in str(dead.last_error)


def test_kept_records_follow_key_rotation(platform: Any, hotline_app: Any) -> None:
    from hospital_complaints.plugin_api import KeyRing

    from hc_hotline.store import RejectKeys

    app = hotline_app()
    platform.dispatch("QC-BAD", "yesterday")
    pull_once(app)
    old = app.store.key_ring
    app.store.key_ring = KeyRing((bytes(range(32)), *old.keys))
    keys = RejectKeys()
    assert keys.key_ids(app.store) == {old.current_id: 1}
    assert keys.rotate(app.store) == 1
    assert keys.key_ids(app.store) == {app.store.key_ring.current_id: 1}
    assert store_for(app).reject_raw(store_for(app).rejects()[0].id)["orderNo"] == "QC-BAD"
    assert app.audit.key_usage()[RejectKeys.description] == {app.store.key_ring.current_id: 1}


def test_an_approved_reroute_ends_local_handling_and_echoes_are_ignored(
        platform: Any, hotline_app: Any) -> None:
    app = hotline_app()
    platform.dispatch(T1, "2026-11-20 08:30:00")
    pull_once(app)
    ref = ref_of(app, T1)
    act(app, ref, "request_reroute", target="区卫健委", reason="属行政监管事项")
    deliver(app)
    [reroute] = platform.pushed("reroute")
    assert reroute["data"]["targetUnit"] == "区卫健委"
    platform.result(T1, "20", "2026-11-20 10:00:00")  # the platform echoes a signature
    platform.result(T1, "41", "2026-11-20 11:00:00", auditResult="1", remark="同意改派")
    line = pull_once(app)
    assert "1 results applied, 1 ignored" in line
    case = app.complaints.get(ref)
    assert case.state.value == "referred"
    assert case.work_order.status is taxonomy.WorkOrderStatus.RETURNED

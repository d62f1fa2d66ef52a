"""The WeCom group robot and an SMS gateway, as a local HTTP receiver playing each sees them:
the robot's message format and its errcodes; the gateway's request built from the site's
template with every value escaped, and its answer judged by the site's success condition."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

import pytest
from hospital_complaints.plugin_api import ConfigError, Recipient
from hospital_complaints.testing import complaint_draft, make_app

from hc_notify.plugins import sms as sms_plugin
from hc_notify.plugins import wecom as wecom_plugin
from hc_notify.testing import Received, Receiver
from hc_notify.wecom import clip

ROBOT_KEY = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"


def deliver(app: Any) -> Any:
    return app.worker(jobs={"deliver"}).run(once=True)


# -- WeCom ---------------------------------------------------------------------------------------


def robot(errcode: int = 0) -> Any:
    def answer(r: Received) -> tuple[int, bytes]:
        body = r.json()
        ok = r.path.endswith(f"key={ROBOT_KEY}") and body["msgtype"] in body
        code = errcode if ok else 93000
        return 200, json.dumps({"errcode": code, "errmsg": "ok" if code == 0 else
                                f"invalid webhook url, hint: [{ROBOT_KEY[:6]}]"}).encode()
    return answer


def wecom_app(receiver: Receiver, **settings: Any) -> Any:
    url = f"http://127.0.0.1:{receiver.port}/cgi-bin/webhook/send?key={ROBOT_KEY}"
    return make_app(wecom_plugin, plugin_settings={"notify_wecom": {"url": url, **settings}})


def test_wecom_gets_a_markdown_message_with_outside_text_neutralised(
        receiver: Receiver) -> None:
    receiver.answer = robot()
    app = wecom_app(receiver)
    ref = app.complaints.register(complaint_draft(
        subject='CT 等太久 <font color="warning">紧急</font> [点我](http://evil.example) **x**'),
        actor="clerk").reference
    assert deliver(app).delivered == 2
    first = receiver.received[0].json()
    assert first["msgtype"] == "markdown"
    content = first["markdown"]["content"]
    assert content.startswith("**新投诉已登记**") and f"投诉编号：{ref}" in content
    assert "Complaint registered" in content                     # zh then en
    assert '<font color="warning">紧急' not in content and "&lt;font" in content
    assert "[点我](http" not in content and "\\[点我\\]" in content
    assert "\\*\\*x\\*\\*" in content
    assert "138****5678" not in content or "13812345678" not in content
    events = app.complaints.history(ref)
    assert events[0].event_id in content                          # a repeat is recognisable
    assert receiver.received[0].headers["idempotency-key"] == events[0].event_id


def test_wecom_text_messages_mention_people(
        receiver: Receiver) -> None:
    receiver.answer = robot()
    app = wecom_app(receiver, msgtype="text", mentioned_mobiles="13800001111,@all",
                    languages="zh")
    app.complaints.register(complaint_draft(), actor="clerk")
    assert deliver(app).delivered == 2
    text = receiver.received[0].json()["text"]
    assert text["mentioned_mobile_list"] == ["13800001111", "@all"]
    assert text["content"].startswith("新投诉已登记") and "Complaint" not in text["content"]


@pytest.mark.parametrize(("errcode", "outcome"), [(45009, "retry"), (-1, "retry"),
                                                  (93000, "dead"), (40008, "dead")])
def test_wecom_errcodes_decide_retry_or_refusal(receiver: Receiver, errcode: int,
                                               outcome: str) -> None:
    receiver.answer = robot(errcode)
    app = wecom_app(receiver, event_types="complaint_registered")
    app.complaints.register(complaint_draft(), actor="clerk")
    report = deliver(app)
    assert (report.retried, report.dead) == ((1, 0) if outcome == "retry" else (0, 1))
    error = app.notifications.deliveries()[0].last_error or ""
    assert f"errcode {errcode}" in error and ROBOT_KEY not in error and "key=" not in error


def test_wecom_robot_key_is_never_shown(receiver: Receiver) -> None:
    app = wecom_app(receiver)
    description = app.notifications.status()["notifiers"]["wecom"]["description"]
    assert ROBOT_KEY not in description and "/cgi-bin/webhook/send" in description
    with pytest.raises(ConfigError) as caught:
        make_app(wecom_plugin, plugin_settings={"notify_wecom": {
            "url": f"http://qyapi.example/cgi-bin/webhook/send?key={ROBOT_KEY}"}})
    assert ROBOT_KEY not in caught.value.en and "HC_NOTIFY_WECOM_URL" in caught.value.en


def test_clip_cuts_on_a_character_boundary() -> None:
    assert clip("短信" * 10, 13).encode() == "短信短…".encode()
    assert clip("abc", 10) == "abc"


# -- SMS -----------------------------------------------------------------------------------------

TENCENT_LIKE = ('{"PhoneNumberSet": ["+86{{ phone }}"], "TemplateParamSet": ["{{ text }}"], '
                '"SessionContext": "{{ key }}"}')


def gateway(code: str = "Ok") -> Any:
    def answer(r: Received) -> tuple[int, bytes]:
        return 200, json.dumps({"Response": {"SendStatusSet": [{"Code": code}]}}).encode()
    return answer


def sms_app(receiver: Receiver, **settings: Any) -> Any:
    section = {"url": receiver.url, "to": "13800001111", "body": TENCENT_LIKE,
               "headers": json.dumps({"Authorization": "Bearer gw-t0ken"}),
               "success_field": "Response.SendStatusSet.0.Code", "success_values": "Ok",
               "refuse_values": "InvalidParameterValue.IncorrectPhoneNumber", **settings}
    return make_app(sms_plugin, plugin_settings={"notify_sms": section})


def test_an_sms_request_follows_the_sites_template_with_values_escaped(
        receiver: Receiver) -> None:
    receiver.answer = gateway()
    app = sms_app(receiver, event_types="assigned")
    ref = app.complaints.register(complaint_draft(), actor="clerk").reference
    deliver(app)
    receiver.received.clear()
    app.complaints.execute(ref, ("assign", {"department": '影像科", "x": "injected'}),
                           actor="clerk")
    report = deliver(app)
    assert report.delivered == 1, app.notifications.deliveries()
    r = receiver.received[0]
    body = r.json()                                              # still valid JSON
    assert set(body) == {"PhoneNumberSet", "TemplateParamSet", "SessionContext"}
    assert body["PhoneNumberSet"] == ["+8613800001111"]
    assert '影像科", "x": "injected' in body["TemplateParamSet"][0]
    assert r.headers["authorization"] == "Bearer gw-t0ken"
    assert r.headers["idempotency-key"] == body["SessionContext"]


def test_a_survey_invitation_sms_goes_to_the_patient(receiver: Receiver) -> None:
    receiver.answer = lambda r: (200, b"")
    app = sms_app(receiver, body="to={{ phone }}&msg={{ text }}", body_format="form",
                  success_field="", success_values="", refuse_values="",
                  event_types="survey_invitation")
    app.notifications.send_message("survey_invitation", "exam:CT1",
                                   {"link": "https://s.example/a?b=1&c=2"},
                                   recipient=Recipient(phone="13912345678", language="zh"))
    assert deliver(app).delivered == 1
    form = parse_qs(receiver.received[0].body.decode())
    assert form["to"] == ["13912345678"]
    assert "https://s.example/a?b=1&c=2" in form["msg"][0] and "满意度调查" in form["msg"][0]


@pytest.mark.parametrize(("answer", "outcome"), [
    ((200, {"Response": {"SendStatusSet": [{"Code": "Ok"}]}}), "delivered"),
    ((200, {"Response": {"SendStatusSet": [{"Code": "LimitExceeded.PhoneNumberDailyLimit"}]}}),
     "retry"),
    ((200, {"Response": {"SendStatusSet": [{"Code":
                                            "InvalidParameterValue.IncorrectPhoneNumber"}]}}),
     "dead"),
    ((200, "not json"), "retry"), ((503, {}), "retry"), ((400, {}), "dead")])
def test_the_sites_success_condition_decides(receiver: Receiver, answer: Any,
                                              outcome: str) -> None:
    status, body = answer
    raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    receiver.answer = lambda r: (status, raw)
    app = sms_app(receiver, event_types="complaint_registered")
    app.complaints.register(complaint_draft(), actor="clerk")
    report = deliver(app)
    got = {"delivered": report.delivered, "retry": report.retried, "dead": report.dead}
    assert got[outcome] == 1 and sum(got.values()) == 1
    error = app.notifications.deliveries()[0].last_error or ""
    assert "13800001111" not in error and "gw-t0ken" not in error


def test_several_phones_get_their_own_idempotency_keys(receiver: Receiver) -> None:
    receiver.answer = gateway()
    app = sms_app(receiver, to="13800001111,13800002222", event_types="complaint_registered")
    app.complaints.register(complaint_draft(), actor="clerk")
    assert deliver(app).delivered == 1
    keys = [r.headers["idempotency-key"] for r in receiver.received]
    assert len(keys) == 2 and keys[0].endswith("-1") and keys[1].endswith("-2")


@pytest.mark.parametrize(("body", "problem"), [("{{ phone", "not a valid template"),
                                               ("{{ mobile }}", "may use")])
def test_a_broken_body_template_stops_start_up(body: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        make_app(sms_plugin, plugin_settings={"notify_sms": {
            "url": "https://sms.example/send", "body": body}})


def test_the_default_body_template_is_valid() -> None:
    """Start-up skips the check (and loading Jinja) for the default body: it must pass."""
    from hc_notify.settings import DEFAULT_SMS_BODY, check_body_template

    check_body_template(DEFAULT_SMS_BODY)

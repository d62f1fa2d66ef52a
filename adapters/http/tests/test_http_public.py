"""The public pages over HTTP: the form, the receipt, "where is my complaint" by an
unguessable expiring token, rate limits, escaping, and the JSON twin for mini-programs."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from hospital_complaints.plugin_api import FixedClock, bootstrap
from hospital_complaints.testing import NOW

FORM = {"subject": "CT 检查等待两个小时", "message": "预约 8:30，10:33 才开始检查。",
        "name": "陈建国", "phone": "13912345678", "contact_ok": "1",
        "submission_id": "form-0001-abcdefghijkl"}


def _submit(served: Any, **changes: str) -> Any:
    return served.client.post("/public/complaint", data={**FORM, **changes})


def _status_url(receipt_html: str) -> str:
    found = re.search(r'href="(http://[^"]+/public/status/[^"]+)"', receipt_html)
    assert found, receipt_html
    return found.group(1).replace("&amp;", "&")


def test_the_form_is_chinese_first_and_english_on_request(service: Any) -> None:
    zh = service.client.get("/public/complaint")
    assert zh.status_code == 200 and '<html lang="zh-CN">' in zh.text
    assert "提交投诉或意见" in zh.text and 'name="contact_ok"' in zh.text
    en = service.client.get("/public/complaint", headers={"Accept-Language": "en-US"})
    assert '<html lang="en">' in en.text and "Send a complaint or feedback" in en.text
    assert '<html lang="en">' in service.client.get("/public/complaint?lang=en").text
    assert "http" not in re.sub(r'href="\?lang=\w+"|action="[^"]*"', "", zh.text.split(
        "<body>")[0].replace('href="/public/static/app.css"', ""))  # nothing from elsewhere


def test_a_submission_gives_a_receipt_and_a_status_link(service: Any,
                                                        officer: dict[str, str]) -> None:
    receipt = _submit(service)
    assert receipt.status_code == 200, receipt.text
    reference = re.search(r'class="reference">([^<]+)<', receipt.text)
    assert reference
    ref = reference.group(1)
    token = _status_url(receipt.text).split("/public/status/")[1].split("?")[0]
    assert len(token) >= 22 and re.fullmatch(r"[A-Za-z0-9_-]+", token)  # >= 128 bits
    case = service.client.get(f"/v1/cases/{ref}", headers=officer).json()
    assert case["summary"]["channel"] == "web_form"
    assert case["complaint"]["complainant"]["consent_to_contact"] is True
    # the same form sent twice (a double tap) is one complaint
    again = _submit(service)
    assert re.search(r'class="reference">([^<]+)<', again.text).group(1) == ref  # type: ignore[union-attr]
    assert len(service.client.get("/v1/cases", headers=officer).json()["items"]) == 1


def test_the_status_page_shows_state_and_next_deadline_never_staff_or_notes(
        service: Any, officer: dict[str, str]) -> None:
    receipt = _submit(service, subject="<script>alert(1)</script> [/bold]")
    url = _status_url(receipt.text)
    ref = re.search(r'class="reference">([^<]+)<', receipt.text).group(1)  # type: ignore[union-attr]
    c = service.client
    assert c.post(f"/v1/cases/{ref}/commands/assign", json={
        "department": "CT室", "owner": "李强主任"}, headers=officer).status_code == 200
    assert c.post(f"/v1/cases/{ref}/commands/log_communication", json={
        "direction": "internal", "summary": "内部备注：设备故障未上报"},
        headers=officer).status_code == 200
    page = c.get(url)
    assert page.status_code == 200
    assert "已登记" in page.text and "受理告知" in page.text  # state, next milestone
    assert "&lt;script&gt;alert(1)&lt;/script&gt; [/bold]" in page.text
    assert "<script>" not in page.text
    assert "李强" not in page.text and "设备故障" not in page.text and "CT室" not in page.text
    english = c.get(url.replace("lang=zh", "lang=en"))
    assert "registered" in english.text and "We confirm we have it" in english.text
    token = url.split("/public/status/")[1].split("?")[0]
    status = c.get(f"/v1/public/status/{token}").json()
    assert status["state"] == "registered" and status["next_milestone"] == "acknowledge"
    assert set(status) == {"reference", "subject", "state", "state_zh", "state_en",
                           "received_at", "next_deadline", "next_milestone", "finished"}


def test_unknown_and_expired_links_show_nothing(core: Callable[..., Any],
                                                serve: Callable[..., Any]) -> None:
    app = core()
    served = serve(app)
    url = _status_url(_submit(served).text)
    assert served.client.get(url).status_code == 200
    for wrong in ("x" * 32, "short", "A" * 40):
        page = served.client.get(f"/public/status/{wrong}")
        assert page.status_code in (404, 422) and "受理编号" not in page.text
    # the same database a year and a day later (links last 365 days by default)
    later = bootstrap(app.settings, clock=FixedClock(NOW + timedelta(days=366)),
                      plugins=app.plugins)
    moved = serve(later)
    expired = moved.client.get(url.replace(served.url, moved.url))
    assert expired.status_code == 404 and "已过期" in expired.text


def test_public_requests_are_rate_limited(core: Callable[..., Any],
                                          serve: Callable[..., Any]) -> None:
    served = serve(core(http={"public_rate_per_minute": 3}))
    answers = [served.client.get(f"/public/status/{'A' * 32}") for _ in range(4)]
    assert [a.status_code for a in answers] == [404, 404, 404, 429]
    busy = answers[-1]  # a patient's browser gets a page in their language, not JSON
    assert busy.headers["content-type"].startswith("text/html")
    assert "请求过于频繁" in busy.text and int(busy.headers["retry-after"]) >= 1
    english = served.client.get(f"/public/status/{'A' * 32}?lang=en")
    assert english.status_code == 429 and "Too many requests" in english.text
    limited = served.client.get(f"/v1/public/status/{'A' * 32}")
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1


def test_invalid_form_input_is_shown_on_the_form_escaped(service: Any) -> None:
    bad = _submit(service, phone="<b>12</b>", subject="", submission_id="form-0002-abcdefghijkl")
    assert bad.status_code == 422
    assert "请修改以下内容" in bad.text and 'href="#f-phone"' in bad.text
    assert "&lt;b&gt;12&lt;/b&gt;" in bad.text and "<b>12</b>" not in bad.text
    no_contact = _submit(service, phone="", contact_ok="1",
                         submission_id="form-0003-abcdefghijkl")
    assert no_contact.status_code == 422 and 'href="#f-contact_ok"' in no_contact.text


def test_the_json_intake_for_mini_programs(service: Any) -> None:
    r = service.client.post("/v1/public/complaints", json={
        "subject": "小程序投诉", "message": "排队太久", "phone": "13700001111",
        "contact_ok": True, "submission_id": "wx-0001-abcdefghijklmn"})
    assert r.status_code == 201, r.text
    receipt = r.json()
    assert receipt["status_url"].endswith(f"/public/status/{receipt['status_token']}?lang=zh")
    status = service.client.get(f"/v1/public/status/{receipt['status_token']}").json()
    assert status["reference"] == receipt["reference"] and status["finished"] is False
    bad = service.client.post("/v1/public/complaints", json={"subject": "x"},
                              headers={"Accept-Language": "en"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "message"


def test_a_case_merged_into_another_shows_as_finished(service: Any) -> None:
    """并单: the patient's case goes on in another one; its page no longer shows deadlines
    that will never move."""
    first, second = (service.client.post("/v1/public/complaints", json={
        "subject": "CT 等待", "message": f"第{i}次反映排队太久"}).json() for i in (1, 2))
    service.app.workorders.merge(first["reference"], second["reference"], reason="同一诉求",
                                 actor="clerk")
    status = service.client.get(f"/v1/public/status/{second['status_token']}").json()
    assert status["finished"] is True and status["next_deadline"] is None
    assert service.client.get(
        f"/v1/public/status/{first['status_token']}").json()["finished"] is False


def test_a_bad_language_on_a_page_is_a_page(service: Any) -> None:
    r = service.client.get("/public/complaint", params={"lang": "fr"})
    assert r.status_code == 422 and r.headers["content-type"].startswith("text/html")
    assert "出现错误" in r.text
    api = service.client.get(f"/v1/public/status/{'A' * 32}", params={"lang": "fr"})
    assert api.headers["content-type"].startswith("application/problem+json")

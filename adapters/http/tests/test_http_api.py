"""The REST API over real HTTP (uvicorn on 127.0.0.1): intake, listing, reading, commands with
ETag/If-Match, identity reveal, deadlines, exports."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from hospital_complaints.testing import NOW, complaint_draft


def _draft(n: int = 0, **changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {"received_at": (NOW - timedelta(hours=n + 1)).isoformat(),
                              "subject": f"CT 等待太久 #{n}", **changes}
    return complaint_draft(**fields)


def _register(service: Any, headers: dict[str, str], **changes: Any) -> dict[str, Any]:
    r = service.client.post("/v1/cases", json=_draft(**changes), headers=headers)
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def test_a_complaint_is_registered_once_per_idempotency_key(service: Any,
                                                            officer: dict[str, str]) -> None:
    headers = {**officer, "Idempotency-Key": "his-a:ticket-7781"}
    first = service.client.post("/v1/cases", json=_draft(), headers=headers)
    again = service.client.post("/v1/cases", json=_draft(), headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    ref = first.json()["case"]["reference"]
    assert again.json()["case"]["reference"] == ref and again.json()["created"] is False
    assert first.headers["location"].endswith(f"/v1/cases/{ref}")
    assert first.headers["etag"] == '"2"'  # registered, then routed
    listed = service.client.get("/v1/cases", headers=officer).json()["items"]
    assert [c["reference"] for c in listed] == [ref]


def test_responses_mask_identity(service: Any, officer: dict[str, str]) -> None:
    ref = _register(service, officer)["case"]["reference"]
    for path in ("/v1/cases", f"/v1/cases/{ref}", f"/v1/cases/{ref}/history"):
        text = service.client.get(path, headers=officer).text
        assert "13812345678" not in text and "张三丰" not in text, path
        assert "138****5678" in text
    detail = service.client.get(f"/v1/cases/{ref}", headers=officer).json()
    assert detail["complaint"]["complainant"]["name"] == "张**"


def test_a_hotline_work_order_goes_through_its_channel(service: Any,
                                                       officer: dict[str, str]) -> None:
    order = {"ticket_id": "12320-88", "platform": "12320",
             "accepted_at": (NOW - timedelta(hours=2)).isoformat(), "caller_name": "李四",
             "caller_phone": "13900001111", "title": "报告迟迟未出", "content": "三天了还没报告"}
    r = service.client.post("/v1/intake/hotline_platform", json=order,
                            headers={**officer, "Idempotency-Key": "12320-88"})
    assert r.status_code == 201, r.text
    assert r.json()["case"]["summary"]["channel"] == "hotline_platform"
    unknown = service.client.post("/v1/intake/fax", json=order, headers=officer)
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "channel"


def test_listing_pages_by_cursor_and_filters(service: Any, officer: dict[str, str]) -> None:
    refs = [_register(service, officer, **{"received_at": (
        NOW - timedelta(days=n)).isoformat()})["case"]["reference"] for n in range(5)]
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = service.client.get("/v1/cases", params=params, headers=officer).json()
        seen += [c["reference"] for c in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(refs) and pages == 3
    day = (NOW - timedelta(days=2)).date().isoformat()
    one_day = service.client.get("/v1/cases", params={"received_from": day, "received_to": day},
                                 headers=officer).json()["items"]
    assert len(one_day) == 1
    closed = service.client.get("/v1/cases", params={"state": "closed"}, headers=officer)
    assert closed.json()["items"] == []
    bad = service.client.get("/v1/cases", params={"state": "lost"}, headers=officer)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "state.0"


def test_a_command_with_a_stale_etag_is_refused_and_stores_nothing(
        service: Any, officer: dict[str, str]) -> None:
    ref = _register(service, officer)["case"]["reference"]
    read = service.client.get(f"/v1/cases/{ref}", headers=officer)
    etag = read.headers["etag"]
    ok = service.client.post(f"/v1/cases/{ref}/commands/acknowledge",
                             json={"method": "phone", "message": "已收到"},
                             headers={**officer, "If-Match": etag})
    assert ok.status_code == 200, ok.text
    assert ok.json()["case"]["state"] == "acknowledged" and ok.headers["etag"] == '"3"'
    stale = service.client.post(f"/v1/cases/{ref}/commands/classify",
                                json={"categories": ["process_management"]},
                                headers={**officer, "If-Match": etag, "Accept-Language": "en"})
    assert stale.status_code == 412
    problem = stale.json()
    assert stale.headers["content-type"] == "application/problem+json"
    assert problem["current_version"] == 3 and stale.headers["etag"] == '"3"'
    assert "nothing was saved" in problem["detail"]
    history = service.client.get(f"/v1/cases/{ref}/history", headers=officer).json()
    assert [e["type"] for e in history["events"]][-1] == "acknowledged"


def test_a_command_the_state_does_not_allow_is_a_conflict_in_either_language(
        service: Any, officer: dict[str, str]) -> None:
    ref = _register(service, officer)["case"]["reference"]
    zh = service.client.post(f"/v1/cases/{ref}/commands/close", json={}, headers=officer)
    en = service.client.post(f"/v1/cases/{ref}/commands/close", json={},
                             headers={**officer, "Accept-Language": "en-GB,en;q=0.9"})
    assert zh.status_code == en.status_code == 409
    assert zh.json()["title"] == "与案件当前状态冲突" and "不允许" in zh.json()["detail"]
    assert en.json()["title"] == "Conflict with the case's state"
    assert "acknowledge" in en.json()["allowed_commands"]


def test_bad_command_fields_name_the_field_the_value_and_what_is_allowed(
        service: Any, officer: dict[str, str]) -> None:
    ref = _register(service, officer)["case"]["reference"]
    r = service.client.post(f"/v1/cases/{ref}/commands/acknowledge",
                            json={"method": "pigeon", "message": "x"},
                            headers={**officer, "Accept-Language": "en"})
    assert r.status_code == 422
    [error] = r.json()["errors"]
    assert error["field"] == "method" and error["value"] == "pigeon"
    assert "phone" in error["allowed"]


def test_only_public_commands_have_routes(service: Any, officer: dict[str, str]) -> None:
    names = {c["name"] for c in service.client.get("/v1/commands", headers=officer).json()}
    assert {"acknowledge", "classify", "close", "link_exam"} <= names
    assert not names & {"register", "add_attachment", "reveal_identity",
                        "record_deadline_alert", "refuse_identity"}
    ref = _register(service, officer)["case"]["reference"]
    forged = service.client.post(f"/v1/cases/{ref}/commands/reveal_identity", json={},
                                 headers=officer)
    assert forged.status_code == 404


def test_identity_is_revealed_only_by_the_decision_and_both_outcomes_are_recorded(
        service: Any, key: Callable[..., dict[str, str]]) -> None:
    officer = key(service.app, "officer", roles=("complaint_officer",))
    clerk = key(service.app, "clerk", roles=("patient_relations_clerk", "patient_relations"),
                department="医患办")
    nurse = key(service.app, "ward", roles=("nurse",), department="医患办")
    ref = _register(service, officer)["case"]["reference"]
    shown = service.client.post(f"/v1/cases/{ref}/identity", json={"purpose": "回电"},
                                headers=clerk)
    assert shown.status_code == 200, shown.text
    assert shown.json()["complainant"]["phone"] == "13812345678"
    refused = service.client.post(f"/v1/cases/{ref}/identity", json={"purpose": "好奇"},
                                  headers=nurse)
    assert refused.status_code == 403
    types = [e["type"] for e in service.client.get(f"/v1/cases/{ref}/history",
                                                   headers=officer).json()["events"]]
    assert types[-2:] == ["identity_revealed", "identity_reveal_refused"]
    no_purpose = service.client.post(f"/v1/cases/{ref}/identity", json={}, headers=clerk)
    assert no_purpose.status_code == 422


def test_deadlines_of_a_case_and_the_overdue_list(service: Any,
                                                 officer: dict[str, str]) -> None:
    ref = _register(service, officer)["case"]["reference"]
    deadlines = service.client.get(f"/v1/cases/{ref}/deadlines", headers=officer).json()
    milestones = {d["milestone"] for d in deadlines["deadlines"]}
    assert "acknowledge" in milestones
    later = (NOW + timedelta(days=40)).isoformat()
    overdue = service.client.get("/v1/deadlines/overdue", params={"at": later},
                                 headers=officer).json()
    assert ref in {i["reference"] for i in overdue["items"]}
    now_list = service.client.get("/v1/deadlines/overdue", headers=officer).json()
    assert now_list["items"] == []
    naive = service.client.get("/v1/deadlines/due-soon", params={"at": "2026-11-24T09:00:00"},
                               headers=officer)
    assert naive.status_code == 422
    # read only: the sweep's lists record no alert
    types = [e["type"] for e in service.client.get(f"/v1/cases/{ref}/history",
                                                   headers=officer).json()["events"]]
    assert "deadline_alert" not in types


def test_exports_stream_every_selected_case(service: Any, officer: dict[str, str]) -> None:
    for n in range(30):
        _register(service, officer, **{"received_at": (
            NOW - timedelta(minutes=n + 1)).isoformat()})
    formats = {f["id"]: f["media_type"] for f in service.client.get(
        "/v1/exports", headers=officer).json()["formats"]}
    assert formats["jsonl"] == "application/x-ndjson"
    with service.client.stream("GET", "/v1/exports/jsonl", headers=officer) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("application/x-ndjson")
        assert "content-length" not in r.headers  # streamed, not buffered
        lines = [json.loads(line) for line in r.iter_lines() if line]
    assert len(lines) == 30 and all("138****5678" in line["complainant"] for line in lines)
    csv = service.client.get("/v1/exports/csv", params={"state": "registered"},
                             headers=officer)
    assert csv.status_code == 200 and len(csv.text.strip().splitlines()) == 31
    unknown = service.client.get("/v1/exports/xlsx", headers=officer)
    assert unknown.status_code == 404 and "jsonl" in unknown.json()["detail"]

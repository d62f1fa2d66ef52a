"""Department scoping and the whistle-blower rule over HTTP: a department sees its own cases
and its units', everything else is answered as if it did not exist; a report's complainant
never reaches the department concerned."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hospital_complaints.testing import complaint_draft


def _register(served: Any, headers: dict[str, str], **changes: Any) -> str:
    r = served.client.post("/v1/cases", json=complaint_draft(**changes), headers=headers)
    assert r.status_code == 201, r.text
    ref: str = r.json()["case"]["reference"]
    return ref


def test_a_department_sees_its_cases_and_its_units_only(service: Any, officer: dict[str, str],
                                                        key: Callable[..., Any]) -> None:
    c = service.client
    ct = _register(service, officer, department="CT室")
    us = _register(service, officer, department="超声科")
    desk = _register(service, officer)  # routed to the patient-relations office
    imaging = key(service.app, "imaging-ward", roles=("nurse",), department="放射科")
    listed = {x["reference"] for x in c.get("/v1/cases", headers=imaging).json()["items"]}
    assert listed == {ct}
    wide = {x["reference"] for x in c.get("/v1/cases", headers=officer).json()["items"]}
    assert wide == {ct, us, desk}
    assert c.get(f"/v1/cases/{ct}", headers=imaging).status_code == 200
    exported = c.get("/v1/exports/jsonl", headers=imaging).text
    assert ct in exported and us not in exported and desk not in exported


def test_a_case_outside_the_department_looks_like_no_case_at_all(
        service: Any, officer: dict[str, str], key: Callable[..., Any]) -> None:
    c = service.client
    other = _register(service, officer, department="超声科")
    missing = other[:-4] + "9999"
    ct_room = key(service.app, "ct-room", roles=("nurse",), department="CT室")
    english = {**ct_room, "Accept-Language": "en"}
    for method, suffix, body in (("GET", "", None), ("GET", "/history", None),
                                 ("GET", "/deadlines", None),
                                 ("POST", "/commands/acknowledge",
                                  {"method": "phone", "message": "x"}),
                                 ("POST", "/identity", {"purpose": "x"})):
        hidden = c.request(method, f"/v1/cases/{other}{suffix}", json=body, headers=english)
        absent = c.request(method, f"/v1/cases/{missing}{suffix}", json=body, headers=english)
        assert hidden.status_code == absent.status_code == 404, (suffix, hidden.text)
        assert hidden.json()["detail"].replace(other, "REF") == \
            absent.json()["detail"].replace(missing, "REF")
    history = c.get(f"/v1/cases/{other}/history", headers=officer).json()["events"]
    assert [e["type"] for e in history] == ["complaint_registered"]  # nothing recorded
    wider = c.get("/v1/cases", params={"department": "影像科"}, headers=ct_room)
    assert wider.status_code == 403


def test_a_caller_whose_department_is_unknown_sees_nothing(service: Any,
                                                          key: Callable[..., Any]) -> None:
    stranger = key(service.app, "stranger", roles=("nurse",), department="太空医学科")
    r = service.client.get("/v1/cases", headers={**stranger, "Accept-Language": "en"})
    assert r.status_code == 403 and "department registry" in r.json()["detail"]
    nobody = key(service.app, "nobody", roles=("nurse",))
    assert service.client.get("/v1/cases", headers=nobody).status_code == 403


def test_a_reports_complainant_never_reaches_the_department_concerned(
        service: Any, officer: dict[str, str], key: Callable[..., Any]) -> None:
    c = service.client
    report = _register(service, officer, kind="report", concerns_department="CT室",
                       subject="举报 CT 室收红包")
    listed = c.get("/v1/cases", headers=officer).json()["items"]
    assert listed[0]["complainant"].startswith("(举报人信息保护")
    detail = c.get(f"/v1/cases/{report}", headers=officer).json()
    shown = {k: v for k, v in detail["complaint"]["complainant"].items() if v is not None}
    assert shown == {"role": "patient", "protected": listed[0]["complainant"]}
    assert detail["summary"]["department"].startswith("纪检监察室")
    inspector_in_imaging = key(service.app, "inspector-imaging",
                               roles=("discipline_inspection",), department="影像科")
    refused = c.post(f"/v1/cases/{report}/identity", json={"purpose": "核实"},
                     headers={**inspector_in_imaging, "Accept-Language": "en"})
    assert refused.status_code == 403 and "whistle-blower rule" in refused.json()["detail"]
    inspector = key(service.app, "inspector", roles=("discipline_inspection",),
                    department="纪检监察室")
    allowed = c.post(f"/v1/cases/{report}/identity", json={"purpose": "核实"},
                     headers=inspector)
    assert allowed.status_code == 200 and allowed.json()["complainant"]["name"] == "张三丰"
    events = [e["type"] for e in c.get(f"/v1/cases/{report}/history",
                                       headers=officer).json()["events"]]
    assert events[-2:] == ["identity_reveal_refused", "identity_revealed"]

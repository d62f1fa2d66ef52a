"""Imaging over HTTP: exam suggestions, linking, the evidence pack and accepting it (all or
nothing, with If-Match), exams and their timelines, the department summary."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hospital_complaints.testing import NOW, complaint_draft, exam_event

ACC = "CT20261120-0042"


def _exam(app: Any) -> None:
    day = NOW - timedelta(hours=3)
    app.imaging.ingest([
        exam_event(ACC, "scheduled", day, scheduled_start=day, modality="CT", station="CT-2",
                   patient_id="P0099"),
        exam_event(ACC, "arrived", day, patient_id="P0099"),
        exam_event(ACC, "started", day + timedelta(minutes=123), modality="CT",
                   station="CT-2"),
        exam_event(ACC, "completed", day + timedelta(minutes=140)),
    ])


def test_suggest_link_evidence_and_accept(service: Any, officer: dict[str, str]) -> None:
    _exam(service.app)
    c = service.client
    ref = c.post("/v1/cases", json=complaint_draft(), headers=officer).json()["case"][
        "reference"]
    suggestions = c.get(f"/v1/cases/{ref}/exam-suggestions", headers=officer).json()
    assert [s["exam"]["accession_number"] for s in suggestions["suggestions"]] == [ACC]
    assert "patient_hash" not in str(suggestions) and "P0099" not in str(suggestions)
    no_link = c.get(f"/v1/cases/{ref}/evidence", headers=officer)
    assert no_link.status_code == 404
    linked = c.post(f"/v1/cases/{ref}/commands/link_exam",
                    json={"link": {"accession_number": ACC, "modality": "CT"}},
                    headers=officer)
    assert linked.status_code == 200, linked.text
    pack = c.get(f"/v1/cases/{ref}/evidence", headers=officer).json()
    assert pack["accession_number"] == ACC and pack["finding_zh"]
    wait = next(m for m in pack["metrics"] if m["metric"] == "wait")
    assert wait["minutes"] == 123 and wait["over_target"] is True
    version = linked.headers["etag"]
    stale = c.post(f"/v1/cases/{ref}/evidence/accept", json={},
                   headers={**officer, "If-Match": '"1"'})
    assert stale.status_code == 412
    accepted = c.post(f"/v1/cases/{ref}/commands/acknowledge",
                      json={"method": "phone", "message": "已收到"},
                      headers={**officer, "If-Match": version})
    assert accepted.status_code == 200
    started = c.post(f"/v1/cases/{ref}/commands/start_investigation",
                     json={"team": [{"name": "王主任", "role": "radiologist"}]},
                     headers=officer)
    assert started.status_code == 200, started.text
    recorded = c.post(f"/v1/cases/{ref}/evidence/accept", json={},
                      headers={**officer, "If-Match": started.headers["etag"]})
    assert recorded.status_code == 200, recorded.text
    assert recorded.json()["events"] and all(
        e["type"] == "evidence_added" for e in recorded.json()["events"])
    detail = c.get(f"/v1/cases/{ref}", headers=officer).json()
    assert len(detail["evidence"]) == len(recorded.json()["events"])


def test_exams_timelines_and_the_department_summary(service: Any,
                                                    officer: dict[str, str]) -> None:
    _exam(service.app)
    c = service.client
    exam = c.get(f"/v1/exams/{ACC}", headers=officer).json()
    assert exam["modality"] == "CT" and exam["station"] == "CT-2"
    timeline = c.get(f"/v1/exams/{ACC}/timeline", headers=officer).json()["timeline"]
    assert {t["event"] for t in timeline} >= {"scheduled", "arrived", "started", "completed"}
    assert c.get("/v1/exams/NOPE-1", headers=officer).status_code == 404
    c.post("/v1/cases", json=complaint_draft(exam_links=[{"accession_number": ACC}]),
           headers=officer)
    day = NOW.date().isoformat()
    summary = c.get("/v1/imaging/summary", params={"from": day, "to": day},
                    headers=officer).json()
    assert summary["exams"] == 1 and summary["complaints"] == 1
    backwards = c.get("/v1/imaging/summary", params={"from": day, "to": "2026-01-01"},
                      headers={**officer, "Accept-Language": "en"})
    assert backwards.status_code == 422 and backwards.json()["errors"][0]["field"] == "from"

"""The core's survey export is valid FHIR: each QuestionnaireResponse passes the FHIR models
(fhir.resources, R4) and the independent JavaScript validators (Medplum, FHIR.js)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hospital_complaints.plugin_api import ExamContact, Recipient, hookimpl
from hospital_complaints.settings import Settings, SurveySettings
from hospital_complaints.testing import NOW, complaint_draft, exam_event, make_app

from hc_fhir import resource_issues


class His:
    @hookimpl
    def hc_exam_contact(self, accession_number: str) -> ExamContact:
        return ExamContact(Recipient(phone="13900001111"), True)


def answered() -> list[dict[str, Any]]:
    app = make_app(His(), settings=Settings(surveys=SurveySettings(
        base_url="https://his.example.org/c", quiet_hours="")))
    start = NOW - timedelta(hours=2)
    app.imaging.ingest([exam_event("CT1", "started", start, modality="CT"),
                        exam_event("CT1", "final_report", start + timedelta(hours=1))])
    link = app.surveys.invite_for_exam("CT1", "report_final", "CT").link or ""
    app.surveys.answer(link.rsplit("/", 1)[1], {"overall": "good", "privacy": "5",
                                               "comments": "谢谢"})
    ref = app.complaints.register(complaint_draft(), actor="clerk").reference
    app.complaints.execute(ref, ("acknowledge", {"method": "phone", "message": "已收到"}),
                           actor="clerk")
    app.complaints.execute(ref, ("respond", {"method": "phone", "text": "已解释",
                           "outcome": {"kind": "resolved_by_explanation", "reason": "解释"}}),
                           actor="clerk")
    link = app.surveys.invite_for_case(ref, "responded").link or ""
    app.surveys.answer(link.rsplit("/", 1)[1], {"satisfaction": 4, "resolved": "partly"})
    return list(app.surveys.fhir_responses())


def test_questionnaire_responses_are_valid_r4() -> None:
    resources = answered()
    assert len(resources) == 2
    for r in resources:
        assert resource_issues(r, "R4") == [], r


def test_questionnaire_responses_pass_medplum_and_fhirjs(js_errors: Any) -> None:
    for r in answered():
        assert js_errors(r) == [], js_errors(r)

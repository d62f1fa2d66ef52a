"""Import of portal complaints, and bad input: every problem with its path, nothing stored."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hospital_complaints import FixedClock, build_service
from hospital_complaints.services.service import ComplaintService
from support import NOW

from hc_fhir import FhirValidationError, import_complaint

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "fhir"


@pytest.fixture
def service() -> ComplaintService:
    return build_service(clock=FixedClock(NOW), load_entrypoints=False)


def portal() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (EXAMPLES / "portal-communication.json").read_text(encoding="utf-8"))
    return data


def test_portal_communication_registers_a_complaint(service: ComplaintService) -> None:
    case = import_complaint(service, portal(), actor="portal")
    c = case.complaint
    assert c.channel.value == "web_form" and c.complainant.role.value == "patient"
    assert c.complainant.phone == "13812345678"
    assert c.patient is not None and c.patient.patient_id == "P0099"
    assert c.exam_links[0].accession_number == "CT20261120001"
    assert c.exam_links[1].study_instance_uid == "1.2.840.113619.2.55.3.1234"
    assert c.description.startswith("在 CT 室")
    assert service.get(case.reference) == case


def test_resending_returns_the_same_case(service: ComplaintService) -> None:
    first = import_complaint(service, portal(), actor="portal")
    again = import_complaint(service, portal(), actor="portal")
    assert again.reference == first.reference
    assert len(service.list_cases()) == 1


def test_bundle_with_questionnaire_response_fills_the_form_answers(
        service: ComplaintService) -> None:
    comm = portal()
    del comm["topic"]
    qr = {"resourceType": "QuestionnaireResponse", "status": "completed", "item": [
        {"linkId": "subject", "answer": [{"valueString": "CT 等待太久"}]},
        {"linkId": "category", "answer": [{"valueCoding": {
            "system": "https://hospital-complaints.org/fhir/CodeSystem/complaint-category",
            "code": "process_management"}}]}]}
    bundle = {"resourceType": "Bundle", "type": "collection",
              "entry": [{"resource": comm}, {"resource": qr}]}
    case = import_complaint(service, bundle, actor="portal")
    assert case.complaint.subject == "CT 等待太久"
    assert [c.value for c in case.complaint.categories] == ["process_management"]


def test_invalid_fhir_lists_every_problem_and_stores_nothing(service: ComplaintService) -> None:
    bad = portal()
    bad["received"] = "yesterday"
    bad["payload"] = [{"contentString": 42}]
    bad["medium"][0]["coding"][0]["code"] = "pigeon"
    bad["bogus"] = True
    with pytest.raises(FhirValidationError) as info:
        import_complaint(service, bad, actor="portal")
    paths = {i.path for i in info.value.issues}
    assert "Communication.received" in paths
    assert "Communication.payload[0].contentString" in paths
    assert "Communication.bogus" in paths
    assert "Communication.medium[0]" in paths
    oo = info.value.operation_outcome()
    assert oo["resourceType"] == "OperationOutcome" and len(oo["issue"]) == len(paths)
    assert "nothing was stored" in str(info.value)
    assert service.list_cases() == []


def test_domain_rule_violations_are_reported_with_fhir_paths(service: ComplaintService) -> None:
    bad = portal()
    bad["contained"][0]["telecom"] = [{"system": "phone", "value": "call me"}]
    with pytest.raises(FhirValidationError) as info:
        import_complaint(service, bad, actor="portal")
    assert any(i.path.startswith("Communication.sender") for i in info.value.issues)
    assert service.list_cases() == []


def test_not_a_communication_is_refused(service: ComplaintService) -> None:
    with pytest.raises(FhirValidationError, match="expected a Communication"):
        import_complaint(service, {"resourceType": "Patient"}, actor="portal")

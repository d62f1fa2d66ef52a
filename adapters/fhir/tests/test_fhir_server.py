"""Server exchange against a real FHIR server on loopback (Medplum fhir-router)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests
from support import grants_for

from hc_fhir import (
    ExportOptions,
    FhirClient,
    FhirExamSource,
    FhirServerError,
    push_cases,
    read_case,
    resource_id,
)
from hc_fhir.samples import sample_case

pytestmark = pytest.mark.peer("medplum")


def test_push_read_back_and_search(fhir_server: Any) -> None:
    client = FhirClient(fhir_server.base)
    case = sample_case(7)
    opts = ExportOptions(grants=grants_for([case]))
    locations = push_cases(client, [case], opts)
    assert any(loc.startswith("Task/") for loc in locations)
    assert len(push_cases(client, [case], opts)) == len(locations)  # idempotent PUTs
    comm_id = resource_id(case.reference, "communication")
    comm = client.read("Communication", comm_id)
    tasks = list(client.search("Task", {"focus": f"Communication/{comm_id}"}))
    assert len(tasks) == 3  # the case, its investigation, one rectification action
    qr = client.read("QuestionnaireResponse", resource_id(case.reference, "follow-up"))
    image = read_case([comm, *tasks, qr])
    assert image.complaint == case.complaint and image.state == case.state


def test_server_refusal_shows_its_operation_outcome(fhir_server: Any) -> None:
    client = FhirClient(fhir_server.base, retries=0)
    with pytest.raises(FhirServerError) as info:
        client.request("POST", "Task", json={"resourceType": "Task", "status": "bogus",
                                             "intent": "order"})
    assert info.value.status == 400
    assert "not found in value set" in str(info.value) and "Task.status" in str(info.value)
    assert info.value.outcome is not None


def test_retries_with_backoff_on_503(start_server: Callable[..., Any]) -> None:
    server = start_server("--fail-first", "2")
    waits: list[float] = []
    client = FhirClient(server.base, retries=3, backoff=0.01, sleep=waits.append)
    with pytest.raises(FhirServerError, match="404"):  # the third attempt reached the server
        client.read("Task", "missing")
    assert waits == [0.01, 0.02]


def test_gives_up_after_retries(start_server: Callable[..., Any]) -> None:
    server = start_server("--fail-first", "5")
    client = FhirClient(server.base, retries=1, backoff=0, sleep=lambda s: None)
    with pytest.raises(FhirServerError, match="503"):
        client.read("Task", "x")


def test_bearer_token(start_server: Callable[..., Any]) -> None:
    server = start_server("--token", "s3cret")
    with pytest.raises(FhirServerError, match="401"):
        FhirClient(server.base, retries=0).read("Task", "x")
    with pytest.raises(FhirServerError, match="404"):  # authorised, just not there
        FhirClient(server.base, token="s3cret", retries=0).read("Task", "x")


def test_connection_refused_is_a_clear_error() -> None:
    client = FhirClient("http://127.0.0.1:9/fhir/", retries=1, backoff=0, sleep=lambda s: None,
                        timeout=(0.5, 0.5))
    with pytest.raises(FhirServerError, match="after 2 attempts"):
        client.read("Task", "x")


def test_tls_verification_is_on_by_default() -> None:
    assert FhirClient("https://fhir.example.org/").session.verify is True
    assert isinstance(FhirClient("https://x/").session, requests.Session)


def test_exam_source_searches_the_server(fhir_server: Any) -> None:
    client = FhirClient(fhir_server.base)
    acsn = {"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                                 "code": "ACSN"}]}, "value": "SRV-ACC-1"}
    client.request("POST", "ImagingStudy", json={
        "resourceType": "ImagingStudy", "status": "available",
        "subject": {"reference": "Patient/p1"}, "started": "2026-11-20T09:10:00+08:00",
        "identifier": [acsn, {"system": "urn:dicom:uid", "value": "urn:oid:1.2.3.4"}],
        "modality": [{"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "CT"}]})
    client.request("POST", "ServiceRequest", json={
        "resourceType": "ServiceRequest", "status": "active", "intent": "order",
        "subject": {"reference": "Patient/p1"}, "authoredOn": "2026-11-19T15:00:00+08:00",
        "identifier": [acsn]})
    source = FhirExamSource("fhir:test", client=client, search={
        "ImagingStudy": {"identifier": "SRV-ACC-1"}, "ServiceRequest": {"identifier": "SRV-ACC-1"}})
    events = list(source.read_exam_events())
    assert [(e.event.value, e.accession_number) for e in events] == [
        ("started", "SRV-ACC-1"), ("ordered", "SRV-ACC-1")]
    assert events[0].study_instance_uid == "1.2.3.4" and events[0].modality == "CT"
    assert events[0].patient_id == "p1" and events[0].source == "fhir:test"

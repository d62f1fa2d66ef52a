"""Export: mapping, masking, report protection, versions, and three independent validators."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from support import grants_for

from hc_fhir import (
    ExportOptions,
    case_resources,
    collection_bundle,
    export_cases,
    resource_issues,
    transaction_bundle,
)
from hc_fhir.samples import TZ, sample_case

Errors = Callable[[Any], list[Any]]
ALL = [sample_case(n) for n in range(16)]


def _by_type(resources: list[dict[str, Any]], rtype: str) -> list[dict[str, Any]]:
    return [r for r in resources if r["resourceType"] == rtype]


def test_closed_case_maps_to_communication_tasks_qr_provenance() -> None:
    case = sample_case(7)
    res = case_resources(case, ExportOptions(grants=grants_for([case])))
    comm = res[0]
    assert comm["resourceType"] == "Communication"
    assert comm["sender"]["reference"] == "#complainant"
    assert comm["subject"]["identifier"]["value"] == case.complaint.patient.patient_id
    assert {r["type"] for r in comm["about"]} == {"ImagingStudy", "ServiceRequest", "Device"}
    assert comm["recipient"][0]["display"] == "放射科"
    tasks = _by_type(res, "Task")
    root, inv, action = tasks
    assert root["focus"]["reference"] == f"Communication/{comm['id']}"
    assert root["status"] == "completed" and root["businessStatus"]["coding"][0]["code"] == "closed"
    assert inv["partOf"] == action["partOf"] == [{"reference": f"Task/{root['id']}"}]
    assert action["restriction"]["period"]["end"] == "2026-12-31"
    assert action["owner"]["display"] == "技师长"
    qr = _by_type(res, "QuestionnaireResponse")[0]
    assert {i["linkId"] for i in qr["item"]} == {"method", "unreachable", "satisfaction",
                                                 "comments"}
    assert len(_by_type(res, "Provenance")) == len(case.events)


def test_r5_uses_requested_period_and_payload_codeable_concept() -> None:
    res = case_resources(sample_case(7), ExportOptions(version="R5"))
    action = _by_type(res, "Task")[2]
    assert action["requestedPeriod"]["end"] == "2026-12-31" and "restriction" not in action
    assert "contentCodeableConcept" in res[0]["payload"][0]


def test_identity_masked_by_default() -> None:
    text = json.dumps(case_resources(sample_case(0)), ensure_ascii=False)
    assert "13800000000" not in text and "110101199000000000" not in text
    assert "张0丰" not in text and "P0000000" not in text
    assert "MASKED" in text


def test_report_never_carries_identity_unless_revealed() -> None:
    case = sample_case(5)  # n % 11 == 5: a report (举报)
    assert case.complaint.is_whistleblowing
    masked = case_resources(case)
    text = json.dumps(masked, ensure_ascii=False)
    c = case.complaint
    secrets = [c.complainant.phone, c.complainant.name, c.complainant.id_number,
               c.patient.patient_id if c.patient else None, c.patient.name if c.patient else None]
    assert any(secrets)
    for value in filter(None, secrets):  # the whole values: short prefixes occur in UUIDs
        assert value not in text
    assert "张" not in text
    comm = masked[0]
    assert "sender" not in comm and "contained" not in comm and "subject" not in comm
    assert all("for" not in t for t in _by_type(masked, "Task"))
    revealed = case_resources(case, ExportOptions(grants=grants_for([case])))
    assert revealed[0]["contained"][0]["telecom"][0]["value"] == case.complaint.complainant.phone


def test_deadlines_from_a_resolver_go_to_the_case_task() -> None:
    due = datetime(2026, 11, 30, 23, 59, 59, tzinfo=TZ)
    opts = ExportOptions(deadlines=lambda case: {"respond": due, "close": due})
    res = case_resources(sample_case(3), opts)
    root, inv = _by_type(res, "Task")[:2]
    assert root["restriction"]["period"]["end"] == due.isoformat()
    assert inv["restriction"]["period"]["end"] == due.isoformat()


@pytest.mark.parametrize("version", ["R4", "R5"])
@pytest.mark.parametrize("reveal", [False, True])
def test_every_resource_valid_for_fhir_resources(version: str, reveal: bool) -> None:
    opts = ExportOptions(version=version, grants=grants_for(ALL) if reveal else {})  # type: ignore[arg-type]
    for case in ALL:
        for r in case_resources(case, opts):
            assert resource_issues(r, version) == [], r["resourceType"]  # type: ignore[arg-type]
    bundle = collection_bundle([r for c in ALL for r in case_resources(c, opts)],
                               datetime(2026, 11, 20, tzinfo=TZ))
    assert resource_issues(bundle, version) == []  # type: ignore[arg-type]


@pytest.mark.parametrize("reveal", [False, True])
def test_every_resource_and_bundle_passes_medplum_and_fhirjs(js_errors: Errors,
                                                             reveal: bool) -> None:
    opts = ExportOptions(grants=grants_for(ALL) if reveal else {})
    everything = []
    for case in ALL:
        resources = case_resources(case, opts)
        everything += resources
        for r in resources:
            assert js_errors(r) == [], (r["resourceType"], js_errors(r))
        assert js_errors(transaction_bundle(resources)) == []
    assert js_errors(collection_bundle(everything, datetime(2026, 11, 20, tzinfo=TZ))) == []


def test_bad_resource_is_caught_by_js_validators(js_errors: Errors) -> None:
    """The validators are live: a wrong code and an unknown element are errors."""
    found = js_errors({"resourceType": "Task", "status": "bogus", "intent": "order", "x": 1})
    assert len(found) >= 2


def test_ndjson_and_bundle_formats() -> None:
    out = io.StringIO()
    n = export_cases(ALL[:3], out, ExportOptions(), "ndjson")
    lines = out.getvalue().splitlines()
    assert n == len(lines) and all(json.loads(line)["resourceType"] for line in lines)
    out = io.StringIO()
    m = export_cases(ALL[:3], out, ExportOptions(), "bundle",
                     now=datetime(2026, 11, 20, tzinfo=TZ))
    bundle = json.loads(out.getvalue())
    assert bundle["type"] == "collection" and len(bundle["entry"]) == m == n

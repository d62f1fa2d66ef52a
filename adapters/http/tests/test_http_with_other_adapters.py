"""The FHIR and HL7 v2 adapters keep working through the same App the HTTP service serves:
an HL7 feed imported with the CLI shows in the API's exams, and the FHIR exporter streams
through the API's export endpoint."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hospital_complaints.testing import complaint_draft, run_cli

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "hl7"


def test_hl7_and_fhir_through_the_same_app(core: Callable[..., Any], serve: Callable[..., Any],
                                           key: Callable[..., Any]) -> None:
    import hc_fhir.plugin as fhir  # both adapters live in this repository
    import hc_hl7v2.plugin as hl7

    app = core(plugins=(fhir, hl7))
    imported = run_cli(app, "hl7", "import", str(EXAMPLES / "oru_r01_final.hl7"))
    assert imported.exit_code == 0, imported.output
    served = serve(app)
    headers = key(app)
    exam = served.client.get("/v1/exams/ACC20261120001", headers=headers)
    assert exam.status_code == 200, exam.text
    assert exam.json()["final_at"] is not None
    ref = served.client.post("/v1/cases", json=complaint_draft(exam_links=[
        {"accession_number": "ACC20261120001"}]), headers=headers).json()["case"]["reference"]
    formats = {f["id"] for f in served.client.get("/v1/exports", headers=headers).json()[
        "formats"]}
    assert "fhir-r4" in formats
    with served.client.stream("GET", "/v1/exports/fhir-r4", headers=headers) as r:
        assert r.status_code == 200
        resources = [json.loads(line) for line in r.iter_lines() if line.strip()]
    assert resources and all("resourceType" in res for res in resources)
    assert ref in json.dumps(resources, ensure_ascii=False)
    assert "13812345678" not in json.dumps(resources)  # masked, as every export
    assert run_cli(app, "audit", "verify").exit_code == 0

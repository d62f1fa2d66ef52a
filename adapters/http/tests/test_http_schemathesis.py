"""schemathesis against the published OpenAPI document of a live server: for every
operation, authenticated and not, no 5xx, and every response (status, content type, headers,
body) matches what the document says."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hospital_complaints.testing import NOW, complaint_draft, exam_event

pytestmark = pytest.mark.slow

CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,"
          "response_schema_conformance,response_headers_conformance")


def _schemathesis() -> list[str]:
    found = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    if found is None:  # pragma: no cover - the test extra installs it
        pytest.fail("schemathesis is not installed: pip install -e 'adapters/http[test]'")
    return [found]


def _run(url: str, config: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*_schemathesis(), "--config-file", str(config), "run", f"{url}/openapi.json",
         "--checks", CHECKS, "--workers", "1", "--no-color", "--seed", "20261120",
         "--generation-database", "none", *extra],
        capture_output=True, text=True, timeout=600)


def test_every_operation_matches_the_document(core: Callable[..., Any],
                                              serve: Callable[..., Any],
                                              key: Callable[..., Any], tmp_path: Path) -> None:
    app = core(http={"public_rate_per_minute": 10_000})
    app.imaging.ingest([exam_event("CT20261120-0042", "started", NOW, modality="CT")])
    served = serve(app)
    headers = key(app)
    case = served.client.post("/v1/cases", json=complaint_draft(exam_links=[
        {"accession_number": "CT20261120-0042"}]), headers=headers).json()["case"]
    token = served.client.post("/v1/public/complaints", json={
        "subject": "s", "message": "m"}).json()["status_token"]
    config = tmp_path / "schemathesis.toml"
    config.write_text(
        "[parameters]\n"
        f'"path.reference" = "{case["reference"]}"\n'
        f'"path.token" = "{token}"\n'
        '"path.accession" = "CT20261120-0042"\n', encoding="utf-8")
    signed_in = _run(served.url, config, "--header", f"X-API-Key: {headers['X-API-Key']}",
                     "--phases", "coverage,fuzzing", "--max-examples", "4")
    assert signed_in.returncode == 0, signed_in.stdout[-6000:]
    assert "passed" in signed_in.stdout
    anonymous = _run(served.url, config, "--phases", "coverage,fuzzing", "--max-examples", "2")
    assert anonymous.returncode == 0, anonymous.stdout[-6000:]

"""schemas/ holds the generated JSON Schemas; they must match the models."""

from __future__ import annotations

from pathlib import Path

import pytest

from hospital_complaints.schemas import json_schemas, render

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


@pytest.mark.parametrize("name,schema", sorted(json_schemas().items()))
def test_committed_schema_is_current(name, schema):
    path = SCHEMAS / f"{name}.schema.json"
    assert path.exists(), f"missing {path}; run: hospital-complaints schemas --out schemas"
    assert path.read_text(encoding="utf-8") == render(schema), (
        f"{path.name} is stale; run: hospital-complaints schemas --out schemas")


def test_draft_schema_forbids_unknown_fields():
    schema = json_schemas()["complaint-draft"]
    assert schema["additionalProperties"] is False
    assert "received_at" in schema["required"]

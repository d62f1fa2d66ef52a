"""Our CodeSystems/ValueSets/Questionnaire: generated from the taxonomy, committed, valid."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hospital_complaints.domain import taxonomy as tx

from hc_fhir.terminology import render, terminology_files
from hc_fhir.validate import resource_issues

SCHEMAS = Path(__file__).resolve().parents[3] / "schemas" / "fhir"


def test_committed_terminology_is_current() -> None:
    expected = terminology_files()
    committed = {p.name for p in SCHEMAS.glob("*.json")}
    assert committed == set(expected), "run: python -m hc_fhir terminology schemas/fhir"
    for name, resource in expected.items():
        assert (SCHEMAS / name).read_text(encoding="utf-8") == render(resource), (
            f"{name} is stale; run: python -m hc_fhir terminology schemas/fhir")


def test_categories_carry_zh_and_en() -> None:
    cs = terminology_files()["CodeSystem-complaint-category.json"]
    by_code = {c["code"]: c for c in cs["concept"]}
    assert set(by_code) == {c.value for c in tx.Category}
    eq = by_code["equipment_fault"]["designation"]
    assert {"language": "zh", "value": "设备故障"} in eq
    assert {"language": "en", "value": "equipment fault"} in eq


@pytest.mark.parametrize("name", sorted(terminology_files()))
def test_terminology_valid_fhir_resources(name: str) -> None:
    version = "R5" if name.endswith(".R5.json") else "R4"
    assert resource_issues(terminology_files()[name], version) == []


def test_terminology_passes_js_validators(js_errors: Callable[[Any], list[Any]]) -> None:
    for name, res in terminology_files().items():
        if name.endswith(".R5.json"):
            continue  # the JS validators know R4 only
        assert js_errors(json.loads(json.dumps(res))) == [], name

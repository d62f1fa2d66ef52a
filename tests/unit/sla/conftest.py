"""Fixtures of the SLA tests: the built-in policies and fresh calendars (no site files)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hospital_complaints.sla import Calendars, PolicyRegistry, builtin_policies

EXAMPLE_2027 = Path(__file__).parents[3] / "examples" / "calendars" / "cn-2027.illustrative.json"


@pytest.fixture
def registry() -> PolicyRegistry:
    return PolicyRegistry(builtin_policies())


@pytest.fixture
def calendars(monkeypatch: pytest.MonkeyPatch) -> Calendars:
    monkeypatch.delenv("HC_CALENDAR_DIR", raising=False)
    return Calendars()


@pytest.fixture
def official_2027(tmp_path: Path) -> Path:
    """The example file as a site would keep it once transcribed: status 'official'.

    (Its dates are the example's, which is all these tests need: they check that a loaded
    official year is used and clears the provisional flag.)"""
    data = json.loads(EXAMPLE_2027.read_text(encoding="utf-8"))
    data["status"] = "official"
    data["source"] = "test transcription"
    path = tmp_path / "cn-2027.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path

"""Helpers shared by the tests (importable as ``support``; pytest puts tests/ on the path)."""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=TZ)


def require_peer(name: str, why: str) -> None:
    """Skip when a real peer is missing, or fail when CI says peers must be there."""
    message = f"peer {name} is not available: {why}"
    if os.environ.get("HC_REQUIRE_PEERS") == "1":
        pytest.fail(message + " (HC_REQUIRE_PEERS=1: CI requires every peer)")
    pytest.skip(message)


def draft(**overrides: Any) -> dict[str, Any]:
    """A valid front-desk complaint about a CT exam; override any field."""
    data: dict[str, Any] = {
        "channel": "front_desk",
        "received_at": "2026-11-20T08:30:00+08:00",
        "complainant": {"role": "patient", "name": "张三丰", "phone": "13812345678",
                        "id_number": "110101199001011234", "consent_to_contact": True},
        "patient": {"patient_id": "P0099", "name": "张三丰"},
        "subject": "CT 等待太久",
        "description": "在 CT 室等了两个小时",
    }
    data.update(overrides)
    return data


def grants_for(cases: Any) -> dict[str, Any]:
    """Reveal grants for the given cases, for unit tests of export mappings. In the product a
    grant comes only from ``service.reveal_many(refs, viewer, purpose)``, which decides and
    records each case."""
    from hospital_complaints.services.access import RevealGrant

    return {c.reference: RevealGrant(c.reference, "test", "test", "test") for c in cases}

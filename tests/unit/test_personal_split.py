"""Personal values leave an event's payload as markers, and the caller's payload is untouched."""

from __future__ import annotations

import copy
import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from hospital_complaints import FixedClock, Settings, build_service
from hospital_complaints.storage.sql.crypto import MARKER, merge_personal, split_personal

DRAFT = {
    "channel": "front_desk", "received_at": "2026-11-21T10:05:00+08:00",
    "complainant": {"role": "relative", "name": "周建华", "phone": "13700001234",
                    "relationship_to_patient": "女儿", "consent_to_contact": True},
    "patient": {"patient_id": "P20261121-007", "name": "周秀英"},
    "subject": "MR 预约改了三次", "description": "两次到了现场才被告知机器维修。",
    "exam_links": [{"accession_number": "MR20261118-0002", "modality": "MR"}],
}


def registered_payload() -> dict[str, Any]:
    service = build_service(Settings.from_env(), clock=FixedClock(
        datetime(2026, 11, 21, 12, 0, tzinfo=ZoneInfo("Asia/Shanghai"))))
    case = service.register(DRAFT, actor="clerk")
    event = case.events[0]
    assert event.type == "complaint_registered"
    return event.payload


def test_personal_values_become_markers_and_the_payload_is_not_changed() -> None:
    payload = registered_payload()
    before = copy.deepcopy(payload)
    redacted, values = split_personal("complaint_registered", payload)
    assert payload == before  # the case in memory keeps its values
    text = json.dumps(redacted, ensure_ascii=False)
    for secret in ("周建华", "13700001234", "周秀英", "P20261121-007"):
        assert secret not in text
        assert secret in values
    assert json.dumps(redacted).count(MARKER) == len(values)
    assert merge_personal(redacted, values, "test") == payload
    # what is not on the way to a marker is shared, not copied
    assert redacted["complaint"]["exam_links"] is payload["complaint"]["exam_links"]
    assert redacted["suggestions"] is payload["suggestions"]
    assert redacted["complaint"]["complainant"] is not payload["complaint"]["complainant"]


def test_the_stored_text_is_what_earlier_releases_wrote() -> None:
    """The payload column holds the same JSON as when the whole payload was copied through
    JSON and the markers set in the copy (databases written before read the same)."""
    payload = registered_payload()
    redacted, values = split_personal("complaint_registered", payload)
    earlier = json.loads(json.dumps(payload))
    for i, path in enumerate([("complaint", "complainant", "name"),
                              ("complaint", "complainant", "phone"),
                              ("complaint", "patient", "patient_id"),
                              ("complaint", "patient", "name")]):
        target = earlier
        for step in path[:-1]:
            target = target[step]
        assert target[path[-1]] == values[i]
        target[path[-1]] = {MARKER: i}
    assert json.dumps(redacted, ensure_ascii=False, sort_keys=True) == json.dumps(
        earlier, ensure_ascii=False, sort_keys=True)

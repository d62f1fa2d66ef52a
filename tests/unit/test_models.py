"""Models are strict, and their errors say the field, the value and what is allowed."""

from __future__ import annotations

import pytest
from support import draft

from hospital_complaints import ComplaintDraft, InvalidInput
from hospital_complaints.domain.validation import parse


def problems(data: dict) -> InvalidInput:
    with pytest.raises(InvalidInput) as info:
        parse(ComplaintDraft, data, "complaint")
    return info.value


def test_valid_draft_parses_and_keeps_timezone():
    d = parse(ComplaintDraft, draft())
    assert d.received_at.utcoffset().total_seconds() == 8 * 3600
    assert d.channel.value == "front_desk"


def test_unknown_field_is_rejected_by_name():
    err = problems(draft(colour="blue"))
    assert [p.field for p in err.problems] == ["colour"]
    assert "colour" in str(err) and "'blue'" in str(err) and "unknown field" in str(err)
    assert "不允许的字段" in str(err)


def test_naive_datetime_is_rejected_with_an_example():
    err = problems(draft(received_at="2026-11-20T08:30:00"))
    assert err.problems[0].field == "received_at"
    assert "timezone-aware" in str(err) and "+08:00" in str(err)
    assert "时区" in str(err)


def test_bad_channel_lists_allowed_values():
    err = problems(draft(channel="fax"))
    text = str(err)
    assert "channel" in text and "'fax'" in text
    for allowed in ("front_desk", "hotline", "web_form", "voicemail", "hotline_platform"):
        assert allowed in text


def test_every_bad_field_is_reported_at_once():
    err = problems(draft(channel="fax", severity=7, kind="rumour"))
    assert {p.field for p in err.problems} == {"channel", "severity", "kind"}


def test_anonymous_complainant_cannot_carry_a_name():
    err = problems(draft(complainant={"role": "anonymous", "name": "李四"}))
    assert "anonymous" in str(err) and "匿名" in str(err)


def test_consent_to_contact_needs_a_way_to_contact():
    err = problems(draft(complainant={"role": "patient", "name": "李四",
                                      "consent_to_contact": True}))
    assert "consent_to_contact" in str(err)


def test_transferred_case_names_its_source():
    err = problems(draft(channel="hotline_platform"))
    assert "transferred_from" in str(err)
    assert parse(ComplaintDraft, draft(channel="hotline_platform",
                                       transferred_from="12320")).transferred_from == "12320"


def test_exam_link_needs_an_identifier():
    err = problems(draft(exam_links=[{"modality": "CT"}]))
    assert "accession_number" in str(err)


def test_exam_link_normalises_modality_and_checks_uid():
    d = parse(ComplaintDraft, draft(exam_links=[{"accession_number": "A1", "modality": "ct",
                                                 "study_instance_uid": "1.2.840.1"}]))
    assert d.exam_links[0].modality == "CT"
    err = problems(draft(exam_links=[{"study_instance_uid": "1.2.abc"}]))
    assert "study_instance_uid" in str(err)


def test_attachment_keeps_reference_and_sha256():
    sha = "A" * 64
    d = parse(ComplaintDraft, draft(attachments=[{"reference": "blob:1", "sha256": sha}]))
    assert d.attachments[0].sha256 == "a" * 64
    assert "sha256" in str(problems(draft(attachments=[{"reference": "x", "sha256": "nothex"}])))


def test_severity_and_harm_ranges():
    assert parse(ComplaintDraft, draft(severity=3, harm=5)).harm == 5
    err = problems(draft(severity=4, harm=6))
    assert {p.field for p in err.problems} == {"severity", "harm"}


def test_categories_are_deduplicated():
    d = parse(ComplaintDraft, draft(categories=["equipment_fault", "equipment_fault"]))
    assert [c.value for c in d.categories] == ["equipment_fault"]


def test_models_are_immutable():
    d = parse(ComplaintDraft, draft())
    with pytest.raises(Exception, match="frozen"):
        d.subject = "changed"  # type: ignore[misc]


def test_json_input_is_accepted():
    import json

    assert parse(ComplaintDraft, json.dumps(draft())).subject == "CT 等待太久"


FIRST_USE_IN_THREADS = """
import sys, threading
from concurrent.futures import ThreadPoolExecutor
from hospital_complaints.domain.base import DEFER_BUILD
from hospital_complaints.domain.complaint import ComplaintDraft
draft = {"channel": "front_desk", "received_at": "2026-11-20T08:30:00+08:00",
         "complainant": {"role": "patient", "name": "张三", "phone": "13812345678",
                         "consent_to_contact": True},
         "subject": "CT 检查等待", "description": "等了两个小时。"}
start = threading.Barrier(16)
def first_use(_):
    start.wait()
    return ComplaintDraft.model_validate(draft).subject
with ThreadPoolExecutor(16) as pool:
    assert set(pool.map(first_use, range(16))) == {"CT 检查等待"}
print(DEFER_BUILD)
"""


def test_models_built_on_first_use_are_built_once_for_threads_that_start_together():
    """Domain models are built on first use (start-up time) only where pydantic builds them
    under a lock: a server's threads that first use a model together all get it whole."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", FIRST_USE_IN_THREADS], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() in {"True", "False"}

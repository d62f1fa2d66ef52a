"""Revealing identity is decided by a hook and audited; attachments are checked and stored."""

from __future__ import annotations

import pytest
from support import draft

from hospital_complaints import AccessDenied, InvalidInput, hookimpl
from hospital_complaints.plugins.builtin import default_access
from hospital_complaints.plugins.types import Viewer

OFFICER = Viewer(user="wang", roles=frozenset({"patient_relations"}), department="医患办")
DISCIPLINE = Viewer(user="zhou", roles=frozenset({"discipline_inspection"}), department="纪检")
PDF = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n"


@pytest.fixture
def svc(service):
    service.plugins.register(default_access, name="default_access")
    return service


def test_officer_sees_identity_and_the_reveal_is_audited(svc):
    ref = svc.register(draft(), actor="x").reference
    shown = svc.reveal_identity(ref, OFFICER, "call back about the CT delay")
    assert shown["complainant"]["name"] == "张三丰" and shown["patient"]["patient_id"] == "P0099"
    last = svc.get(ref).events[-1]
    assert (last.type, last.actor, last.reason) == ("identity_revealed", "wang",
                                                    "call back about the CT delay")
    assert last.payload["decided_by"] == "default_access"


def test_someone_without_a_role_is_refused_and_the_attempt_is_audited(svc):
    ref = svc.register(draft(), actor="x").reference
    version = svc.get(ref).version
    with pytest.raises(AccessDenied, match="default_access") as info:
        svc.reveal_identity(ref, Viewer(user="tech7", department="CT"), "curious")
    assert "recorded" in info.value.en and "已记录" in str(info.value)
    case = svc.get(ref)
    assert case.version == version + 1
    last = case.events[-1]
    assert (last.type, last.actor, last.reason) == ("identity_reveal_refused", "tech7", "curious")
    assert last.payload["decided_by"] == "default_access"
    assert last.payload["viewer_department"] == "ct"  # the registry's id, not the text given


def test_a_purpose_is_required(svc):
    ref = svc.register(draft(), actor="x").reference
    with pytest.raises(InvalidInput, match="purpose"):
        svc.reveal_identity(ref, OFFICER, "  ")


def test_whistleblower_identity_never_reaches_the_department_concerned(svc):
    ref = svc.register(draft(kind="report", concerns_department="超声科"), actor="x").reference

    class GenerousPlugin:  # even a plugin that says yes cannot override the rule
        @hookimpl
        def hc_can_reveal_identity(self, viewer, complaint):
            return True

    svc.plugins.register(GenerousPlugin(), name="generous")
    head_of_us = Viewer(user="us-head", roles=frozenset({"discipline_inspection"}),
                        department="超声科")
    with pytest.raises(AccessDenied, match="never revealed to the department") as info:
        svc.reveal_identity(ref, head_of_us, "who reported us?")
    assert "举报人身份不得向被举报科室披露" in str(info.value)
    assert svc.get(ref).events[-1].payload["decided_by"] == "whistle-blower rule"


def test_report_identity_only_for_discipline_inspection(svc):
    ref = svc.register(draft(kind="report", concerns_department="超声科"), actor="x").reference
    with pytest.raises(AccessDenied):
        svc.reveal_identity(ref, OFFICER, "routine")
    assert svc.reveal_identity(ref, DISCIPLINE, "investigate the report")["complainant"]


def test_reveal_cannot_be_forged_through_execute(svc):
    ref = svc.register(draft(), actor="x").reference
    with pytest.raises(InvalidInput, match="reveal_identity"):
        svc.execute(ref, ("reveal_identity", {"viewer": "me", "purpose": "x",
                                              "decided_by": "me"}), actor="me")


def test_attachment_is_stored_by_hash_and_recorded(svc):
    ref = svc.register(draft(), actor="x").reference
    event = svc.attach(ref, PDF, "invoice.pdf", actor="clerk")
    attachment = svc.get(ref).complaint.attachments[0]
    assert attachment.media_type == "application/pdf" and attachment.size_bytes == len(PDF)
    assert svc.blobs.get(attachment.reference) == PDF
    assert event.type == "attachment_added"


def test_attachment_type_is_sniffed_not_trusted_from_the_name(svc):
    ref = svc.register(draft(), actor="x").reference
    with pytest.raises(InvalidInput) as info:
        svc.attach(ref, b"MZ\x90\x00\x03\x00\x00\x00binary", "photo.jpg", actor="clerk")
    assert "photo.jpg" in str(info.value) and "PDF" in str(info.value)
    assert svc.get(ref).complaint.attachments == []


def test_attachment_size_limit(svc):
    ref = svc.register(draft(), actor="x").reference
    svc.max_attachment_bytes = 1000
    with pytest.raises(InvalidInput, match="at most 1,000 bytes"):
        svc.attach(ref, b"%PDF-" + b"0" * 2000, "big.pdf", actor="clerk")


def test_same_file_twice_is_refused(svc):
    ref = svc.register(draft(), actor="x").reference
    svc.attach(ref, PDF, "a.pdf", actor="clerk")
    with pytest.raises(Exception, match="already attached"):
        svc.attach(ref, PDF, "b.pdf", actor="clerk")


def test_opening_an_attachment_is_decided_and_audited_like_identity(svc):
    ref = svc.register(draft(kind="report", concerns_department="超声科"), actor="x").reference
    svc.attach(ref, PDF, "letter.pdf", actor="clerk")
    sha = svc.get(ref).complaint.attachments[0].sha256
    with pytest.raises(AccessDenied, match="recorded"):
        svc.read_attachment(ref, sha, Viewer(user="us-head", department="超声科",
                                             roles=frozenset({"discipline_inspection"})),
                            "who wrote this?")
    assert svc.get(ref).events[-1].type == "attachment_view_refused"
    attachment, chunks = svc.read_attachment(ref, sha, DISCIPLINE, "investigate")
    assert b"".join(chunks) == PDF and attachment.filename == "letter.pdf"
    last = svc.get(ref).events[-1]
    assert (last.type, last.payload["sha256"]) == ("attachment_viewed", sha)
    with pytest.raises(InvalidInput, match="view_attachment"):
        svc.execute(ref, ("view_attachment", {}), actor="x")

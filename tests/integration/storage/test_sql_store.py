"""The SQL store behaves like the in-memory store, on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import pytest
from support import draft

from hospital_complaints import Acknowledge, ConcurrencyConflict, NotFound
from hospital_complaints.storage.base import DuplicateIntake
from hospital_complaints.storage.sql import verify_chain

ACK = Acknowledge(method="phone", message="已收到 received")


def test_register_get_and_list(store, service_for):
    svc = service_for(store)
    case = svc.register(draft(), actor="clerk:wang")
    assert case.reference == "HC-20261120-0001"
    assert svc.register(draft(), actor="x").reference == "HC-20261120-0002"
    loaded = svc.get(case.reference)
    assert loaded.events == case.events
    assert loaded.complaint.complainant.name == "张三丰"
    assert [c.reference for c in svc.iter_cases()] == ["HC-20261120-0001", "HC-20261120-0002"]
    assert len(svc.list_cases(open_only=True)) == 2
    with pytest.raises(NotFound):
        svc.get("HC-19990101-0001")


def test_commands_append_events(store, service_for):
    svc = service_for(store)
    ref = svc.register(draft(), actor="x").reference
    svc.execute(ref, ACK, actor="clerk")
    case = svc.get(ref)
    assert [e.type for e in case.events][-1] == "acknowledged"
    assert case.state.value == "acknowledged"
    assert verify_chain(store) == []


def test_stale_version_conflicts_and_saves_nothing(store, service_for):
    svc = service_for(store)
    ref = svc.register(draft(), actor="x").reference
    with store.unit_of_work() as first, store.unit_of_work() as second:
        a = first.cases.get(ref)
        b = second.cases.get(ref)
        from hospital_complaints.domain import workflow
        workflow.handle(a, ACK, "a", a.events[-1].at)
        workflow.handle(b, ACK, "b", b.events[-1].at)
        first.commit()
        with pytest.raises(ConcurrencyConflict, match="version"):
            second.commit()
    case = svc.get(ref)
    assert case.events[-1].actor == "a"
    assert verify_chain(store) == []


def test_idempotency_key_returns_first_case(store, service_for):
    svc = service_for(store)
    first = svc.register(draft(), actor="x", idempotency_key="ticket-1")
    again = svc.register(draft(), actor="x", idempotency_key="ticket-1")
    assert again.reference == first.reference
    assert len(svc.list_cases()) == 1


def test_duplicate_key_in_commit_raises_duplicate_intake(store, service_for):
    svc = service_for(store)
    ref = svc.register(draft(), actor="x", idempotency_key="k").reference
    from hospital_complaints.domain import workflow
    from hospital_complaints.domain.commands import RegisterComplaint
    from hospital_complaints.domain.complaint import ComplaintDraft
    with store.unit_of_work() as uow:
        case = workflow.start("HC-20261120-0099", RegisterComplaint(
            complaint=ComplaintDraft.model_validate(draft())), "x", svc.clock.now())
        uow.cases.add(case, idempotency_key="k")
        with pytest.raises(DuplicateIntake) as info:
            uow.commit()
    assert info.value.reference == ref
    assert len(svc.list_cases()) == 1


def test_notification_failures_are_stored(store, service_for):
    from hospital_complaints.plugins.types import NotificationFailure
    svc = service_for(store)
    ref = svc.register(draft(), actor="x").reference
    failure = NotificationFailure(complaint_ref=ref, event_id="e1", event_type="t",
                                  plugin="sms", error="boom", at=svc.clock.now())
    with store.unit_of_work() as uow:
        uow.record_notification_failure(failure)
    assert svc.notification_failures(ref) == [failure]
    assert svc.notification_failures("other") == []


def test_register_many_in_batches(store, service_for):
    service = service_for(store)
    refs = service.register_many([draft(subject=f"批量 {i}") for i in range(25)],
                                 actor="backfill", batch_size=10)
    assert len(set(refs)) == 25 and refs[0] == "HC-20261120-0001"
    assert refs[-1] == "HC-20261120-0025"
    assert len(service.list_cases()) == 25
    assert service.register(draft(), actor="x").reference == "HC-20261120-0026"

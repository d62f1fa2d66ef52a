"""The transactional outbox: a crash after commit loses no notification; a rollback sends none."""

from __future__ import annotations

from support import NOW, draft

from hospital_complaints import Acknowledge, hookimpl
from hospital_complaints.domain import workflow

ACK = Acknowledge(method="phone", message="received")


class Recorder:
    def __init__(self) -> None:
        self.seen: list[str] = []

    @hookimpl
    def hc_after_event(self, event):
        self.seen.append(f"{event.complaint_ref}:{event.seq}:{event.type}")


def test_pending_notification_is_delivered_once(store, service_for):
    service = service_for(store)
    ref = service.register(draft(), actor="clerk").reference
    with store.unit_of_work() as uow:
        workflow.handle(uow.cases.get(ref), ACK, "clerk", NOW)
        uow.commit()
    recorder = Recorder()
    service.plugins.register(recorder, name="recorder")
    assert service.dispatch_pending() == 1
    assert recorder.seen == [f"{ref}:3:acknowledged"]
    assert service.dispatch_pending() == 0
    assert recorder.seen == [f"{ref}:3:acknowledged"]


def test_rolled_back_change_never_notifies(store, service_for):
    service = service_for(store)
    ref = service.register(draft(), actor="clerk").reference
    with store.unit_of_work() as uow:
        workflow.handle(uow.cases.get(ref), ACK, "clerk", NOW)
        # leaving without commit rolls back
    recorder = Recorder()
    service.plugins.register(recorder, name="recorder")
    assert service.dispatch_pending() == 0 and recorder.seen == []
    assert service.get(ref).version == 2

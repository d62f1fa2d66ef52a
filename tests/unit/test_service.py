"""The service facade: atomic commands, idempotent intake, conflicts, notifications, privacy."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from support import NOW, draft

from hospital_complaints import (
    Acknowledge,
    ConcurrencyConflict,
    GuardFailed,
    HCPluginManager,
    IllegalTransition,
    InvalidInput,
    NotFound,
    Settings,
    build_service,
    hookimpl,
)
from hospital_complaints.plugins.builtin import default_routing
from hospital_complaints.services.views import PROTECTED

ACK = Acknowledge(method="phone", message="已收到 received")


def test_register_assigns_reference_and_routes(service):
    case = service.register(draft(), actor="clerk:wang")
    assert case.reference == "HC-20261120-0001"
    assert case.state.value == "registered"
    assert case.complaint.department == default_routing.PATIENT_RELATIONS
    assert [e.type for e in case.events] == ["complaint_registered", "assigned"]
    assert case.events[1].actor == "system:routing"
    assert service.register(draft(), actor="x").reference == "HC-20261120-0002"


def test_reference_day_follows_the_configured_zone(service):
    # 23:30 UTC on the 19th is 07:30 on the 20th in Beijing
    case = service.register(draft(received_at="2026-11-19T23:30:00+00:00"), actor="x")
    assert case.reference.startswith("HC-20261120-")


def test_reference_prefix_is_configurable(clock, plugins):
    svc = build_service(Settings(reference_prefix="RAD"), clock=clock, plugins=plugins)
    assert svc.register(draft(), actor="x").reference.startswith("RAD-")


def test_future_received_time_is_rejected(service):
    with pytest.raises(InvalidInput, match="received_at"):
        service.register(draft(received_at=(NOW + timedelta(hours=2)).isoformat()), actor="x")
    assert service.list_cases() == []


def test_failed_command_leaves_no_partial_state(service):
    ref = service.register(draft(), actor="x").reference
    before = service.get(ref).version
    with pytest.raises(IllegalTransition):
        service.execute(ref, ("close", {}), actor="x")
    with pytest.raises(InvalidInput):
        service.execute(ref, ("acknowledge", {"method": "pigeon", "message": "m"}), actor="x")
    with pytest.raises(GuardFailed):
        service.execute(ref, ("acknowledge", {"method": "phone", "message": "m"}), actor="x")
        service.execute(ref, ("start_investigation", {"team": [{"name": "a", "role": "qc"}]}),
                        actor="x")
        service.execute(ref, ("plan_action", {"type": "training", "description": "d",
                                              "owner": "o", "due": "2020-01-01"}), actor="x")
    assert service.get(ref).version == before + 2  # ack + investigation, not the bad action


def test_commands_by_name_and_unknown_names(service):
    ref = service.register(draft(), actor="x").reference
    event = service.execute(ref, ("acknowledge", {"method": "sms", "message": "收到"}),
                            actor="clerk")
    assert event.type == "acknowledged"
    with pytest.raises(InvalidInput) as info:
        service.execute(ref, ("aknowledge", {}), actor="clerk")
    assert "acknowledge" in str(info.value)  # lists the valid names


def test_unknown_reference_is_a_clear_error(service):
    with pytest.raises(NotFound, match="HC-19990101-0001"):
        service.execute("HC-19990101-0001", ACK, actor="x")


def test_idempotent_intake_returns_the_first_case(service):
    a = service.register(draft(), actor="x", idempotency_key="ticket-1")
    b = service.register(draft(subject="retry"), actor="x", idempotency_key="ticket-1")
    assert a.reference == b.reference and b.complaint.subject == "CT 等待太久"
    assert len(service.list_cases()) == 1


def test_idempotent_intake_under_concurrent_retries(service):
    refs: list[str] = []
    barrier = threading.Barrier(8)

    def submit() -> None:
        barrier.wait()
        refs.append(service.register(draft(), actor="x", idempotency_key="web-77").reference)

    threads = [threading.Thread(target=submit) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(refs)) == 1 and len(service.list_cases()) == 1


def test_second_clerk_gets_a_conflict_and_nothing_is_lost(service):
    ref = service.register(draft(), actor="x").reference
    seen_version = service.get(ref).version
    service.execute(ref, ACK, actor="clerk-a", expected_version=seen_version)
    with pytest.raises(ConcurrencyConflict, match="someone else") as info:
        service.execute(ref, ("assign", {"department": "CT"}), actor="clerk-b",
                        expected_version=seen_version)
    assert "未保存" in str(info.value)
    assert [e.actor for e in service.get(ref).events][-1] == "clerk-a"


def test_concurrent_units_of_work_conflict(service):
    ref = service.register(draft(), actor="x").reference
    uow_a, uow_b = service._uow_factory(), service._uow_factory()
    with uow_a, uow_b:
        from hospital_complaints.domain import workflow

        case_a, case_b = uow_a.cases.get(ref), uow_b.cases.get(ref)
        workflow.handle(case_a, ACK, "a", NOW)
        workflow.handle(case_b, ACK, "b", NOW)
        uow_a.commit()
        with pytest.raises(ConcurrencyConflict):
            uow_b.commit()
    assert [e.actor for e in service.get(ref).events][-1] == "a"


class Recorder:
    def __init__(self) -> None:
        self.events = []

    @hookimpl
    def hc_after_event(self, event, case):
        self.events.append((event, case))


class Broken:
    @hookimpl
    def hc_after_event(self, event):
        raise ConnectionError("SMTP server 10.0.0.25 refused")


def test_failing_notifier_never_loses_the_case(service):
    recorder = Recorder()
    service.plugins.register(recorder, name="recorder")
    service.plugins.register(Broken(), name="broken_mailer")
    case = service.register(draft(), actor="x")
    service.execute(case.reference, ACK, actor="x")
    assert service.get(case.reference).version == 3  # registered, assigned, acknowledged
    assert [e.type for e, _ in recorder.events] == ["complaint_registered", "assigned",
                                                    "acknowledged"]
    failures = service.notification_failures(case.reference)
    assert [f.plugin for f in failures] == ["broken_mailer"] * 3
    assert "SMTP server" in failures[0].error and failures[0].event_type == "complaint_registered"


def test_notifications_carry_no_plaintext_identity(service):
    recorder = Recorder()
    service.plugins.register(recorder, name="recorder")
    service.register(draft(), actor="x")
    text = repr(recorder.events)
    for secret in ("张三丰", "13812345678", "110101199001011234", "P0099"):
        assert secret not in text
    assert "138****5678" in text


def test_listing_masks_identity(service):
    service.register(draft(), actor="x")
    [summary] = service.list_cases()
    assert summary.complainant == "patient: 张** 138****5678"
    assert "张三丰" not in summary.model_dump_json()
    assert "P0099" not in summary.model_dump_json()


def test_history_is_masked(service):
    ref = service.register(draft(), actor="x").reference
    text = repr(service.history(ref))
    assert "张三丰" not in text and "13812345678" not in text


def test_whistleblower_is_protected_and_routed_away(service):
    case = service.register(draft(kind="report", department=None), actor="x")
    assert case.complaint.department == default_routing.DISCIPLINE
    [summary] = service.list_cases()
    assert summary.complainant == PROTECTED
    recorder = Recorder()
    service.plugins.register(recorder, name="recorder")
    service.execute(case.reference, ACK, actor="x")
    assert "张" not in repr(service.history(case.reference)[0].payload["complaint"]["complainant"])


def test_intake_web_form_and_hotline(service):
    web = service.intake("web_form", {"submitted_at": "2026-11-20T07:00:00+08:00",
                                      "anonymous": True, "message": "MR 预约要等多久？"},
                         actor="web")
    assert web.complaint.channel.value == "web_form"
    assert web.complaint.complainant.role.value == "anonymous"
    hot = service.intake("hotline_platform", {
        "ticket_id": "T-1", "platform": "12345", "accepted_at": "2026-11-20T08:00:00+08:00",
        "caller_name": "王五", "caller_phone": "13900000000", "title": "报告延迟",
        "content": "报告三天没出"}, actor="12345")
    assert hot.complaint.transferred_from == "12345" and hot.complaint.external_id == "T-1"


def test_intake_of_unknown_channel_says_so(service):
    with pytest.raises(InvalidInput, match="no installed plugin normalises"):
        service.intake("fax", {}, actor="x")


def test_intake_with_bad_fields_names_them(service):
    with pytest.raises(InvalidInput, match="received_at"):
        service.intake("web_form", {"message": "hello"}, actor="x")


def test_service_works_without_any_plugin(clock):
    svc = build_service(Settings(), clock=clock, plugins=HCPluginManager())
    case = svc.register(draft(), actor="x")
    assert case.complaint.department is None and case.version == 1


def test_outbox_keeps_notifications_of_a_crash_after_commit(service):
    from hospital_complaints.domain import workflow

    ref = service.register(draft(), actor="x").reference
    with service._uow_factory() as uow:  # commit, then "crash" before dispatch
        workflow.handle(uow.cases.get(ref), ACK, "clerk", NOW)
        uow.commit()
    recorder = Recorder()
    service.plugins.register(recorder, name="recorder")
    assert service.dispatch_pending() == 1 and service.dispatch_pending() == 0
    assert [e.type for e, _ in recorder.events] == ["acknowledged"]


def test_register_many_numbers_per_day_and_validates_whole_batches(service):
    drafts = [draft(), draft(received_at="2026-11-19T10:00:00+08:00"), draft()]
    refs = service.register_many(drafts, actor="backfill", batch_size=2)
    assert refs == ["HC-20261120-0001", "HC-20261119-0001", "HC-20261120-0002"]
    assert len(service.list_cases()) == 3
    with pytest.raises(InvalidInput, match="complaint #2"):
        service.register_many([draft(), draft(channel="fax")], actor="backfill")
    assert len(service.list_cases()) == 3  # the bad batch stored nothing


def test_extension_must_fit_the_policy(clock, plugins):
    from hospital_complaints.sla import DeadlineError

    svc = build_service(Settings(sla_policy="cn-12320"), clock=clock, plugins=plugins)
    ref = svc.register(draft(), actor="x").reference
    version = svc.get(ref).version
    with pytest.raises(DeadlineError) as info:  # 12320: +30 days only with consent
        svc.execute(ref, ("extend_deadline", {"milestone": "close", "days": 30,
                                              "reason": "complex case"}), actor="clerk")
    assert "consent" in str(info.value)
    assert svc.get(ref).version == version
    with pytest.raises(DeadlineError):
        svc.execute(ref, ("extend_deadline", {"milestone": "close", "days": 45, "consent": True,
                                              "reason": "complex case"}), actor="clerk")
    svc.execute(ref, ("extend_deadline", {"milestone": "close", "days": 30, "consent": True,
                                          "reason": "complex case"}), actor="clerk")
    assert svc.get(ref).extensions[0].days == 30


def test_deadline_alerts_are_recorded_once(clock, plugins):
    from hospital_complaints.sla import Alert

    svc = build_service(Settings(), clock=clock, plugins=plugins)
    ref = svc.register(draft(), actor="x").reference
    recorder = Recorder()
    svc.plugins.register(recorder, name="recorder")
    alert = Alert(ref, "acknowledge", "overdue", NOW, "imaging-dept", False)
    assert svc.record_deadline_alerts([alert, alert]) == 1
    assert svc.record_deadline_alerts([alert]) == 0
    assert [e.type for e, _ in recorder.events] == ["deadline_alert"]
    assert recorder.events[0][0].actor == "system:sla"


def test_notification_failure_log_never_quotes_the_exception_text(service, caplog):
    class LeakyMailer:
        @hookimpl
        def hc_after_event(self, event):
            raise RuntimeError("could not send SMS to 13812345678")

    service.plugins.register(LeakyMailer(), name="leaky_mailer")
    ref = service.register(draft(), actor="x").reference
    assert "leaky_mailer" in caplog.text and "RuntimeError" in caplog.text
    assert "13812345678" not in caplog.text
    assert "13812345678" in service.notification_failures(ref)[0].error  # kept for diagnosis

"""Security regressions: hook calls through pluggy, one audited access decision, departments
as identities. Each test here failed on release 0.1."""

from __future__ import annotations

import inspect
import io
from collections.abc import Generator
from typing import Any

import click
import pytest
from support import draft

from hospital_complaints import AccessDenied, HCPluginManager, PluginError, hookimpl
from hospital_complaints.domain.departments import (
    Department,
    DepartmentRegistry,
    departments_from_data,
    normalise,
)
from hospital_complaints.errors import ConfigError
from hospital_complaints.plugins import hookspecs
from hospital_complaints.plugins.builtin import default_access
from hospital_complaints.plugins.types import AccessDecision, Viewer

HOOK_NAMES = sorted(n for n, f in inspect.getmembers(hookspecs, inspect.isfunction)
                    if n.startswith("hc_"))
NOBODY = Viewer(user="visitor")
OFFICER = Viewer(user="wang", roles=frozenset({"patient_relations"}), department="医患办")
DISCIPLINE = Viewer(user="zhou", roles=frozenset({"discipline_inspection"}),
                    department="纪检监察室")


def _passthrough_wrapper_plugin(calls: list[str]) -> object:
    """A plugin with a new-style pass-through wrapper (``wrapper=True``) on every hook."""

    def make(name: str) -> Any:
        spec = getattr(hookspecs, name)
        params = list(inspect.signature(spec).parameters)

        def wrapper(**kwargs: Any) -> Generator[None, Any, Any]:
            calls.append(name)
            result = yield
            return result

        wrapper.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [inspect.Parameter(p, inspect.Parameter.KEYWORD_ONLY) for p in params])
        wrapper.__name__ = name
        return hookimpl(wrapper=True)(wrapper)

    return type("Wrappers", (), {n: staticmethod(make(n)) for n in HOOK_NAMES})()


class Notifier:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    @hookimpl
    def hc_after_event(self, event: Any, case: Any) -> None:
        self.seen.append((event.type, case.state))


def _run_everything(svc: Any) -> dict[str, Any]:
    """Use every hook through the service and the manager; return what a user would see."""
    pm: HCPluginManager = svc.plugins
    notifier = Notifier()
    pm.register(notifier, name="notifier")
    case = svc.intake("web_form", {"submitted_at": "2026-11-20T08:00:00+08:00", "name": "李四",
                                   "phone": "13811112222", "subject": "CT 预约",
                                   "message": "CT 预约太久", "accession_number": "A1"},
                      actor="web")
    report = svc.register(draft(kind="report", concerns_department="超声科"), actor="clerk")
    shown = svc.reveal_identity(case.reference, OFFICER, "call back")
    refused = []
    for ref, viewer in ((case.reference, NOBODY), (report.reference, OFFICER)):
        with pytest.raises(AccessDenied) as info:
            svc.reveal_identity(ref, viewer, "curious")
        refused.append(info.value.en)
    out = io.StringIO()
    pm.exporters()["jsonl"].export(svc.iter_cases(), out)
    group = click.Group("hc")
    pm.add_cli_commands(group)
    return {
        "routing": [svc.get(r).complaint.department for r in (case.reference,
                                                               report.reference)],
        "shown": shown, "refused": refused, "export": out.getvalue(),
        "policies": sorted(pm.sla_policies()), "exam_sources": sorted(pm.exam_sources()),
        "fault_sources": sorted(pm.fault_sources()), "checks": sorted(pm.integrity_checks()),
        "migrations": pm.migration_locations(), "commands": sorted(group.commands),
        "encrypted": sorted(pm.encrypted_data()), "settings": sorted(pm.plugin_settings()),
        "demo": pm.demo_exam_feed(None, []),
        "notifiers": sorted(pm.notifiers()), "contact": pm.exam_contact("A1"),
        "jobs": sorted(pm.jobs()),
        "reports": sorted(pm.reports()), "follow_up": sorted(pm.follow_up_sources()),
        "suggestions": pm.suggest_categories(case.complaint),
        "events": [(e.type, e.actor) for r in (case.reference, report.reference)
                   for e in svc.get(r).events],
        "notified": notifier.seen,
    }


@pytest.fixture
def svc(service: Any) -> Any:
    service.plugins.register(default_access, name="default_access")
    return service


def test_a_passthrough_wrapper_on_every_hook_changes_nothing(svc: Any,
                                                             service_factory: Any) -> None:
    before = _run_everything(svc)
    calls: list[str] = []
    wrapped = service_factory()
    wrapped.plugins.register(default_access, name="default_access")
    wrapped.plugins.register(_passthrough_wrapper_plugin(calls), name="wrappers")
    after = _run_everything(wrapped)
    for key in before:
        if key == "events":
            continue
        assert after[key] == before[key], key
    assert [t for t, _ in after["events"]] == [t for t, _ in before["events"]]
    # every hook really went through pluggy, wrapper included
    assert set(calls) >= set(HOOK_NAMES)


def test_an_audit_wrapper_around_the_access_hook_does_not_grant_access(svc: Any) -> None:
    """Regression: calling ``impl.function`` of a wrapper returned a (truthy) generator,
    which was taken as "allow" and showed the complainant to a viewer with no role."""
    seen: list[Any] = []

    class AuditWrapper:
        @hookimpl(wrapper=True)
        def hc_can_reveal_identity(self, viewer: Viewer) -> Generator[None, Any, Any]:
            answer = yield
            seen.append((viewer.user, answer))
            return answer

    svc.plugins.register(AuditWrapper(), name="audit")
    ref = svc.register(draft(), actor="clerk").reference
    with pytest.raises(AccessDenied):
        svc.reveal_identity(ref, NOBODY, "curious")
    assert seen and seen[0][0] == "visitor" and seen[0][1].allowed is False
    assert svc.get(ref).events[-1].type == "identity_reveal_refused"
    assert svc.reveal_identity(ref, OFFICER, "call back")["complainant"]["name"] == "张三丰"


def test_an_answer_that_is_not_a_decision_refuses_and_is_audited(svc: Any) -> None:
    class Sloppy:
        @hookimpl(tryfirst=True)
        def hc_can_reveal_identity(self) -> str:
            return "yes"

    svc.plugins.register(Sloppy(), name="sloppy")
    ref = svc.register(draft(), actor="clerk").reference
    with pytest.raises(AccessDenied, match="expected an AccessDecision"):
        svc.reveal_identity(ref, OFFICER, "call back")
    last = svc.get(ref).events[-1]
    assert last.type == "identity_reveal_refused"
    with pytest.raises(PluginError):
        svc.plugins.can_reveal_identity(OFFICER, svc.get(ref).complaint, "x")


def test_the_decision_names_who_decided(svc: Any) -> None:
    class Named:
        @hookimpl
        def hc_can_reveal_identity(self, viewer: Viewer) -> AccessDecision | None:
            if viewer.user == "auditor":
                return AccessDecision.allow("hospital_policy", "annual audit")
            return None

    svc.plugins.register(Named(), name="hospital_policy")
    ref = svc.register(draft(), actor="clerk").reference
    svc.reveal_identity(ref, Viewer(user="auditor", department="质控科"), "audit")
    payload = svc.get(ref).events[-1].payload
    assert payload["decided_by"] == "hospital_policy"
    assert payload["decision_reason"] == "annual audit"
    assert payload["viewer_department"] == "quality"


def test_trace_shows_every_hook_call(svc: Any, capsys: pytest.CaptureFixture[str],
                                     service_factory: Any) -> None:
    traced = service_factory(trace=True)
    traced.plugins.register(default_access, name="default_access")
    _run_everything(traced)
    err = capsys.readouterr().err
    for name in HOOK_NAMES:
        assert f"[hc-hooks] {name} ->" in err, name
    assert "13811112222" not in err and "李四" not in err  # never the arguments


# -- the whistle-blower rule on department ids --------------------------------------------------


@pytest.mark.parametrize("department", [
    "超声科", "超声科 ultrasound", "  超声科\u3000", "ＵＬＴＲＡＳＯＵＮＤ", "Ultrasound", "b超室",
])
def test_a_report_is_never_revealed_to_its_department_however_it_is_written(
        svc: Any, department: str) -> None:
    """Regression: the rule compared department strings, so "超声科" (or full-width text)
    did not match a report about "超声科 ultrasound" and the reporter was revealed."""
    ref = svc.register(draft(kind="report", concerns_department="超声科 ultrasound"),
                       actor="clerk").reference
    insider = Viewer(user="us-head", roles=frozenset({"discipline_inspection"}),
                     department=department)
    with pytest.raises(AccessDenied, match="never revealed to the department"):
        svc.reveal_identity(ref, insider, "who reported us?")
    assert svc.get(ref).events[-1].payload["decided_by"] == "whistle-blower rule"


@pytest.mark.parametrize("department", [None, "某个不存在的科室", "科"])
def test_a_report_is_refused_to_a_viewer_whose_department_is_unknown(
        svc: Any, department: str | None) -> None:
    ref = svc.register(draft(kind="report", concerns_department="超声科"),
                       actor="clerk").reference
    viewer = Viewer(user="x", roles=frozenset({"discipline_inspection"}), department=department)
    with pytest.raises(AccessDenied, match="department is known"):
        svc.reveal_identity(ref, viewer, "investigate")
    assert svc.reveal_identity(ref, DISCIPLINE, "investigate")["complainant"]


def test_a_report_about_a_department_is_refused_to_its_units_and_its_parent(svc: Any) -> None:
    about_imaging = svc.register(draft(kind="report", concerns_department="影像科"),
                                 actor="clerk").reference
    about_ct = svc.register(draft(kind="report", concerns_department="CT室"),
                            actor="clerk").reference
    ct_tech = Viewer(user="t", roles=frozenset({"discipline_inspection"}), department="CT 室")
    imaging_head = Viewer(user="h", roles=frozenset({"discipline_inspection"}),
                          department="放射科")
    for ref, viewer in ((about_imaging, ct_tech), (about_ct, imaging_head)):
        with pytest.raises(AccessDenied, match="never revealed"):
            svc.reveal_identity(ref, viewer, "x")


def test_a_report_about_an_unregistered_department_fails_closed(svc: Any) -> None:
    ref = svc.register(draft(kind="report", concerns_department="第三住院部"),
                       actor="clerk").reference
    with pytest.raises(AccessDenied, match="not in the department registry"):
        svc.reveal_identity(ref, DISCIPLINE, "investigate")


def test_normalise_and_resolve() -> None:
    reg = DepartmentRegistry.builtin()
    assert normalise(" ＣＴ\u3000室 ") == "ct 室"
    assert reg.resolve("超声科 ultrasound").id == "ultrasound"  # type: ignore[union-attr]
    assert reg.resolve("影像科 imaging department").id == "imaging"  # type: ignore[union-attr]
    assert reg.resolve("超声科 影像科") is None  # two departments: ambiguous, resolves to none
    assert reg.resolve(None) is None and reg.resolve("  ") is None
    assert reg.related("ct", "imaging") and not reg.related("ct", "ultrasound")


def test_a_site_registry_file_is_checked() -> None:
    good = departments_from_data({"departments": [
        {"id": "us2", "zh": "超声二科", "en": "ultrasound 2", "aliases": ["东院超声"]}]}, "f.json")
    assert good[0].aliases == ("东院超声",)
    with pytest.raises(ConfigError, match="unknown keys"):
        departments_from_data({"departments": [{"id": "a", "zh": "甲", "en": "a", "x": 1}]},
                              "f.json")
    with pytest.raises(ConfigError, match="already names"):
        DepartmentRegistry.of([Department("a", "甲科", "a dept"),
                               Department("b", "乙科", "b dept", aliases=("甲科",))])
    with pytest.raises(ConfigError, match="not listed"):
        DepartmentRegistry.of([Department("a", "甲科", "a dept", parent="nope")])

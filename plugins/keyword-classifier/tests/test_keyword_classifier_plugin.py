"""The plugin as hospital-complaints sees it: discovery, the hook, and the service.

These tests need the distribution installed (``pip install -e plugins/keyword-classifier``),
because discovery goes through its entry point.
"""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hospital_complaints import FixedClock, HCPluginManager, build_service
from hospital_complaints.domain.complaint import Complainant, Complaint
from hospital_complaints.domain.taxonomy import Category, Channel, ComplainantRole

import hc_keyword_classifier.plugin
from hc_keyword_classifier import KEYWORDS_FILE_ENV, SOURCE

SHANGHAI = ZoneInfo("Asia/Shanghai")
ENTRY_POINT = "keyword_classifier"
DISTRIBUTION = "hospital-complaints-keyword-classifier"
PRIVATE = "王小明 13812345678"  # stands for personal data that must never be logged


@pytest.fixture(autouse=True)
def _plain_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (KEYWORDS_FILE_ENV, "HC_DISABLE_PLUGINS", "HC_TRACE_HOOKS"):
        monkeypatch.delenv(name, raising=False)


def complaint(description: str, *, subject: str = "影像科投诉",
              demands: str | None = None) -> Complaint:
    return Complaint(
        channel=Channel.FRONT_DESK,
        received_at=datetime(2026, 11, 22, 9, 30, tzinfo=SHANGHAI),
        complainant=Complainant(role=ComplainantRole.PATIENT),
        subject=subject,
        description=description,
        demands=demands,
        reference="HC-20261122-0001",
    )


def test_hook_reads_subject_description_and_demands() -> None:
    c = complaint("检查时技师态度很凶", subject="CT机器坏了", demands="要求解释为什么拿不到报告")
    suggestions = hc_keyword_classifier.plugin.hc_suggest_categories(complaint=c, app=None)
    assert suggestions is not None
    assert {s.category: s.matched for s in suggestions} == {
        Category.EQUIPMENT_FAULT: ["机器", "坏了"],
        Category.SERVICE_ATTITUDE: ["态度", "凶"],
        Category.PROCESS_MANAGEMENT: ["拿不到报告"],
    }


def test_hook_abstains_when_nothing_matches() -> None:
    c = complaint("想咨询一下胸片的费用", subject="咨询")
    assert hc_keyword_classifier.plugin.hc_suggest_categories(complaint=c, app=None) is None


def test_installed_plugin_is_discovered_through_its_entry_point() -> None:
    pm = HCPluginManager()
    loaded = pm.load_entrypoints()
    assert ENTRY_POINT in loaded
    info = {p.name: p for p in pm.plugins()}[ENTRY_POINT]
    assert info.distribution == DISTRIBUTION
    assert info.hooks == ("hc_register_settings", "hc_suggest_categories")

    suggestions = pm.suggest_categories(complaint("MR排队等了三个小时"))
    ours = [s for s in suggestions if s.source == SOURCE]
    assert [(s.category, s.matched) for s in ours] == [
        (Category.PROCESS_MANAGEMENT, ["排队", "等了"])]


def test_blocked_plugin_is_not_loaded() -> None:
    pm = HCPluginManager(blocked={ENTRY_POINT})
    assert ENTRY_POINT not in pm.load_entrypoints()
    assert not pm.is_loaded(ENTRY_POINT)
    assert all(s.source != SOURCE for s in pm.suggest_categories(complaint("MR排队等了三个小时")))


def test_plugin_module_can_be_registered_directly() -> None:
    pm = HCPluginManager()
    pm.register(hc_keyword_classifier.plugin, name="kw-under-test")
    pm.check_pending()
    suggestions = pm.suggest_categories(complaint("The staff were rude", subject="Complaint"))
    assert [(s.category, s.source) for s in suggestions] == [
        (Category.SERVICE_ATTITUDE, SOURCE)]


def register_equipment_complaint() -> list[tuple[Category, str]]:
    service = build_service(clock=FixedClock(datetime(2026, 11, 22, 10, 0, tzinfo=SHANGHAI)))
    case = service.register({
        "channel": "front_desk",
        "received_at": "2026-11-22T09:30:00+08:00",
        "complainant": {"role": "patient", "name": "王小明", "phone": "13812345678",
                        "consent_to_contact": True},
        "subject": "CT检查延误",
        "description": f"CT机器坏了，我在CT室等了两个小时。{PRIVATE}",
        "demands": "要求医院给个说法",
    }, actor="clerk")
    return [(s.category, s.source) for s in case.suggestions]


def test_service_stores_the_suggestions_on_a_new_case() -> None:
    suggestions = register_equipment_complaint()
    assert (Category.EQUIPMENT_FAULT, SOURCE) in suggestions
    assert (Category.PROCESS_MANAGEMENT, SOURCE) in suggestions


def test_service_without_the_plugin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HC_DISABLE_PLUGINS", ENTRY_POINT)
    assert all(source != SOURCE for _, source in register_equipment_complaint())


def test_complaint_text_is_never_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    register_equipment_complaint()
    hc_keyword_classifier.plugin.hc_suggest_categories(complaint=complaint(PRIVATE), app=None)
    assert "王小明" not in caplog.text
    assert "13812345678" not in caplog.text

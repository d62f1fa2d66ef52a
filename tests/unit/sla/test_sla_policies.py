"""Built-in profiles, the registry, combinations and overrides."""

from __future__ import annotations

from dataclasses import replace

import pytest
from unit.sla.sla_support import cn

from hospital_complaints import HCPluginManager
from hospital_complaints.domain.taxonomy import Complexity, Milestone
from hospital_complaints.errors import ConfigError, PluginError
from hospital_complaints.plugins.builtin import sla_profiles as profiles
from hospital_complaints.sla import (
    Calendars,
    DeadlineRule,
    PolicyRegistry,
    SlaPolicy,
    Unit,
    builtin_policies,
    compose,
    deadlines,
    override,
    parse_duration,
)

BUILTIN_IDS = {"imaging-dept", "cn-nhc-2019", "cn-petition-2022", "cn-12320", "uk-nhs-2009",
               "us-cms-grievance"}


def test_every_builtin_profile_has_an_id_a_source_and_bilingual_titles() -> None:
    policies = builtin_policies()
    assert {p.id for p in policies} == BUILTIN_IDS
    for p in policies:
        assert p.source and p.title_en
        assert any("\u4e00" <= ch <= "\u9fff" for ch in p.title_zh)
        assert p.rules and all(r.source for r in p.rules)


def test_profiles_are_registered_through_the_plugin_hook() -> None:
    pm = HCPluginManager()
    pm.register(profiles, name="sla_profiles")
    registry = PolicyRegistry.from_plugins(pm)
    assert set(registry.ids()) == BUILTIN_IDS


def test_numbers_from_the_sources(registry: PolicyRegistry) -> None:
    nhc = registry.get("cn-nhc-2019")
    complex_rule = nhc.rule(Milestone.RESPOND, Complexity.COMPLEX)
    multi_rule = nhc.rule(Milestone.RESPOND, Complexity.MULTI_DEPARTMENT)
    assert complex_rule is not None and (complex_rule.amount, complex_rule.unit) == (
        5, Unit.WORKING_DAYS)
    assert multi_rule is not None and multi_rule.amount == 10
    petition = registry.get("cn-petition-2022")
    close = petition.rule(Milestone.CLOSE, Complexity.SIMPLE)
    assert close is not None and (close.amount, close.unit) == (60, Unit.DAYS)
    ext = petition.extension_rule(Milestone.CLOSE)
    assert ext is not None and ext.max_days == 30 and not ext.consent_required
    hotline = registry.get("cn-12320").extension_rule(Milestone.CLOSE)
    assert hotline is not None and hotline.max_days == 30 and hotline.consent_required
    ack = registry.get("imaging-dept").rule(Milestone.ACKNOWLEDGE, Complexity.SIMPLE)
    assert ack is not None and (ack.amount, ack.unit) == (24, Unit.HOURS)
    assert registry.get("uk-nhs-2009").calendar == "GB-EAW"


def test_unknown_policy_lists_the_known_ones_in_both_languages(registry: PolicyRegistry) -> None:
    with pytest.raises(ConfigError) as err:
        registry.get("cn-nhc-2020")
    for pid in BUILTIN_IDS:
        assert pid in err.value.en
    assert err.value.zh is not None and "未知的 SLA 策略" in err.value.zh


def test_duplicate_policy_id_is_refused(registry: PolicyRegistry) -> None:
    with pytest.raises(PluginError, match="registered twice"):
        registry.register(builtin_policies()[0])
    with pytest.raises(PluginError, match="must be an SlaPolicy"):
        registry.register("imaging-dept")  # type: ignore[arg-type]


def test_hospital_combines_24h_acknowledgement_with_the_nhc_response(
        registry: PolicyRegistry, calendars: Calendars) -> None:
    combined = registry.resolve("imaging-dept:acknowledge+cn-nhc-2019:respond")
    assert combined.id == "imaging-dept:acknowledge+cn-nhc-2019:respond"
    assert combined.milestones() == (Milestone.ACKNOWLEDGE, Milestone.RESPOND)
    found = {d.milestone: d for d in deadlines(combined, cn(2026, 9, 30, 9), "complex",
                                               calendars=calendars)}
    assert found["acknowledge"].due == cn(2026, 10, 1, 9)  # 24 h, holiday or not
    assert found["respond"].last_day.isoformat() == "2026-10-13"  # NHC 5 working days
    assert registry.resolve({"acknowledge": "imaging-dept", "respond": "cn-nhc-2019"}) \
        .rules == combined.rules


def test_later_part_of_a_combination_replaces_earlier_milestones(
        registry: PolicyRegistry) -> None:
    combined = registry.resolve("imaging-dept+cn-12320:close")
    close = combined.rule(Milestone.CLOSE, Complexity.SIMPLE)
    assert close is not None and close.source.startswith("Beijing 12320")
    ext = combined.extension_rule(Milestone.CLOSE)
    assert ext is not None and ext.consent_required  # the extension rule comes along
    respond = combined.rule(Milestone.RESPOND, Complexity.SIMPLE)
    assert respond is not None and respond.amount == 5  # still imaging-dept's


@pytest.mark.parametrize(("spec", "message"), [
    ("imaging-dept:acknowledge+", "empty part"),
    ("cn-12320:respond", "has no 'respond' deadline"),
    ("imaging-dept:acknowledge+uk-nhs-2009:respond", "cannot combine"),
    ("nope:respond", "unknown SLA policy"),
])
def test_bad_combinations_say_what_is_wrong(registry: PolicyRegistry, spec: str,
                                            message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        compose(spec, registry)


def test_override_changes_the_numbers(registry: PolicyRegistry, calendars: Calendars) -> None:
    site = override(registry.get("imaging-dept"), {"respond": "7wd", "close.complex": "20d"},
                    id="our-imaging")
    respond = site.rule(Milestone.RESPOND, Complexity.SIMPLE)
    assert respond is not None and (respond.amount, respond.unit) == (7, Unit.WORKING_DAYS)
    complex_close = site.rule(Milestone.CLOSE, Complexity.COMPLEX)
    simple_close = site.rule(Milestone.CLOSE, Complexity.SIMPLE)
    assert complex_close is not None and complex_close.amount == 20
    assert simple_close is not None and simple_close.amount == 30  # untouched
    assert site.id == "our-imaging"


@pytest.mark.parametrize(("text", "expected"), [
    ("24h", (24, Unit.HOURS)), ("30d", (30, Unit.DAYS)), ("5wd", (5, Unit.WORKING_DAYS)),
    ("6mo", (6, Unit.MONTHS)),
])
def test_parse_duration(text: str, expected: tuple[int, Unit]) -> None:
    assert parse_duration(text) == expected


def test_bad_duration_and_milestone_are_explained(registry: PolicyRegistry) -> None:
    with pytest.raises(ConfigError, match="24h"):
        parse_duration("five days")
    with pytest.raises(ConfigError, match="not a milestone"):
        override(registry.get("imaging-dept"), {"reply": "5wd"})
    with pytest.raises(ConfigError, match="not a complexity"):
        override(registry.get("imaging-dept"), {"respond.urgent": "1wd"})


def test_policy_validation() -> None:
    with pytest.raises(ConfigError, match="unknown time zone"):
        SlaPolicy("x", "甲", "x", zone="Mars/Olympus")
    with pytest.raises(ConfigError, match="two rules"):
        SlaPolicy("x", "甲", "x", rules=(DeadlineRule(Milestone.CLOSE, 1, Unit.DAYS),
                                         DeadlineRule(Milestone.CLOSE, 2, Unit.DAYS)))
    with pytest.raises(ConfigError, match="rectification action"):
        DeadlineRule(Milestone.ACTION, 1, Unit.DAYS)
    with pytest.raises(ConfigError, match="not valid"):
        SlaPolicy("Bad Id", "甲", "x")
    # a plugin's own policy is ordinary data
    mine = replace(builtin_policies()[0], id="st-marys-imaging")
    assert PolicyRegistry([mine]).get("st-marys-imaging") is mine

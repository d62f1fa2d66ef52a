from __future__ import annotations

from enum import Enum

import pytest

from hospital_complaints.domain import taxonomy as t


def all_enums() -> list[type[Enum]]:
    return [v for v in vars(t).values()
            if isinstance(v, type) and issubclass(v, Enum) and v.__module__ == t.__name__]


@pytest.mark.parametrize("enum_cls", all_enums(), ids=lambda c: c.__name__)
def test_every_member_has_chinese_and_english_labels(enum_cls):
    for member in enum_cls:
        lab = t.label(member)
        assert lab.zh and lab.en
        assert any("\u4e00" <= ch <= "\u9fff" for ch in lab.zh), f"{member} zh label"


def test_seed_categories_map_to_hcat_domains():
    assert [t.label(c).zh for c in t.SEED_CATEGORIES] == ["服务态度", "技术质量", "流程管理",
                                                          "设备故障"]
    assert t.hcat_domain(t.Category.SERVICE_ATTITUDE) is t.HCATDomain.RELATIONSHIPS
    assert t.hcat_domain(t.Category.TECHNICAL_QUALITY) is t.HCATDomain.CLINICAL
    assert t.hcat_domain(t.Category.PROCESS_MANAGEMENT) is t.HCATDomain.MANAGEMENT
    assert t.hcat_domain(t.Category.EQUIPMENT_FAULT) is t.HCATDomain.MANAGEMENT
    assert set(t.HCAT_CATEGORY_OF) == set(t.Category)


def test_same_value_in_two_enums_keeps_its_own_label():
    # StrEnum members with equal values hash equal; labels must not cross over
    assert t.label(t.Category.COMMUNICATION).zh == "沟通解释"
    assert t.label(t.ActionType.COMMUNICATION).zh == "沟通改进"
    assert t.label(t.OutcomeKind.WITHDRAWN).zh != t.label(t.CaseState.WITHDRAWN).zh


def test_allowed_text_names_values_and_labels():
    text = t.allowed(t.ComplaintKind)
    assert "report (举报 report / whistle-blowing)" in text

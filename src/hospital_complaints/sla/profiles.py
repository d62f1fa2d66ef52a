"""Built-in SLA policy profiles (data). The plugin ``sla_profiles``
(``plugins/builtin/sla_profiles.py``) registers them like any hospital's own policies.

Each profile cites its source; ``docs/sla.md`` lists them with the article text. Numbers that
no source fixes are marked as defaults in the rule's ``note``. A hospital changes any number
with :func:`~hospital_complaints.sla.policy.override` or registers a policy of its own.
"""

from __future__ import annotations

from ..domain.taxonomy import Complexity, Milestone
from .policy import Anchor, DeadlineRule, ExtensionRule, Lead, SlaPolicy, Unit

ACK, RESPOND, CLOSE, FOLLOW_UP = (Milestone.ACKNOWLEDGE, Milestone.RESPOND, Milestone.CLOSE,
                                  Milestone.FOLLOW_UP)

SEED_000 = ("An imaging department's complaint procedure (影像科投诉处理流程), step 4: first "
            "feedback within 24 hours")
NHC_2019 = ("医疗机构投诉管理办法 (国家卫生健康委员会令第3号, 2019): feedback within 5 "
            "working days; 10 working days when several departments are involved")
PETITION_2022 = "信访工作条例 (2022)"
HOTLINE_12320 = ("Beijing 12320 health hotline practice (北京12320): close in 30 days, +30 "
                 "with consent")
NHS_2009 = ("The Local Authority Social Services and National Health Service Complaints "
            "(England) Regulations 2009, SI 2009/309")
CMS = ("42 CFR 482.13(a)(2)(iii); CMS State Operations Manual App. A, tag A-0123: "
       "7 days is an appropriate time frame for the written response")

DEFAULT = "default of this library, not from a source: set your own with --set / override()"


def imaging_dept() -> SlaPolicy:
    return SlaPolicy(
        id="imaging-dept",
        title_zh="影像科投诉处理规程（24小时首次反馈）",
        title_en="Imaging department procedure (24 h first feedback)",
        source=SEED_000,
        rules=(
            DeadlineRule(ACK, 24, Unit.HOURS, source=SEED_000),
            DeadlineRule(RESPOND, 5, Unit.WORKING_DAYS, source="default", note=DEFAULT),
            DeadlineRule(CLOSE, 30, Unit.DAYS, source="default", note=DEFAULT),
            DeadlineRule(FOLLOW_UP, 10, Unit.WORKING_DAYS, anchor=Anchor.RESPONDED,
                         source="default", note=DEFAULT),
        ),
        extensions=(
            ExtensionRule(RESPOND, max_days=30, source="default"),
            ExtensionRule(CLOSE, max_days=30, source="default"),
        ),
    )


def cn_nhc_2019() -> SlaPolicy:
    on_the_spot = ("simple complaints are settled on the spot (当场协调处理); this default "
                   "allows until the end of the next working day, for complaints received "
                   "after hours. One that cannot be settled so is reclassified as complex")
    return SlaPolicy(
        id="cn-nhc-2019",
        title_zh="医疗机构投诉管理办法（2019）",
        title_en="NHC Measures on complaint management in medical institutions (2019)",
        source=NHC_2019 + "; confirm the article text with your legal office before relying on "
               "these numbers",
        rules=(
            DeadlineRule(RESPOND, 1, Unit.WORKING_DAYS, complexity=Complexity.SIMPLE,
                         source="default for on-the-spot handling", note=on_the_spot),
            DeadlineRule(RESPOND, 5, Unit.WORKING_DAYS, complexity=Complexity.COMPLEX,
                         source=NHC_2019),
            DeadlineRule(RESPOND, 10, Unit.WORKING_DAYS, complexity=Complexity.MULTI_DEPARTMENT,
                         source=NHC_2019),
        ),
    )


def cn_petition_2022() -> SlaPolicy:
    return SlaPolicy(
        id="cn-petition-2022",
        title_zh="信访工作条例（2022）",
        title_en="Regulations on Petition Work (2022)",
        source=PETITION_2022 + " Arts. 23, 34",
        rules=(
            DeadlineRule(ACK, 15, Unit.DAYS,
                         source=PETITION_2022 + " Art. 23: written notice within 15 days of "
                         "receipt (自收到信访事项之日起15日内书面告知)"),
            DeadlineRule(CLOSE, 60, Unit.DAYS, anchor=Anchor.ACKNOWLEDGED,
                         source=PETITION_2022 + " Art. 34: closed within 60 days of acceptance "
                         "(自受理之日起60日内办结)"),
        ),
        extensions=(
            ExtensionRule(CLOSE, max_days=30,
                          source=PETITION_2022 + " Art. 34: approved by the head of the body, "
                          "at most 30 days, the petitioner told why"),
        ),
    )


def cn_12320() -> SlaPolicy:
    return SlaPolicy(
        id="cn-12320",
        title_zh="12320卫生热线工单（30日办结）",
        title_en="12320 health hotline work order (close in 30 days)",
        source=HOTLINE_12320,
        rules=(DeadlineRule(CLOSE, 30, Unit.DAYS, source=HOTLINE_12320),),
        extensions=(
            ExtensionRule(CLOSE, max_days=30, consent_required=True,
                          source=HOTLINE_12320 + ": extended by 30 days with the "
                          "complainant's permission (得到他的允许)"),
        ),
    )


def uk_nhs_2009() -> SlaPolicy:
    return SlaPolicy(
        id="uk-nhs-2009",
        title_zh="英格兰 NHS 投诉条例（2009）",
        title_en="NHS complaints regulations, England (2009)",
        source=NHS_2009,
        zone="Europe/London",
        calendar="GB-EAW",
        roll_to_working_day=False,
        rules=(
            DeadlineRule(ACK, 3, Unit.WORKING_DAYS,
                         source=NHS_2009 + " reg. 13: not later than 3 working days after the "
                         "day on which the complaint is received"),
            DeadlineRule(RESPOND, 6, Unit.MONTHS, includes_start_day=True,
                         source=NHS_2009 + " reg. 14: six months commencing on the day on "
                         "which the complaint was received, or a longer period agreed"),
        ),
        extensions=(
            ExtensionRule(RESPOND, max_days=None, consent_required=True,
                          source=NHS_2009 + " reg. 14: such longer period as may be agreed "
                          "with the complainant"),
        ),
    )


def us_cms_grievance() -> SlaPolicy:
    return SlaPolicy(
        id="us-cms-grievance",
        title_zh="美国 CMS 医院患者申诉（7日书面答复）",
        title_en="US CMS hospital grievance (written response in 7 days)",
        source=CMS,
        zone="America/New_York",
        calendar="US",
        roll_to_working_day=False,
        remind_before=Lead(2, Unit.DAYS),
        rules=(DeadlineRule(RESPOND, 7, Unit.DAYS, source=CMS,
                            note="zone America/New_York by default: set the hospital's own"),),
        extensions=(
            ExtensionRule(RESPOND, max_days=None,
                          source=CMS + ": if not resolved in 7 days, tell the patient the "
                          "hospital is still working on it and when to expect the response"),
        ),
    )


def builtin_policies() -> list[SlaPolicy]:
    """Every built-in profile, freshly built (they are immutable; change copies)."""
    return [imaging_dept(), cn_nhc_2019(), cn_petition_2022(), cn_12320(), uk_nhs_2009(),
            us_cms_grievance()]


__all__ = ["builtin_policies"]

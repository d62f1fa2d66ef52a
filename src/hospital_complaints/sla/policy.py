"""The SLA policy model: which milestone is due when, counted how, and what may extend it.

A policy is plain, immutable data. The numbers in the built-in profiles (``profiles.py``) are
defaults that a hospital overrides with :func:`override`, combines with
:func:`~hospital_complaints.sla.registry.compose`, or replaces by registering its own policy
from a plugin.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from zoneinfo import ZoneInfo

from ..clock import zone
from ..domain.taxonomy import Complexity, Milestone
from ..errors import ConfigError


class Unit(StrEnum):
    """How a deadline is counted. ``docs/sla.md`` states the rule for each."""

    HOURS = "hours"  # exact elapsed time
    DAYS = "days"  # calendar days (日), from the day after the start
    WORKING_DAYS = "working_days"  # working days (工作日) of the policy's calendar
    MONTHS = "months"  # calendar months, corresponding-date rule


_UNIT_WORDS: dict[Unit, tuple[str, str, str]] = {
    Unit.HOURS: ("hour", "hours", "小时"),
    Unit.DAYS: ("day", "days", "日"),
    Unit.WORKING_DAYS: ("working day", "working days", "个工作日"),
    Unit.MONTHS: ("month", "months", "个月"),
}


class Anchor(StrEnum):
    """The instant a milestone's period starts from."""

    RECEIVED = "received"
    #: the acceptance notice (the acknowledge milestone); the receipt until it is given
    ACKNOWLEDGED = "acknowledged"
    #: the response to the complainant; no deadline until there is one (follow-up, 回访)
    RESPONDED = "responded"


#: Milestones a policy can give a period to. Rectification actions carry their own due date.
TIMED_MILESTONES: tuple[Milestone, ...] = (
    Milestone.ACKNOWLEDGE, Milestone.RESPOND, Milestone.CLOSE, Milestone.FOLLOW_UP,
)


@dataclass(frozen=True)
class DeadlineRule:
    """One milestone's period: ``amount`` ``unit`` after the ``anchor``.

    ``complexity`` narrows the rule to complaints of that complexity; ``None`` applies to
    every complexity without a rule of its own. ``includes_start_day`` counts the anchor's own
    day as day 1 (England's "six months commencing on the day on which the complaint was
    received"); by default counting starts the day after (Civil Code Art. 201).
    """

    milestone: Milestone
    amount: int
    unit: Unit
    complexity: Complexity | None = None
    anchor: Anchor = Anchor.RECEIVED
    includes_start_day: bool = False
    source: str = ""
    #: said beside the due date, e.g. "default - set your own with --set respond=7wd"
    note: str = ""

    def __post_init__(self) -> None:
        if self.milestone not in TIMED_MILESTONES:
            raise ConfigError(
                f"a deadline rule cannot be for milestone {self.milestone.value!r}; "
                f"allowed: {', '.join(m.value for m in TIMED_MILESTONES)} (a rectification "
                "action has its own due date)",
                f"期限规则不能用于「{self.milestone.value}」；整改措施有各自的完成期限",
            )
        minimum = 1 if self.unit in (Unit.HOURS, Unit.MONTHS) else 0
        if not minimum <= self.amount <= 10_000:
            raise ConfigError(
                f"deadline for {self.milestone.value}: amount {self.amount} {self.unit.value} "
                f"is out of range; use {minimum} to 10000",
                f"「{self.milestone.value}」期限数值 {self.amount} 超出范围（{minimum}-10000）",
            )

    def describe(self, lang: str = "en") -> str:
        """'5 working days' / '5个工作日'."""
        one, many, zh = _UNIT_WORDS[self.unit]
        if lang == "zh":
            return f"{self.amount}{zh}"
        return f"{self.amount} {one if self.amount == 1 else many}"


@dataclass(frozen=True)
class ExtensionRule:
    """How far a milestone may be extended, summed over all its extensions, in calendar days.

    ``max_days=None`` sets no upper limit (e.g. England: "such longer period as may be agreed").
    """

    milestone: Milestone
    max_days: int | None = None
    consent_required: bool = False
    source: str = ""


@dataclass(frozen=True)
class Lead:
    """How long before the due instant a reminder (催办) is due: hours, days or working days."""

    amount: int
    unit: Unit

    def __post_init__(self) -> None:
        if self.amount < 0 or self.unit is Unit.MONTHS:
            raise ConfigError(
                f"reminder lead {self.amount} {self.unit.value}: use zero or more hours, days "
                "or working days",
                f"提醒提前量 {self.amount} {self.unit.value} 无效：须为非负的小时、日或工作日",
            )


_ID = re.compile(r"^[a-z0-9][a-z0-9._:+,=@-]{0,199}$")


@dataclass(frozen=True)
class SlaPolicy:
    """A named set of deadline rules for one jurisdiction, hotline or hospital practice.

    ``calendar`` names a working-day calendar of :class:`~hospital_complaints.sla.calendars.
    Calendars` ("CN", "GB-EAW", "US"); ``zone`` is the IANA zone whose days are counted.
    ``roll_to_working_day`` applies the Civil Code Art. 203 rule to calendar-day and month
    deadlines: a last day that is a rest day moves to the next working day.
    """

    id: str
    title_zh: str
    title_en: str
    source: str = ""
    rules: tuple[DeadlineRule, ...] = ()
    extensions: tuple[ExtensionRule, ...] = ()
    zone: str = "Asia/Shanghai"
    calendar: str = "CN"
    roll_to_working_day: bool = True
    #: reminder lead for day-counted deadlines and rectification actions
    remind_before: Lead = Lead(2, Unit.WORKING_DAYS)
    #: reminder lead for hour-counted deadlines (a 24 h acknowledgement)
    remind_before_hours: Lead = Lead(4, Unit.HOURS)
    tz: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not _ID.match(self.id):
            raise ConfigError(
                f"SLA policy id {self.id!r} is not valid: use lower-case letters, digits and "
                "'-' (e.g. 'imaging-dept')",
                f"SLA 策略标识 {self.id!r} 无效：请使用小写字母、数字和连字符",
            )
        object.__setattr__(self, "tz", zone(self.zone))
        seen: set[tuple[Milestone, Complexity | None]] = set()
        for rule in self.rules:
            key = (rule.milestone, rule.complexity)
            if key in seen:
                which = rule.complexity.value if rule.complexity else "any complexity"
                raise ConfigError(
                    f"SLA policy {self.id!r} has two rules for {rule.milestone.value} "
                    f"({which}); keep one",
                    f"SLA 策略 {self.id!r} 对「{rule.milestone.value}」有重复规则",
                )
            seen.add(key)
        if self.remind_before_hours.unit is not Unit.HOURS:
            raise ConfigError(
                f"SLA policy {self.id!r}: remind_before_hours must be counted in hours",
                f"SLA 策略 {self.id!r}：remind_before_hours 须以小时计",
            )

    def rule(self, milestone: Milestone, complexity: Complexity) -> DeadlineRule | None:
        """The rule for ``milestone`` at ``complexity``, or ``None`` if the policy sets none."""
        general = None
        for r in self.rules:
            if r.milestone == milestone:
                if r.complexity == complexity:
                    return r
                if r.complexity is None:
                    general = r
        return general

    def milestones(self) -> tuple[Milestone, ...]:
        """The milestones this policy gives a period to, in process order."""
        present = {r.milestone for r in self.rules}
        return tuple(m for m in TIMED_MILESTONES if m in present)

    def extension_rule(self, milestone: Milestone) -> ExtensionRule | None:
        for e in self.extensions:
            if e.milestone is milestone:
                return e
        return None

    def with_rules(self, *rules: DeadlineRule, id: str | None = None) -> SlaPolicy:
        """A copy in which ``rules`` replace the rules for the same milestone and complexity."""
        replaced = {(r.milestone, r.complexity) for r in rules}
        kept = tuple(r for r in self.rules if (r.milestone, r.complexity) not in replaced)
        return replace(self, id=id or self.id, rules=kept + tuple(rules))


_DURATION = re.compile(r"^\s*(\d+)\s*(h|wd|d|mo)\s*$")
_DURATION_UNITS = {"h": Unit.HOURS, "d": Unit.DAYS, "wd": Unit.WORKING_DAYS, "mo": Unit.MONTHS}


def parse_duration(text: str) -> tuple[int, Unit]:
    """``"24h"``, ``"30d"`` (calendar days), ``"5wd"`` (working days), ``"6mo"`` (months)."""
    m = _DURATION.match(text)
    if m is None:
        raise ConfigError(
            f"duration {text!r} is not understood; write a number and a unit: 24h (hours), "
            "30d (calendar days), 5wd (working days), 6mo (months)",
            f"期限 {text!r} 无法识别；格式如 24h（小时）、30d（日）、5wd（工作日）、6mo（月）",
        )
    return int(m.group(1)), _DURATION_UNITS[m.group(2)]


def override(policy: SlaPolicy, settings: Mapping[str, str], *, id: str | None = None,
             note: str = "set by configuration") -> SlaPolicy:
    """A copy of ``policy`` with some periods changed.

    ``settings`` maps ``"respond"`` (every complexity) or ``"respond.complex"`` to a duration
    (:func:`parse_duration`): ``override(p, {"respond": "7wd", "close": "20d"})``. The anchor
    and start-day rule of the milestone's existing rule are kept.
    """
    new_rules: list[DeadlineRule] = []
    for key, text in settings.items():
        name, _, level = key.partition(".")
        milestone = _milestone(name, policy.id)
        complexity = _complexity(level, policy.id) if level else None
        amount, unit = parse_duration(text)
        base = policy.rule(milestone, complexity or Complexity.SIMPLE)
        new_rules.append(DeadlineRule(
            milestone=milestone, amount=amount, unit=unit, complexity=complexity,
            anchor=base.anchor if base else _default_anchor(milestone),
            includes_start_day=base.includes_start_day if base else False,
            source=note, note=note,
        ))
        if complexity is None:  # "respond=7wd" replaces every complexity's rule
            policy = replace(policy, rules=tuple(
                r for r in policy.rules if r.milestone is not milestone))
    return policy.with_rules(*new_rules, id=id)


def _default_anchor(milestone: Milestone) -> Anchor:
    return Anchor.RESPONDED if milestone is Milestone.FOLLOW_UP else Anchor.RECEIVED


def _milestone(name: str, policy_id: str) -> Milestone:
    milestone = Milestone(name) if name in {m.value for m in TIMED_MILESTONES} else None
    if milestone is None:
        allowed = ", ".join(m.value for m in TIMED_MILESTONES)
        raise ConfigError(
            f"policy {policy_id!r}: {name!r} is not a milestone with a deadline; use one of: "
            f"{allowed}",
            f"策略 {policy_id!r}：{name!r} 不是有期限的环节；可用：{allowed}",
        )
    return milestone


def _complexity(name: str, policy_id: str) -> Complexity:
    try:
        return Complexity(name)
    except ValueError:
        allowed = ", ".join(c.value for c in Complexity)
        raise ConfigError(
            f"policy {policy_id!r}: {name!r} is not a complexity; use one of: {allowed}",
            f"策略 {policy_id!r}：{name!r} 不是投诉复杂程度；可用：{allowed}",
        ) from None


__all__ = [
    "TIMED_MILESTONES", "Anchor", "DeadlineRule", "ExtensionRule", "Lead", "SlaPolicy", "Unit",
    "override", "parse_duration",
]

"""The policies a deployment knows, and combinations of them.

A hospital often mixes sources: its own 24-hour acknowledgement with the NHC response
deadline. A *combination* is written as a spec string::

    imaging-dept:acknowledge+cn-nhc-2019:respond
    imaging-dept+cn-nhc-2019:respond          # all of imaging-dept, NHC's respond instead

Parts apply left to right; ``id`` alone takes every milestone of that policy, ``id:m1,m2``
takes only those; a later part replaces the milestones it gives. The same combination can be
given as a mapping ``{"acknowledge": "imaging-dept", "respond": "cn-nhc-2019"}``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

from ..domain.taxonomy import Milestone
from ..errors import ConfigError, PluginError
from .policy import TIMED_MILESTONES, DeadlineRule, ExtensionRule, SlaPolicy

if TYPE_CHECKING:
    from ..plugins.manager import HCPluginManager

COMBINE_EXAMPLE = "imaging-dept:acknowledge+cn-nhc-2019:respond"


class PolicyRegistry:
    """Policies by id. ``get`` finds one; ``resolve`` also understands combinations."""

    def __init__(self, policies: Iterable[SlaPolicy] = ()) -> None:
        self._policies: dict[str, SlaPolicy] = {}
        self._resolved: dict[str, SlaPolicy] = {}
        for policy in policies:
            self.register(policy)

    @classmethod
    def from_plugins(cls, plugins: HCPluginManager) -> PolicyRegistry:
        """Every policy registered through ``hc_register_sla_policies``."""
        return cls(plugins.sla_policies().values())

    def register(self, policy: SlaPolicy) -> None:
        """Add a policy; the ``register`` callback of ``hc_register_sla_policies``."""
        if not isinstance(policy, SlaPolicy):
            raise PluginError(
                f"an SLA policy must be an SlaPolicy, got {type(policy).__name__}",
                f"SLA 策略须为 SlaPolicy 对象，收到 {type(policy).__name__}",
            )
        if policy.id in self._policies:
            raise PluginError(
                f"SLA policy id {policy.id!r} is registered twice; ids must be unique",
                f"SLA 策略标识 {policy.id!r} 被重复注册；标识须唯一",
            )
        self._policies[policy.id] = policy
        self._resolved.clear()

    def ids(self) -> list[str]:
        return sorted(self._policies)

    def get(self, policy_id: str) -> SlaPolicy:
        policy = self._policies.get(policy_id)
        if policy is None:
            known = ", ".join(self.ids()) or "none registered"
            raise ConfigError(
                f"unknown SLA policy {policy_id!r}; known policies: {known} (combine them as "
                f"{COMBINE_EXAMPLE!r})",
                f"未知的 SLA 策略 {policy_id!r}；可用策略：{known}（组合写法如 {COMBINE_EXAMPLE}）",
            )
        return policy

    def resolve(self, spec: str | Mapping[str, str]) -> SlaPolicy:
        """A policy by id, or the combination a spec string or mapping describes (cached)."""
        key = spec if isinstance(spec, str) else _mapping_spec(spec)
        policy = self._resolved.get(key)
        if policy is None:
            policy = self._policies.get(key) or compose(key, self)
            self._resolved[key] = policy
        return policy

    def __iter__(self) -> Iterator[SlaPolicy]:
        return iter(self._policies[k] for k in self.ids())

    def __len__(self) -> int:
        return len(self._policies)

    def __contains__(self, policy_id: object) -> bool:
        return policy_id in self._policies


def _mapping_spec(mapping: Mapping[str, str]) -> str:
    return "+".join(f"{pid}:{milestone}" for milestone, pid in mapping.items())


def compose(spec: str | Mapping[str, str], registry: PolicyRegistry) -> SlaPolicy:
    """Build the combined policy described by ``spec`` (see the module docstring)."""
    text = spec if isinstance(spec, str) else _mapping_spec(spec)
    parts = [p.strip() for p in text.split("+")]
    if not text.strip() or any(not p for p in parts):
        raise ConfigError(
            f"SLA policy combination {text!r} is empty or has an empty part; write e.g. "
            f"{COMBINE_EXAMPLE!r}",
            f"SLA 策略组合 {text!r} 有空的部分；写法如 {COMBINE_EXAMPLE}",
        )
    rules: dict[Milestone, tuple[DeadlineRule, ...]] = {}
    extensions: dict[Milestone, ExtensionRule] = {}
    first: SlaPolicy | None = None
    used: list[SlaPolicy] = []
    canonical: list[str] = []
    for part in parts:
        pid, _, names = part.partition(":")
        policy = registry.get(pid.strip())
        if first is None:
            first = policy
        elif (policy.zone, policy.calendar, policy.roll_to_working_day) != (
                first.zone, first.calendar, first.roll_to_working_day):
            raise ConfigError(
                f"cannot combine {first.id!r} ({first.zone}, calendar {first.calendar}) with "
                f"{policy.id!r} ({policy.zone}, calendar {policy.calendar}): a combination "
                "counts days in one zone and one calendar",
                f"无法组合 {first.id!r} 与 {policy.id!r}：两者的时区或工作日日历不同",
            )
        wanted = [_part_milestone(n.strip(), policy) for n in names.split(",")] if names \
            else list(policy.milestones())
        for ms in wanted:
            rules[ms] = tuple(r for r in policy.rules if r.milestone is ms)
            ext = policy.extension_rule(ms)
            if ext is None:
                extensions.pop(ms, None)
            else:
                extensions[ms] = ext
        used.append(policy)
        canonical.append(f"{policy.id}:{','.join(m.value for m in wanted)}" if names
                         else policy.id)
    assert first is not None
    if len(parts) == 1 and not parts[0].partition(":")[2]:
        return first
    titles = " + ".join(dict.fromkeys(p.title_en for p in used))
    titles_zh = " + ".join(dict.fromkeys(p.title_zh for p in used))
    return replace(
        first, id="+".join(canonical), title_en=titles, title_zh=titles_zh,
        source="; ".join(dict.fromkeys(p.source for p in used if p.source)),
        rules=tuple(r for ms in TIMED_MILESTONES for r in rules.get(ms, ())),
        extensions=tuple(extensions[ms] for ms in TIMED_MILESTONES if ms in extensions),
    )


def _part_milestone(name: str, policy: SlaPolicy) -> Milestone:
    have = ", ".join(m.value for m in policy.milestones())
    try:
        ms = Milestone(name)
    except ValueError:
        ms = None
    if ms is None or ms not in policy.milestones():
        raise ConfigError(
            f"policy {policy.id!r} has no {name!r} deadline to take; it has: {have}",
            f"策略 {policy.id!r} 没有「{name}」期限；它有：{have}",
        )
    return ms


__all__ = ["COMBINE_EXAMPLE", "PolicyRegistry", "compose"]

"""Whether a deadline extension is allowed: the check the service runs before ExtendDeadline."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ..domain.case import Case, Extension
from ..domain.taxonomy import Milestone, label
from .errors import DeadlineError
from .policy import SlaPolicy
from .records import CaseClock

Granted = Case | CaseClock | Mapping[str, int] | Iterable[Extension]


def granted_days(existing: Granted, milestone: str) -> int:
    """Calendar days already granted to ``milestone`` by earlier extensions."""
    if isinstance(existing, CaseClock):
        return existing.extension_days(milestone)
    if isinstance(existing, Mapping):
        return int(existing.get(milestone, 0))
    extensions = existing.extensions if isinstance(existing, Case) else existing
    return sum(e.days for e in extensions if e.milestone == milestone)


def check_extension(policy: SlaPolicy, existing: Granted, milestone: Milestone | str,
                    days: int, consent: bool) -> int:
    """Raise :class:`DeadlineError` unless ``policy`` allows extending ``milestone`` by
    ``days`` more calendar days, given the extensions already granted (``existing``: the
    case, its deadline record, its list of extensions, or ``{milestone: days}``). Returns the
    new total for the milestone.
    """
    name = milestone.value if isinstance(milestone, Milestone) else str(milestone)
    pid = policy.id
    allowed = [e.milestone.value for e in policy.extensions]
    allowed_txt = ", ".join(allowed) or "none"
    try:
        ms = Milestone(name)
    except ValueError:
        ms = None
    if ms is None or ms is Milestone.ACTION:
        raise DeadlineError(
            f"cannot extend {name!r}: only a milestone deadline can be extended; policy "
            f"{pid!r} allows extending: {allowed_txt}. A rectification action's due date is "
            "set on the action itself",
            f"无法延长「{name}」：只能延长环节期限，策略 {pid!r} 允许延长的环节：{allowed_txt}；"
            "整改措施的期限在措施本身设定",
            policy=pid, milestone=name)
    zh_name = label(ms).zh
    if days < 1:
        raise DeadlineError(
            f"an extension of {ms.value} must be at least 1 day, got {days}",
            f"「{zh_name}」延期天数至少为 1 天，收到 {days}",
            policy=pid, milestone=name)
    if ms not in policy.milestones():
        raise DeadlineError(
            f"policy {pid!r} sets no deadline for {ms.value}, so there is nothing to extend",
            f"策略 {pid!r} 没有为「{zh_name}」设定期限，无需延期",
            policy=pid, milestone=name)
    rule = policy.extension_rule(ms)
    if rule is None:
        raise DeadlineError(
            f"policy {pid!r} does not allow extending the {ms.value} deadline; milestones it "
            f"allows to extend: {allowed_txt}",
            f"策略 {pid!r} 不允许延长「{zh_name}」期限；允许延期的环节：{allowed_txt}",
            policy=pid, milestone=name)
    cite = f" ({rule.source})" if rule.source else ""
    already = granted_days(existing, ms.value)
    total = already + days
    if rule.max_days is not None and total > rule.max_days:
        left = max(rule.max_days - already, 0)
        raise DeadlineError(
            f"extending {ms.value} by {days} days is beyond what policy {pid!r} allows: at "
            f"most {rule.max_days} days in total{cite}; already granted {already}, so at most "
            f"{left} more",
            f"「{zh_name}」延期 {days} 天超出策略 {pid!r} 的上限：累计不得超过 {rule.max_days} 天；"
            f"已延期 {already} 天，最多还可延 {left} 天",
            policy=pid, milestone=name)
    if rule.consent_required and not consent:
        raise DeadlineError(
            f"policy {pid!r} extends {ms.value} only with the complainant's consent{cite}; "
            "record the consent (consent=true) with the extension",
            f"策略 {pid!r} 规定「{zh_name}」延期须经投诉人同意；请在延期时记录投诉人同意",
            policy=pid, milestone=name)
    return total


__all__ = ["Granted", "check_extension", "granted_days"]

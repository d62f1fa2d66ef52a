"""One root exception and a small hierarchy.

Every message is written for the person who will read it: the field or thing that was wrong,
the value that was given, and what is allowed. Messages shown to clerks carry Chinese and
English text (``str(err)`` gives both; ``err.en`` and ``err.zh`` give one language).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any


class HospitalComplaintsError(Exception):
    """Root of every error this library raises on purpose."""

    def __init__(self, en: str, zh: str | None = None) -> None:
        self.en = en
        self.zh = zh
        super().__init__(en if zh is None else f"{en}\n{zh}")


class ConfigError(HospitalComplaintsError):
    """Configuration (environment variable, setting, file) is wrong."""


class FieldProblem:
    """One problem with one input field: where, what was given, what is allowed."""

    __slots__ = ("allowed", "field", "value")

    def __init__(self, field: str, value: Any, allowed: str) -> None:
        self.field = field
        self.value = value
        self.allowed = allowed

    def __repr__(self) -> str:
        return f"FieldProblem({self.field!r}, {self.value!r}, {self.allowed!r})"


class InvalidInput(HospitalComplaintsError):
    """Input data failed validation. ``problems`` lists every field that was wrong."""

    def __init__(self, what: str, problems: Sequence[FieldProblem], zh_lines: Iterable[str] = ()):
        self.what = what
        self.problems = list(problems)
        en_lines = [f"invalid {what}:"] + [
            f"  - {p.field}: got {_show(p.value)}; {p.allowed}" for p in self.problems
        ]
        zh = list(zh_lines)
        super().__init__("\n".join(en_lines), "\n".join(zh) if zh else None)


class NotFound(HospitalComplaintsError):
    """A complaint, action or other record named by the caller does not exist."""


class WorkflowError(HospitalComplaintsError):
    """A command cannot be carried out in the case's current state."""


class IllegalTransition(WorkflowError):
    """The transition table has no entry for (state, command)."""

    def __init__(self, state: str, command: str, allowed: Sequence[str]) -> None:
        self.state = state
        self.command = command
        self.allowed = list(allowed)
        allowed_txt = ", ".join(self.allowed) or "none (the case is finished)"
        super().__init__(
            f"command '{command}' is not allowed in state '{state}'; "
            f"allowed in '{state}': {allowed_txt}",
            f"当前状态「{state}」下不允许执行「{command}」；允许的操作：{allowed_txt}",
        )


class GuardFailed(WorkflowError):
    """The table allows the move, but a guard condition is not met."""

    def __init__(self, state: str, command: str, en: str, zh: str) -> None:
        self.state = state
        self.command = command
        super().__init__(
            f"cannot '{command}' in state '{state}': {en}",
            f"状态「{state}」下无法执行「{command}」：{zh}",
        )


class ConcurrencyConflict(HospitalComplaintsError):
    """Somebody else saved the same complaint first. Reload and try again; nothing was lost."""


class AccessDenied(HospitalComplaintsError):
    """The access-control decision refused (e.g. revealing a complainant's identity)."""


class PluginError(HospitalComplaintsError):
    """A plugin failed to load or registered something invalid."""


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."

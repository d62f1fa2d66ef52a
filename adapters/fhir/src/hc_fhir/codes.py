"""Codings of our taxonomy members, and the reverse lookup used on import."""

from __future__ import annotations

from enum import Enum
from typing import Any, TypeVar

from hospital_complaints.plugin_api import taxonomy as tx

from .terminology import TERMS, TaskCode
from .urls import SECURITY, V2_0203, cs

E = TypeVar("E", bound=Enum)

_SYSTEM_OF: dict[type[Enum], str] = {t.enum: cs(t.name) for t in TERMS}
TASK_SYSTEM = cs("complaint-task")
TASK_PARAM_SYSTEM = cs("complaint-task-parameter")
EVENT_SYSTEM = cs("case-event")

MASKED: dict[str, str] = {"system": SECURITY, "code": "MASKED", "display": "masked"}
ACSN: dict[str, Any] = {"coding": [{"system": V2_0203, "code": "ACSN"}]}

_CACHE: dict[tuple[type[Enum], object], dict[str, str]] = {}


def system_of(enum_cls: type[Enum]) -> str:
    return _SYSTEM_OF[enum_cls]


def coding(member: Enum) -> dict[str, str]:
    """``{"system", "code", "display"}`` of a taxonomy member (a fresh dict each call)."""
    key = (type(member), member.value)
    found = _CACHE.get(key)
    if found is None:
        found = {"system": _SYSTEM_OF[type(member)], "code": str(member.value),
                 "display": tx.label(member).en}
        _CACHE[key] = found
    return dict(found)


def concept(member: Enum) -> dict[str, Any]:
    return {"coding": [coding(member)]}


def task_code(code: TaskCode) -> dict[str, Any]:
    return {"coding": [{"system": TASK_SYSTEM, "code": code.value}]}


def param(code: str) -> dict[str, Any]:
    return {"coding": [{"system": TASK_PARAM_SYSTEM, "code": code}]}


def member_of(enum_cls: type[E], code: str) -> E:
    """The member for ``code``; ``ValueError`` names the allowed codes."""
    for m in enum_cls:
        if str(m.value) == code:
            return m
    allowed = ", ".join(str(m.value) for m in enum_cls)
    raise ValueError(f"code {code!r} is not in {system_of(enum_cls)}; allowed: {allowed}")


def find_coding(codings: list[dict[str, Any]] | None, system: str) -> dict[str, Any] | None:
    for c in codings or ():
        if c.get("system") == system:
            return c
    return None


#: Task codes for task parameters (Task.input / Task.output ``type``)
TASK_PARAMETERS: dict[str, tuple[str, str]] = {
    "outcome": ("处理结果", "outcome"),
    "outcome-reason": ("结果理由", "outcome reason"),
    "referred-to": ("转交机构", "referred to"),
    "response": ("答复内容", "response text"),
    "follow-up": ("回访记录", "follow-up questionnaire response"),
    "follow-up-waived": ("免于回访理由", "follow-up waived, with the reason"),
}

"""A platform's record (a pulled item, a row of an exported list) in our terms.

- :func:`to_order`: a new work order, as the raw submission the core's built-in
  ``hotline_platform`` intake normaliser reads, plus what the order says about its time limit
  (kept by the connector for signing).
- :func:`to_result`: what the platform decided about an order (call-back, decision, redo).

A record that cannot be read raises :class:`RecordError` naming the platform's field, our
field, the value (masked or described when personal) and what is allowed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .errors import RecordError, shown
from .mapping import Mapping, code_text, parse_time, pick

Getter = Callable[[str], tuple[Any, str]]


@dataclass(frozen=True)
class Order:
    ticket: str
    raw: dict[str, Any]
    due: datetime | None
    time_limit_class: str | None


@dataclass(frozen=True)
class Result:
    ticket: str
    meaning: str
    at: datetime | None
    satisfaction: str | None = None
    resolved: bool | None = None
    approved: bool | None = None
    granted_days: int | None = None
    note: str | None = None
    due: datetime | None = None

    @property
    def key(self) -> str:
        """What makes this result itself (applied once): ticket, meaning, and its time, or
        (a platform that gives none) a digest of what it says."""
        if self.at is not None:
            return f"{self.ticket}|{self.meaning}|{self.at.isoformat()}"
        said = "|".join(str(v) for v in (self.satisfaction, self.resolved, self.approved,
                                         self.granted_days, self.note, self.due))
        return f"{self.ticket}|{self.meaning}|#{hashlib.sha256(said.encode()).hexdigest()[:16]}"


def api_getter(m: Mapping, record: dict[str, Any]) -> Getter:
    """Our field -> (value, the platform's name for it), through ``[fields]``."""

    def get(field: str) -> tuple[Any, str]:
        name: str | None = getattr(m.fields, field, None)
        if name is None:
            return None, field
        return pick(record, name), name

    return get


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(get: Getter, field: str, *, required: bool = False) -> str | None:
    value, name = get(field)
    if _blank(value):
        if required:
            raise RecordError(field, name, "is missing or empty", "缺失或为空")
        return None
    return code_text(value) if not isinstance(value, str) else value.strip()


def _time(m: Mapping, get: Getter, field: str, *, required: bool = False,
          formats: tuple[str, ...] | None = None) -> datetime | None:
    value, name = get(field)
    if _blank(value):
        if required:
            raise RecordError(field, name, "is missing or empty", "缺失或为空")
        return None
    try:
        return parse_time(value, m, formats)
    except (ValueError, OverflowError, OSError):
        fmts = ", ".join(formats or m.time_formats)
        raise RecordError(field, name, f"got {shown(field, value)}; expected a time such as "
                          f"ISO 8601, or one of: {fmts}",
                          f"收到 {shown(field, value)}；须为时间（ISO 8601 或：{fmts}）") from None


def _code(get: Getter, field: str, table: dict[str, Any], table_name: str) -> Any:
    value, name = get(field)
    if _blank(value):
        return None
    if isinstance(value, bool) and table_name in ("resolved", "approved", "consent"):
        return value
    key = code_text(value)
    if key in table:
        return table[key]
    allowed = ", ".join(repr(k) for k in list(table)[:20]) or "(none listed)"
    raise RecordError(field, name, f"got {shown(field, value)}; not in codes.{table_name} "
                      f"(allowed: {allowed})",
                      f"收到 {shown(field, value)}；不在 codes.{table_name} 中（可用：{allowed}）")


def to_order(m: Mapping, get: Getter, *, time_formats: tuple[str, ...] | None = None) -> Order:
    """A new work order from a record (``get`` reads our fields from it)."""
    ticket = _text(get, "ticket", required=True)
    assert ticket is not None
    if len(ticket) > 120:
        raise RecordError("ticket", get("ticket")[1], f"is {len(ticket)} characters long; at "
                          "most 120", f"长度 {len(ticket)}，最多 120 个字符")
    accepted = _time(m, get, "accepted_at", required=True, formats=time_formats)
    assert accepted is not None
    kind = _code(get, "category", m.codes.category, "category") if m.codes.category \
        else _text(get, "category")
    if kind is not None and kind not in ("complaint", "consultation", "help", "suggestion",
                                         "report", "praise"):
        raise RecordError("category", get("category")[1], f"got {shown('category', kind)}; "
                          "list the platform's codes in codes.category",
                          "请在 codes.category 中列出平台的诉求类型代码")
    consent: Any = True
    if m.codes.consent:
        consent = _code(get, "consent", m.codes.consent, "consent")
    else:
        value, _ = get("consent")
        if not _blank(value):
            consent = value if isinstance(value, bool) else code_text(value).lower() in (
                "1", "true", "y", "yes", "是")
    raw: dict[str, Any] = {
        "ticket_id": ticket, "platform": m.platform, "accepted_at": accepted.isoformat(),
        "category": "consultation" if kind == "help" else (kind or "complaint"),
        "consent_to_callback": True if consent is None else bool(consent),
    }
    for field, key in (("caller_name", "caller_name"), ("caller_phone", "caller_phone"),
                       ("title", "title"), ("content", "content"), ("demands", "demands"),
                       ("accession_number", "accession_number")):
        value = _text(get, field)
        if value is not None:
            raw[key] = value
    if "title" not in raw and "content" not in raw:
        name = get("content")[1]
        raise RecordError("content", name, "the order has neither a title nor content",
                          "工单既无标题也无诉求内容")
    due = _time(m, get, "due", formats=time_formats)
    limit_class = _text(get, "time_limit_class")
    # read by the intake normaliser once the core keeps them at registration (docs/hotline.md);
    # until then the connector keeps them for signing (signing.py)
    if due is not None:
        raw["due"] = due.isoformat()
    if limit_class is not None:
        raw["time_limit_class"] = limit_class
    return Order(ticket=ticket, raw=raw, due=due, time_limit_class=limit_class)


def meaning_of(m: Mapping, get: Getter, default: str) -> str:
    """What the record's status code means here (``default`` when no status is mapped)."""
    if m.fields.status is None or not m.codes.status:
        return default
    value, name = get("status")
    if _blank(value):
        return default
    key = code_text(value)
    if key not in m.codes.status:
        allowed = ", ".join(repr(k) for k in m.codes.status)
        raise RecordError("status", name, f"got {key!r}; not in codes.status (allowed: "
                          f"{allowed})", f"收到 {key!r}；不在 codes.status 中（可用：{allowed}）")
    return m.codes.status[key]


def to_result(m: Mapping, get: Getter, meaning: str) -> Result:
    """A result of the platform (call-back, decision, redo) from a record."""
    ticket = _text(get, "ticket", required=True)
    assert ticket is not None
    at = _time(m, get, "result_time") or _time(m, get, "updated_at")
    note = _text(get, "note")
    if meaning == "called_back":
        satisfaction = _code(get, "satisfaction", m.codes.satisfaction, "satisfaction")
        if satisfaction is None:
            raise RecordError("satisfaction", get("satisfaction")[1],
                              "a call-back result needs the caller's satisfaction",
                              "回访结果缺少满意度")
        resolved = _code(get, "resolved", m.codes.resolved, "resolved") if m.codes.resolved \
            else _bool(get, "resolved")
        return Result(ticket, meaning, at, satisfaction=str(getattr(satisfaction, "value",
                                                                    satisfaction)),
                      resolved=resolved, note=note)
    if meaning.endswith("_decided"):
        approved = _code(get, "approved", m.codes.approved, "approved") if m.codes.approved \
            else _bool(get, "approved")
        if approved is None:
            raise RecordError("approved", get("approved")[1],
                              "a decision needs the platform's yes or no", "审核结果缺少是否同意")
        days_value, days_name = get("granted_days")
        days: int | None = None
        if not _blank(days_value):
            try:
                days = int(code_text(days_value))
            except ValueError:
                days = -1
            if not 1 <= days <= 366:
                raise RecordError("granted_days", days_name, f"got {days_value!r}; expected "
                                  "whole working days from 1 to 366", "须为 1-366 的整数工作日")
        return Result(ticket, meaning, at, approved=bool(approved), granted_days=days,
                      note=note)
    if meaning == "redo":
        return Result(ticket, meaning, at, note=note, due=_time(m, get, "due"))
    return Result(ticket, meaning, at, note=note)


def _bool(get: Getter, field: str) -> bool | None:
    value, name = get(field)
    if _blank(value):
        return None
    if isinstance(value, bool):
        return value
    text = code_text(value).lower()
    if text in ("1", "true", "y", "yes"):
        return True
    if text in ("0", "false", "n", "no"):
        return False
    raise RecordError(field, name, f"got {value!r}; expected true/false or 1/0 (or list the "
                      f"codes in codes.{field})", f"收到 {value!r}；须为 true/false 或 1/0")

"""Turn pydantic's errors into messages a clerk can act on, in English and Chinese."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from ..errors import FieldProblem, InvalidInput

M = TypeVar("M", bound=BaseModel)

_ZH = {
    "extra_forbidden": "不允许的字段（未知字段）",
    "missing": "缺少必填字段",
    "enum": "取值不在允许范围内",
    "timezone_aware": "时间必须带时区，例如 2026-11-22T09:30:00+08:00",
    "datetime_from_date_parsing": "不是有效的日期时间",
    "datetime_parsing": "不是有效的日期时间",
    "date_from_datetime_parsing": "不是有效的日期",
    "string_pattern_mismatch": "格式不正确",
    "string_too_short": "不能为空",
    "string_too_long": "内容过长",
    "greater_than_equal": "数值过小",
    "less_than_equal": "数值过大",
    "int_parsing": "必须是整数",
    "bool_parsing": "必须是 true 或 false",
    "value_error": "取值无效",
    "too_short": "至少需要一项",
    "literal_error": "取值不在允许范围内",
}


def parse(model: type[M], data: Any, what: str | None = None) -> M:
    """Validate ``data`` as ``model`` or raise :class:`InvalidInput` naming every bad field."""
    if isinstance(data, model):
        return data
    try:
        if isinstance(data, (str, bytes)):
            return model.model_validate_json(data)
        return model.model_validate(data)
    except ValidationError as exc:
        raise to_invalid_input(exc, what or model.__name__) from None


def to_invalid_input(exc: ValidationError, what: str) -> InvalidInput:
    problems: list[FieldProblem] = []
    zh_lines = [f"「{what}」输入有误："]
    for err in exc.errors(include_url=False):
        field = ".".join(str(p) for p in err["loc"]) or "(whole record)"
        allowed = _allowed_text(err)
        value = err.get("input") if err["type"] != "missing" else None
        if isinstance(value, Mapping) and err["type"] not in {"extra_forbidden"}:
            value = "{...}"
        problems.append(FieldProblem(field, value, allowed))
        zh_lines.append(f"  - {field}：{_ZH.get(err['type'], '取值无效')}")
    return InvalidInput(what, problems, zh_lines)


def _allowed_text(err: Mapping[str, Any]) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        return "unknown field; not allowed"
    if kind == "missing":
        return "required field is missing"
    if kind == "timezone_aware":
        return "a timezone-aware datetime is required, e.g. 2026-11-22T09:30:00+08:00"
    msg = str(err["msg"])
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    return msg[0].lower() + msg[1:] if msg else "invalid value"

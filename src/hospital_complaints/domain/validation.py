"""Turn pydantic's errors into messages a clerk can act on, in English and Chinese."""

from __future__ import annotations

import typing
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from ..errors import FieldProblem, InvalidInput
from .personal import MaskKind, Personal, mask_value

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
        raise to_invalid_input(exc, what or model.__name__, model) from None
    except RecursionError:  # absurdly nested input: refused, never a traceback
        raise InvalidInput(what or model.__name__, [FieldProblem(
            "(whole record)", "(not shown)", "input nested less deeply")],
            ["  - 输入嵌套层数过多"]) from None


def to_invalid_input(exc: ValidationError, what: str,
                     model: type[BaseModel] | None = None) -> InvalidInput:
    """Every problem, in English and Chinese, each naming the field, the value given and
    what is allowed. A value of a personal field (``Personal``) is shown masked."""
    problems: list[FieldProblem] = []
    zh_lines = [f"「{what}」输入有误："]
    for err in exc.errors(include_url=False):
        field = ".".join(str(p) for p in err["loc"]) or "(whole record)"
        allowed = _allowed_text(err)
        value = err.get("input") if err["type"] != "missing" else None
        if isinstance(value, Mapping) and err["type"] not in {"extra_forbidden"}:
            value = "{...}"
        elif isinstance(value, list):
            value = f"[... {len(value)} items]"
        kind = personal_kind(model, err["loc"]) if model is not None else None
        if kind is not None and isinstance(value, str):
            shown = mask_value(kind, value)
            shown = shown if len(shown) <= 16 else shown[:12] + "..."
            value = f"{shown} ({len(value)} characters; personal data masked)"
        problems.append(FieldProblem(field, value, allowed))
        zh_lines.append(f"  - {field}：{_ZH.get(err['type'], '取值无效')}（{allowed}）")
    return InvalidInput(what, problems, zh_lines)


def personal_kind(model: type[BaseModel], loc: Sequence[int | str]) -> MaskKind | None:
    """How the field at ``loc`` of ``model`` is masked, if it is personal data."""
    current: Any = model
    marker = None
    for step in loc:
        if isinstance(step, int):
            continue
        fields = getattr(current, "model_fields", None)
        if not isinstance(fields, dict) or step not in fields:
            return None
        info = fields[step]
        marker = next((m for m in info.metadata if isinstance(m, Personal)), None)
        nested = _models_in(info.annotation)
        current = nested[0] if nested else None
    return marker.kind if marker is not None else None


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):
        found += _models_in(arg)
    return found


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

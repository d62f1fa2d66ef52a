"""Personal health data: which fields identify a person, and how they are masked.

Fields are marked in the model with ``Annotated[str, Personal("phone")]``. Everything that
shows a case to a person (listings, exports, logs, notification payloads) goes through
:func:`mask_dump`, so a new personal field is masked everywhere by adding the marker once.
Storage encrypts the same marked fields at rest.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

from pydantic import BaseModel

MaskKind = Literal["name", "phone", "id_number", "email", "address", "free"]


@dataclass(frozen=True)
class Personal:
    """Marks a model field as personal data, and says how to mask it."""

    kind: MaskKind


def mask_value(kind: MaskKind, value: str) -> str:
    """Mask one value so that a clerk can tell entries apart without learning who it is.

    >>> mask_value("name", "张三丰")
    '张**'
    >>> mask_value("phone", "13812345678")
    '138****5678'
    """
    if not value:
        return value
    if kind == "name":
        return value[0] + "*" * max(1, len(value) - 1)
    if kind == "phone":
        digits = value.strip()
        if len(digits) >= 7:
            return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
        return "*" * len(digits)
    if kind == "id_number":
        return value[:2] + "*" * max(1, len(value) - 6) + value[-4:] if len(value) > 6 else "***"
    if kind == "email":
        user, _, host = value.partition("@")
        return (user[:1] + "***@" + host) if host else "***"
    return "***"


_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
#: a phone or id number: 7 or more digits in a row, or grouped as phones are (+86 138 1234 5678)
_DIGITS = re.compile(r"\+?\d{7,}[\dXx]?|\+?\d{1,4}(?:[ -]\d{3,4}){2,3}")


def mask_text(text: str) -> str:
    """Free text from outside (a transport's error, a remote server's answer) with anything
    that looks like an e-mail address or a phone/id number masked, for texts kept or shown
    where personal data must not be.

    >>> mask_text("550 mailbox wb@example.org full; sms to 13812345678 refused")
    '550 mailbox w***@example.org full; sms to 138****5678 refused'
    """
    text = _EMAIL.sub(lambda m: mask_value("email", m.group()), text)
    return _DIGITS.sub(lambda m: mask_value("phone", re.sub(r"[ -]", "", m.group())), text)


@functools.cache
def personal_fields(model: type[BaseModel]) -> Mapping[str, Personal]:
    """The personal fields of one model class (not nested), with their markers. A class's
    fields are fixed once it is built, so this is worked out once per class (read-only)."""
    found: dict[str, Personal] = {}
    for name, info in model.model_fields.items():
        for meta in info.metadata:
            if isinstance(meta, Personal):
                found[name] = meta
    return MappingProxyType(found)


def mask_dump(model: BaseModel) -> dict[str, Any]:
    """``model.model_dump(mode="json")`` with every personal field masked, at any depth."""
    data: dict[str, Any] = model.model_dump(mode="json")
    _mask_into(model, data)
    return data


def masked_field(model: BaseModel, name: str) -> Any:
    """One text field of ``model`` as :func:`mask_dump` shows it (masked when its marker says
    it is personal), without dumping the whole model: a listing row shows two or three."""
    value = getattr(model, name)
    mark = personal_fields(type(model)).get(name)
    if mark is not None and isinstance(value, str):
        return mask_value(mark.kind, value)
    return value


def _mask_into(model: BaseModel, data: dict[str, Any]) -> None:
    marks = personal_fields(type(model))
    for name in type(model).model_fields:
        value = getattr(model, name)
        if name in marks and isinstance(data.get(name), str):
            data[name] = mask_value(marks[name].kind, data[name])
        elif isinstance(value, BaseModel) and isinstance(data.get(name), dict):
            _mask_into(value, data[name])
        elif isinstance(value, (list, tuple)) and isinstance(data.get(name), list):
            for item, item_data in zip(value, data[name], strict=False):
                if isinstance(item, BaseModel) and isinstance(item_data, dict):
                    _mask_into(item, item_data)

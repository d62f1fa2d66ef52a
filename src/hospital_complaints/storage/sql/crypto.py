"""Personal data in event rows, encrypted under the key ring (:mod:`..keys`).

Only the fields marked ``Personal(...)`` in the domain models leave the event payload: each is
replaced by a marker ``{"__hc_personal__": i}`` and the values go, as one JSON list, into the
row's encrypted ``personal`` column. The ciphertext is bound to (complaint, seq, event id) as
associated data, so it cannot be moved to another row.
"""

from __future__ import annotations

import json
import types
import typing
from typing import Any

from pydantic import BaseModel

from ...domain.commands import COMMAND_BY_EVENT
from ...domain.personal import Personal
from ..keys import ENV_VAR, KeyRing
from .errors import StorageError

__all__ = ["ENV_VAR", "MARKER", "KeyRing", "has_markers", "merge_personal", "split_personal"]

MARKER = "__hc_personal__"


# -- which payload fields are personal -------------------------------------------------------

Path = list[str | int]


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    origin = typing.get_origin(annotation)
    if origin is not None or isinstance(annotation, types.UnionType):
        for arg in typing.get_args(annotation):
            found += _models_in(arg)
    return found


def _collect(model: type[BaseModel], data: dict[str, Any], path: Path,
             out: list[tuple[Path, Any]]) -> None:
    for name, info in model.model_fields.items():
        if name not in data:
            continue
        value = data[name]
        if any(isinstance(m, Personal) for m in info.metadata):
            if value is not None:
                out.append(([*path, name], value))
            continue
        models = _models_in(info.annotation)
        if not models:
            continue
        if isinstance(value, dict):
            _collect(models[0], value, [*path, name], out)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, dict):
                    _collect(models[0], item, [*path, name, i], out)


def split_personal(event_type: str, payload: dict[str, Any]) -> tuple[dict[str, Any],
                                                                         list[Any]]:
    """The payload with personal values replaced by markers, and the values in marker order."""
    command = COMMAND_BY_EVENT.get(event_type)
    found: list[tuple[Path, Any]] = []
    if command is not None:
        _collect(command, payload, [], found)
    if not found:
        return payload, []
    redacted: dict[str, Any] = json.loads(json.dumps(payload))
    values: list[Any] = []
    for i, (path, value) in enumerate(found):
        target: Any = redacted
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = {MARKER: i}
        values.append(value)
    return redacted, values


def merge_personal(payload: Any, values: list[Any], where: str) -> Any:
    """Put decrypted values back where their markers are (a new structure)."""
    if isinstance(payload, dict):
        if set(payload) == {MARKER}:
            index = payload[MARKER]
            if not isinstance(index, int) or not 0 <= index < len(values):
                raise StorageError(
                    f"personal data of {where} is missing or damaged (marker {index!r})",
                    f"{where} 的个人信息缺失或损坏",
                )
            return values[index]
        return {k: merge_personal(v, values, where) for k, v in payload.items()}
    if isinstance(payload, list):
        return [merge_personal(v, values, where) for v in payload]
    return payload


def has_markers(payload: Any) -> bool:
    if isinstance(payload, dict):
        return set(payload) == {MARKER} or any(has_markers(v) for v in payload.values())
    if isinstance(payload, list):
        return any(has_markers(v) for v in payload)
    return False

"""Personal data in event rows, encrypted under the key ring (:mod:`..keys`).

Only the fields marked ``Personal(...)`` in the event's payload class (found by event type and
schema version, :data:`...domain.events.registry.PAYLOADS`) leave the payload: each is
replaced by a marker ``{"__hc_personal__": i}`` and the values go, as one JSON list, into the
row's encrypted ``personal`` column. The markers sit in the payload data, which is stored bare
(release 0.1) or inside the versioned envelope (docs/events.md); :func:`merge_personal` puts
the values back in either shape. The ciphertext is bound to (complaint, seq, event id) as
associated data, so it cannot be moved to another row.
"""

from __future__ import annotations

import functools
from typing import Any

from pydantic import BaseModel

from ...domain.events.records import models_in
from ...domain.events.registry import PAYLOADS
from ...domain.personal import Personal
from ..keys import ENV_VAR, KeyRing
from .errors import StorageError

__all__ = ["ENV_VAR", "MARKER", "KeyRing", "has_markers", "merge_personal", "split_personal"]

MARKER = "__hc_personal__"


# -- which payload fields are personal -------------------------------------------------------

Path = list[str | int]


#: per field of a payload model: its name, whether it is personal, and the model its value
#: holds (a nested model, or a list of them), if any
_FieldPlan = tuple[tuple[str, bool, type[BaseModel] | None], ...]


@functools.cache
def _field_plan(model: type[BaseModel]) -> _FieldPlan:
    """Which fields of ``model`` are personal and which hold models, worked out once per
    model class (they are fixed when the class is made)."""
    plan = []
    for name, info in model.model_fields.items():
        personal = any(isinstance(m, Personal) for m in info.metadata)
        models = [] if personal else models_in(info.annotation)
        if personal or models:
            plan.append((name, personal, models[0] if models else None))
    return tuple(plan)


def _collect(model: type[BaseModel], data: dict[str, Any], path: Path,
             out: list[tuple[Path, Any]]) -> None:
    for name, personal, nested in _field_plan(model):
        if name not in data:
            continue
        value = data[name]
        if personal:
            if value is not None:
                out.append(([*path, name], value))
        elif nested is not None:
            if isinstance(value, dict):
                _collect(nested, value, [*path, name], out)
            elif isinstance(value, list):
                for i, item in enumerate(value):
                    if isinstance(item, dict):
                        _collect(nested, item, [*path, name, i], out)


def split_personal(event_type: str, payload: dict[str, Any],
                   version: int = 1) -> tuple[dict[str, Any], list[Any]]:
    """The payload with personal values replaced by markers, and the values in marker order.

    The personal fields are those of the payload class of ``event_type`` version ``version``;
    an event type or version this release does not know raises ``UnknownEventSchema`` (it
    could hold personal data that would otherwise be stored in plain text). ``payload`` is
    not changed: the dicts and lists on the way to a marker are copied, the rest is shared.
    """
    found: list[tuple[Path, Any]] = []
    _collect(PAYLOADS.get(event_type, version), payload, [], found)
    if not found:
        return payload, []
    redacted = dict(payload)
    copies = {id(redacted)}  # the containers made here (the others are the caller's)
    values: list[Any] = []
    for i, (path, value) in enumerate(found):
        target: Any = redacted
        for step in path[:-1]:
            child = target[step]
            if id(child) not in copies:
                child = dict(child) if isinstance(child, dict) else list(child)
                copies.add(id(child))
                target[step] = child
            target = child
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

"""The stored form of an event's payload: a versioned envelope, or release 0.1's bare object.

An event written now stores its payload as::

    {"schema": "acknowledged/1", "from": "registered", "to": "acknowledged", "data": {...}}

``schema`` names the payload schema (event type / version), ``from`` and ``to`` the case's
states before and after (``from`` is ``null`` for a registration), ``data`` the payload. An
event written by release 0.1 stored ``data`` alone, a bare object: it reads as version 1
with no recorded states. Storage keeps this object in the event row's ``payload`` column, so
the hash chain covers the version and the states too. See docs/events.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ENVELOPE_KEYS = frozenset({"schema", "from", "to", "data"})


@dataclass(frozen=True)
class StoredPayload:
    """What a stored payload object says."""

    version: int
    from_state: str | None
    to_state: str | None
    data: dict[str, Any]


def is_envelope(stored: Any) -> bool:
    """Whether ``stored`` is an envelope (no payload of release 0.1 has these four keys)."""
    return isinstance(stored, dict) and set(stored) == ENVELOPE_KEYS


def envelope(event_type: str, version: int, from_state: str | None, to_state: str | None,
             data: dict[str, Any]) -> dict[str, Any]:
    """The object to store for an event's payload ``data``. An event without a ``to_state``
    (a release-0.1 record) is stored bare, exactly as release 0.1 stored it."""
    if to_state is None:
        if from_state is not None or version != 1:
            raise ValueError("an event without to_state is a release-0.1 record: it has no "
                             "from_state and its schema version is 1")
        return data
    return {"schema": f"{event_type}/{version}", "from": from_state, "to": to_state,
            "data": data}


def unwrap(event_type: str, stored: Any, where: str) -> StoredPayload:
    """Read a stored payload object (either shape). ``where`` names the row in errors."""
    if not isinstance(stored, dict):
        raise ValueError(f"the payload of {where} is not a JSON object")
    if not is_envelope(stored):
        return StoredPayload(1, None, None, stored)
    schema = stored["schema"]
    name, _, number = schema.partition("/") if isinstance(schema, str) else ("", "", "")
    if name != event_type or not number.isdigit() or int(number) < 1:
        raise ValueError(f"the payload of {where} names schema {schema!r}, which is not a "
                         f"version of its event type {event_type!r}")
    data, from_state, to_state = stored["data"], stored["from"], stored["to"]
    if not isinstance(data, dict) or not isinstance(to_state, str) \
            or not (from_state is None or isinstance(from_state, str)):
        raise ValueError(f"the payload envelope of {where} is damaged")
    return StoredPayload(int(number), from_state, to_state, data)

"""Immutable events: every change to a case, with who, when, why and what it did."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ..base import Instant, ShortText, StrictModel


class Event(StrictModel):
    """One change to one case. The case is rebuilt by replaying its events in order.

    ``seq`` numbers a case's events from 1; ``type`` is the event's name
    (``complaint_registered``, ``acknowledged`` ...). ``payload`` is the recorded data, a plain
    JSON object valid against the payload schema ``type`` version ``schema_version``
    (``schemas/events/<type>.v<N>.schema.json``), with any ids the system assigned.

    ``from_state`` and ``to_state`` are the case's states before and after the event: replay
    sets the state to ``to_state`` and never asks today's transition table. Events written by
    release 0.1 carry neither (``None``) and are schema version 1; replay takes their target
    from a frozen copy of release 0.1's table. A registration has no ``from_state``.
    """

    event_id: ShortText
    complaint_ref: ShortText
    seq: int = Field(ge=1)
    type: ShortText
    actor: ShortText
    at: Instant
    reason: str | None = None
    payload: dict[str, Any] = Field(default_factory=dict)
    from_state: str | None = None
    to_state: str | None = None
    schema_version: int = Field(default=1, ge=1)

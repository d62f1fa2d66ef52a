"""Immutable events: every change to a case, with who, when and why."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from .base import Instant, ShortText, StrictModel


class Event(StrictModel):
    """One change to one case. The case's state is rebuilt by replaying its events in order.

    ``seq`` numbers a case's events from 1; ``type`` is the command's event name
    (``complaint_registered``, ``acknowledged`` ...); ``payload`` is the command's data with
    any ids the system assigned.
    """

    event_id: ShortText
    complaint_ref: ShortText
    seq: int = Field(ge=1)
    type: ShortText
    actor: ShortText
    at: Instant
    reason: str | None = None
    payload: dict[str, Any] = Field(default_factory=dict)

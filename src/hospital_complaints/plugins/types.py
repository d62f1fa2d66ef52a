"""Small value types that hooks exchange with the core."""

from __future__ import annotations

from collections.abc import Iterable
from typing import IO, Protocol, runtime_checkable

from ..domain.base import Instant, ShortText, StrictModel, Text
from ..domain.case import Case


class Routing(StrictModel):
    """Where a new case goes: a department and, optionally, a named owner."""

    department: ShortText
    owner: ShortText | None = None
    reason: Text | None = None


class Viewer(StrictModel):
    """Who is asking to see something: user id, roles, and their department."""

    user: ShortText
    roles: frozenset[ShortText] = frozenset()
    department: ShortText | None = None


class NotificationFailure(StrictModel):
    """A notification plugin raised. The case is saved; this record makes the failure visible."""

    complaint_ref: ShortText
    event_id: ShortText
    event_type: ShortText
    plugin: ShortText
    error: Text
    at: Instant


@runtime_checkable
class Exporter(Protocol):
    """An export mapper: writes whole cases in some format, with identity masked."""

    id: str
    description: str

    def export(self, cases: Iterable[Case], out: IO[str]) -> int:
        """Write ``cases`` to ``out`` and return how many were written. Personal data must be
        masked (``mask_dump``) and a report's complainant left out; an exporter that can
        reveal identity does so only behind its own explicit option."""
        ...

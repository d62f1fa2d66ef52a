"""Follow-up results from outside the cases (patient surveys), for the follow-up section.

A plugin registers a :class:`FollowUpSource` through ``hc_register_follow_up_sources``; the
monthly report gives each source its own table, and says "no data" when there is none.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from .model import Bi


@dataclass(frozen=True, slots=True)
class FollowUpResult:
    """One invitation or call: when, for which department, answered or not, the 1-5 score."""

    at: datetime
    department: str | None
    answered: bool
    satisfaction: int | None = None
    modality: str | None = None


@runtime_checkable
class FollowUpSource(Protocol):
    id: str
    title: Bi

    def results(self, start: datetime, end: datetime) -> Iterable[FollowUpResult]:
        """The results whose ``at`` is in ``[start, end)``."""
        ...

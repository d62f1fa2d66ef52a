"""Due instants for report counting: the SLA engine's own arithmetic (``case_deadlines``),
computed once per case fact and kept (a report asks for the same case's deadlines in every
month it counts)."""

from __future__ import annotations

from datetime import datetime

from ...domain.taxonomy import Milestone
from ...sla import Calendars, SlaPolicy, case_deadlines
from .facts import CaseFact


class Dues:
    def __init__(self, policy: SlaPolicy, calendars: Calendars) -> None:
        self.policy = policy
        self.calendars = calendars
        self._cache: dict[tuple[str, int], dict[str, datetime]] = {}

    def all(self, fact: CaseFact) -> dict[str, datetime]:
        """Every deadline of the case: milestone (or ``action:A1``) -> due."""
        key = (fact.reference, hash(fact))
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = {
                d.milestone: d.due
                for d in case_deadlines(self.policy, fact.clock(self.policy.id),
                                        self.calendars)}
        return found

    def due(self, fact: CaseFact, milestone: Milestone | str) -> datetime | None:
        name = milestone.value if isinstance(milestone, Milestone) else milestone
        return self.all(fact).get(name)

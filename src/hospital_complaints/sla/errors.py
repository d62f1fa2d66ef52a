"""The SLA engine's own error: an extension or other deadline request the policy forbids."""

from __future__ import annotations

from ..errors import HospitalComplaintsError


class DeadlineError(HospitalComplaintsError):
    """A deadline request breaks the policy: an extension too long, without required consent,
    or for a milestone the policy does not let anyone extend."""

    def __init__(self, en: str, zh: str, *, policy: str, milestone: str) -> None:
        self.policy = policy
        self.milestone = milestone
        super().__init__(en, zh)

"""Small value types that hooks exchange with the core."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any, Protocol, runtime_checkable

from ..domain.base import Instant, ShortText, StrictModel, Text

if TYPE_CHECKING:
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


#: ``decided_by`` of a decision a plugin gave as a bare ``True``/``False``
UNNAMED_DECIDER = "(a plugin answered a bare bool; return AccessDecision to be named)"


class AccessDecision(StrictModel):
    """An access decision and who made it (a plugin's name, or ``"whistle-blower rule"``).

    ``hc_can_reveal_identity`` implementations return one (or ``None`` to abstain); the
    decision is recorded on the audit event, allowed or refused.
    """

    allowed: bool
    decided_by: ShortText
    reason: Text | None = None

    @classmethod
    def allow(cls, decided_by: str, reason: str | None = None) -> AccessDecision:
        return cls(allowed=True, decided_by=decided_by, reason=reason)

    @classmethod
    def refuse(cls, decided_by: str, reason: str | None = None) -> AccessDecision:
        return cls(allowed=False, decided_by=decided_by, reason=reason)


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


@runtime_checkable
class IntegrityCheck(Protocol):
    """A tamper check of a plugin's own tables, run by ``hospital-complaints audit verify``
    after the core's event chain (``hc_register_integrity_checks``)."""

    id: str
    description: str

    def check(self, store: Any) -> list[str]:
        """Every problem found in ``store`` (a ``SqlStore``), one line each naming the table
        and row; ``[]`` means intact. Never include personal data in a line."""
        ...


@runtime_checkable
class EncryptedData(Protocol):
    """A plugin's table encrypted with the key ring (``hc_register_encrypted_data``), so that
    ``hospital-complaints keys status`` and ``keys rotate`` cover it."""

    id: str
    description: str

    def key_ids(self, store: Any) -> dict[str, int]:
        """How many rows use each key id (``{"1a2b3c4d": 120}``)."""
        ...

    def rotate(self, store: Any) -> int:
        """Re-encrypt every row not under the store's current key; return how many."""
        ...


class DemoFeed(StrictModel):
    """What a plugin did with the demo's exams (``hc_demo_exam_feed``): the lines the demo
    prints, and whether every exam reached the exam table (else the demo stores them)."""

    lines: list[str]
    stored_all: bool


@dataclass
class Job:
    """A scheduled job: ``run()`` every ``every_s`` seconds (0: never), in one worker at a
    time. ``run`` returns a short line for the log and the ``--once`` summary."""

    name: str
    every_s: float
    run: Callable[[], str]

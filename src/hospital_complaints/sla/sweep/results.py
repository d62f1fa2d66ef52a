"""What a sweep returns: :class:`Alert`, :class:`SweepItem` and :class:`SweepResult`, and
the compact findings (:class:`_Found`) the fast sweep keeps until a list is first read."""

from __future__ import annotations

from array import array
from collections.abc import Iterator
from datetime import datetime
from typing import Any, NamedTuple

from ...domain.taxonomy import AlertKind
from ..engine import DeadlineStatus, met_at
from ..records import CaseClock
from .collector import _collector_paused

DUE_SOON, OVERDUE = AlertKind.DUE_SOON, AlertKind.OVERDUE
_DUE_SOON, _OVERDUE = DUE_SOON.value, OVERDUE.value


class Alert(NamedTuple):
    """A new alert: the service records it as ``RecordDeadlineAlert`` and calls the hooks."""

    reference: str
    milestone: str  # "respond", or "action:A1"
    kind: AlertKind
    due: datetime
    policy: str
    provisional: bool


class SweepItem(NamedTuple):
    reference: str
    milestone: str
    status: DeadlineStatus  # due_soon, overdue or breached
    due: datetime
    provisional: bool
    policy: str
    department: str | None
    met_at: datetime | None


_new = tuple.__new__  # builds a NamedTuple without its Python-level __new__ (hot path)


class _Spec:
    """What one found deadline is, apart from the case and the due instant: a milestone (or
    an action) of a policy, provisional or not, and the alert kind it raises."""

    __slots__ = ("key", "kind", "met_field", "name", "policy", "provisional")

    def __init__(self, name: str, policy: str, provisional: bool, kind: AlertKind,
                 met_field: str | None) -> None:
        self.name = name
        self.policy = policy
        self.provisional = provisional
        self.kind = kind
        self.key = (name, kind.value)  # as in CaseClock.alerts
        self.met_field = met_field  # None for an action

    def met_at(self, clock: CaseClock) -> datetime | None:
        if self.met_field is None:
            return met_at(clock, self.name)  # an action, found by its id as the engine does
        met: datetime | None = getattr(clock, self.met_field)
        return met


class _Findings:
    """One list's findings, compact: the case's position among the cases swept, and flat
    (spec, due) pairs."""

    __slots__ = ("pairs", "positions")

    def __init__(self) -> None:
        self.positions = array("q")  # not a Python object per entry: nothing for the GC
        self.pairs: list[Any] = []  # spec, due, spec, due, ...


class _Found:
    """What a sweep found, compact: the open cases swept, the deadlines found due soon or
    overdue (``pending``, in order: the kind of their spec tells which), and those met late.

    A million cases give millions of findings. Keeping a position and two references each
    instead of a tuple each is much of what makes the sweep fast; and because the findings
    refer to the cases by position, the garbage collector, when it next runs, does not have
    to visit a million cases through them. Which alerts are new follows from the findings
    and the cases' raised alerts. :class:`SweepResult` builds the tuples when a list is first
    read.
    """

    __slots__ = ("cases", "late", "pause_gc", "pending")

    def __init__(self, pause_gc: bool) -> None:
        self.pause_gc = pause_gc  # while the lists are built, as while sweeping
        self.cases: list[CaseClock] = []
        self.pending = _Findings()
        self.late = _Findings()


def _triples(cases: list[CaseClock],
             findings: _Findings) -> Iterator[tuple[CaseClock, _Spec, datetime]]:
    """(case, spec, due) per finding, in order."""
    pairs = iter(findings.pairs)
    return zip(map(cases.__getitem__, findings.positions), pairs, pairs, strict=True)


def _breached(found: _Found) -> list[SweepItem]:
    status = DeadlineStatus.BREACHED
    return [_new(SweepItem, (c.reference, s.name, status, due, s.provisional, s.policy,
                             c.department, s.met_at(c)))
            for c, s, due in _triples(found.cases, found.late)]


def _pending_lists(found: _Found) -> tuple[list[SweepItem], list[SweepItem], list[Alert]]:
    """Due soon, overdue and new alerts in one pass over the pending findings (reading one of
    the item lists usually means reading them all: the CLI and ``to_json`` do)."""
    due_soon: list[SweepItem] = []
    overdue: list[SweepItem] = []
    alerts: list[Alert] = []
    add_soon, add_over, add_alert = due_soon.append, overdue.append, alerts.append
    soon, over = DeadlineStatus.DUE_SOON, DeadlineStatus.OVERDUE
    for c, s, due in _triples(found.cases, found.pending):
        ref = c.reference
        if s.kind is DUE_SOON:
            add_soon(_new(SweepItem, (ref, s.name, soon, due, s.provisional, s.policy,
                                      c.department, None)))
        else:
            add_over(_new(SweepItem, (ref, s.name, over, due, s.provisional, s.policy,
                                      c.department, None)))
        if s.key not in c.alerts:
            add_alert(_new(Alert, (ref, s.name, s.kind, due, s.policy, s.provisional)))
    return due_soon, overdue, alerts


def _alerts(found: _Found) -> list[Alert]:
    return [_new(Alert, (c.reference, s.name, s.kind, due, s.policy, s.provisional))
            for c, s, due in _triples(found.cases, found.pending) if s.key not in c.alerts]


class SweepResult:
    """What a sweep found at ``at``.

    Lists are in input order (case by case, milestones in process order, then actions). The
    fast sweep keeps its findings compact and builds each list the first time it is read.
    Read-only; two results are equal when their instant, count and lists are.
    """

    __slots__ = ("_at", "_cases", "_found", "_lists")
    _at: datetime
    _cases: int
    _found: _Found | None
    _lists: list[list[Any] | None]  # built lists; None until first read

    def __init__(self, at: datetime, cases: int, due_soon: list[SweepItem],
                 overdue: list[SweepItem], breached: list[SweepItem],
                 new_alerts: list[Alert]) -> None:
        self._set(at, cases, None, [due_soon, overdue, breached, new_alerts])

    @classmethod
    def _compact(cls, at: datetime, cases: int, found: _Found) -> SweepResult:
        result = cls.__new__(cls)
        result._set(at, cases, found, [None, None, None, None])
        return result

    def _set(self, at: datetime, cases: int, found: _Found | None,
             lists: list[list[Any] | None]) -> None:
        for name, value in (("_at", at), ("_cases", cases), ("_found", found),
                            ("_lists", lists)):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"SweepResult is read-only (cannot set {name!r})")

    @property
    def at(self) -> datetime:
        return self._at

    @property
    def cases(self) -> int:
        """Open cases swept."""
        return self._cases

    @property
    def due_soon(self) -> list[SweepItem]:
        return self._list(0)

    @property
    def overdue(self) -> list[SweepItem]:
        return self._list(1)

    @property
    def breached(self) -> list[SweepItem]:
        return self._list(2)

    @property
    def new_alerts(self) -> list[Alert]:
        return self._list(3)

    def _list(self, index: int) -> list[Any]:  # due soon, overdue, breached, new alerts
        lists = self._lists
        built = lists[index]
        if built is None:
            found = self._found
            assert found is not None  # a result without lists is a compact one
            with _collector_paused(found.pause_gc):  # millions of tuples: _CollectorPause
                if index in (0, 1):  # both item lists (and the alerts) in one pass
                    lists[0], lists[1], alerts = _pending_lists(found)
                    if lists[3] is None:
                        lists[3] = alerts
                    built = lists[index]
                    assert built is not None
                    return built
                built = _alerts(found) if index == 3 else _breached(found)
            lists[index] = built
        return built

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SweepResult):
            return NotImplemented
        return (self.at, self.cases, self.due_soon, self.overdue, self.breached,
                self.new_alerts) == (other.at, other.cases, other.due_soon, other.overdue,
                                     other.breached, other.new_alerts)

    __hash__ = None  # type: ignore[assignment]  # holds lists

    def __repr__(self) -> str:
        return (f"SweepResult(at={self.at!r}, cases={self.cases!r}, "
                f"due_soon={self.due_soon!r}, overdue={self.overdue!r}, "
                f"breached={self.breached!r}, new_alerts={self.new_alerts!r})")

    def to_json(self) -> dict[str, Any]:
        def item(i: SweepItem) -> dict[str, Any]:
            return {"reference": i.reference, "milestone": i.milestone, "due": i.due.isoformat(),
                    "provisional": i.provisional, "policy": i.policy,
                    "department": i.department,
                    "met_at": i.met_at.isoformat() if i.met_at else None}

        return {
            "at": self.at.isoformat(),
            "cases": self.cases,
            "due_soon": [item(i) for i in self.due_soon],
            "overdue": [item(i) for i in self.overdue],
            "breached": [item(i) for i in self.breached],
            "new_alerts": [{"reference": a.reference, "milestone": a.milestone,
                            "kind": a.kind.value, "due": a.due.isoformat(), "policy": a.policy,
                            "provisional": a.provisional} for a in self.new_alerts],
        }


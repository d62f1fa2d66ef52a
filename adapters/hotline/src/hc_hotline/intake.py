"""Taking a platform's records in: new work orders become cases (once per ticket), results
(call-backs, decisions, redo) become the work-order commands, and a record that cannot be
used is kept, with the reason, instead of being lost.

Shared by the poller (``pull.py``), the file import (``files.py``) and ``hotline rejects
--retry``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hospital_complaints.plugin_api import (
    ConcurrencyConflict,
    HospitalComplaintsError,
    InvalidInput,
)

from .errors import RecordError
from .records import Getter, Order, Result, meaning_of, to_order, to_result
from .store import TicketRow, store_for

if TYPE_CHECKING:
    from hospital_complaints.plugin_api import App, Case

    from .settings import Connector

CHANNEL = "hotline_platform"
#: statuses that echo what the hospital itself did: nothing to apply
ECHOES = frozenset({"signed", "returned", "replied", "closed"})
#: words in a field path of the core's errors whose values may identify a person
_PERSONAL_PATHS = ("complainant", "patient", "subject", "description", "demands")


@dataclass
class Tally:
    """What a pull or an import did, for its one-line report."""

    new: int = 0
    known: int = 0
    applied: int = 0
    ignored: int = 0
    kept: int = 0
    problems: list[str] = field(default_factory=list)

    def add(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)

    def summary(self) -> str:
        first = f"; first: {self.problems[0]}" if self.problems else ""
        return (f"{self.new} new, {self.known} already registered, {self.applied} results "
                f"applied, {self.ignored} ignored, {self.kept} kept as unusable{first} "
                f"(新工单 {self.new}，已登记 {self.known}，结果 {self.applied}，"
                f"忽略 {self.ignored}，不可用已保留 {self.kept})")


def core_error_text(exc: HospitalComplaintsError) -> tuple[str, str]:
    """A core error for a log line and the kept record, with personal values left out."""
    if isinstance(exc, InvalidInput):
        parts = []
        for p in exc.problems:
            personal = any(w in p.field for w in _PERSONAL_PATHS)
            got = "(value not shown)" if personal else repr(p.value)[:60]
            parts.append(f"{p.field}: got {got}; {p.allowed}")
        en = f"invalid {exc.what}: " + "; ".join(parts)
        zh = f"{exc.what} 无效：" + "；".join(f"{p.field}：{p.allowed}" for p in exc.problems)
        return en, zh
    return exc.en.replace("\n", " "), (exc.zh or exc.en).replace("\n", " ")


class Taker:
    """Registers orders and applies results for one connector."""

    def __init__(self, app: App, connector: Connector) -> None:
        self.app = app
        self.connector = connector
        self.m = connector.mapping
        self.store = store_for(app)
        self.actor = f"platform:{self.m.id}"

    # -- one record ------------------------------------------------------------------------

    def take(self, get: Getter, raw: Any, source: str, tally: Tally, *,
             default_meaning: str = "dispatched",
             time_formats: tuple[str, ...] | None = None) -> str:
        """Handle one record: ``new``, ``known``, ``applied``, ``ignored`` or ``kept``."""
        try:
            meaning = meaning_of(self.m, get, default_meaning)
            if meaning == "dispatched":
                _ref, created = self.register(to_order(self.m, get, time_formats=time_formats))
                outcome = "new" if created else "known"
            elif meaning in ECHOES:
                outcome = "ignored"
            else:
                outcome = self.apply(to_result(self.m, get, meaning))
        except RecordError as exc:
            self._keep(source, get, raw, exc.en, exc.zh, tally)
            return "kept"
        except HospitalComplaintsError as exc:
            en, zh = core_error_text(exc)
            self._keep(source, get, raw, en, zh, tally)
            return "kept"
        tally.add(outcome)
        return outcome

    def _keep(self, source: str, get: Getter, raw: Any, en: str, zh: str,
              tally: Tally) -> None:
        value, _name = get("ticket")
        ticket = str(value)[:120] if value not in (None, "") else None
        self.store.keep(self.m.id, source, ticket, en, zh, raw, self.app.clock.now())
        tally.kept += 1
        tally.problems.append(f"{source}{f' ticket {ticket}' if ticket else ''}: {en}")

    # -- orders ----------------------------------------------------------------------------

    def register(self, order: Order) -> tuple[str, bool]:
        """The order's case (registered now, or found by its ticket)."""
        case, created = self.app.complaints.intake_once(
            CHANNEL, order.raw, actor=self.actor,
            idempotency_key=f"{self.m.platform}:{order.ticket}")
        self.store.remember(TicketRow(self.m.id, order.ticket, case.reference, order.due,
                                      order.time_limit_class), self.app.clock.now())
        return case.reference, created

    # -- results ---------------------------------------------------------------------------

    def find(self, ticket: str) -> Case:
        """The case answering ``ticket`` now: the one it became, or the case it was merged
        into (并单)."""
        row = self.store.ticket(self.m.id, ticket)
        case: Case | None = None
        if row is not None:
            case = self.app.complaints.get(row.reference)
        else:  # taken before this connector kept its ticket table: the intake's key
            with self.app.unit_of_work() as uow:
                ref = uow.cases.find_by_idempotency_key(f"{self.m.platform}:{ticket}")
            if ref is not None:
                case = self.app.complaints.get(ref)
        if case is None:
            name = self.m.fields.ticket
            raise RecordError("ticket", name, f"no work order {ticket!r} of platform "
                              f"{self.m.platform} is registered here",
                              f"本院没有平台 {self.m.platform} 的工单 {ticket!r}")
        for _ in range(20):
            if case.merged_into is None:
                break
            case = self.app.complaints.get(case.merged_into)
        return case

    def apply(self, result: Result) -> str:
        """Record one platform result once: ``applied``, or ``known`` when it was before."""
        if self.store.applied(self.m.id, result.key):
            return "known"
        case = self.find(result.ticket)
        name, fields = self._command(result)
        for attempt in (1, 2):
            try:
                self.app.complaints.execute(
                    case.reference, (name, fields), actor=self.actor,
                    reason=f"{self.m.platform} ticket {result.ticket}")
                break
            except ConcurrencyConflict:
                if attempt == 2:
                    raise
        self.store.mark_applied(self.m.id, result.key, case.reference, name,
                                self.app.clock.now())
        return "applied"

    def _command(self, r: Result) -> tuple[str, dict[str, Any]]:
        if r.meaning == "called_back":
            fields: dict[str, Any] = {"satisfaction": r.satisfaction}
            if r.resolved is not None:
                fields["resolved"] = r.resolved
            if r.note:
                fields["note"] = r.note
            return "record_callback", fields
        if r.meaning == "redo":
            fields = {"reason": r.note or "平台要求重办 (the platform asked for a redo)"}
            if r.due is not None:
                fields["due"] = r.due.isoformat()
            return "redo_work_order", fields
        kind = r.meaning.removesuffix("_decided")
        fields = {"kind": kind, "approved": bool(r.approved)}
        if r.granted_days is not None and r.approved:
            fields["granted_days"] = r.granted_days
        if r.note:
            fields["note"] = r.note
        return "record_platform_decision", fields


def take_api_record(taker: Taker, record: dict[str, Any], source: str, tally: Tally,
                    default_meaning: str) -> str:
    from .records import api_getter

    return taker.take(api_getter(taker.m, record), record, source, tally,
                      default_meaning=default_meaning)

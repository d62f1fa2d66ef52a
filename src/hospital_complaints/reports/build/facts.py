"""Case facts: what a report needs to know about one case, as the records stood at an instant.

A :class:`CaseFact` holds no identity: kind, channel, times, department, categories, outcome,
follow-up, actions, root causes. It is built two ways that must agree (a property test keeps
them equal):

- :func:`fact_from_case`: from a domain :class:`~...domain.case.Case` (its events replayed up
  to the instant by the domain's own fold when later events exist);
- :class:`FactFolder` / :func:`fold_events`: from stored rows (type, time, version, state,
  payload), without the domain's models and without decrypting anything: the SQL reader's
  way (``reports/readers.py``).

The counting rule (docs/reports.md): the registration always counts; every later event counts
when it happened at or before the instant, in order, the first later one ending the read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from ...domain.case import Case
from ...domain.events import Event, release01
from ...domain.taxonomy import (
    FINISHED_ACTION_STATUSES,
    OPEN_STATES,
    ActionStatus,
    CallbackSatisfaction,
    CaseState,
    Complexity,
    OutcomeKind,
    PlatformRequest,
)
from ...domain.workorders import CALLBACK_SCORE
from ...sla.records import ActionClock, CaseClock

#: (event type -> stored schema versions) the folder reads; another version of these is
#: replayed by the domain instead (UnknownVersion), so a newer schema never miscounts
KNOWN_VERSIONS: dict[str, frozenset[int]] = {
    t: frozenset({1}) for t in (
        "complaint_registered", "acknowledged", "classified", "assigned",
        "finding_recorded", "action_planned", "action_progress_recorded", "action_verified",
        "responded", "follow_up_recorded", "follow_up_waived", "closed", "withdrawn",
        "referred", "reopened", "deadline_extended", "work_order_replied", "callback_recorded",
        "work_order_redone", "work_order_signed", "work_order_returned",
        "platform_decision_recorded", "merged_into", "merge_undone")}
KNOWN_VERSIONS["declined"] = frozenset({1, 2})
#: event types that change nothing a report counts (their rows still carry the state)
IGNORED = frozenset({
    "investigation_started", "team_member_added", "evidence_added", "exam_linked",
    "communication_logged", "attachment_added", "deadline_alert", "cluster_alert",
    "identity_revealed", "identity_reveal_refused", "attachment_viewed",
    "attachment_view_refused", "reroute_requested", "dispatch_disputed",
    "extension_requested", "supervision_recorded", "case_absorbed"})

_FINISHED = frozenset(s.value for s in FINISHED_ACTION_STATUSES)
_OPEN = frozenset(s.value for s in OPEN_STATES)


class UnknownVersion(Exception):
    """A stored event version the folder does not read: replay the case instead."""


@dataclass(frozen=True, slots=True)
class ActionFact:
    """A rectification action (整改措施). ``finished_at`` as the SLA engine takes it: the
    latest progress check that finished it, else its verification."""

    action_id: str
    type: str
    due: date
    planned_at: datetime
    status: str
    finished_at: datetime | None = None
    verified_at: datetime | None = None
    effective: bool | None = None

    @property
    def cancelled(self) -> bool:
        return self.status == ActionStatus.CANCELLED.value

    @property
    def is_finished(self) -> bool:
        return self.status in _FINISHED


@dataclass(frozen=True, slots=True)
class FollowUpFact:
    at: datetime
    satisfaction: int | None
    unreachable: bool


@dataclass(frozen=True, slots=True)
class CaseFact:
    """One case as the records stood at an instant (no identity)."""

    reference: str
    kind: str
    channel: str
    received_at: datetime
    state: str
    department: str | None = None
    categories: tuple[str, ...] = ()
    complexity: str = "simple"
    complainant_role: str | None = None
    staff_roles: tuple[str, ...] = ()
    transferred_from: str | None = None
    #: the domain's (latest) acknowledgement, and the first one (a work order's sign-for,
    #: 签收, is its first feedback)
    acknowledged_at: datetime | None = None
    first_acknowledged_at: datetime | None = None
    #: the standing answer (cleared by a reopen or redo), and the first answer ever given
    responded_at: datetime | None = None
    first_responded_at: datetime | None = None
    closed_at: datetime | None = None
    outcome: str | None = None
    follow_up: FollowUpFact | None = None
    follow_up_waived: bool = False
    extensions: tuple[tuple[str, int], ...] = ()
    actions: tuple[ActionFact, ...] = ()
    root_causes: tuple[str, ...] = ()
    merged_into: str | None = None

    @property
    def is_open(self) -> bool:
        return self.state in _OPEN

    @property
    def finished_at(self) -> datetime | None:
        """When local handling ended (closed, withdrawn, referred, not accepted, merged);
        ``None`` while open."""
        return None if self.is_open else self.closed_at

    def clock(self, policy: str) -> CaseClock:
        """The SLA engine's record of this case under ``policy``."""
        return CaseClock(
            reference=self.reference, policy=policy, received_at=self.received_at,
            complexity=Complexity(self.complexity),
            department=self.department, state=CaseState(self.state),
            acknowledged_at=self.acknowledged_at, responded_at=self.responded_at,
            closed_at=self.closed_at,
            followed_up_at=self.follow_up.at if self.follow_up is not None else None,
            follow_up_waived=self.follow_up_waived, extensions=self.extensions,
            actions=tuple(ActionClock(a.action_id, a.due, a.finished_at, cancelled=a.cancelled)
                          for a in self.actions))


# -- from the domain's case --------------------------------------------------------------------


def _kept(events: list[Event], as_of: datetime) -> list[Event]:
    kept = events[:1]
    for e in events[1:]:
        if e.at > as_of:
            break
        kept.append(e)
    return kept


def fact_from_case(case: Case, as_of: datetime) -> CaseFact:
    """The fact of ``case`` at ``as_of``, by the domain's fold (``workflow.rebuild``) of the
    events up to then."""
    from ...domain.workflow import rebuild

    events = _kept(case.events, as_of) if case.events else []
    if events and len(events) < len(case.events):
        case = rebuild(events)
    c = case.complaint
    first_ack = first_answer = None
    planned: dict[str, datetime] = {}
    for e in events[1:]:
        if e.type in ("acknowledged", "work_order_signed") and first_ack is None:
            first_ack = e.at
        elif e.type in ("responded", "work_order_replied") and first_answer is None:
            first_answer = e.at
        elif e.type == "action_planned":
            planned[str(e.payload["action_id"])] = e.at
    actions = []
    for a in case.actions.values():
        finished_at = None
        if a.status in FINISHED_ACTION_STATUSES:
            done = [p.at for p in a.progress if p.status in FINISHED_ACTION_STATUSES]
            finished_at = max(done) if done else (
                a.verification.at if a.verification is not None else None)
        v = a.verification
        actions.append(ActionFact(
            a.action_id, a.type.value, a.due, planned.get(a.action_id, c.received_at),
            a.status.value, finished_at, v.at if v is not None else None,
            v.effective if v is not None else None))
    f = case.follow_up
    return CaseFact(
        reference=case.reference, kind=c.kind.value, channel=c.channel.value,
        received_at=c.received_at, state=case.state.value, department=c.department,
        categories=tuple(dict.fromkeys(x.value for x in c.categories)),
        complexity=c.complexity.value, complainant_role=c.complainant.role.value,
        staff_roles=tuple(s.role or "" for s in c.staff_involved),
        transferred_from=c.transferred_from, acknowledged_at=case.acknowledged_at,
        first_acknowledged_at=first_ack,
        responded_at=case.response.at if case.response is not None else None,
        first_responded_at=first_answer, closed_at=case.closed_at,
        outcome=case.outcome.kind.value if case.outcome is not None else None,
        follow_up=None if f is None else FollowUpFact(f.at, f.satisfaction, bool(f.unreachable)),
        follow_up_waived=case.follow_up_waived is not None,
        extensions=tuple((x.milestone, x.days) for x in case.extensions),
        actions=tuple(actions),
        root_causes=tuple(dict.fromkeys(r for fi in case.investigation.findings
                                        for r in fi.root_causes)),
        merged_into=case.merged_into)


# -- from stored rows --------------------------------------------------------------------------


class _Action:
    __slots__ = ("action_id", "due", "effective", "finished", "planned_at", "status", "type",
                 "verified_at")

    def __init__(self, action_id: str, type_: str, due: date, planned_at: datetime) -> None:
        self.action_id, self.type, self.due, self.planned_at = action_id, type_, due, planned_at
        self.status = ActionStatus.PLANNED.value
        self.finished: list[datetime] = []
        self.verified_at: datetime | None = None
        self.effective: bool | None = None

    def fact(self) -> ActionFact:
        finished_at = None
        if self.status in _FINISHED:
            finished_at = max(self.finished) if self.finished else self.verified_at
        return ActionFact(self.action_id, self.type, self.due, self.planned_at, self.status,
                          finished_at, self.verified_at, self.effective)


class FactFolder:
    """Folds one case's stored events, in order, into its :class:`CaseFact` at ``as_of``.

    ``add`` takes each row's type, time, schema version, recorded state (``None`` for a
    release-0.1 row) and payload data; ``stopped`` turns true at the first event after
    ``as_of`` (the caller stops reading). Personal values are never needed: the
    registration's identity fields are not read.
    """

    def __init__(self, reference: str, as_of: datetime) -> None:
        self.reference = reference
        self.as_of = as_of
        self.stopped = False
        self._n = 0
        self._state = CaseState.REGISTERED.value
        self._v: dict[str, Any] = {}
        self._actions: dict[str, _Action] = {}
        self._causes: dict[str, None] = {}
        self._extensions: list[tuple[str, int]] = []

    def add(self, event_type: str, at: datetime, version: int, to_state: str | None,
            data: Mapping[str, Any]) -> None:
        if self.stopped:
            return
        if self._n and at > self.as_of:
            self.stopped = True
            return
        known = KNOWN_VERSIONS.get(event_type)
        if (known is None and event_type not in IGNORED) or \
                (known is not None and version not in known):
            raise UnknownVersion(f"{event_type}/{version}")  # a type or version not read here
        before = self._state
        if to_state is None:
            to_state = (CaseState.REGISTERED.value if not self._n
                        else release01.target_state(before, event_type))
        self._n += 1
        self._apply(event_type, at, data, before)
        self._state = to_state

    def _apply(self, t: str, at: datetime, d: Mapping[str, Any], before: str) -> None:
        v = self._v
        if t == "complaint_registered":
            c = d["complaint"]
            v.update(kind=c.get("kind") or "complaint", channel=c["channel"],
                     received_at=datetime.fromisoformat(c["received_at"]),
                     department=c.get("department"),
                     categories=tuple(dict.fromkeys(c.get("categories") or ())),
                     complexity=c.get("complexity") or "simple",
                     complainant_role=(c.get("complainant") or {}).get("role"),
                     staff_roles=tuple(s.get("role") or "" for s in c.get("staff_involved") or ()),
                     transferred_from=c.get("transferred_from"))
        elif t == "acknowledged":
            v["acknowledged_at"] = at
            v.setdefault("first_acknowledged_at", at)
        elif t == "work_order_signed":  # 签收: the first feedback of a work order
            v.setdefault("acknowledged_at", at)
            v.setdefault("first_acknowledged_at", at)
        elif t == "classified":
            if d.get("categories"):
                v["categories"] = tuple(dict.fromkeys(d["categories"]))
            for key in ("kind", "complexity"):
                if d.get(key) is not None:
                    v[key] = d[key]
        elif t == "assigned":
            v["department"] = d["department"]
        elif t == "finding_recorded":
            for cause in d.get("root_causes") or ():
                self._causes.setdefault(cause)
        elif t == "action_planned":
            self._actions[d["action_id"]] = _Action(d["action_id"], d["type"],
                                                    date.fromisoformat(d["due"]), at)
        elif t == "action_progress_recorded":
            a = self._actions[d["action_id"]]
            a.status = d["status"]
            if a.status in _FINISHED:
                a.finished.append(at)
        elif t == "action_verified":
            a = self._actions[d["action_id"]]
            a.verified_at, a.effective = at, bool(d["effective"])
            a.status = (ActionStatus.VERIFIED if d["effective"] else ActionStatus.IN_PROGRESS).value
        elif t in ("responded", "work_order_replied"):
            v["responded_at"] = at
            v.setdefault("first_responded_at", at)
            v["outcome"] = d["outcome"]["kind"]
        elif t == "follow_up_recorded":
            v["follow_up"] = FollowUpFact(at, d.get("satisfaction"), bool(d.get("unreachable")))
        elif t == "callback_recorded":
            if before == CaseState.RESPONDED.value and v.get("follow_up") is None:
                score = CALLBACK_SCORE[CallbackSatisfaction(d["satisfaction"])]
                v["follow_up"] = FollowUpFact(at, score, False)
        elif t == "follow_up_waived":
            v["follow_up_waived"] = True
        elif t == "closed":
            v["closed_at"] = at
        elif t in ("withdrawn", "referred", "declined", "work_order_returned"):
            v["outcome"] = {"withdrawn": OutcomeKind.WITHDRAWN, "referred": OutcomeKind.REFERRED,
                            "work_order_returned": OutcomeKind.REFERRED,  # 退回 the platform
                            "declined": OutcomeKind.NOT_ACCEPTED}[t].value
            v["closed_at"] = at
        elif t == "platform_decision_recorded":
            if d.get("approved") and d.get("kind") != PlatformRequest.EXTENSION.value:
                v["outcome"], v["closed_at"] = OutcomeKind.REFERRED.value, at
        elif t in ("reopened", "work_order_redone"):
            for key in ("closed_at", "outcome", "responded_at", "follow_up"):
                v.pop(key, None)
            v["follow_up_waived"] = False
        elif t == "deadline_extended":
            self._extensions.append((d["milestone"], int(d["days"])))
        elif t == "merged_into":
            v["merged_into"], v["closed_at"] = d["survivor"], at
        elif t == "merge_undone" and v.get("merged_into") == d.get("other"):
            v.pop("merged_into", None)
            v.pop("closed_at", None)

    def fact(self) -> CaseFact:
        if not self._n:
            raise ValueError(f"case {self.reference} has no events")
        return CaseFact(reference=self.reference, state=self._state,
                        extensions=tuple(self._extensions),
                        actions=tuple(a.fact() for a in self._actions.values()),
                        root_causes=tuple(self._causes), **self._v)


def fold_events(reference: str, events: Iterable[Event], as_of: datetime) -> CaseFact:
    """The folder over domain events (their payloads as stored): for tests and tools."""
    folder = FactFolder(reference, as_of)
    for e in events:
        folder.add(e.type, e.at, e.schema_version, e.to_state, e.payload)
        if folder.stopped:
            break
    return folder.fact()

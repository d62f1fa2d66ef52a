"""The case workflow as data: (state, command) -> next state, plus the functions that use it.

``SAME`` means the command records something without moving the case. The table is the one
place that says which command is legal where; ``docs/workflow.md`` shows it and a test keeps
the two in step.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Final

from ..errors import IllegalTransition
from .case import Case
from .commands import COMMAND_BY_EVENT, Command, RegisterComplaint
from .complaint import Complaint
from .events import Event
from .taxonomy import OPEN_STATES, CaseState

# one- and two-letter names keep the table on one screen
R, A, IN, F, P = (CaseState.REGISTERED, CaseState.ACKNOWLEDGED, CaseState.INVESTIGATING,
                  CaseState.RECTIFYING, CaseState.RESPONDED)
CLOSED, WITHDRAWN, REFERRED = CaseState.CLOSED, CaseState.WITHDRAWN, CaseState.REFERRED
SAME: Final = "same"
ALL_OPEN = (R, A, IN, F, P)

#: command name -> {from state: to state (or SAME)}
TABLE: dict[str, dict[CaseState, CaseState | str]] = {
    "acknowledge":         {R: A},
    "classify":            dict.fromkeys(ALL_OPEN, SAME),
    "assign":              dict.fromkeys(ALL_OPEN, SAME),
    "link_exam":           dict.fromkeys(ALL_OPEN, SAME),
    "log_communication":   dict.fromkeys(ALL_OPEN, SAME),
    "start_investigation": {A: IN, IN: SAME},
    "add_team_member":     {IN: SAME, F: SAME},
    "add_evidence":        {IN: SAME, F: SAME},
    "record_finding":      {IN: SAME, F: SAME},
    "plan_action":         {IN: F, F: SAME, P: SAME},
    "record_progress":     {F: SAME, P: SAME},
    "verify_action":       {F: SAME, P: SAME},
    "respond":             {A: P, IN: P, F: P},
    "record_follow_up":    {P: SAME},
    "waive_follow_up":     {P: SAME},
    "close":               {P: CLOSED},
    "withdraw":            dict.fromkeys(ALL_OPEN, WITHDRAWN),
    "refer":               dict.fromkeys(ALL_OPEN, REFERRED),
    "decline":             {R: CLOSED, A: CLOSED},
    "reopen":              {CLOSED: IN, WITHDRAWN: IN},
    "extend_deadline":     dict.fromkeys(ALL_OPEN, SAME),
    "record_deadline_alert": dict.fromkeys(ALL_OPEN, SAME),
    "add_attachment":      dict.fromkeys(ALL_OPEN, SAME),
    "reveal_identity":     dict.fromkeys(CaseState, SAME),
    "refuse_identity":     dict.fromkeys(CaseState, SAME),
}


def allowed_commands(state: CaseState) -> list[str]:
    """Commands the table allows in ``state``, in table order."""
    return [name for name, row in TABLE.items() if state in row]


def next_state(state: CaseState, command: str) -> CaseState:
    """The state after ``command`` in ``state``; raises :class:`IllegalTransition`."""
    row = TABLE.get(command)
    if row is None or state not in row:
        raise IllegalTransition(state.value, command, allowed_commands(state))
    target = row[state]
    return state if target == SAME else CaseState(target)


def new_event(case_ref: str, seq: int, command: Command, actor: str, at: datetime,
              reason: str | None) -> Event:
    return Event(
        event_id=uuid.uuid4().hex,
        complaint_ref=case_ref,
        seq=seq,
        type=command.event_type,
        actor=actor,
        at=at,
        reason=command.reason_text() or reason,
        payload=command.model_dump(mode="json", exclude_none=True),
    )


def start(reference: str, command: RegisterComplaint, actor: str, at: datetime,
          reason: str | None = None) -> Case:
    """Create a case from a registration command. Its first event is ``complaint_registered``."""
    event = new_event(reference, 1, command, actor, at, reason)
    case = _case_from_registration(event)
    case.events.append(event)
    return case


def _case_from_registration(event: Event) -> Case:
    cmd = RegisterComplaint.model_validate(event.payload)
    complaint = Complaint(reference=event.complaint_ref, **dict(cmd.complaint))
    case = Case(complaint=complaint)
    cmd.apply(case, event)
    return case


def handle(case: Case, command: Command, actor: str, at: datetime,
           reason: str | None = None) -> Event:
    """Check the table and the guards, record the event, and apply it to ``case``."""
    target = next_state(case.state, command.name)
    command = command.prepare(case)
    command.guard(case, at.date())
    event = new_event(case.reference, case.version + 1, command, actor, at, reason)
    _apply(case, event, command, target)
    return event


def _apply(case: Case, event: Event, command: Command, target: CaseState) -> None:
    command.apply(case, event)
    case.state = target
    case.events.append(event)


def rebuild(events: list[Event]) -> Case:
    """Replay a case's events, in order, into the case they describe."""
    if not events or events[0].type != RegisterComplaint.event_type:
        raise ValueError("a case's event history starts with complaint_registered")
    case = _case_from_registration(events[0])
    case.events.append(events[0])
    for event in events[1:]:
        if event.seq != case.version + 1:
            raise ValueError(
                f"event history of {case.reference} is out of order: expected seq "
                f"{case.version + 1}, found {event.seq}"
            )
        command = COMMAND_BY_EVENT[event.type].model_validate(event.payload)
        _apply(case, event, command, next_state(case.state, command.name))
    return case


def is_terminal(state: CaseState) -> bool:
    return state not in OPEN_STATES

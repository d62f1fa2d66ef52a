"""Release 0.1's transition table, frozen: the outcome of events that did not record one.

Release 0.1 stored an event without its from- and to-state; it re-derived the state on every
replay from the transition table. Today's table may change, so those events take their target
state from this copy of the table as it was in release 0.1 (commit ``102c140``,
``src/hospital_complaints/domain/workflow.py``), kept as plain strings so that no later change
to the code's enumerations can alter it. Never edit it.
"""

from __future__ import annotations

from typing import Final

_R, _A, _IN, _F, _P = "registered", "acknowledged", "investigating", "rectifying", "responded"
_CLOSED, _WITHDRAWN, _REFERRED = "closed", "withdrawn", "referred"
_ALL_OPEN = (_R, _A, _IN, _F, _P)
_ALL = (*_ALL_OPEN, _CLOSED, _WITHDRAWN, _REFERRED)
SAME: Final = "same"

#: command name -> {from state: to state (or SAME)}, exactly as release 0.1 had it
TABLE: Final[dict[str, dict[str, str]]] = {
    "acknowledge":         {_R: _A},
    "classify":            dict.fromkeys(_ALL_OPEN, SAME),
    "assign":              dict.fromkeys(_ALL_OPEN, SAME),
    "link_exam":           dict.fromkeys(_ALL_OPEN, SAME),
    "log_communication":   dict.fromkeys(_ALL_OPEN, SAME),
    "start_investigation": {_A: _IN, _IN: SAME},
    "add_team_member":     {_IN: SAME, _F: SAME},
    "add_evidence":        {_IN: SAME, _F: SAME},
    "record_finding":      {_IN: SAME, _F: SAME},
    "plan_action":         {_IN: _F, _F: SAME, _P: SAME},
    "record_progress":     {_F: SAME, _P: SAME},
    "verify_action":       {_F: SAME, _P: SAME},
    "respond":             {_A: _P, _IN: _P, _F: _P},
    "record_follow_up":    {_P: SAME},
    "waive_follow_up":     {_P: SAME},
    "close":               {_P: _CLOSED},
    "withdraw":            dict.fromkeys(_ALL_OPEN, _WITHDRAWN),
    "refer":               dict.fromkeys(_ALL_OPEN, _REFERRED),
    "decline":             {_R: _CLOSED, _A: _CLOSED},
    "reopen":              {_CLOSED: _IN, _WITHDRAWN: _IN},
    "extend_deadline":     dict.fromkeys(_ALL_OPEN, SAME),
    "record_deadline_alert": dict.fromkeys(_ALL_OPEN, SAME),
    "add_attachment":      dict.fromkeys(_ALL_OPEN, SAME),
    "reveal_identity":     dict.fromkeys(_ALL, SAME),
}

#: event type -> the release-0.1 command that recorded it
COMMAND_OF_EVENT: Final[dict[str, str]] = {
    "acknowledged": "acknowledge",
    "classified": "classify",
    "assigned": "assign",
    "exam_linked": "link_exam",
    "communication_logged": "log_communication",
    "investigation_started": "start_investigation",
    "team_member_added": "add_team_member",
    "evidence_added": "add_evidence",
    "finding_recorded": "record_finding",
    "action_planned": "plan_action",
    "action_progress_recorded": "record_progress",
    "action_verified": "verify_action",
    "responded": "respond",
    "follow_up_recorded": "record_follow_up",
    "follow_up_waived": "waive_follow_up",
    "closed": "close",
    "withdrawn": "withdraw",
    "referred": "refer",
    "declined": "decline",
    "reopened": "reopen",
    "deadline_extended": "extend_deadline",
    "deadline_alert": "record_deadline_alert",
    "attachment_added": "add_attachment",
    "identity_revealed": "reveal_identity",
}


def target_state(state: str, event_type: str) -> str:
    """The state after a release-0.1 event of ``event_type`` in ``state``.

    Raises ``ValueError`` for an event release 0.1 could not have recorded there (a type it
    did not have, or a move its table did not allow): such a history is not a 0.1 record.
    """
    command = COMMAND_OF_EVENT.get(event_type)
    if command is None:
        raise ValueError(f"a {event_type!r} event without a recorded state: release 0.1 had no "
                         "such event, so the record is damaged")
    row = TABLE[command]
    if state not in row:
        raise ValueError(f"a release-0.1 {event_type!r} event in state {state!r}: release 0.1 "
                         "never allowed that, so the record is damaged")
    target = row[state]
    return state if target == SAME else target

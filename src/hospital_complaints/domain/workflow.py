"""The case workflow as data: (state, command) -> next state, plus the functions that use it.

``SAME`` means the command records something without moving the case. The table is the one
place that says which command is legal where; ``docs/workflow.md`` shows it and a test keeps
the two in step. The table decides when a command runs (``handle``); the event records the
outcome (its from- and to-state), and replay (``rebuild``) follows the record, so changing
the table never changes how stored cases read.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Final

from ..errors import IllegalTransition
from .case import Case
from .commands import Command, RegisterComplaint
from .events import Event, release01
from .events.payloads import ComplaintRegistered, EventPayload
from .events.registry import PAYLOADS
from .taxonomy import OPEN_STATES, CaseState

# one- and two-letter names keep the table on one screen
R, A, IN, F, P = (CaseState.REGISTERED, CaseState.ACKNOWLEDGED, CaseState.INVESTIGATING,
                  CaseState.RECTIFYING, CaseState.RESPONDED)
CLOSED, WITHDRAWN, REFERRED = CaseState.CLOSED, CaseState.WITHDRAWN, CaseState.REFERRED
MERGED = CaseState.MERGED
SAME: Final = "same"
#: the command decides (``Command.decided_state``): an approved re-route ends local handling,
#: a split gives the merged case back the state it had
DECIDED: Final = "decided"
ALL_OPEN = (R, A, IN, F, P)
BEFORE_REPLY = (R, A, IN, F)

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
    "record_cluster_alert": dict.fromkeys(CaseState, SAME),
    "view_attachment":     dict.fromkeys(CaseState, SAME),
    "refuse_attachment":   dict.fromkeys(CaseState, SAME),
    # hotline work orders (工单): docs/workorders.md
    "sign_work_order":     {R: A, IN: SAME},
    "return_work_order":   {R: REFERRED, A: REFERRED, IN: REFERRED},
    "request_reroute":     dict.fromkeys(BEFORE_REPLY, SAME),
    "dispute_dispatch":    dict.fromkeys(BEFORE_REPLY, SAME),
    "request_extension":   dict.fromkeys(BEFORE_REPLY, SAME),
    "record_platform_decision": dict.fromkeys(BEFORE_REPLY, DECIDED),
    "reply_work_order":    {A: P, IN: P, F: P},
    "record_callback":     {P: SAME, CLOSED: SAME},
    "redo_work_order":     {P: IN, CLOSED: IN},
    "record_supervision":  dict.fromkeys(ALL_OPEN, SAME),
    # merging duplicates (并单) and undoing it (拆单)
    "merge_into":          dict.fromkeys(ALL_OPEN, MERGED),
    "absorb_case":         dict.fromkeys(ALL_OPEN, SAME),
    "undo_merge":          {**dict.fromkeys(CaseState, SAME), MERGED: DECIDED},
}

#: zh/en names of the commands (the table's rows), for people
COMMAND_LABELS: dict[str, tuple[str, str]] = {
    "acknowledge": ("受理告知", "acknowledge"),
    "classify": ("分类", "classify"),
    "assign": ("分派", "assign"),
    "link_exam": ("关联检查", "link an exam"),
    "log_communication": ("记录沟通", "log a communication"),
    "start_investigation": ("开始调查", "start the investigation"),
    "add_team_member": ("加入调查组", "add a team member"),
    "add_evidence": ("添加证据", "add evidence"),
    "record_finding": ("记录调查结论", "record a finding"),
    "plan_action": ("制定整改措施", "plan a rectification action"),
    "record_progress": ("记录整改进展", "record progress"),
    "verify_action": ("验证整改效果", "verify an action"),
    "respond": ("答复", "respond"),
    "record_follow_up": ("回访", "record the follow-up"),
    "waive_follow_up": ("免于回访", "waive the follow-up"),
    "close": ("办结", "close"),
    "withdraw": ("撤回", "withdraw"),
    "refer": ("转办", "refer"),
    "decline": ("不予受理", "decline (not accepted)"),
    "reopen": ("重新办理", "reopen"),
    "extend_deadline": ("延长期限", "extend a deadline"),
    "record_deadline_alert": ("记录时限提醒", "record a deadline alert"),
    "add_attachment": ("添加附件", "add an attachment"),
    "reveal_identity": ("查看身份信息", "reveal identity"),
    "refuse_identity": ("拒绝查看身份", "identity view refused"),
    "record_cluster_alert": ("记录聚集提醒", "record a cluster alert"),
    "view_attachment": ("查看附件", "view an attachment"),
    "refuse_attachment": ("拒绝查看附件", "attachment view refused"),
    "sign_work_order": ("签收", "sign for the work order"),
    "return_work_order": ("退回", "return to the platform"),
    "request_reroute": ("改派申请", "request re-routing"),
    "dispute_dispatch": ("派单异议", "dispute the dispatch"),
    "request_extension": ("延期申请", "request an extension"),
    "record_platform_decision": ("记录平台审核结果", "record the platform's decision"),
    "reply_work_order": ("办结答复", "reply to the work order"),
    "record_callback": ("记录平台回访结果", "record the platform's call-back"),
    "redo_work_order": ("重办", "redo the work order"),
    "record_supervision": ("记录催办/督办/通报", "record supervision"),
    "merge_into": ("并单（被并入）", "merge into another case"),
    "absorb_case": ("并单（并入本单）", "absorb a merged case"),
    "undo_merge": ("拆单", "undo a merge"),
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
    if target == DECIDED:
        return state  # the command decides; see handle()
    return state if target == SAME else CaseState(target)


def _event(case_ref: str, seq: int, payload: EventPayload, actor: str, at: datetime,
           reason: str | None, from_state: CaseState | None, to_state: CaseState) -> Event:
    return Event(
        event_id=uuid.uuid4().hex,
        complaint_ref=case_ref,
        seq=seq,
        type=payload.event_type,
        actor=actor,
        at=at,
        reason=reason,
        payload=payload.model_dump(mode="json", exclude_none=True),
        from_state=None if from_state is None else from_state.value,
        to_state=to_state.value,
        schema_version=payload.version,
    )


def start(reference: str, command: RegisterComplaint, actor: str, at: datetime,
          reason: str | None = None) -> Case:
    """Create a case from a registration command. Its first event is ``complaint_registered``."""
    payload = _registration(command.to_payload())
    event = _event(reference, 1, payload, actor, at, command.reason_text() or reason, None,
                   CaseState.REGISTERED)
    case = payload.open(event)
    case.events.append(event)
    return case


def handle(case: Case, command: Command, actor: str, at: datetime,
           reason: str | None = None) -> Event:
    """Check the table and the guards, record the event, and apply it to ``case``."""
    target = next_state(case.state, command.name)
    command = command.prepare(case)
    command.guard(case, at.date())
    if TABLE[command.name][case.state] == DECIDED:
        target = command.decided_state(case)
    payload = command.to_payload()
    event = _event(case.reference, case.version + 1, payload, actor, at,
                   command.reason_text() or reason, case.state, target)
    payload.apply(case, event)
    case.state = target
    case.events.append(event)
    return event


def rebuild(events: list[Event]) -> Case:
    """Replay a case's events, in order, into the case they describe.

    Replay re-decides nothing: no transition table, no guard, no command. Each payload is
    validated with its own (type, version) schema, upcast to the newest version and applied,
    and the case takes the state the event recorded (for a release-0.1 event, the state
    release 0.1's table gave it).
    """
    if not events or events[0].type != ComplaintRegistered.event_type:
        raise ValueError("a case's event history starts with complaint_registered")
    first = events[0]
    case = _registration(PAYLOADS.load(first)).open(first)
    if first.to_state is not None:  # release 0.1 recorded none: the case opens 'registered'
        case.state = CaseState(first.to_state)
    case.events.append(first)
    for event in events[1:]:
        if event.seq != case.version + 1:
            raise ValueError(
                f"event history of {case.reference} is out of order: expected seq "
                f"{case.version + 1}, found {event.seq}"
            )
        target = _recorded_state(case, event)
        PAYLOADS.load(event).apply(case, event)
        case.state = target
        case.events.append(event)
    return case


def _registration(payload: EventPayload) -> ComplaintRegistered:
    if not isinstance(payload, ComplaintRegistered):
        raise TypeError(f"a case opens with complaint_registered, not {payload.event_type}")
    return payload


def _recorded_state(case: Case, event: Event) -> CaseState:
    """The state ``event`` leaves the case in, as recorded (never today's table)."""
    if event.to_state is None:  # written by release 0.1
        return CaseState(release01.target_state(case.state.value, event.type))
    if event.from_state != case.state.value:
        raise ValueError(
            f"event {event.seq} of {case.reference} ({event.type}) was recorded in state "
            f"{event.from_state!r}, but its history leaves the case {case.state.value!r}: "
            "the history is damaged"
        )
    return CaseState(event.to_state)


def is_terminal(state: CaseState) -> bool:
    return state not in OPEN_STATES

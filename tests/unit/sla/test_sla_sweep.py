"""The sweep: due soon / overdue / breached, alerts raised exactly once, stopped clocks."""

from __future__ import annotations

import gc
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import draft
from unit.sla.sla_support import CN, action, clock, cn

from hospital_complaints.domain.taxonomy import AlertKind, CaseState, Complexity
from hospital_complaints.errors import InvalidInput
from hospital_complaints.services.service import ComplaintService
from hospital_complaints.sla import (
    ActionClock,
    Calendars,
    CaseClock,
    Lead,
    PolicyRegistry,
    Sweeper,
    SweepResult,
    Unit,
    builtin_policies,
    case_clock,
    sweep_reference,
)
from hospital_complaints.sla import (
    sweep_once as sweep,
)

RECEIVED = cn(2026, 11, 2, 10)  # Monday


def _keys(result: SweepResult) -> dict[str, set[tuple[str, str]]]:
    return {
        "due_soon": {(i.reference, i.milestone) for i in result.due_soon},
        "overdue": {(i.reference, i.milestone) for i in result.overdue},
        "breached": {(i.reference, i.milestone) for i in result.breached},
        "alerts": {(a.milestone, a.kind.value) for a in result.new_alerts},
    }


def test_acknowledgement_due_soon_then_overdue(registry: PolicyRegistry,
                                               calendars: Calendars) -> None:
    c = clock(received=RECEIVED)
    soon = sweep([c], cn(2026, 11, 3, 7), registry, calendars)  # 3 h before the 24 h are up
    assert _keys(soon)["due_soon"] == {("HC-1", "acknowledge")}
    assert _keys(soon)["alerts"] == {("acknowledge", "due_soon")}
    late = sweep([c], cn(2026, 11, 3, 10, 1), registry, calendars)
    assert _keys(late)["overdue"] == {("HC-1", "acknowledge")}
    alert = late.new_alerts[0]
    assert (alert.kind, alert.due, alert.policy) == (AlertKind.OVERDUE, cn(2026, 11, 3, 10),
                                                     "imaging-dept")


def test_each_alert_is_raised_once(registry: PolicyRegistry, calendars: Calendars) -> None:
    sweeper = Sweeper(registry, calendars)
    c = clock(received=RECEIVED)
    first = sweeper.run([c], cn(2026, 11, 3, 7))
    raised = {(a.milestone, a.kind.value) for a in first.new_alerts}
    c = replace(c, alerts=frozenset(raised))  # what RecordDeadlineAlert stores on the case
    again = sweeper.run([c], cn(2026, 11, 3, 8))
    assert again.new_alerts == []
    assert _keys(again)["due_soon"] == {("HC-1", "acknowledge")}  # still listed
    overdue = sweeper.run([c], cn(2026, 11, 4, 8))
    assert _keys(overdue)["alerts"] == {("acknowledge", "overdue")}


def test_already_overdue_raises_no_late_reminder(registry: PolicyRegistry,
                                                 calendars: Calendars) -> None:
    result = sweep([clock(received=RECEIVED)], cn(2026, 12, 10), registry, calendars)
    assert _keys(result)["alerts"] == {("acknowledge", "overdue"), ("respond", "overdue"),
                                       ("close", "overdue")}


def test_met_late_is_breached_and_raises_nothing(registry: PolicyRegistry,
                                                 calendars: Calendars) -> None:
    c = clock(received=RECEIVED, state=CaseState.ACKNOWLEDGED,
              acknowledged_at=cn(2026, 11, 3, 12))
    result = sweep([c], cn(2026, 11, 4), registry, calendars)
    assert [(i.milestone, i.met_at) for i in result.breached] == [
        ("acknowledge", cn(2026, 11, 3, 12))]
    assert result.new_alerts == []
    on_time = replace(c, acknowledged_at=cn(2026, 11, 3, 9))
    assert sweep([on_time], cn(2026, 11, 4), registry, calendars).breached == []


@pytest.mark.parametrize("state", [CaseState.CLOSED, CaseState.WITHDRAWN, CaseState.REFERRED])
def test_finished_cases_have_stopped_clocks(registry: PolicyRegistry, calendars: Calendars,
                                            state: CaseState) -> None:
    c = clock(received=RECEIVED, state=state, closed_at=cn(2026, 11, 2, 11),
              actions=(action("A1", date(2026, 11, 5)),))
    result = sweep([c], cn(2027, 1, 1), registry, calendars)
    assert result.cases == 0
    assert result.new_alerts == result.overdue == result.due_soon == []


def test_rectification_actions(registry: PolicyRegistry, calendars: Calendars) -> None:
    c = clock(received=RECEIVED, state=CaseState.RECTIFYING, acknowledged_at=RECEIVED,
              actions=(action("A1", date(2026, 11, 10)),
                       action("A2", date(2026, 11, 4), finished=cn(2026, 11, 5, 9)),
                       action("A3", date(2026, 11, 4), cancelled=True)))
    # reminders from two working days before the due date: Friday 6 Nov for Tuesday 10 Nov
    assert ("HC-1", "action:A1") not in _keys(
        sweep([c], cn(2026, 11, 5, 23), registry, calendars))["due_soon"]
    soon = sweep([c], cn(2026, 11, 6, 1), registry, calendars)
    assert ("HC-1", "action:A1") in _keys(soon)["due_soon"]
    late = sweep([c], datetime(2026, 11, 11, tzinfo=CN), registry, calendars)
    keys = _keys(late)
    assert ("HC-1", "action:A1") in keys["overdue"]
    assert ("action:A1", "overdue") in keys["alerts"]
    assert ("HC-1", "action:A2") in keys["breached"]
    assert not any(m == "action:A3" for _, m in keys["overdue"] | keys["breached"])


def test_due_at_end_of_day_in_the_policy_zone(registry: PolicyRegistry,
                                              calendars: Calendars) -> None:
    c = clock(received=RECEIVED, acknowledged_at=RECEIVED, state=CaseState.ACKNOWLEDGED,
              actions=(action("A1", date(2026, 11, 10)),))
    last_moment = datetime(2026, 11, 10, 23, 59, 59, 999999, tzinfo=CN)
    assert ("HC-1", "action:A1") in _keys(sweep([c], last_moment, registry, calendars))[
        "due_soon"]
    after = last_moment + timedelta(microseconds=1)
    assert ("HC-1", "action:A1") in _keys(sweep([c], after, registry, calendars))["overdue"]


def test_follow_up_is_due_after_the_response_unless_waived(registry: PolicyRegistry,
                                                           calendars: Calendars) -> None:
    c = clock(received=RECEIVED, state=CaseState.RESPONDED, acknowledged_at=RECEIVED,
              responded_at=cn(2026, 11, 4))
    late = sweep([c], cn(2026, 11, 30), registry, calendars)
    assert ("HC-1", "follow_up") in _keys(late)["overdue"]  # 10 working days from 4 Nov
    waived = replace(c, follow_up_waived=True)
    assert ("HC-1", "follow_up") not in _keys(
        sweep([waived], cn(2026, 11, 30), registry, calendars))["overdue"]


def test_extension_delays_the_overdue_alert(registry: PolicyRegistry,
                                            calendars: Calendars) -> None:
    c = clock(policy="cn-12320", received=cn(2026, 3, 2))
    at = cn(2026, 4, 10)
    assert ("close", "overdue") in _keys(sweep([c], at, registry, calendars))["alerts"]
    extended = replace(c, extensions=(("close", 30),))
    assert _keys(sweep([extended], at, registry, calendars))["alerts"] == set()


def test_reminder_lead_is_configurable(registry: PolicyRegistry, calendars: Calendars) -> None:
    c = clock(policy="cn-12320", received=cn(2026, 3, 2))  # due end of Wed 1 April
    at = cn(2026, 3, 26)
    assert sweep([c], at, registry, calendars).due_soon == []
    wide = sweep([c], at, registry, calendars, remind_before=Lead(5, Unit.WORKING_DAYS))
    assert _keys(wide)["alerts"] == {("close", "due_soon")}


def test_loading_a_calendar_recomputes_cached_deadlines(registry: PolicyRegistry,
                                                        calendars: Calendars,
                                                        official_2027: Path) -> None:
    sweeper = Sweeper(registry, calendars)
    c = clock(policy="cn-12320", received=cn(2027, 1, 13))
    at = datetime(2027, 2, 13, tzinfo=CN)
    first = sweeper.run([c], at)
    assert [(i.milestone, i.provisional) for i in first.overdue] == [("close", True)]
    calendars.load_file(official_2027)  # 12 Feb is now a holiday: due Monday 15 Feb
    second = sweeper.run([c], at)
    assert second.overdue == []
    assert [(i.milestone, i.provisional, i.due.date()) for i in second.due_soon] == [
        ("close", False, date(2027, 2, 15))]


def test_naive_sweep_instant_is_refused(registry: PolicyRegistry, calendars: Calendars) -> None:
    with pytest.raises(InvalidInput, match="at"):
        sweep([], datetime(2026, 11, 3), registry, calendars)


def test_real_cases_round_trip_through_the_service(service: ComplaintService,
                                                   registry: PolicyRegistry,
                                                   calendars: Calendars) -> None:
    case = service.register(draft(), actor="clerk")  # received 2026-11-20 08:30
    sweeper = Sweeper(registry, calendars)
    at = cn(2026, 11, 21, 9)
    result = sweeper.run([case_clock(case, "imaging-dept")], at)
    assert [(a.milestone, a.kind) for a in result.new_alerts] == [
        ("acknowledge", AlertKind.OVERDUE)]
    assert service.record_deadline_alerts(result.new_alerts) == 1
    again = sweeper.run([case_clock(c, "imaging-dept") for c in service.iter_cases(
        open_only=True)], at)
    assert again.new_alerts == []
    assert len(again.overdue) == 1


# -- the fast sweep agrees with the per-case computation -----------------------------------------

_POLICIES = PolicyRegistry(builtin_policies())
_SPECS = [*_POLICIES.ids(), "imaging-dept:acknowledge+cn-nhc-2019:respond+cn-12320:close"]
_CALENDARS = Calendars()
_instants = st.datetimes(min_value=datetime(2025, 6, 1), max_value=datetime(2027, 6, 1),
                         timezones=st.just(CN))
_maybe = st.one_of(st.none(), st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=90)))


@st.composite
def clocks(draw: st.DrawFn) -> CaseClock:
    received = draw(_instants)

    def after() -> datetime | None:
        delta = draw(_maybe)
        return None if delta is None else received + delta

    actions = tuple(
        ActionClock(f"A{n}", received.date() + timedelta(days=draw(st.integers(0, 60))),
                    after(), draw(st.booleans()))
        for n in range(draw(st.integers(0, 2))))
    return CaseClock(
        reference=f"HC-{draw(st.integers(1, 10**6))}", policy=draw(st.sampled_from(_SPECS)),
        received_at=received, complexity=draw(st.sampled_from(list(Complexity))),
        department=draw(st.sampled_from([None, "radiology", "ct"])),
        state=draw(st.sampled_from(list(CaseState))), acknowledged_at=after(),
        responded_at=after(), followed_up_at=after(), follow_up_waived=draw(st.booleans()),
        extensions=tuple(draw(st.lists(st.tuples(st.sampled_from(["respond", "close"]),
                                                 st.integers(1, 30)), max_size=2))),
        actions=actions,
        alerts=frozenset(draw(st.sets(st.tuples(
            st.sampled_from(["acknowledge", "respond", "close", "action:A0"]),
            st.sampled_from(["due_soon", "overdue"])), max_size=3))),
    )


@settings(max_examples=150, deadline=None)
@given(batch=st.lists(clocks(), max_size=8), at=_instants)
def test_fast_sweep_equals_the_per_case_reference(batch: list[CaseClock], at: datetime) -> None:
    fast = Sweeper(_POLICIES, _CALENDARS).run(batch, at)
    slow = sweep_reference(batch, at, _POLICIES, _CALENDARS)
    assert fast == slow


def test_sweep_restores_the_garbage_collector(registry: PolicyRegistry,
                                              calendars: Calendars) -> None:
    was = gc.isenabled()
    try:
        gc.enable()
        sweep([clock(received=RECEIVED)], cn(2026, 11, 3), registry, calendars)
        assert gc.isenabled()
        gc.disable()
        sweep([clock(received=RECEIVED)], cn(2026, 11, 3), registry, calendars)
        assert not gc.isenabled()  # left as the caller had it
    finally:
        if was:
            gc.enable()

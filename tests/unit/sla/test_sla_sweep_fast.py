"""The fast sweep's shortcuts agree with the per-case reference: wall-clock comparisons in the
policy's zone (exact only where the zone's offset is steady), hours deadlines as wall-clock
arithmetic, cached rows per day and extensions, and the compact result built on first read.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from unit.sla.sla_support import CN, LONDON, action, clock, cn

from hospital_complaints.domain.taxonomy import CaseState, Complexity, Milestone
from hospital_complaints.sla import (
    ActionClock,
    Anchor,
    Calendars,
    CaseClock,
    DeadlineRule,
    PolicyRegistry,
    Sweeper,
    SweepResult,
    Unit,
    builtin_policies,
    rule_deadline,
    sweep_reference,
)
from hospital_complaints.sla.engine import day_deadline

NEW_YORK = ZoneInfo("America/New_York")


def _policies() -> PolicyRegistry:
    builtin = builtin_policies()
    imaging = next(p for p in builtin if p.id == "imaging-dept")
    # hours deadlines in zones that change their clocks (the built-in ones are in Beijing)
    london = replace(imaging, id="imaging-london", zone="Europe/London", calendar="GB-EAW")
    new_york = replace(imaging, id="imaging-ny", zone="America/New_York", calendar="US")
    # a follow-up counted from the receipt (still dropped when waived), and a close counted
    # from the response
    odd = imaging.with_rules(
        DeadlineRule(Milestone.FOLLOW_UP, 20, Unit.DAYS, anchor=Anchor.RECEIVED),
        DeadlineRule(Milestone.CLOSE, 3, Unit.WORKING_DAYS, anchor=Anchor.RESPONDED),
        id="imaging-odd")
    return PolicyRegistry([*builtin, london, new_york, odd])


_POLICIES = _policies()
_SPECS = [*_POLICIES.ids(), "imaging-dept:acknowledge+cn-nhc-2019:respond+cn-12320:close"]
_CALENDARS = Calendars()
_ZONES = [CN, LONDON, NEW_YORK, UTC]
# around the 2026 clock changes of London (29 March, 25 October) and New York (8 March,
# 1 November), where wall-clock shortcuts would go wrong if they were taken
_TRANSITIONS = [datetime(2026, 3, 8, 12), datetime(2026, 3, 29, 1), datetime(2026, 10, 25, 1),
                datetime(2026, 11, 1, 6)]


@st.composite
def instants(draw: st.DrawFn) -> datetime:
    near = draw(st.sampled_from(_TRANSITIONS))
    offset = draw(st.one_of(
        st.timedeltas(min_value=timedelta(hours=-30), max_value=timedelta(hours=30)),
        st.timedeltas(min_value=timedelta(days=-60), max_value=timedelta(days=20))))
    # fold and imaginary wall times included: the engine's own comparisons decide them
    return draw(st.datetimes(min_value=near + offset - timedelta(hours=1),
                             max_value=near + offset + timedelta(hours=1),
                             timezones=st.sampled_from(_ZONES)))


@st.composite
def zoned_clocks(draw: st.DrawFn) -> CaseClock:
    received = draw(instants())

    def after() -> datetime | None:
        if draw(st.booleans()):
            return None
        delta = draw(st.one_of(  # anywhere, or about when a 24-hour period ends
            st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=40)),
            st.timedeltas(min_value=timedelta(hours=22), max_value=timedelta(hours=26))))
        zone = draw(st.sampled_from(_ZONES))
        return (received + delta).astimezone(zone) if draw(st.booleans()) else received + delta

    return CaseClock(
        reference=f"HC-{draw(st.integers(1, 99))}", policy=draw(st.sampled_from(_SPECS)),
        received_at=received, complexity=draw(st.sampled_from(list(Complexity))),
        state=draw(st.sampled_from(list(CaseState))), acknowledged_at=after(),
        responded_at=after(), followed_up_at=after(), follow_up_waived=draw(st.booleans()),
        extensions=tuple(draw(st.lists(st.tuples(
            st.sampled_from(["acknowledge", "respond", "close"]), st.integers(1, 5)),
            max_size=2))),
        actions=tuple(ActionClock(f"A{n}", received.date() + timedelta(days=n * 3), after())
                      for n in range(draw(st.integers(0, 2)))),
        alerts=frozenset(draw(st.sets(st.tuples(
            st.sampled_from(["acknowledge", "respond", "close", "action:A0"]),
            st.sampled_from(["due_soon", "overdue"])), max_size=2))),
    )


_SHARED = Sweeper(_POLICIES, _CALENDARS)  # reused across examples: warm caches, many instants


@st.composite
def sweep_instants(draw: st.DrawFn, batch: list[CaseClock]) -> datetime:
    if not batch or draw(st.booleans()):
        return draw(instants())
    # about when a case's 24-hour acknowledgement, or its reminder, falls due
    received = draw(st.sampled_from(batch)).received_at
    delta = draw(st.timedeltas(min_value=timedelta(hours=18), max_value=timedelta(hours=26)))
    return (received + delta).astimezone(draw(st.sampled_from(_ZONES)))


@settings(max_examples=400, deadline=None)
@given(data=st.data(), batch=st.lists(zoned_clocks(), max_size=6))
def test_fast_sweep_equals_the_reference_across_zones_and_clock_changes(
        data: st.DataObject, batch: list[CaseClock]) -> None:
    at = data.draw(sweep_instants(batch))
    reference = sweep_reference(batch, at, _POLICIES, _CALENDARS)
    assert Sweeper(_POLICIES, _CALENDARS).run(batch, at) == reference
    assert _SHARED.run(batch, at) == reference
    assert _SHARED.run(batch, at).to_json() == reference.to_json()


def _batch() -> list[CaseClock]:
    received = cn(2026, 11, 2)
    return [
        clock("HC-1", received=received),
        clock("HC-2", received=received, acknowledged_at=received + timedelta(hours=30),
              extensions=(("close", 5),)),
        clock("HC-3", received=received, state=CaseState.RECTIFYING,
              actions=(action("A1", date(2026, 11, 10)),
                       action("A2", date(2026, 11, 4), received + timedelta(days=5)))),
        clock("HC-4", received=received, alerts=frozenset({("acknowledge", "overdue")})),
        clock("HC-5", state=CaseState.CLOSED),
    ]


def test_result_lists_are_built_once_and_behave_as_lists(registry: PolicyRegistry,
                                                          calendars: Calendars) -> None:
    at = cn(2026, 11, 20)
    fast = Sweeper(registry, calendars).run(_batch(), at)
    reference = sweep_reference(_batch(), at, registry, calendars)
    assert fast.overdue is fast.overdue  # built on first read, then kept
    assert isinstance(fast.overdue, list) and isinstance(fast.new_alerts, list)
    assert fast == reference and reference == fast
    assert fast.overdue == reference.overdue and fast.new_alerts == reference.new_alerts
    assert [a.reference for a in fast.new_alerts].count("HC-4") == len(
        [i for i in fast.overdue if i.reference == "HC-4"]) - 1  # acknowledge already raised
    assert fast.cases == 4
    assert fast.to_json() == reference.to_json()
    assert repr(fast) == repr(reference)
    assert fast != object() and fast != sweep_reference(_batch()[:1], at, registry, calendars)


def test_result_is_read_only_and_unhashable(registry: PolicyRegistry,
                                            calendars: Calendars) -> None:
    result = Sweeper(registry, calendars).run(_batch(), cn(2026, 11, 20))
    with pytest.raises(AttributeError):
        result.overdue = []  # type: ignore[misc]
    with pytest.raises(AttributeError):
        result.cases = 0  # type: ignore[misc]
    with pytest.raises(TypeError):
        hash(result)


def test_result_does_not_follow_later_changes_to_the_input(registry: PolicyRegistry,
                                                           calendars: Calendars) -> None:
    at = cn(2026, 11, 20)
    batch = _batch()
    result = Sweeper(registry, calendars).run(batch, at)
    batch.reverse()
    batch.clear()
    assert result == sweep_reference(_batch(), at, registry, calendars)


def test_a_generator_of_records_is_swept_like_a_list(registry: PolicyRegistry,
                                                      calendars: Calendars) -> None:
    at = cn(2026, 11, 20)
    fast = Sweeper(registry, calendars).run((c for c in _batch()), at)
    assert fast == sweep_reference(_batch(), at, registry, calendars)


def test_one_sweeper_over_many_days_and_zones(registry: PolicyRegistry,
                                              calendars: Calendars) -> None:
    sweeper = Sweeper(registry, calendars)
    london = [clock(f"UK-{d}", policy="uk-nhs-2009",
                    received=datetime(2026, 10, 20, 9, tzinfo=LONDON) + timedelta(days=d),
                    acknowledged_at=datetime(2026, 10, 27, 1, 30, tzinfo=LONDON))
              for d in range(8)]
    batch = _batch() + london
    for hours in range(0, 24 * 12, 7):  # across London's 25 October clock change
        at = datetime(2026, 10, 20, tzinfo=UTC) + timedelta(hours=hours)
        assert sweeper.run(batch, at) == sweep_reference(batch, at, registry, calendars), at


def test_records_in_another_zone_are_converted(registry: PolicyRegistry,
                                               calendars: Calendars) -> None:
    received = datetime(2026, 11, 1, 17, 30, tzinfo=UTC)  # 2 November, 01:30 in Beijing
    batch = [clock("HC-1", received=received),
             clock("HC-2", received=received, acknowledged_at=received + timedelta(hours=25)),
             clock("HC-3", received=received.astimezone(CN))]
    for at in (cn(2026, 11, 2, 22), cn(2026, 11, 3, 2), cn(2026, 11, 20)):
        fast = Sweeper(registry, calendars).run(batch, at)
        assert fast == sweep_reference(batch, at, registry, calendars)
        assert fast.to_json() == sweep_reference(batch, at, registry, calendars).to_json()


def test_compact_and_plain_results_compare_equal_to_lists() -> None:
    at = cn(2026, 11, 20)
    empty = SweepResult(at, 0, [], [], [], [])
    assert empty == Sweeper(_POLICIES, _CALENDARS).run([], at)
    assert Sweeper(_POLICIES, _CALENDARS).run([], at).new_alerts == []


def test_day_deadline_gives_the_figures_of_rule_deadline(calendars: Calendars) -> None:
    for policy in (_POLICIES.resolve(spec) for spec in _SPECS):
        for rule in policy.rules:
            if rule.unit is Unit.HOURS:
                continue
            for n in range(0, 800, 3):  # 2025-2027, weekends and holidays included
                start = date(2025, 1, 1) + timedelta(days=n)
                at = datetime.combine(start, time(15), tzinfo=policy.tz)
                for extra in (0, 1, 4):
                    d = rule_deadline(policy, rule, at, calendars, extra_days=extra)
                    assert day_deadline(policy, rule, start, calendars, extra_days=extra) == (
                        d.due, d.due_soon_from, d.provisional), (policy.id, rule, start, extra)

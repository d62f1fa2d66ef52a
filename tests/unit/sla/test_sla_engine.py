"""Counting rules, one test per rule a clerk would notice (docs/sla.md, "Counting rules")."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from unit.sla.sla_support import CN, EXAMPLE_2027, LONDON, cn

from hospital_complaints.domain.taxonomy import Complexity
from hospital_complaints.errors import InvalidInput
from hospital_complaints.sla import (
    Calendars,
    Deadline,
    DeadlineStatus,
    PolicyRegistry,
    builtin_policies,
    deadlines,
    override,
    status_at,
)


def due_of(registry: PolicyRegistry, calendars: Calendars, policy: str, received: datetime,
           milestone: str, complexity: str = "simple", **kw: Any) -> Deadline:
    found = {d.milestone: d for d in deadlines(registry.resolve(policy), received,
                                               Complexity(complexity), calendars=calendars,
                                               **kw)}
    return found[milestone]


# -- working days ---------------------------------------------------------------------------


def test_five_working_days_skip_national_day_and_count_the_make_up_saturday(
        registry: PolicyRegistry, calendars: Calendars) -> None:
    # received Wed 30 Sep 2026; 1-7 Oct is the holiday; Sat 10 Oct is a working day
    d = due_of(registry, calendars, "cn-nhc-2019", cn(2026, 9, 30), "respond", "complex")
    assert d.last_day == date(2026, 10, 13)  # 8, 9, 10 (Sat), 12, 13 October
    assert d.due.isoformat() == "2026-10-13T23:59:59.999999+08:00"
    assert not d.provisional


def test_make_up_sunday_is_the_next_working_day(registry: PolicyRegistry,
                                                calendars: Calendars) -> None:
    # received Friday 18 Sep 2026 evening; Sunday 20 Sep is a make-up working day
    d = due_of(registry, calendars, "cn-nhc-2019", cn(2026, 9, 18, 19), "respond", "simple")
    assert d.last_day == date(2026, 9, 20)


def test_ten_working_days_for_several_departments(registry: PolicyRegistry,
                                                  calendars: Calendars) -> None:
    d = due_of(registry, calendars, "cn-nhc-2019", cn(2026, 9, 30), "respond",
               "multi_department")
    assert d.last_day == date(2026, 10, 20)


def test_counting_starts_the_day_after_receipt_even_late_at_night(
        registry: PolicyRegistry, calendars: Calendars) -> None:
    early = due_of(registry, calendars, "cn-nhc-2019", cn(2026, 11, 2, 0, 1), "respond",
                   "complex")
    late = due_of(registry, calendars, "cn-nhc-2019", cn(2026, 11, 2, 23, 59), "respond",
                  "complex")
    assert early.last_day == late.last_day == date(2026, 11, 9)  # Mon -> next Mon


def test_days_are_counted_in_the_policy_zone(registry: PolicyRegistry,
                                             calendars: Calendars) -> None:
    # 16:30 UTC on Sunday 8 Nov is 00:30 on Monday in Beijing: day 1 is Tuesday
    received = datetime(2026, 11, 8, 16, 30, tzinfo=UTC)
    d = due_of(registry, calendars, "cn-nhc-2019", received, "respond", "complex")
    assert d.last_day == date(2026, 11, 16)


# -- calendar days ----------------------------------------------------------------------------


def test_calendar_day_deadline_ending_on_a_holiday_moves_to_the_next_working_day(
        registry: PolicyRegistry, calendars: Calendars) -> None:
    # 30 days from 3 Sep 2026 is Sat 3 Oct (National Day); the holiday ends 7 Oct
    d = due_of(registry, calendars, "cn-12320", cn(2026, 9, 3), "close")
    assert d.moved_from == date(2026, 10, 3)
    assert d.last_day == date(2026, 10, 8)


def test_calendar_day_deadline_ending_on_a_make_up_working_day_stays(
        registry: PolicyRegistry, calendars: Calendars) -> None:
    d = due_of(registry, calendars, "cn-12320", cn(2026, 9, 10), "close")
    assert d.last_day == date(2026, 10, 10)  # a Saturday, but a working day (调休)
    assert d.moved_from is None


def test_calendar_day_deadline_ending_on_a_weekend_moves_to_monday(
        registry: PolicyRegistry, calendars: Calendars) -> None:
    d = due_of(registry, calendars, "cn-petition-2022", cn(2026, 11, 6), "acknowledge")
    assert d.moved_from == date(2026, 11, 21)  # 15 days on: a Saturday
    assert d.last_day == date(2026, 11, 23)


def test_us_policy_does_not_move_a_deadline_off_the_weekend(registry: PolicyRegistry,
                                                            calendars: Calendars) -> None:
    ny = registry.get("us-cms-grievance").tz
    d = due_of(registry, calendars, "us-cms-grievance", datetime(2026, 11, 7, 9, tzinfo=ny),
               "respond")
    assert d.last_day == date(2026, 11, 14)  # a Saturday: 7 days is 7 days
    assert d.due.isoformat() == "2026-11-14T23:59:59.999999-05:00"


# -- hours ------------------------------------------------------------------------------------


def test_24_hours_is_exact_elapsed_time(registry: PolicyRegistry, calendars: Calendars) -> None:
    d = due_of(registry, calendars, "imaging-dept", cn(2026, 9, 30, 17, 45), "acknowledge")
    assert d.due == cn(2026, 10, 1, 17, 45)  # holidays do not stop the clock for hours


@pytest.mark.parametrize(("received", "due"), [
    # clocks go forward on 29 March 2026: 24 h after noon GMT is 13:00 BST
    (datetime(2026, 3, 28, 12, tzinfo=LONDON), "2026-03-29T13:00:00+01:00"),
    # and back on 25 October 2026: 24 h after noon BST is 11:00 GMT
    (datetime(2026, 10, 24, 12, tzinfo=LONDON), "2026-10-25T11:00:00+00:00"),
])
def test_24_hours_across_daylight_saving_in_london(registry: PolicyRegistry,
                                                   calendars: Calendars, received: datetime,
                                                   due: str) -> None:
    uk = override(registry.get("uk-nhs-2009"), {"acknowledge": "24h"}, id="uk-24h")
    d = {x.milestone: x for x in deadlines(uk, received, calendars=calendars)}["acknowledge"]
    assert d.due.isoformat() == due
    # same-zone subtraction is wall-clock time in Python; elapsed time is measured in UTC
    assert d.due.astimezone(UTC) - received.astimezone(UTC) == timedelta(hours=24)


# -- England: working days, months --------------------------------------------------------------


def test_uk_acknowledgement_skips_easter_bank_holidays(registry: PolicyRegistry,
                                                        calendars: Calendars) -> None:
    # Thu 2 Apr 2026; Good Friday 3 Apr and Easter Monday 6 Apr are not working days
    d = due_of(registry, calendars, "uk-nhs-2009", datetime(2026, 4, 2, 15, tzinfo=LONDON),
               "acknowledge")
    assert d.last_day == date(2026, 4, 9)
    assert d.due.isoformat() == "2026-04-09T23:59:59.999999+01:00"


@pytest.mark.parametrize(("received", "last"), [
    (date(2026, 1, 15), date(2026, 7, 14)),  # six months commencing on 15 Jan
    (date(2026, 8, 31), date(2027, 2, 28)),  # no 31 February: the month's last day
])
def test_uk_six_month_response_period(registry: PolicyRegistry, calendars: Calendars,
                                      received: date, last: date) -> None:
    at = datetime(received.year, received.month, received.day, 9, tzinfo=LONDON)
    d = due_of(registry, calendars, "uk-nhs-2009", at, "respond")
    assert d.last_day == last


# -- anchors, extensions, provisional ----------------------------------------------------------


def test_petition_close_counts_from_acceptance(registry: PolicyRegistry,
                                               calendars: Calendars) -> None:
    before = due_of(registry, calendars, "cn-petition-2022", cn(2026, 3, 2), "close")
    assert before.anchor == "received" and before.notes
    after = due_of(registry, calendars, "cn-petition-2022", cn(2026, 3, 2), "close",
                   acknowledged_at=cn(2026, 3, 12))
    assert after.anchor == "acknowledged"
    assert after.last_day == date(2026, 5, 11)  # 60 days on is Sun 10 May


def test_extension_moves_the_last_day_on(registry: PolicyRegistry,
                                         calendars: Calendars) -> None:
    plain = due_of(registry, calendars, "cn-12320", cn(2026, 3, 2), "close")
    longer = due_of(registry, calendars, "cn-12320", cn(2026, 3, 2), "close",
                    extensions={"close": 30})
    assert plain.last_day == date(2026, 4, 1)
    assert longer.last_day == date(2026, 5, 6)  # 60 days on is 1 May: Labour Day, to 6 May
    assert longer.extended_by == 30


def test_deadline_reaching_an_uncovered_year_is_provisional_until_loaded(
        registry: PolicyRegistry, calendars: Calendars, official_2027: Path) -> None:
    received = cn(2027, 1, 13)
    d = due_of(registry, calendars, "cn-12320", received, "close")
    assert d.provisional and d.provisional_years == (2027,)
    assert d.last_day == date(2027, 2, 12)  # weekends and fixed holidays only
    assert d.to_json()["provisional"] is True

    calendars.load_file(official_2027)  # Spring Festival 5-12 Feb in the loaded file
    d = due_of(registry, calendars, "cn-12320", received, "close")
    assert not d.provisional
    assert d.last_day == date(2027, 2, 15)


def test_illustrative_calendar_keeps_the_deadline_provisional(
        registry: PolicyRegistry, calendars: Calendars) -> None:
    calendars.load_file(EXAMPLE_2027)
    d = due_of(registry, calendars, "cn-12320", cn(2027, 1, 13), "close")
    assert d.last_day == date(2027, 2, 15)
    assert d.provisional


def test_working_day_count_into_an_uncovered_year_is_provisional(
        registry: PolicyRegistry, calendars: Calendars) -> None:
    d = due_of(registry, calendars, "cn-nhc-2019", cn(2026, 12, 28), "respond", "complex")
    assert d.provisional
    assert d.last_day == date(2027, 1, 5)  # 29, 30, 31 Dec, (1 Jan rest), 4, 5 Jan


def test_deadline_within_covered_years_is_not_provisional(registry: PolicyRegistry,
                                                          calendars: Calendars) -> None:
    d = due_of(registry, calendars, "cn-nhc-2019", cn(2026, 12, 14), "respond", "complex")
    assert not d.provisional


def test_naive_datetime_is_refused(registry: PolicyRegistry, calendars: Calendars) -> None:
    with pytest.raises(InvalidInput) as err:
        deadlines(registry.get("cn-12320"), datetime(2026, 9, 3, 10), calendars=calendars)
    assert "received_at" in str(err.value)
    assert err.value.zh is not None and "时区" in err.value.zh


def test_only_the_milestones_the_policy_defines(registry: PolicyRegistry,
                                                calendars: Calendars) -> None:
    found = deadlines(registry.get("cn-12320"), cn(2026, 3, 2), calendars=calendars)
    assert [d.milestone for d in found] == ["close"]
    found = deadlines(registry.get("imaging-dept"), cn(2026, 3, 2), calendars=calendars)
    assert [d.milestone for d in found] == ["acknowledge", "respond", "close"]
    found = deadlines(registry.get("imaging-dept"), cn(2026, 3, 2), calendars=calendars,
                      responded_at=cn(2026, 3, 5))
    assert found[-1].milestone == "follow_up" and found[-1].anchor == "responded"


def test_reminder_is_two_working_days_before(registry: PolicyRegistry,
                                             calendars: Calendars) -> None:
    d = due_of(registry, calendars, "cn-nhc-2019", cn(2026, 9, 30), "respond", "complex")
    assert d.due_soon_from == datetime(2026, 10, 10, tzinfo=CN)  # make-up Saturday counts
    ack = due_of(registry, calendars, "imaging-dept", cn(2026, 9, 30, 8), "acknowledge")
    assert ack.due_soon_from == cn(2026, 10, 1, 4)  # 4 hours before a 24 h deadline


def test_status_at_each_moment() -> None:
    due, soon = cn(2026, 3, 10, 23, 59), cn(2026, 3, 8, 0)
    assert status_at(due, soon, None, cn(2026, 3, 7)) is DeadlineStatus.PENDING
    assert status_at(due, soon, None, cn(2026, 3, 9)) is DeadlineStatus.DUE_SOON
    assert status_at(due, soon, None, due) is DeadlineStatus.DUE_SOON
    assert status_at(due, soon, None, due + timedelta(microseconds=1)) \
        is DeadlineStatus.OVERDUE
    assert status_at(due, soon, due, cn(2026, 4, 1)) is DeadlineStatus.MET
    assert status_at(due, soon, cn(2026, 3, 11), cn(2026, 4, 1)) is DeadlineStatus.BREACHED
    # met later than the instant looked at: not met yet as seen from then
    assert status_at(due, soon, cn(2026, 3, 11), cn(2026, 3, 9)) is DeadlineStatus.DUE_SOON


# -- properties ----------------------------------------------------------------------------

_POLICIES = PolicyRegistry(builtin_policies())
_CALENDARS = Calendars()
instants = st.datetimes(min_value=datetime(2005, 1, 1), max_value=datetime(2028, 12, 31),
                        timezones=st.sampled_from([CN, LONDON]))


@settings(max_examples=300, deadline=None)
@given(received=instants, policy=st.sampled_from(_POLICIES.ids()),
       complexity=st.sampled_from(list(Complexity)),
       extra=st.integers(min_value=0, max_value=40))
def test_due_is_never_before_receipt(received: datetime, policy: str, complexity: Complexity,
                                     extra: int) -> None:
    p = _POLICIES.get(policy)
    ext = {m.value: extra for m in p.milestones()}
    for d in deadlines(p, received, complexity, calendars=_CALENDARS, extensions=ext):
        assert d.due > received
        assert d.due_soon_from <= d.due


@settings(max_examples=300, deadline=None)
@given(received=instants, amount=st.integers(min_value=0, max_value=40),
       calendar=st.sampled_from(["CN", "GB-EAW"]), extra=st.integers(min_value=0, max_value=9))
def test_working_day_deadline_always_lands_on_a_working_day(
        received: datetime, amount: int, calendar: str, extra: int) -> None:
    base = _POLICIES.get("cn-nhc-2019")
    p = override(replace(base, calendar=calendar), {"respond": f"{amount}wd"}, id="prop")
    d = deadlines(p, received, calendars=_CALENDARS, extensions={"respond": extra})[0]
    assert _CALENDARS.get(calendar).is_working_day(d.last_day)
    assert d.last_day > received.astimezone(p.tz).date() or amount == 0

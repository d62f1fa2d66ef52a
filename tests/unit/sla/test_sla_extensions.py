"""Extensions: what the service checks before handling ExtendDeadline."""

from __future__ import annotations

from datetime import date

import pytest
from support import draft

from hospital_complaints import ExtendDeadline, HospitalComplaintsError
from hospital_complaints.domain.taxonomy import Milestone
from hospital_complaints.services.service import ComplaintService
from hospital_complaints.sla import (
    Calendars,
    DeadlineError,
    PolicyRegistry,
    case_clock,
    case_deadlines,
    check_extension,
)


def test_petition_close_extends_up_to_30_days_in_total(registry: PolicyRegistry) -> None:
    petition = registry.get("cn-petition-2022")
    assert check_extension(petition, [], "close", 20, consent=False) == 20
    assert check_extension(petition, {"close": 20}, Milestone.CLOSE, 10, consent=False) == 30
    with pytest.raises(DeadlineError) as err:
        check_extension(petition, {"close": 20}, "close", 11, consent=False)
    assert "at most 30 days" in err.value.en and "at most 10 more" in err.value.en
    assert err.value.zh is not None and "最多还可延 10 天" in err.value.zh
    assert isinstance(err.value, HospitalComplaintsError)
    assert (err.value.policy, err.value.milestone) == ("cn-petition-2022", "close")


def test_hotline_extension_needs_the_complainants_consent(registry: PolicyRegistry) -> None:
    hotline = registry.get("cn-12320")
    with pytest.raises(DeadlineError) as err:
        check_extension(hotline, [], "close", 30, consent=False)
    assert "consent" in err.value.en
    assert err.value.zh is not None and "投诉人同意" in err.value.zh
    assert check_extension(hotline, [], "close", 30, consent=True) == 30


def test_milestone_the_policy_does_not_let_anyone_extend(registry: PolicyRegistry) -> None:
    with pytest.raises(DeadlineError, match="does not allow extending the acknowledge"):
        check_extension(registry.get("cn-petition-2022"), [], "acknowledge", 5, consent=True)
    with pytest.raises(DeadlineError, match="sets no deadline for respond"):
        check_extension(registry.get("cn-12320"), [], "respond", 5, consent=True)
    with pytest.raises(DeadlineError, match="only a milestone deadline"):
        check_extension(registry.get("imaging-dept"), [], "action", 5, consent=True)
    with pytest.raises(DeadlineError, match="at least 1 day"):
        check_extension(registry.get("imaging-dept"), [], "close", 0, consent=True)


def test_uk_response_period_extends_as_far_as_agreed(registry: PolicyRegistry) -> None:
    uk = registry.get("uk-nhs-2009")
    assert check_extension(uk, [], "respond", 120, consent=True) == 120
    with pytest.raises(DeadlineError, match="consent"):
        check_extension(uk, [], "respond", 10, consent=False)


def test_extension_on_a_real_case_moves_its_due_date(
        service: ComplaintService, registry: PolicyRegistry, calendars: Calendars) -> None:
    policy = registry.get("cn-12320")
    case = service.register(draft(), actor="clerk")  # received 2026-11-20 08:30 +08:00
    before = {d.milestone: d for d in case_deadlines(policy, case, calendars)}
    assert before["close"].last_day == date(2026, 12, 21)  # 20 Dec is a Sunday

    cmd = ExtendDeadline(milestone=Milestone.CLOSE, days=30, reason="需要设备厂家检测",
                         consent=True)
    check_extension(policy, case, cmd.milestone, cmd.days, cmd.consent)
    service.execute(case.reference, cmd, actor="clerk")
    case = service.get(case.reference)
    after = {d.milestone: d for d in case_deadlines(policy, case, calendars)}
    assert after["close"].last_day == date(2027, 1, 19)
    assert after["close"].extended_by == 30
    assert case_clock(case, policy.id).extension_days("close") == 30
    with pytest.raises(DeadlineError, match="already granted 30"):
        check_extension(policy, case, "close", 1, consent=True)

"""The report's cached due instants equal the SLA engine's per-case deadlines."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hospital_complaints.domain.taxonomy import Milestone
from hospital_complaints.reports.build.dues import Dues
from hospital_complaints.reports.build.facts import fact_from_case
from hospital_complaints.sla import case_deadlines


@pytest.mark.parametrize("spec", ["imaging-dept", "cn-nhc-2019", "cn-12320", "uk-nhs-2009",
                                  "imaging-dept:acknowledge+cn-nhc-2019:respond"])
def test_dues_equal_case_deadlines(mem_app, rclock, scenario, spec):
    refs = scenario.play(mem_app, rclock, 31, n=40)
    policy = mem_app.deadlines.policy(spec)
    dues = Dues(policy, mem_app.deadlines.calendars)
    for cut in (30, 200):
        as_of = scenario.START + timedelta(days=cut)
        for ref in refs:
            fact = fact_from_case(mem_app.complaints.get(ref), as_of)
            expected = {d.milestone: d.due for d in
                        case_deadlines(policy, fact.clock(spec), mem_app.deadlines.calendars)}
            for m in (Milestone.ACKNOWLEDGE, Milestone.RESPOND, Milestone.CLOSE,
                      Milestone.FOLLOW_UP):
                assert dues.due(fact, m) == expected.get(m.value), (ref, m)

"""Completion metrics: share finished within 7 and 30 days, per department and month."""

from __future__ import annotations

from unit.sla.sla_support import clock, cn

from hospital_complaints.domain.taxonomy import CaseState
from hospital_complaints.sla import HOTLINE_REFERENCE, completion_metrics


def test_shares_per_department_and_month() -> None:
    received = cn(2026, 5, 6, 9)
    records = [
        clock("A", received=received, department="CT", state=CaseState.CLOSED,
              closed_at=cn(2026, 5, 13, 23, 59)),  # day 7 after receipt: within 7
        clock("B", received=received, department="CT", state=CaseState.CLOSED,
              closed_at=cn(2026, 5, 14, 0, 1)),  # day 8: within 30 only
        clock("C", received=received, department="CT", state=CaseState.WITHDRAWN,
              closed_at=cn(2026, 7, 1)),  # finished, but not within 30
        clock("D", received=received, department="CT", state=CaseState.INVESTIGATING),
        clock("E", received=received, department="MR", state=CaseState.REFERRED,
              closed_at=cn(2026, 5, 7)),
        clock("F", received=cn(2026, 6, 1), department=None, state=CaseState.CLOSED,
              closed_at=cn(2026, 6, 2)),
    ]
    rows = {(r.department, r.month): r for r in completion_metrics(records, cn(2026, 8, 1))}
    ct = rows[("CT", "2026-05")]
    assert (ct.received, ct.finished, ct.within) == (4, 3, {7: 1, 30: 2})
    assert ct.share(7) == 0.25 and ct.share(30) == 0.5
    assert rows[("MR", "2026-05")].share(7) == 1.0
    assert rows[("(unassigned)", "2026-06")].received == 1
    total = rows[("(all)", "2026-05")]
    assert (total.received, total.within) == (5, {7: 2, 30: 3})
    assert total.to_json()["share"] == {"7": 0.4, "30": 0.6}


def test_metrics_as_of_an_earlier_instant_ignore_later_closures() -> None:
    records = [clock("A", received=cn(2026, 5, 6), state=CaseState.CLOSED,
                     closed_at=cn(2026, 5, 8)),
               clock("B", received=cn(2026, 5, 20), state=CaseState.CLOSED,
                     closed_at=cn(2026, 5, 21))]
    rows = completion_metrics(records, cn(2026, 5, 7), totals=False)
    assert [(r.received, r.finished) for r in rows] == [(1, 0)]  # B not yet received


def test_hotline_reference_figures() -> None:
    assert HOTLINE_REFERENCE == {7: 0.53, 30: 0.85}

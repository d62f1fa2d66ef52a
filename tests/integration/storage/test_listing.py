"""The read side: listings and exports select, sort and page in SQL on the cases table, with the
filters of `list` (state, department and its units, channel, kind, category, dates), on
SQLite, PostgreSQL and MariaDB; the in-memory store answers the same."""

from __future__ import annotations

import io
import json
from datetime import date
from typing import Any

import pytest
from support import draft

from hospital_complaints import Acknowledge, InvalidInput, NotFound
from hospital_complaints.services.service import CaseFilter, ComplaintService

CASES = [  # (received, channel, kind, department, categories)
    ("2026-11-16T09:00:00+08:00", "front_desk", "complaint", "CT室", ["process_management"]),
    ("2026-11-16T23:30:00+08:00", "web_form", "suggestion", "影像科 imaging department", []),
    ("2026-11-17T08:00:00+08:00", "letter", "complaint", "超声科", ["service_attitude"]),
    ("2026-11-18T10:00:00+08:00", "email", "complaint", "第三住院部", ["process_management",
                                                                  "service_attitude"]),
    ("2026-11-19T10:00:00+08:00", "front_desk", "praise", "医患关系办公室", []),
]


def _register(service: ComplaintService) -> list[str]:
    refs = []
    for received, channel, kind, department, categories in CASES:
        refs.append(service.register(draft(received_at=received, channel=channel, kind=kind,
                                           department=department, categories=categories),
                                     actor="clerk").reference)
    service.execute(refs[0], Acknowledge(method="phone", message="收到"), actor="clerk")
    return refs


@pytest.fixture(params=["sql", "memory"])
def svc(request: pytest.FixtureRequest, store: Any, service_for: Any,
        service: ComplaintService) -> ComplaintService:
    return service_for(store) if request.param == "sql" else service  # type: ignore[no-any-return]


def refs_of(rows: Any) -> list[str]:
    return [r.reference for r in rows]


def test_filters_select_like_a_clerk_expects(svc: ComplaintService) -> None:
    refs = _register(svc)
    listed = svc.list_cases
    assert refs_of(listed()) == refs  # oldest received first
    assert refs_of(listed(state="acknowledged")) == [refs[0]]
    assert refs_of(listed(filters=CaseFilter(open_only=True))) == refs
    assert refs_of(listed(department="影像科")) == refs[:2]  # CT室 is within 影像科
    assert refs_of(listed(department="ct")) == [refs[0]]
    assert refs_of(listed(department="第三住院部")) == [refs[3]]  # not in the registry: text
    assert refs_of(listed(filters=CaseFilter(channel="front_desk"))) == [refs[0], refs[4]]
    assert refs_of(listed(filters=CaseFilter(kind="complaint"))) == [refs[0], refs[2], refs[3]]
    assert refs_of(listed(filters=CaseFilter(category="service_attitude"))) == refs[2:4]
    # dates are days in HC_TIMEZONE: 23:30 on the 16th belongs to the 16th
    assert refs_of(listed(filters=CaseFilter(received_from=date(2026, 11, 16),
                                             received_to=date(2026, 11, 16)))) == refs[:2]
    assert refs_of(listed(filters=CaseFilter(received_from=date(2026, 11, 18)))) == refs[3:]


def test_pages_follow_each_other_without_gaps(svc: ComplaintService) -> None:
    refs = _register(svc)
    first = svc.list_cases(limit=2)
    second = svc.list_cases(limit=2, after=first[-1].reference)
    third = svc.list_cases(limit=2, after=second[-1].reference.lower())
    assert refs_of(first) + refs_of(second) + refs_of(third) == refs
    with pytest.raises(NotFound, match="HC-20991231-0001"):
        svc.list_cases(after="HC-20991231-0001")


def test_bad_filter_values_list_what_is_allowed(svc: ComplaintService) -> None:
    with pytest.raises(InvalidInput, match="front_desk"):
        svc.list_cases(filters=CaseFilter(channel="carrier_pigeon"))
    with pytest.raises(InvalidInput, match="received_to"):
        svc.list_cases(filters=CaseFilter(received_from=date(2026, 11, 20),
                                          received_to=date(2026, 11, 1)))


def test_exports_use_the_same_filters_and_stream(svc: ComplaintService) -> None:
    refs = _register(svc)
    from hospital_complaints.plugins.builtin.default_exporters import JsonLinesExporter

    out = io.StringIO()
    n = JsonLinesExporter().export(svc.iter_cases(filters=CaseFilter(kind="complaint"),
                                                  batch=2), out)
    assert n == 3
    assert [json.loads(line)["reference"] for line in out.getvalue().splitlines()] == [
        refs[0], refs[2], refs[3]]

"""Returns: KO41(a) counts a complaint once in the totals and once per distinct item in the
service-area, subject and profession sections; the mapping is data; the hotline's monthly
work-order report names the overdue ones."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from hospital_complaints import ConfigError
from hospital_complaints.reports.build import Month, ReportRequest
from hospital_complaints.reports.build.facts import fact_from_case
from hospital_complaints.reports.build.returns import load_mapping


def _counts(report):
    return {(r[0], r[1]): r[2] for r in report.table("ko41a").rows}


def test_ko41a_totals_once_and_aspects_per_item(mem_app, rclock, scenario):
    refs = scenario.play(mem_app, rclock, 4, n=60)
    report = mem_app.reports.build("ko41a", ReportRequest(Month.parse("2026-10"), months=3))
    counts = _counts(report)
    facts = [fact_from_case(mem_app.complaints.get(r), report.as_of) for r in refs]
    start, end = Month.parse("2026-08").start(scenario.TZ), Month.parse("2026-10").end(scenario.TZ)
    new = [f for f in facts if f.kind == "complaint" and start <= f.received_at < end]
    assert counts[("2", "New complaints")] == len(new)
    mapping = load_mapping(None)
    subjects = Counter(item for f in new for item in
                       {mapping["subjects"].get(c, "Other") for c in f.categories or ("(none)",)})
    for item, n in subjects.items():
        assert counts[("7", f"Subject area: {item}")] == n
    assert sum(v for (s, _), v in counts.items() if s == "7") >= len(new)
    assert sum(v for (s, _), v in counts.items() if s == "4") == len(new)
    assert sum(v for (s, _), v in counts.items() if s == "5") == len(new)  # one unit each
    assert report.period == "2026-08..2026-10"


def test_ko41a_mapping_is_a_site_file(rclock, scenario, new_app, tmp_path):
    mapping = load_mapping(None)
    mapping["subjects"]["process_management"] = "Appointments"
    site = tmp_path / "ko41.json"
    site.write_text(json.dumps(mapping), encoding="utf-8")
    app = new_app("memory://", rclock, plugins={"reports": {"ko41_mapping_file": str(site)}})
    scenario.play(app, rclock, 4, n=30)
    rows = {r[1] for r in app.reports.build("ko41a", ReportRequest(
        Month.parse("2026-10"))).table("ko41a").rows}
    assert "Subject area: Appointments" in rows and "Subject area: Waiting times" not in rows
    site.write_text("{}", encoding="utf-8")
    broken = new_app("memory://", rclock, plugins={"reports": {"ko41_mapping_file": str(site)}})
    with pytest.raises(ConfigError) as err:
        broken.reports.build("ko41a", ReportRequest(Month.parse("2026-10")))
    assert "HC_REPORT_KO41_MAPPING" in str(err.value) and "subjects" in str(err.value)


def test_hotline_monthly_counts_work_orders_and_names_the_overdue(mem_app, rclock, scenario):
    refs = scenario.play(mem_app, rclock, 9, n=60)
    report = mem_app.reports.build("hotline-monthly", ReportRequest(Month.parse("2026-11")))
    table = report.table("hotline_units")
    facts = [fact_from_case(mem_app.complaints.get(r), report.as_of) for r in refs]
    start = Month.parse("2026-11").start(scenario.TZ)
    hotline = [f for f in facts if f.channel == "hotline_platform"
               and start <= f.received_at < report.as_of]
    assert sum(r[1] for r in table.rows) == len(hotline)
    monthly = mem_app.reports.monthly("2026-11").table("overdue")
    hotline_refs = {f.reference for f in facts if f.channel == "hotline_platform"}
    expected = {r[1] for r in monthly.rows if r[1] in hotline_refs}
    named = {ref for r in table.rows for ref in str(r[5]).split("、") if ref != "—"}
    assert named == expected


def test_report_list_and_unknown_report(mem_app):
    assert list(mem_app.reports.definitions) == ["hotline-monthly", "ko41a", "monthly"]
    from hospital_complaints import InvalidInput

    with pytest.raises(InvalidInput) as err:
        mem_app.reports.build("annual", ReportRequest(Month.parse("2026-10")))
    assert "annual" in str(err.value) and "monthly" in str(err.value)


def test_hotline_monthly_shows_the_three_rates_as_the_platform_counts_them(demo_app):
    """The demo's 12320 MR work order: signed for, answered, called back dissatisfied, redone
    and called back again; the 12345 call merged into the CT case is not a work order of its
    own. The table equals `sla metrics` (app.workorders.rates) and writes its definitions."""
    from datetime import date

    report = demo_app.reports.build("hotline-monthly", ReportRequest(Month.parse("2026-11")))
    table = report.table("hotline_platform_rates")
    rows = {r[0]: dict(zip([c.key for c in table.columns], r, strict=True)) for r in table.rows}
    expected = demo_app.workorders.rates(date(2026, 11, 1), date(2026, 11, 30))
    assert sum(r["dispatched"] for r in rows.values()) == sum(u.dispatched for u in expected) == 1
    (row,) = rows.values()
    assert row["response"] == 1.0 and row["called_back"] == 1
    notes = " ".join(n.en for n in table.notes)
    assert "signed for in time" in notes and "call-backs answered" in notes

"""The monthly report counts what the events say (a property test against an independent
recount), with the previous month and a 12-month trend in every breakdown."""

from __future__ import annotations

from datetime import datetime

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from hospital_complaints.domain.taxonomy import Category, Channel, OutcomeKind, label
from hospital_complaints.plugins.types import Viewer
from hospital_complaints.reports.build import Month, ReportRequest
from hospital_complaints.reports.build.facts import fact_from_case
from hospital_complaints.reports.build.rates import PENDING


def _row(table, name):
    return dict(zip([c.key for c in table.columns], table.row(name), strict=True))


def _lab(member) -> str:
    lab = label(member)
    return f"{lab.zh} {lab.en}"


@settings(max_examples=8, deadline=None, phases=[Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10**6), month=st.sampled_from(["2026-09", "2026-10", "2026-11"]))
def test_counts_equal_an_independent_recount_from_the_events(scenario, new_app, seed,
                                                            month):
    from hospital_complaints import FixedClock

    rclock = FixedClock(scenario.START)
    mem_app = new_app("memory://", rclock)  # a new application per example
    refs = scenario.play(mem_app, rclock, seed, n=20)
    rclock.set(datetime(2027, 1, 10, tzinfo=scenario.TZ))
    report = mem_app.reports.monthly(month)
    as_of = report.as_of
    expected = scenario.recount(mem_app, refs, as_of)
    months = report.meta["months"]
    flow = report.table("flow")
    assert [_row(flow, "新受理 new")[f"m{m}"] for m in months] == [expected.new[m] for m in months]
    finished = _row(flow, "办结（含撤回、转办、不予受理、并单） finished (closed, withdrawn, "
                          "referred, not accepted, merged)")
    assert [finished[f"m{m}"] for m in months] == [expected.finished[m] for m in months]
    for kind in OutcomeKind:
        row = _row(report.table("outcomes"), _lab(kind))
        assert [row[f"m{m}"] for m in months] == \
            [expected.outcomes[(m, kind.value)] for m in months], kind
    for ch in Channel:
        row = _row(report.table("by_channel"), _lab(ch))
        assert row["current"] == expected.channels[(month, ch.value)]
        assert row["previous"] == expected.channels[(months[-2], ch.value)]
    for cat in Category:
        row = _row(report.table("by_category"), _lab(cat))
        assert row["current"] == expected.categories[(month, cat.value)]
    cases = _row(report.table("by_category"), "(cases 案件数)")
    assert cases["current"] == expected.new[month]
    ack = _row(report.table("deadlines"), "24 小时内首次反馈 first feedback within 24 h")
    e, n = expected.ack_eligible[month], expected.ack_met[month]
    assert ack["current"] == (None if e == 0 else n / e)
    dist = report.table("satisfaction")
    for s in range(1, 6):
        assert _row(dist, f"{s} 分 score {s}")["current"] == expected.scores[(month, s)]
    unreachable = _row(report.table("follow_up"), "无法联系 unreachable")
    assert unreachable["current"] == expected.unreachable[month]


def test_every_breakdown_has_this_month_previous_month_and_twelve_months(mem_app, rclock,
                                                                       scenario):
    scenario.play(mem_app, rclock, 11, n=15)
    report = mem_app.reports.monthly("2026-10")
    assert report.meta["months"][0] == "2025-11" and report.meta["months"][-1] == "2026-10"
    for table in report.tables():
        keys = [c.key for c in table.columns]
        trend = [c for c in table.columns if c.group == "trend"]
        if trend:
            assert keys[1:4] == ["current", "previous", "change"], table.id
            assert len(trend) == 12, table.id
            for row in table.rows:
                values = dict(zip(keys, row, strict=True))
                assert values["current"] == values["m2026-10"]
                assert values["previous"] == values["m2026-09"]


def test_the_rates_print_their_definitions_and_what_is_not_recorded_yet(mem_app, rclock,
                                                                       scenario):
    scenario.play(mem_app, rclock, 5, n=15)
    table = mem_app.reports.monthly("2026-10").table("rates")
    notes = " ".join(f"{n.zh} {n.en}" for n in table.notes)
    assert "响应率" in notes and "Resolution rate" in notes and "scored 4 or higher" in notes
    assert PENDING in table.notes
    assert "imaging-dept" in notes  # the SLA policy whose acknowledge deadline counts


def test_rate_definitions_are_configurable(rclock, scenario, new_app):
    app = new_app("memory://", rclock, plugins={"reports": {"rates": {
        "response": "acknowledge_24h", "satisfied_from": 5, "resolved_outcomes": ["upheld"],
        "weights": {"response": 1, "resolution": 1, "satisfaction": 2}}}})
    scenario.play(app, rclock, 5, n=30)
    table = app.reports.monthly("2026-10").table("rates")
    notes = " ".join(n.en for n in table.notes)
    assert "within 24 hours" in notes and "scored 5 or higher" in notes
    assert "Weighted score" in notes and "outcome upheld ÷" in notes
    total = _row(table, "全部 all")
    parts = [(total["response"], 1), (total["resolution"], 1), (total["satisfaction"], 2)]
    present = [(v, w) for v, w in parts if v is not None]
    if present:
        assert abs(total["weighted"] - sum(v * w for v, w in present)
                   / sum(w for _, w in present)) < 1e-9


def test_follow_up_says_no_data_for_surveys_instead_of_zero(mem_app, rclock, scenario):
    scenario.play(mem_app, rclock, 5, n=5)
    section = mem_app.reports.monthly("2026-10").section("follow_up")
    assert any("no survey source" in n.en for n in section.notes)
    assert not any(t.id.startswith("survey_") for t in section.tables)


def test_a_follow_up_source_adds_its_own_table(rclock, scenario, new_plugins):
    from hospital_complaints import Settings, bootstrap, hookimpl
    from hospital_complaints.reports.build import Bi, FollowUpResult
    from hospital_complaints.settings import DatabaseSettings

    class Surveys:
        id = "exam_survey"
        title = Bi("检查后满意度调查", "Post-exam survey")

        def results(self, start, end):
            yield FollowUpResult(datetime(2026, 10, 3, tzinfo=scenario.TZ), "imaging", True, 5)
            yield FollowUpResult(datetime(2026, 10, 4, tzinfo=scenario.TZ), "imaging", False)

    class Plugin:
        @hookimpl
        def hc_register_follow_up_sources(self, register):
            register(Surveys())

    pm = new_plugins()
    pm.register(Plugin(), name="surveys")
    app = bootstrap(Settings(database=DatabaseSettings(url="memory://")), clock=rclock,
                    plugins=pm)
    table = app.reports.monthly("2026-10").table("survey_exam_survey")
    assert _row(table, "邀请 invited")["current"] == 2
    assert _row(table, "应答 answered")["current"] == 1
    assert _row(table, "5 分 score 5")["current"] == 1


def test_a_department_report_counts_only_that_department_and_its_units(mem_app, rclock,
                                                                      scenario):
    scenario.play(mem_app, rclock, 21, n=40)
    whole = mem_app.reports.monthly("2026-10")
    imaging = mem_app.reports.monthly("2026-10", department="影像科")
    assert str(imaging.scope) == "影像科 imaging department"
    units = {r[0] for r in imaging.table("by_department").rows}
    assert units <= {"影像科 imaging department", "CT室 CT room"}
    by_dept = {r[0]: r[1] for r in whole.table("by_department").rows}
    assert _row(imaging.table("flow"), "新受理 new")["current"] == sum(
        v for k, v in by_dept.items() if k in units)


def test_the_overdue_list_names_unit_reference_and_days_only(mem_app, rclock, scenario):
    refs = scenario.play(mem_app, rclock, 9, n=40)
    report = mem_app.reports.monthly("2026-11")
    table = report.table("overdue")
    assert [c.key for c in table.columns] == ["unit", "reference", "milestone", "due",
                                              "days_overdue"]
    assert table.rows, "the scenario leaves some cases overdue"
    for _unit, ref, _milestone, due, days in table.rows:
        assert ref in refs and isinstance(days, int) and days >= 1
        case = mem_app.complaints.get(ref)
        assert fact_from_case(case, report.as_of).is_open  # open as the month ended
        assert due < report.as_of


def test_the_monthly_report_of_a_viewer_with_roles_is_the_same_without_exams(mem_app, rclock):
    report = mem_app.reports.build("monthly", ReportRequest(
        Month.parse("2026-11"), viewer=Viewer(user="q", roles=frozenset({"quality_control"}))))
    assert not report.section("imaging").available
    assert report.table("flow").rows

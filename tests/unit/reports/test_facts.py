"""Both ways of building case facts agree: the domain's fold (replaying the case) and the
folder over stored rows (what the SQL reader uses, never decrypting anything)."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from hospital_complaints.reports.build.facts import fact_from_case, fold_events
from hospital_complaints.reports.readers import read_facts


@settings(max_examples=12, deadline=None, phases=[Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10**6), cut_days=st.integers(0, 110))
def test_the_row_folder_equals_the_domain_fold(scenario, new_app, seed, cut_days):
    from hospital_complaints import FixedClock

    rclock = FixedClock(scenario.START)
    mem_app = new_app("memory://", rclock)
    refs = scenario.play(mem_app, rclock, seed, n=12)
    as_of = scenario.START + timedelta(days=cut_days)
    for ref in refs:
        case = mem_app.complaints.get(ref)
        assert fold_events(ref, case.events, as_of) == fact_from_case(case, as_of), ref


def test_the_sql_reader_equals_the_domain_fold(sql_app, rclock, scenario):
    refs = scenario.play(sql_app, rclock, 7, n=40)
    tz = scenario.TZ
    for cut in (20, 45, 80, 200):
        as_of = scenario.START + timedelta(days=cut)
        start = scenario.START + timedelta(days=30)
        read = {f.reference: f for f in read_facts(sql_app.store, start, as_of, as_of)}
        expected = {}
        for ref in refs:
            f = fact_from_case(sql_app.complaints.get(ref), as_of)
            if f.received_at < as_of and (f.received_at >= start or f.finished_at is None
                                          or f.finished_at >= start):
                expected[ref] = f
        assert set(read) >= set(expected)
        for ref, f in expected.items():
            assert read[ref] == f, ref
        assert tz is not None


def test_facts_carry_no_identity(sql_app, rclock, scenario):
    refs = scenario.play(sql_app, rclock, 3, n=10)
    facts = read_facts(sql_app.store, scenario.START, scenario.START + timedelta(days=400),
                       scenario.START + timedelta(days=400))
    text = repr(facts)
    assert len(facts) == len(refs)
    for personal in ("张三", "李四", "13812345678", "__hc_personal__"):
        assert personal not in text


def test_work_orders_merges_and_callbacks_fold_alike(demo_app):
    """The demo's week has a 12320 work order (sign-for, extension, reply, call-back, redo),
    a 12345 call merged into another case, a withdrawal and a referral: the SQL reader's fold
    equals the domain's at every hour of the week and after it."""
    from hospital_complaints.demo.scenario import WEEK_START

    refs = [c.reference for c in demo_app.complaints.iter_cases()]
    assert len(refs) == 7
    for hours in range(0, 24 * 9, 6):
        as_of = WEEK_START + timedelta(hours=hours)
        read = {f.reference: f for f in read_facts(demo_app.store, WEEK_START - timedelta(
            days=1), as_of, as_of)}
        for ref in refs:
            expected = fact_from_case(demo_app.complaints.get(ref), as_of)
            if expected.received_at < as_of:
                assert read[ref] == expected, (ref, hours)
    now = demo_app.clock.now()
    final = {f.reference: f for f in read_facts(demo_app.store, WEEK_START, now, now)}
    assert any(f.merged_into for f in final.values())
    assert any(f.channel == "hotline_platform" and f.first_acknowledged_at for f in
               final.values())


def test_every_event_type_is_read_or_known_to_change_nothing_counted():
    """A new event type must be taught to the folder (or named as changing nothing a report
    counts); until then a case holding it is replayed by the domain instead."""
    from hospital_complaints.domain.events.registry import PAYLOADS
    from hospital_complaints.reports.build.facts import IGNORED, KNOWN_VERSIONS

    for event_type, version in PAYLOADS.versions():
        assert event_type in IGNORED or version in KNOWN_VERSIONS.get(event_type, ()), \
            (event_type, version)
    assert not set(IGNORED) & set(KNOWN_VERSIONS)

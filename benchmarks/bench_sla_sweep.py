"""Benchmark: the SLA sweep over many open cases, against a naive per-case loop.

    python benchmarks/bench_sla_sweep.py             # 1,000,000 cases
    python benchmarks/bench_sla_sweep.py --n 100000  # smaller

The synthetic cases are received over two years (2025-2026), under six policies and one
combination, all three complexities, eight departments, with acknowledgements, responses,
rectification actions, extensions and earlier alerts mixed in. Two situations are timed: the
first sweep over the records, and a daily sweep (the alerts of a sweep one day earlier are
already on the records, as RecordDeadlineAlert leaves them). The naive loop computes each
case's deadlines one by one with ``case_deadlines`` (the per-case function) and classifies
them; it is timed on a sample (``--naive-sample`` cases, every n-th record) in the same run
and extrapolated, and the two methods' results are compared on that sample. Its calendars
are built before it is timed, so that building them is not extrapolated with the rest.

Figures for the fast sweep:

- cold: a new ``Sweeper`` (empty caches), as a command run once a day has it;
- warm: a ``Sweeper`` that has swept the same cases before (a long-running service);
- warm, lists built: as warm, then every list of the result read once. ``Sweeper.run`` keeps
  its findings compact and builds the ``SweepItem``/``Alert`` tuples when a list is first
  read (the naive loop builds them as it goes); this figure includes building all of them.

Each figure is the best of ``--repeat`` runs; the runs of the fast sweep and of the naive loop
are taken in turn, so that both meet the same load on the machine.

This is a script, not a test: it prints figures and checks that both methods agree.
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hospital_complaints.domain.taxonomy import CaseState, Complexity
from hospital_complaints.sla import (
    ActionClock,
    Calendars,
    CaseClock,
    PolicyRegistry,
    Sweeper,
    SweepResult,
    builtin_policies,
    sweep_reference,
)

CN = ZoneInfo("Asia/Shanghai")
LONDON = ZoneInfo("Europe/London")
POLICY_MIX = [  # (policy spec, weight)
    ("imaging-dept", 35),
    ("imaging-dept:acknowledge+cn-nhc-2019:respond+cn-12320:close", 20),
    ("cn-nhc-2019", 15),
    ("cn-12320", 12),
    ("cn-petition-2022", 10),
    ("uk-nhs-2009", 5),
    ("us-cms-grievance", 3),
]
DEPARTMENTS = ["CT", "MR", "DR", "US", "nuclear", "interventional", "front-desk", None]
OPEN = [CaseState.REGISTERED, CaseState.ACKNOWLEDGED, CaseState.INVESTIGATING,
        CaseState.RECTIFYING, CaseState.RESPONDED]
AT = datetime(2027, 1, 4, 9, 0, tzinfo=CN)


def synthetic_cases(n: int, seed: int) -> list[CaseClock]:
    rng = random.Random(seed)
    specs = [s for s, _ in POLICY_MIX]
    weights = [w for _, w in POLICY_MIX]
    start = datetime(2025, 1, 1, tzinfo=CN)
    span = int((AT - start).total_seconds()) - 3600
    raised_sets = [frozenset(), frozenset({("acknowledge", "overdue")}),
                   frozenset({("acknowledge", "due_soon"), ("respond", "overdue")})]
    cases = []
    for i in range(n):
        spec = rng.choices(specs, weights)[0]
        tz = LONDON if spec == "uk-nhs-2009" else CN
        received = (start + timedelta(seconds=rng.randrange(span))).astimezone(tz)
        state = rng.choice(OPEN)
        acknowledged = (received + timedelta(hours=rng.uniform(0.5, 40))
                        if state is not CaseState.REGISTERED else None)
        responded = (received + timedelta(days=rng.uniform(1, 20))
                     if state is CaseState.RESPONDED else None)
        actions: tuple[ActionClock, ...] = ()
        if state in (CaseState.RECTIFYING, CaseState.RESPONDED):
            actions = tuple(
                ActionClock(f"A{k + 1}", received.date() + timedelta(days=rng.randrange(3, 45)),
                            None if rng.random() < 0.6 else received + timedelta(days=10))
                for k in range(rng.randrange(0, 3)))
        cases.append(CaseClock(
            reference=f"HC-{i:07d}", policy=spec, received_at=received,
            complexity=rng.choices(list(Complexity), [60, 30, 10])[0],
            department=rng.choice(DEPARTMENTS), state=state, acknowledged_at=acknowledged,
            responded_at=responded, actions=actions,
            extensions=(("close", rng.randrange(5, 31)),) if rng.random() < 0.05 else (),
            alerts=rng.choice(raised_sets),
        ))
    return cases


def with_yesterdays_alerts(cases: list[CaseClock], registry: PolicyRegistry) -> list[CaseClock]:
    """The records as a daily sweep finds them: yesterday's alerts are already raised."""
    yesterday = Sweeper(registry, Calendars()).run(cases, AT - timedelta(days=1))
    raised: dict[str, set[tuple[str, str]]] = {}
    for a in yesterday.new_alerts:
        raised.setdefault(a.reference, set()).add((a.milestone, a.kind.value))
    return [replace(c, alerts=c.alerts | raised[c.reference]) if c.reference in raised else c
            for c in cases]


def seconds(run: Callable[[], object]) -> float:
    """How long ``run`` takes (its result is freed outside the timing)."""
    t0 = time.perf_counter()
    result = run()
    elapsed = time.perf_counter() - t0
    del result
    return elapsed


def show(label: str, best: float, times: list[float], note: str = "") -> None:
    spread = "" if len(times) == 1 else "  (runs: " + ", ".join(f"{t:.2f}" for t in times) + ")"
    print(f"  {label:<62} {best:7.2f} s{spread}{note}")


def materialised(result: SweepResult) -> SweepResult:
    """Read every list once: builds all the SweepItem and Alert tuples."""
    for items in (result.due_soon, result.overdue, result.breached, result.new_alerts):
        len(items)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="open cases to sweep")
    parser.add_argument("--naive-sample", type=int, default=50_000,
                        help="cases the naive loop is timed on (extrapolated to --n)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="timings per figure; the best is reported (default 3)")
    parser.add_argument("--seed", type=int, default=20261001)
    args = parser.parse_args(argv)

    registry = PolicyRegistry(builtin_policies())
    t0 = time.perf_counter()
    first = synthetic_cases(args.n, args.seed)
    daily = with_yesterdays_alerts(first, registry)
    gc.collect()
    n = len(first)
    step = max(n // max(args.naive_sample, 1), 1)
    k = len(range(0, n, step))
    scale = n / k
    print(f"{n:,} synthetic open cases built in {time.perf_counter() - t0:.1f} s (not timed); "
          f"sweep instant {AT.isoformat()}")
    print(f"Python {sys.version.split()[0]}; garbage collector enabled (the Sweeper pauses it "
          "while it runs, and so does the naive loop); each figure is the best of "
          f"{args.repeat} runs, fast and naive taken in turn")
    ok = True
    for title, cases in (("first sweep: no alert raised yet", first),
                         ("daily sweep: yesterday's alerts already on the records", daily)):
        print(f"\n{title}")
        sample = cases[::step]  # spread over the whole set, not its first records
        warm = Sweeper(registry, Calendars())
        warm.run(cases, AT)  # fills its caches
        # the naive loop's calendars are built before it is timed: the time of building them
        # is not per case, and would otherwise be extrapolated with the rest
        calendars = Calendars()
        sweep_reference(sample[:1000], AT, registry, calendars)
        runs: dict[str, list[float]] = {"cold": [], "warm": [], "lists": [], "naive": []}
        for _ in range(args.repeat):  # in turn, so that both meet the same machine load
            runs["cold"].append(seconds(lambda c=cases: Sweeper(registry, Calendars()).run(c, AT)))
            runs["warm"].append(seconds(lambda c=cases, s=warm: s.run(c, AT)))
            runs["lists"].append(seconds(lambda c=cases, s=warm: materialised(s.run(c, AT))))
            runs["naive"].append(seconds(lambda s=sample, cals=calendars: sweep_reference(
                s, AT, registry, cals)))
        cold, warm_t, lists, naive = (min(runs[key]) for key in ("cold", "warm", "lists",
                                                                  "naive"))
        naive_full = naive * scale
        show(f"fast: Sweeper.run, {n:,} cases, new Sweeper (cold caches)", cold, runs["cold"])
        show(f"fast: Sweeper.run, {n:,} cases, Sweeper reused (warm caches)", warm_t,
             runs["warm"])
        show("fast, warm, and every SweepItem and Alert built (lists read)", lists,
             runs["lists"])
        show(f"naive: case_deadlines() per case, {k:,} cases (every {step}th)", naive,
             runs["naive"])
        show("naive, extrapolated to " + format(n, ",") + " cases", naive_full, [naive_full],
             "" if k == n else "  (extrapolated, not measured)")
        result = materialised(warm.run(cases, AT))
        print(f"  found: {len(result.overdue):,} overdue, {len(result.due_soon):,} due soon, "
              f"{len(result.breached):,} breached; {len(result.new_alerts):,} new alerts")
        reference = sweep_reference(sample, AT, registry, Calendars())
        same = Sweeper(registry, Calendars()).run(sample, AT) == reference
        ok = ok and same
        print(f"  speed-up naive/fast: {naive_full / cold:.1f}x cold, {naive_full / warm_t:.1f}x "
              f"warm, {naive_full / lists:.1f}x warm with the lists built; fast and naive "
              f"results identical on the sample: {'yes' if same else 'NO'}")
        del result, reference, warm
        gc.collect()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""Bulk FHIR NDJSON export: the adapter's direct-JSON path vs. the naive fhir.resources path.

    .venv/bin/python benchmarks/bench_fhir_export.py --n 100000

Cases are synthetic, built through the domain API (workflow.start / handle, no storage).
The fast path writes JSON dicts straight to NDJSON; the naive path builds the fhir.resources
models, validates and dumps them. The naive path runs on a sample (``--naive-sample``
cases, default 2000) because it is slow; rates are resources per second. A sample of the
fast output (``--validate-sample``) is validated with fhir.resources, so speed does not
come at the cost of validity.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time

from hc_fhir import ExportOptions, case_resources, iter_resources, resource_issues, write_ndjson
from hc_fhir.samples import sample_case


def naive_dump(resources: list[dict[str, object]], version: str) -> str:
    if version == "R5":
        from fhir.resources import get_fhir_model_class
    else:
        from fhir.resources.R4B import get_fhir_model_class
    lines = []
    for r in resources:
        model = get_fhir_model_class(str(r["resourceType"])).model_validate(r)
        lines.append(model.model_dump_json(exclude_none=True))
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000, help="cases to export (default 100000)")
    ap.add_argument("--version", choices=["R4", "R5"], default="R4")
    ap.add_argument("--naive-sample", type=int, default=2000)
    ap.add_argument("--validate-sample", type=int, default=500)
    args = ap.parse_args(argv)
    opts = ExportOptions(version=args.version)

    t0 = time.perf_counter()
    cases = [sample_case(i) for i in range(args.n)]
    t_build = time.perf_counter() - t0
    print(f"built {args.n} cases through the domain API in {t_build:.1f} s")

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "export.ndjson")
        t0 = time.perf_counter()
        with open(path, "w", encoding="utf-8") as out:
            n_res = write_ndjson(iter_resources(cases, opts), out)
        t_fast = time.perf_counter() - t0
        size = os.path.getsize(path)
        rng = random.Random(1)
        with open(path, encoding="utf-8") as f:
            lines = f.readlines()
        sample = rng.sample(lines, min(args.validate_sample, len(lines)))
        bad = sum(1 for line in sample if resource_issues(json.loads(line), args.version))
    fast_rate = n_res / t_fast
    print(f"fast path : {n_res} resources ({size / 1e6:.0f} MB) in {t_fast:.2f} s "
          f"= {fast_rate:,.0f} resources/s")
    print(f"            fhir.resources check of {len(sample)} sampled lines: {bad} invalid")

    naive_cases = cases[: min(args.naive_sample, len(cases))]
    resources = [r for c in naive_cases for r in case_resources(c, opts)]
    t0 = time.perf_counter()
    naive_dump(resources, args.version)
    t_naive = time.perf_counter() - t0
    # the naive path also needs the dicts it validates: count their cost too
    t0 = time.perf_counter()
    for c in naive_cases:
        case_resources(c, opts)
    t_naive += time.perf_counter() - t0
    naive_rate = len(resources) / t_naive
    print(f"naive path: {len(resources)} resources ({len(naive_cases)} cases, a sample) in "
          f"{t_naive:.2f} s = {naive_rate:,.0f} resources/s")
    print(f"speed-up  : {fast_rate / naive_rate:.1f}x (target >= 10x)")
    return 0 if bad == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

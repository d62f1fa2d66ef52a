"""How long the command line takes to start, beside `python -c pass` (the floor), in one run.

    .venv/bin/python benchmarks/bench_cli_startup.py [--runs 15] [--git-rev REV]

Times, alternating so that a busy machine slows every command alike:
- `python -c pass`: the interpreter alone;
- `hospital-complaints --help`: settings, plugins loaded, the command list;
- `hospital-complaints list` on a demo database already at every schema head;
- with `--git-rev REV`, the same two commands from REV's source tree (a `git archive` copy put
  first on PYTHONPATH, so the installed plugins run against the old core).

The target (issue #17) is 0.3 s for `--help` and `list`. Prints the median and the best of
each, and the ratio to `python -c pass`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from importlib.metadata import entry_points
from pathlib import Path

from _revision import export_rev

ROOT = Path(__file__).resolve().parents[1]
PY = Path(sys.executable)
CLI = PY.parent / "hospital-complaints"


def timed(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {done.stderr.decode()[-500:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--git-rev", default=None, help="also time this revision's core")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="hc-bench-cli-"))
    env = {**os.environ, "HC_DATABASE_URL": f"sqlite:///{work / 'demo.db'}"}
    env.pop("PYTHONPATH", None)
    print("preparing a demo database ...", flush=True)
    subprocess.run([str(CLI), "demo", "--quiet"], env=env, cwd=work, check=True,
                   stdout=subprocess.DEVNULL)
    adapters = [ep.name for ep in entry_points(group="hospital_complaints")
                if not ep.value.startswith("hospital_complaints.")]
    core = {**env, "HC_DISABLE_PLUGINS": ",".join(adapters)}
    cases: dict[str, tuple[list[str], dict[str, str]]] = {
        "python -c pass": ([str(PY), "-c", "pass"], env),
        "--help, every plugin": ([str(CLI), "--help"], env),
        "list, every plugin": ([str(CLI), "list"], env),
        "--help, core only": ([str(CLI), "--help"], core),
        "list, core only": ([str(CLI), "list"], core),
    }
    if args.git_rev:  # the old core with today's adapters would not load: core only
        [src] = export_rev(args.git_rev, ("src",), work)
        missing = [ep.name for ep in entry_points(group="hospital_complaints")
                   if ep.value.startswith("hospital_complaints.") and not (
                       src / (ep.value.split(":")[0].replace(".", "/") + ".py")).exists()]
        old_env = {**env, "PYTHONPATH": str(src),
                   "HC_DISABLE_PLUGINS": ",".join(adapters + missing)}
        cases[f"--help, core only, {args.git_rev}"] = ([str(CLI), "--help"], old_env)
        cases[f"list, core only, {args.git_rev}"] = ([str(CLI), "list"], old_env)
    results: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.runs):
        for name, (argv, e) in cases.items():
            results[name].append(timed(argv, e, work))
    floor = statistics.median(results["python -c pass"])
    print(f"\n{args.runs} runs each, alternating; load average {os.getloadavg()[0]:.1f}")
    print(f"{'command':<30}{'median s':>10}{'best s':>10}{'× python':>10}")
    for name, times in results.items():
        med = statistics.median(times)
        print(f"{name:<30}{med:>10.3f}{min(times):>10.3f}{med / floor:>10.1f}")
    print("target: 0.3 s for --help and list (issue #17)")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Set up and run hospital-complaints from a fresh clone, with nothing but Python 3.11+.

    python3 dev.py demo     # create .venv, install everything, run the demo
    python3 dev.py test     # same install plus test tools; ruff, mypy --strict, whole pytest suite

Extra arguments go to the command: ``python3 dev.py test -k workflow -x``.
The virtual environment is reused; it is reinstalled only when a pyproject.toml changes.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")


def distributions() -> list[Path]:
    """The core plus every plugin and adapter distribution in this repository."""
    found = [ROOT]
    for folder in ("plugins", "adapters"):
        found += sorted(p.parent for p in (ROOT / folder).glob("*/pyproject.toml"))
    return found


def ensure_venv(with_tests: bool) -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - this script may be started by an old python
        found = sys.version.split()[0]
        sys.exit(f"hospital-complaints needs Python 3.11 or newer; this is {found}")
    if not PY.exists():
        print(f"creating {VENV} ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    dists = distributions()
    digest = hashlib.sha256(sys.version.encode())
    for d in dists:
        digest.update((d / "pyproject.toml").read_bytes())
    stamp = VENV / (".stamp-test" if with_tests else ".stamp-run")
    if stamp.exists() and stamp.read_text() == digest.hexdigest():
        compile_sources(dists)
        if with_tests:
            install_node_peers()
        return
    print("installing hospital-complaints and its plugins/adapters into .venv (the first time "
          "takes 2-3 minutes: pip downloads about 60 packages; its progress follows) ...",
          flush=True)
    run([PY, "-m", "pip", "install", "--quiet", "--upgrade", "pip"])
    args: list[str | Path] = [PY, "-m", "pip", "install", "--progress-bar", "on"]
    core = "." + ("[test]" if with_tests else "")
    args += ["-e", core]
    for d in dists[1:]:
        extra = "[test]" if with_tests and _has_test_extra(d) else ""
        args += ["-e", f"{d.relative_to(ROOT)}{extra}"]
    run(args, cwd=ROOT)
    compile_sources(dists)
    stamp.write_text(digest.hexdigest())
    if with_tests:
        install_node_peers()
    if with_tests:  # a test install satisfies a run install too
        (VENV / ".stamp-run").write_text(digest.hexdigest())


def compile_sources(dists: list[Path]) -> None:
    """Write the bytecode of the editable distributions' sources, as pip does for a normal
    install: an editable install leaves it to the first import, which never writes it under
    PYTHONDONTWRITEBYTECODE (or in a read-only tree), and every start of the command line
    then compiles the modules it imports again (about 0.15 s of `hospital-complaints list`).
    Up-to-date files are skipped; a file that does not compile is left to the tests to
    report."""
    sources = [d / "src" for d in dists if (d / "src").is_dir()]
    subprocess.run([str(PY), "-m", "compileall", "-qq", *map(str, sources)], cwd=ROOT)


def install_node_peers() -> None:
    """npm packages the adapters' tests use as independent validators and servers (Medplum,
    FHIR.js). Without npm those tests skip with their reason (CI turns that into a failure)."""
    for lock in sorted([*ROOT.glob("adapters/*/js/package-lock.json"),
                        *ROOT.glob("tests/js/package-lock.json")]):
        folder = lock.parent
        marker = folder / "node_modules" / ".hc-lock-sha256"
        want = hashlib.sha256(lock.read_bytes()).hexdigest()
        if marker.exists() and marker.read_text() == want:
            continue
        npm = shutil.which("npm")
        if npm is None:
            print(f"npm not found: tests that need {folder.relative_to(ROOT)} will be skipped",
                  flush=True)
            continue
        print(f"installing npm packages in {folder.relative_to(ROOT)} ...", flush=True)
        run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=folder)
        marker.write_text(want)


def _has_test_extra(dist: Path) -> bool:
    return "[project.optional-dependencies]" in (dist / "pyproject.toml").read_text() and \
        "test" in (dist / "pyproject.toml").read_text().split("[project.optional-dependencies]")[1]


def run(args: list[str | Path], cwd: Path = ROOT) -> None:
    result = subprocess.run([str(a) for a in args], cwd=cwd)
    if result.returncode != 0:
        sys.exit(result.returncode)


def main(argv: list[str]) -> None:
    if not argv or argv[0] not in {"demo", "test"}:
        sys.exit(__doc__)
    command, rest = argv[0], argv[1:]
    if command == "demo":
        ensure_venv(with_tests=False)
        run([BIN / "hospital-complaints", "demo", *rest])
        return
    ensure_venv(with_tests=True)
    print("== ruff", flush=True)
    run([BIN / "ruff", "check", "."])
    print("== mypy --strict (core, plugins, adapters)", flush=True)
    run([BIN / "mypy"])
    print("== import-linter (the layers, and adapters on the public plugin API only)",
          flush=True)
    run([BIN / "lint-imports", "--no-cache"])
    print("== pytest", flush=True)
    result = subprocess.run([str(PY), "-m", "pytest", *rest], cwd=ROOT)
    if result.returncode == 5:
        sys.exit("pytest collected no tests: that is a failure, not a pass")
    sys.exit(result.returncode)


if __name__ == "__main__":
    main(sys.argv[1:])

"""``hospital-complaints report ...`` as a user runs it: files written, clear errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXE = Path(sys.executable).parent / "hospital-complaints"


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if k not in {"HC_DATABASE_URL", "HC_ENCRYPTION_KEYS", "HC_ENCRYPTION_KEY_FILE"}}
    return subprocess.run([str(EXE), *args], capture_output=True, text=True, env=env,
                          timeout=300, cwd=cwd)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cli")
    done = run("demo", "--quiet", cwd=folder)
    assert done.returncode == 0, done.stderr
    return folder


def test_report_list(workdir):
    done = run("report", "list", "--format", "json", cwd=workdir)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert [r["id"] for r in data["reports"]] == ["hotline-monthly", "ko41a", "monthly"]
    assert data["formats"] == ["html", "pdf", "xlsx", "csv", "json"]


@pytest.mark.parametrize("fmt", ["html", "xlsx", "csv", "json"])
def test_report_monthly_writes_each_format(workdir, fmt):
    done = run("report", "monthly", "--month", "2026-11", "--format", fmt, f"m.{fmt}",
               cwd=workdir)
    assert done.returncode == 0, done.stderr
    assert f"wrote m.{fmt}" in done.stdout and "7 cases read" in done.stdout
    assert (workdir / f"m.{fmt}").stat().st_size > 1000


def test_the_demo_writes_its_months_report(workdir):
    assert (workdir / "hospital-complaints-report-2026-11.html").is_file()


def test_department_and_returns(workdir):
    done = run("report", "monthly", "--month", "2026-11", "--department", "imaging",
               "--format", "json", "img.json", cwd=workdir)
    assert done.returncode == 0, done.stderr
    assert json.loads((workdir / "img.json").read_text("utf-8"))["scope"]["en"] == \
        "imaging department"
    done = run("report", "run", "ko41a", "--month", "2026-12", "--months", "3", "--format",
               "csv", "ko41a.csv", cwd=workdir)
    assert done.returncode == 0, done.stderr
    assert "New complaints" in (workdir / "ko41a.csv").read_text("utf-8-sig")


@pytest.mark.parametrize(("args", "expected"), [
    (("monthly", "--month", "2026-13", "x.html"), "--month"),
    (("monthly", "--month", "2026-11", "missing/x.html"), "OUT"),
    (("run", "annual", "--month", "2026-11", "x.html"), "annual"),
])
def test_bad_input_is_a_clear_message_not_a_traceback(workdir, args, expected):
    done = run("report", *args, cwd=workdir)
    assert done.returncode == 1
    assert expected in done.stderr and "Traceback" not in done.stderr
    assert any("\u4e00" <= ch <= "\u9fff" for ch in done.stderr)  # and in Chinese
    assert not (workdir / "x.html").exists()

"""The installed ``hospital-complaints`` command, run as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXE = Path(sys.executable).parent / "hospital-complaints"


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([str(EXE), *args], capture_output=True, text=True, env=full_env,
                          timeout=120)


@pytest.fixture(scope="module")
def demo() -> subprocess.CompletedProcess[str]:
    return run("demo")


def test_demo_plays_the_whole_lifecycle(demo):
    assert demo.returncode == 0, demo.stderr
    out = demo.stdout
    assert "HC-20261116-0001" in out
    for text in ("已办结", "已撤回", "已转办", "部分成立", "纪检监察室"):
        assert text in out
    assert "6 cases; 3 closed, 1 withdrawn, 1 referred, 1 open" in out
    assert "failed: 0" in out
    assert "finding 结论: CT2 was down 08:10-09:40" in out
    assert "13/13" in out  # progress reached the end


def test_demo_never_prints_identity(demo):
    for secret in ("陈建国", "13912345678", "刘芳", "13600001111", "王海涛", "wb@example.org",
                   "P0012345", "陈秀英"):
        assert secret not in demo.stdout + demo.stderr
    assert "举报人信息保护" in demo.stdout  # the report's complainant is never shown


def test_workflow_and_taxonomy_commands():
    wf = run("workflow")
    assert wf.returncode == 0 and "start_investigation" in wf.stdout
    tx = run("taxonomy")
    assert tx.returncode == 0 and "服务态度" in tx.stdout and "equipment fault" in tx.stdout


def test_plugins_command_lists_builtins_and_the_keyword_classifier():
    out = run("plugins")
    assert out.returncode == 0
    for name in ("default_routing", "default_intake", "sla_profiles", "keyword_classifier"):
        assert name in out.stdout


def test_blocking_a_plugin_from_the_environment():
    out = run("plugins", env={"HC_DISABLE_PLUGINS": "keyword_classifier"})
    assert out.returncode == 0 and "keyword_classifier" not in out.stdout.split("blocked")[0]
    assert "blocked by HC_DISABLE_PLUGINS: keyword_classifier" in out.stdout


def test_bad_configuration_is_a_clear_error_and_nonzero_exit():
    out = run("demo", env={"HC_TIMEZONE": "Mars/Olympus"})
    assert out.returncode == 1
    assert "Mars/Olympus" in out.stderr and "IANA" in out.stderr
    assert "Traceback" not in out.stderr


def test_unknown_subcommand_exits_nonzero():
    out = run("frobnicate")
    assert out.returncode == 2 and "No such command" in out.stderr


def test_version():
    out = run("--version")
    assert out.returncode == 0 and "hospital-complaints" in out.stdout


def test_host_integration_example_runs():
    example = Path(__file__).resolve().parents[2] / "examples" / "host_integration.py"
    out = subprocess.run([sys.executable, str(example)], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert "refused: cannot 'close' in state 'responded'" in out.stdout
    assert "刘* 136****1111" in out.stdout and "13600001111" not in out.stdout

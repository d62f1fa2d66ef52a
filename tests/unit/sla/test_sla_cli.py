"""``sla`` commands: the output a clerk reads, and the errors a clerk gets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from support import draft

from hospital_complaints import FixedClock, HCPluginManager, Settings
from hospital_complaints.app import App, bootstrap
from hospital_complaints.cli import context
from hospital_complaints.cli.sla import sla
from hospital_complaints.plugins.builtin import sla_profiles
from hospital_complaints.settings import DatabaseSettings


def run(*args: str, env: dict[str, str] | None = None, obj: Any = None) -> Any:
    return CliRunner().invoke(sla, list(args), env=env, obj=obj, terminal_width=160)


def test_deadlines_json(calendars: object) -> None:
    result = run("deadlines", "--policy", "cn-nhc-2019", "--received",
                 "2026-09-30T10:00:00+08:00", "--complexity", "complex", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["policy"] == "cn-nhc-2019"
    assert data["received"] == "2026-09-30T10:00:00+08:00"
    [respond] = data["deadlines"]
    assert respond["milestone"] == "respond"
    assert respond["due"] == "2026-10-13T23:59:59.999999+08:00"
    assert respond["provisional"] is False


def test_deadlines_combined_policy_json() -> None:
    result = run("deadlines", "--policy", "imaging-dept:acknowledge+cn-nhc-2019:respond",
                 "--received", "2026-09-30T10:00:00+08:00", "--complexity", "multi_department",
                 "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [(d["milestone"], d["due"]) for d in data["deadlines"]] == [
        ("acknowledge", "2026-10-01T10:00:00+08:00"),
        ("respond", "2026-10-20T23:59:59.999999+08:00"),
    ]


def test_deadlines_table_shows_a_provisional_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HC_CALENDAR_DIR", raising=False)
    result = run("deadlines", "--policy", "cn-12320", "--received", "2027-01-13T10:00:00+08:00")
    assert result.exit_code == 0, result.output
    assert "2027-02-12 23:59:59+08:00" in result.output
    assert "PROVISIONAL" in result.output and "暂定" in result.output
    assert "--calendar" in result.output


def test_calendar_file_clears_the_provisional_flag(official_2027: Path) -> None:
    args = ["deadlines", "--policy", "cn-12320", "--received", "2027-01-13T10:00:00+08:00",
            "--format", "json"]
    before = json.loads(run(*args).output)["deadlines"][0]
    after = json.loads(run(*args, "--calendar", str(official_2027)).output)["deadlines"][0]
    assert (before["provisional"], before["last_day"]) == (True, "2027-02-12")
    assert (after["provisional"], after["last_day"]) == (False, "2027-02-15")
    by_env = run(*args, env={"HC_CALENDAR_DIR": str(official_2027.parent)})
    assert json.loads(by_env.output)["deadlines"][0]["provisional"] is False


def test_deadlines_with_extension_and_override() -> None:
    result = run("deadlines", "--policy", "cn-12320", "--received", "2026-03-02T10:00:00+08:00",
                 "--extend", "close=30", "--consent", "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["deadlines"][0]["last_day"] == "2026-05-06"
    result = run("deadlines", "--policy", "imaging-dept", "--received",
                 "2026-03-02T10:00:00+08:00", "--set", "respond=7wd", "--format", "json")
    respond = json.loads(result.output)["deadlines"][1]
    assert (respond["rule"], respond["last_day"]) == ("7 working days", "2026-03-11")


@pytest.mark.parametrize(("args", "message"), [
    (["--policy", "cn-nhc-2020", "--received", "2026-09-30T10:00:00+08:00"],
     "unknown SLA policy 'cn-nhc-2020'; known policies: cn-12320, cn-nhc-2019"),
    (["--policy", "cn-nhc-2019", "--received", "2026-09-30T10:00:00"],
     "2026-09-30T10:00:00+08:00"),
    (["--policy", "cn-nhc-2019", "--received", "yesterday"], "无法识别的时间"),
    (["--policy", "cn-petition-2022", "--received", "2026-09-30T10:00:00+08:00",
      "--extend", "close=31"], "at most 30 days"),
    (["--policy", "cn-12320", "--received", "2026-09-30T10:00:00+08:00",
      "--extend", "close=30"], "consent"),
])
def test_bad_input_gives_a_message_and_exit_status_1(args: list[str], message: str) -> None:
    result = run("deadlines", *args)
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output


def test_naive_received_time_is_explained_in_both_languages() -> None:
    result = run("deadlines", "--policy", "cn-nhc-2019", "--received", "2026-09-30T10:00:00")
    assert result.exit_code == 1
    assert "--received" in result.output and "时区" in result.output


def test_policies_listing() -> None:
    result = run("policies", "--format", "json")
    assert result.exit_code == 0
    ids = [p["id"] for p in json.loads(result.output)]
    assert "uk-nhs-2009" in ids and "cn-petition-2022" in ids
    table = run("policies")
    assert "imaging-dept" in table.output and "Combine" in table.output


# -- sweep and metrics, against the service ----------------------------------------------------


@pytest.fixture
def app(clock: FixedClock) -> App:
    pm = HCPluginManager()
    pm.register(sla_profiles, name="sla_profiles")
    app = bootstrap(Settings(database=DatabaseSettings(url="memory://")), clock=clock,
                    plugins=pm)
    app.complaints.register(draft(), actor="clerk")  # received 2026-11-20 08:30 +08:00
    return app


def test_sweep_json_records_new_alerts(app: App) -> None:
    result = run("sweep", "--at", "2026-11-21T09:00:00+08:00", "--format", "json", obj=app)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["cases"] == 1
    assert [(a["milestone"], a["kind"]) for a in data["new_alerts"]] == [
        ("acknowledge", "overdue")]
    [case] = app.complaints.iter_cases()
    assert case.events[-1].type == "deadline_alert"
    assert case.events[-1].payload["milestone"] == "acknowledge"


def test_sweep_dry_run_and_table(app: App) -> None:
    result = run("sweep", "--at", "2026-11-21T09:00:00+08:00", "--dry-run", obj=app)
    assert result.exit_code == 0, result.output
    assert "1 overdue" in result.output and "dry run" in result.output
    [case] = app.complaints.iter_cases()
    assert case.events[-1].type != "deadline_alert"


def test_sweep_uses_the_app_clock_without_at(app: App) -> None:
    result = run("sweep", "--format", "json", "--policy", "cn-12320", obj=app)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["at"] == "2026-11-20T09:00:00+08:00"


def test_sweep_unknown_policy(app: App) -> None:
    result = run("sweep", "--at", "2026-11-21T09:00:00+08:00", "--policy", "nope", obj=app)
    assert result.exit_code == 1 and "known policies" in result.output


def test_metrics_json(app: App) -> None:
    result = run("metrics", "--at", "2026-12-31T00:00:00+08:00", "--format", "json", obj=app)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["reference"] == {"7": 0.53, "30": 0.85}
    assert data["rows"][0]["month"] == "2026-11" and data["rows"][0]["received"] == 1


def test_under_the_main_cli_the_configured_policy_applies(clock: FixedClock) -> None:
    pm = HCPluginManager()
    pm.register(sla_profiles, name="sla_profiles")
    settings = Settings(sla_policy="cn-12320", database=DatabaseSettings(url="memory://"))
    state = context.CliState(settings=settings, plugins=pm)
    state.app = bootstrap(settings, clock=clock, plugins=pm)
    state.app.complaints.register(draft(), actor="clerk")
    result = run("sweep", "--at", "2026-12-25T09:00:00+08:00", "--dry-run", "--format", "json",
                 obj=state)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [(i["milestone"], i["policy"]) for i in data["overdue"]] == [("close", "cn-12320")]

"""The command line starts quickly because it loads only what the command needs: the core's
commands and the adapters' command groups are imported when they run, the package and the
plugin API import their names on first use, and a database already at every schema head is
opened without Alembic. These tests check what is imported, not how long it takes (timings
are in benchmarks/bench_cli_startup.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hospital_complaints.cli import main as cli_main

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("sqlalchemy", "alembic", "hospital_complaints.domain.workflow", "pydicom", "numpy",
         "fastapi", "jinja2", "openpyxl", "requests", "pika")


RUN = """
import json, sys
from hospital_complaints.cli.main import main
sys.argv = ["hospital-complaints", *json.loads(sys.argv[1])]
try:
    main()
except SystemExit as exit:
    code = exit.code or 0
else:
    code = 0
sys.stderr.write("\\nMODULES " + json.dumps(sorted(sys.modules)) + "\\n")
sys.exit(code)
"""


def imported(*args: str, cwd: Path | None = None) -> set[str]:
    """The modules loaded by running the command line with ``args`` in a fresh process."""
    import json

    done = subprocess.run([sys.executable, "-c", RUN, json.dumps(args)], capture_output=True,
                          text=True, cwd=cwd, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    line = done.stderr.rsplit("MODULES ", 1)[1]
    return set(json.loads(line))


@pytest.mark.parametrize("name", sorted(cli_main.LAZY_COMMANDS))
def test_the_listed_help_is_the_commands_own(name: str) -> None:
    command = cli_main._load(name)
    assert command.get_short_help_str(80) == cli_main.LAZY_COMMANDS[name][2]


def test_help_imports_neither_the_database_nor_the_domain_nor_an_adapter() -> None:
    modules = imported("--help")
    assert not [m for m in modules if m.split(".")[0] in HEAVY or m in HEAVY], \
        sorted(m for m in modules if m.split(".")[0] in HEAVY or m in HEAVY)


#: modules that only a plugin's settings section (``hc_register_settings``) or a hook's work
#: needs: imported when a command needs the settings, never for ``--help``
SETTINGS_ONLY = ("hc_notify.settings", "hc_hotline.settings", "hc_hotline.mapping",
                 "hc_hl7v2.source", "hc_hl7v2.settings", "hc_keyword_classifier.table",
                 "hc_fhir.settings", "hc_dicom.settings", "hc_http.settings",
                 "hospital_complaints.reports", "hospital_complaints.domain",
                 "hospital_complaints.plugins.types", "hospital_complaints.app", "rich")


def test_help_imports_no_plugin_settings_model_nor_the_app() -> None:
    modules = imported("--help")
    assert not [m for m in modules if m.startswith(SETTINGS_ONLY)], \
        sorted(m for m in modules if m.startswith(SETTINGS_ONLY))


def test_a_plugin_section_is_still_checked_when_a_command_needs_the_settings(
        tmp_path: Path) -> None:
    import os

    env = {**os.environ, "HC_DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}",
           "HC_NOTIFY_WEBHOOK_TIMEOUT_S": "-1"}
    env.pop("HC_DISABLE_PLUGINS", None)
    run = [sys.executable, "-m", "hospital_complaints.cli.main"]
    listed = subprocess.run([*run, "list"], capture_output=True, text=True, env=env,
                            cwd=tmp_path, timeout=120)
    assert listed.returncode == 1, listed.stderr
    assert "HC_NOTIFY_WEBHOOK_TIMEOUT_S" in listed.stderr and "Traceback" not in listed.stderr
    helped = subprocess.run([*run, "--help"], capture_output=True, text=True, env=env,
                            cwd=tmp_path, timeout=120)
    assert helped.returncode == 0 and "notify" in helped.stdout


def test_help_imports_no_pydantic() -> None:
    """``start`` reads HC_DISABLE_PLUGINS / HC_TRACE_HOOKS without the settings models."""
    modules = imported("--help")
    assert not [m for m in modules if m.split(".")[0] in {"pydantic", "pydantic_core"}
                or m == "hospital_complaints.settings_models"]


def test_the_core_settings_are_checked_before_every_command(tmp_path: Path) -> None:
    import os

    env = {**os.environ, "HC_DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}",
           "HC_TIMEZONE": "Mars/Olympus"}
    run = [sys.executable, "-m", "hospital_complaints.cli.main"]
    for args in (["workflow"], ["list"], ["list", "--help"]):
        done = subprocess.run([*run, *args], capture_output=True, text=True, env=env,
                              cwd=tmp_path, timeout=120)
        assert done.returncode == 1, (args, done.stderr)
        assert "HC_TIMEZONE" in done.stderr and "Traceback" not in done.stderr
    helped = subprocess.run([*run, "--help"], capture_output=True, text=True, env=env,
                            cwd=tmp_path, timeout=120)
    assert helped.returncode == 0 and "workflow" in helped.stdout


def test_a_bad_plugin_switch_in_the_settings_file_stops_even_help(tmp_path: Path) -> None:
    import os

    settings = tmp_path / "hc.toml"
    settings.write_text('disabled_plugins = "fhir"\n', encoding="utf-8")
    env = {**os.environ, "HC_SETTINGS_FILE": str(settings)}
    env.pop("HC_DISABLE_PLUGINS", None)
    done = subprocess.run([sys.executable, "-m", "hospital_complaints.cli.main", "--help"],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert done.returncode == 1, done.stderr
    assert "disabled_plugins" in done.stderr and "Traceback" not in done.stderr


def test_a_plugin_group_is_listed_and_loaded_only_when_it_runs() -> None:
    modules = imported("--help")
    assert "hc_hl7v2.cli" not in modules and "hc_fhir.cli" not in modules
    assert "hc_hl7v2.cli" in imported("hl7", "--help")


def test_a_current_database_opens_without_alembic(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'c.db'}"
    first = imported("--db", db, "list", cwd=tmp_path)  # creates the schema: Alembic runs
    assert "alembic" in first
    again = imported("--db", db, "list", cwd=tmp_path)
    assert "alembic" not in again and "sqlalchemy" in again


def test_a_current_database_opens_without_alembic_with_a_plugin_disabled(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The branch of a disabled plugin stays in the version table; Alembic would leave it as
    it is, so the database is still current for the plugins loaded."""
    db = f"sqlite:///{tmp_path / 'c.db'}"
    monkeypatch.delenv("HC_DISABLE_PLUGINS", raising=False)
    assert "alembic" in imported("--db", db, "list", cwd=tmp_path)  # every plugin's branch
    monkeypatch.setenv("HC_DISABLE_PLUGINS", "hl7v2,dicom")
    again = imported("--db", db, "list", cwd=tmp_path)
    assert "alembic" not in again and "hc_hl7v2.migrations" not in again


def test_declared_revisions_and_heads_are_what_alembic_says() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from hospital_complaints.storage.sql.uow import MIGRATIONS, declared_revisions

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    script = ScriptDirectory.from_config(cfg)
    declared = declared_revisions([MIGRATIONS / "versions"])
    assert declared == ({r.revision for r in script.walk_revisions()}, set(script.get_heads()))

"""One settings tree: every HC_* variable is read in settings.py only, documented in the
README, checked at start-up with zh/en errors; a settings file; plugin sections."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hospital_complaints import ConfigError, Settings
from hospital_complaints.settings import ENVIRONMENT, OTHER_VARIABLES, plugin_switches

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [ROOT / "src", *ROOT.glob("adapters/*/src"), *ROOT.glob("plugins/*/src")]
NAME = re.compile(r"\bHC_[A-Z][A-Z0-9_]*[A-Z0-9]\b")
#: names that appear in code as examples of a plugin's own variable, not as settings
EXAMPLES = {"HC_MYPLUGIN_SERVER"}


def _python_files() -> list[Path]:
    return [p for d in SOURCES for p in d.rglob("*.py")]


def test_every_variable_named_in_the_code_is_documented_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = {m for line in readme.splitlines() if line.startswith("|")
             for m in NAME.findall(line)}
    used = {m for p in _python_files() for m in NAME.findall(p.read_text(encoding="utf-8"))}
    missing = sorted(used - table - EXAMPLES)
    assert not missing, f"HC_ variables used in the code but not in README's tables: {missing}"


def test_the_core_settings_table_and_the_readme_agree() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for var in [*ENVIRONMENT, *OTHER_VARIABLES]:
        assert f"`{var}`" in readme, var


def test_only_the_settings_module_reads_the_environment() -> None:
    readers = []
    for p in _python_files():
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(r"os\.environ|getenv\(", line) and "'USER'" not in line \
                    and p.name != "settings.py":
                readers.append(f"{p.relative_to(ROOT)}:{n}")
    assert not readers, f"read the environment outside settings.py: {readers}"


def test_file_then_environment(tmp_path: Path) -> None:
    path = tmp_path / "hc.toml"
    path.write_text('timezone = "Europe/London"\nreference_prefix = "RAD"\n'
                    '[database]\nurl = "sqlite:///x.db"\n[imaging]\ntarget_wait_min = 20\n'
                    '[plugins.fhir]\nserver = "https://fhir.example/"\n', encoding="utf-8")
    s = Settings.load({"HC_SETTINGS_FILE": str(path), "HC_REFERENCE_PREFIX": "CT"})
    assert (s.timezone, s.reference_prefix, s.database.url) == ("Europe/London", "CT",
                                                                 "sqlite:///x.db")
    assert s.imaging.target_wait_min == 20
    assert s.plugin_section("fhir") == {"server": "https://fhir.example/"}


@pytest.mark.parametrize("env,needles", [
    ({"HC_REFERENCE_PREFIX": "hc"}, ("HC_REFERENCE_PREFIX='hc'", "1-10 upper-case")),
    ({"HC_TARGET_WAIT_MIN": "soon"}, ("HC_TARGET_WAIT_MIN='soon'",)),
    ({"HC_TARGET_WAIT_MIN": "-5"}, ("HC_TARGET_WAIT_MIN",)),
    ({"HC_CLUSTER_DAYS": "0"}, ("HC_CLUSTER_DAYS",)),
    ({"HC_DB_TABLE_PREFIX": "Drop Table"}, ("HC_DB_TABLE_PREFIX",)),
    ({"HC_ATTACHMENT_MAX_BYTES": "lots"}, ("HC_ATTACHMENT_MAX_BYTES",)),
    ({"HC_TIMEZONE": "Moon/Base"}, ("HC_TIMEZONE", "Moon/Base")),
    ({"HC_SURVEY_QUIET_HOURS": "24:00-08:00"}, ("HC_SURVEY_QUIET_HOURS", "24:00-08:00")),
])
def test_bad_values_name_the_variable_in_both_languages(env: dict[str, str],
                                                        needles: tuple[str, ...]) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.load(env)
    for needle in needles:
        assert needle in info.value.en
    assert info.value.zh and "配置错误" in info.value.zh


def test_a_bad_settings_file_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("timezone = \n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        Settings.load({"HC_SETTINGS_FILE": str(bad)})
    unknown = tmp_path / "unknown.toml"
    unknown.write_text("[database]\ncolour = 'red'\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"database\.colour"):
        Settings.load({"HC_SETTINGS_FILE": str(unknown)})


@pytest.mark.parametrize("env,file", [
    ({}, None),
    ({"HC_DISABLE_PLUGINS": " fhir , hl7v2 ,", "HC_TRACE_HOOKS": "yes"}, None),
    ({"HC_DISABLE_PLUGINS": ""}, 'disabled_plugins = [" dicom ", "http"]\ntrace_hooks = true\n'),
    ({"HC_DISABLE_PLUGINS": "fhir", "HC_TRACE_HOOKS": "0"}, 'trace_hooks = "yes"\n'),
])
def test_the_plugin_switches_are_read_as_the_settings_read_them(
        tmp_path: Path, env: dict[str, str], file: str | None) -> None:
    """The command line's start reads these two without the models (``--help`` does not
    import pydantic): the same values as :meth:`Settings.load`."""
    if file is not None:
        path = tmp_path / "hc.toml"
        path.write_text(file, encoding="utf-8")
        env = {**env, "HC_SETTINGS_FILE": str(path)}
    settings = Settings.load(env)
    assert plugin_switches(env) == (settings.disabled_plugins, settings.trace_hooks)


@pytest.mark.parametrize("file", ['trace_hooks = "yes"\n', 'disabled_plugins = "fhir"\n',
                                  "disabled_plugins = [1]\n"])
def test_a_plugin_switch_only_the_models_read_is_left_to_them(tmp_path: Path,
                                                              file: str) -> None:
    path = tmp_path / "hc.toml"
    path.write_text(file, encoding="utf-8")
    assert plugin_switches({"HC_SETTINGS_FILE": str(path)}) is None


def test_keys_are_never_shown_in_errors() -> None:
    s = Settings.load({"HC_ENCRYPTION_KEYS": "secret-key-material"})
    assert "secret-key-material" not in repr(s)


def test_loading_again_with_the_same_sources_gives_the_same_settings(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The process's settings are checked again only when a source changed: a variable the
    loader reads, or the settings file's name or bytes (a library caller asks per item)."""
    monkeypatch.delenv("HC_SETTINGS_FILE", raising=False)
    monkeypatch.setenv("HC_REFERENCE_PREFIX", "HA")
    first = Settings.load()
    assert Settings.load() is first and first.reference_prefix == "HA"
    monkeypatch.setenv("HC_REFERENCE_PREFIX", "HB")
    assert Settings.load().reference_prefix == "HB"
    monkeypatch.delenv("HC_REFERENCE_PREFIX")
    file = tmp_path / "hc.toml"
    file.write_text('reference_prefix = "HC"\n', encoding="utf-8")
    monkeypatch.setenv("HC_SETTINGS_FILE", str(file))
    assert Settings.load().reference_prefix == "HC"
    file.write_text('reference_prefix = "HD"\n', encoding="utf-8")  # same name and size
    assert Settings.load().reference_prefix == "HD"
    file.write_text('reference_prefix = "hd"\n', encoding="utf-8")
    for _ in range(2):  # a bad file is refused every time, never remembered
        with pytest.raises(ConfigError):
            Settings.load()


def test_a_settings_file_saved_with_windows_line_ends_loads(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The file is read once per load (its bytes are what the remembered answer is stamped
    with), with line ends as any text file: CRLF from Notepad, or a lone CR."""
    file = tmp_path / "hc.toml"
    file.write_bytes(b'reference_prefix = "HW"\r\ntimezone = "Asia/Shanghai"\r')
    monkeypatch.setenv("HC_SETTINGS_FILE", str(file))
    s = Settings.load()
    assert (s.reference_prefix, s.timezone) == ("HW", "Asia/Shanghai")

"""Plugin discovery, blocking, error reporting and registries."""

from __future__ import annotations

import io
import json
from importlib.metadata import EntryPoint

import pytest
from support import draft

from hospital_complaints import HCPluginManager, PluginError, Settings, build_service, hookimpl
from hospital_complaints.plugins.builtin.default_exporters import JsonLinesExporter

BUILTINS = {"default_intake", "default_routing", "default_exporters", "sla_profiles"}


def test_builtins_load_through_entry_points():
    pm = HCPluginManager()
    loaded = pm.load_entrypoints()
    assert set(loaded) >= BUILTINS
    info = {p.name: p for p in pm.plugins()}
    assert info["default_routing"].distribution == "hospital-complaints"
    assert "hc_route" in info["default_routing"].hooks


def test_environment_variable_blocks_named_plugins():
    settings = Settings.from_env({"HC_DISABLE_PLUGINS": "default_routing, default_intake"})
    pm = HCPluginManager(blocked=settings.disabled_plugins)
    loaded = pm.load_entrypoints()
    assert "default_routing" not in loaded and not pm.is_loaded("default_routing")
    assert pm.is_loaded("default_exporters")


def test_failed_plugin_import_names_the_plugin():
    ep = EntryPoint(name="ris_bridge", value="hc_no_such_module.plugin",
                    group="hospital_complaints")
    with pytest.raises(PluginError) as info:
        HCPluginManager().load_entrypoints([ep])
    text = str(info.value)
    assert "'ris_bridge'" in text and "hc_no_such_module" in text
    assert "HC_DISABLE_PLUGINS=ris_bridge" in text


def test_misspelt_hook_is_caught():
    class Typo:
        @hookimpl
        def hc_after_evnt(self, event):
            pass

    pm = HCPluginManager()
    pm.register(Typo(), name="typo")
    with pytest.raises(PluginError, match="hc_after_evnt"):
        pm.check_pending()


def test_duplicate_registry_ids_are_refused():
    class Again:
        @hookimpl
        def hc_register_exporters(self, register):
            register(JsonLinesExporter())

    pm = HCPluginManager()
    pm.load_entrypoints()
    pm.register(Again(), name="again")
    with pytest.raises(PluginError, match="'jsonl' is registered twice"):
        pm.exporters()


def test_wrong_type_in_registry_names_the_plugin():
    class Wrong:
        @hookimpl
        def hc_register_exporters(self, register):
            register("not an exporter")

    pm = HCPluginManager()
    pm.register(Wrong(), name="wrong")
    with pytest.raises(PluginError, match="'wrong' registered str"):
        pm.exporters()


def test_first_routing_decision_wins_and_none_abstains(clock):
    from hospital_complaints import Routing

    class Abstains:
        @hookimpl
        def hc_route(self, complaint):
            return None

    class CtDesk:
        @hookimpl
        def hc_route(self, complaint):
            return Routing(department="CT 室", owner="孙磊")

    pm = HCPluginManager()
    pm.load_entrypoints()
    pm.register(Abstains(), name="abstains")
    pm.register(CtDesk(), name="ct_desk")
    case = build_service(Settings(), clock=clock, plugins=pm).register(draft(), actor="x")
    assert (case.complaint.department, case.owner) == ("CT 室", "孙磊")


def test_exporters_write_masked_output(service):
    service.register(draft(), actor="x")
    exporters = service.plugins.exporters()
    out = io.StringIO()
    assert exporters["jsonl"].export(service.iter_cases(), out) == 1
    row = json.loads(out.getvalue())
    assert row["complainant"] == "patient: 张** 138****5678"
    csv_out = io.StringIO()
    exporters["csv"].export(service.iter_cases(), csv_out)
    assert "张三丰" not in csv_out.getvalue() and "HC-20261120-0001" in csv_out.getvalue()


def test_hook_tracing_writes_to_stderr(capsys, clock):
    pm = HCPluginManager(trace=True)
    pm.load_entrypoints()
    build_service(Settings(), clock=clock, plugins=pm).register(draft(), actor="x")
    assert "hc_route" in capsys.readouterr().err


def test_hook_tracing_never_prints_personal_data(capsys, clock):
    pm = HCPluginManager(trace=True)
    pm.load_entrypoints()
    build_service(Settings(), clock=clock, plugins=pm).register(draft(), actor="x")
    err = capsys.readouterr().err
    for secret in ("张三丰", "13812345678", "110101199001011234", "等了两个小时"):
        assert secret not in err


def test_a_crashing_classifier_does_not_block_intake(clock, caplog):
    class Crashes:
        @hookimpl
        def hc_suggest_categories(self, complaint):
            raise RuntimeError(f"bad keyword file while reading {complaint.description}")

    pm = HCPluginManager()
    pm.register(Crashes(), name="crashing_classifier")
    case = build_service(Settings(), clock=clock, plugins=pm).register(draft(), actor="x")
    assert case.suggestions == []
    assert "crashing_classifier" in caplog.text and "两个小时" not in caplog.text


def test_plugin_migrations_are_collected_in_order_once(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()

    class Branches:
        @hookimpl
        def hc_register_migrations(self, register):
            register(first)
            register(str(second))
            register(first)  # the same directory twice is kept once

    pm = HCPluginManager()
    assert pm.migration_locations() == []
    pm.register(Branches(), name="branches")
    assert pm.migration_locations() == [first.resolve(), second.resolve()]


def test_a_missing_migration_directory_names_the_plugin(tmp_path):
    class Missing:
        @hookimpl
        def hc_register_migrations(self, register):
            register(tmp_path / "nowhere")

    pm = HCPluginManager()
    pm.register(Missing(), name="ris_tables")
    with pytest.raises(PluginError) as info:
        pm.migration_locations()
    assert "'ris_tables'" in str(info.value) and "nowhere" in str(info.value)
    assert info.value.zh

"""The plugin (entry point, exporters, exam source) and the `fhir` CLI commands."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hospital_complaints import ConfigError, FixedClock, HCPluginManager
from hospital_complaints.app import bootstrap
from hospital_complaints.cli.context import CliState
from hospital_complaints.cli.main import cli
from hospital_complaints.settings import DatabaseSettings, Settings
from hospital_complaints.testing import make_app
from support import NOW

from hc_fhir import exam_events
from hc_fhir import plugin as fhir_plugin
from hc_fhir.samples import sample_case

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "fhir"


@pytest.fixture
def state() -> CliState:
    plugins = HCPluginManager()
    plugins.load_entrypoints()
    assert plugins.is_loaded("fhir")
    plugins.add_cli_commands(cli)
    settings = Settings(database=DatabaseSettings(url="memory://"))
    state = CliState(settings=settings, plugins=plugins)
    state.app = bootstrap(settings, clock=FixedClock(NOW), plugins=plugins)
    return state


def test_entry_point_registers_exporters() -> None:
    plugins = HCPluginManager()
    plugins.load_entrypoints()
    exporters = plugins.exporters()
    assert {"fhir-r4", "fhir-r5"} <= set(exporters)
    out = io.StringIO()
    n = exporters["fhir-r5"].export([sample_case(3)], out)
    assert n == len(out.getvalue().splitlines()) > 2


def test_exam_source_registered_only_with_a_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HC_FHIR_SERVER", raising=False)
    monkeypatch.setenv("HC_DATABASE_URL", "memory://")
    assert not any(k.startswith("fhir:") for k in bootstrap().imaging.sources())
    monkeypatch.setenv("HC_FHIR_SERVER", "https://ris.example.org/fhir/")
    assert "fhir:https://ris.example.org/fhir/" in bootstrap().imaging.sources()
    # the same section from a plugin-settings table, and a bad value stops start-up
    app = make_app(fhir_plugin, plugin_settings={"fhir": {"server": "https://x.example/f/"}})
    assert "fhir:https://x.example/f/" in app.imaging.sources()
    monkeypatch.setenv("HC_FHIR_VERSION", "R9")
    with pytest.raises(ConfigError, match="HC_FHIR_VERSION"):
        bootstrap()


def test_import_then_export_via_cli(state: CliState, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["fhir", "import", str(EXAMPLES / "portal-communication.json")],
                           obj=state)
    assert result.exit_code == 0, result.output
    again = runner.invoke(cli, ["fhir", "import", str(EXAMPLES / "portal-communication.json")],
                          obj=state)
    assert again.exit_code == 0 and "already registered" in again.output
    out = tmp_path / "out.ndjson"
    result = runner.invoke(cli, ["fhir", "export", "--version", "R5", str(out)], obj=state)
    assert result.exit_code == 0, result.output
    lines = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert lines[0]["resourceType"] == "Communication"
    assert "13812345678" not in out.read_text(encoding="utf-8")  # masked by default
    result = runner.invoke(cli, ["fhir", "export", "--format", "bundle", "--reveal-identity",
                                 "--user", "wang", "--role", "patient_relations",
                                 "--department", "医患办", "--purpose", "registry transfer",
                                 str(out)], obj=state)
    assert result.exit_code == 0, result.output
    bundle = json.loads(out.read_text(encoding="utf-8"))
    assert bundle["type"] == "collection" and "13812345678" in out.read_text(encoding="utf-8")
    assert "identity revealed for 1 cases" in result.output


def test_export_with_identity_needs_a_viewer_and_is_decided_and_audited_per_case(
        state: CliState, tmp_path: Path) -> None:
    """Regression: `fhir export/push --reveal-identity` revealed every complainant, a
    report's reporter included, with no access decision and no audit event."""
    assert state.app is not None
    service = state.app.complaints
    plain = service.register(_draft(), actor="clerk").reference
    report = service.register(_draft(kind="report", concerns_department="超声科"),
                              actor="clerk").reference
    runner = CliRunner()
    out = tmp_path / "out.ndjson"
    result = runner.invoke(cli, ["fhir", "export", "--reveal-identity", str(out)], obj=state)
    assert result.exit_code == 2 and "--user" in result.output  # who asks is required
    for command in (["fhir", "export"], ["fhir", "push", "--server", "http://127.0.0.1:9/"]):
        before = {r: service.get(r).version for r in (plain, report)}
        args = [*command, "--reveal-identity", "--user", "wang", "--role", "patient_relations",
                "--department", "医患办", "--purpose", "transfer"]
        if command[1] == "export":
            args.append(str(out))
        result = runner.invoke(cli, args, obj=state)
        assert "revealed for 1 cases; refused (kept masked) for 1" in result.output
        for ref in (plain, report):
            case = service.get(ref)
            assert case.version == before[ref] + 1
        assert service.get(plain).events[-1].type == "identity_revealed"
        refused = service.get(report).events[-1]
        assert refused.type == "identity_reveal_refused" and refused.actor == "wang"
    text = out.read_text(encoding="utf-8")
    assert "13812345678" in text  # the plain case, allowed for patient relations
    assert "13987654321" not in text and "13987****4321" not in text  # the reporter: absent


def _draft(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "channel": "front_desk", "received_at": "2026-11-20T08:00:00+08:00",
        "complainant": {"role": "patient", "name": "王五", "phone": "13812345678",
                        "consent_to_contact": True},
        "subject": "等待太久", "description": "CT 等了两个小时"}
    if overrides.get("kind") == "report":
        data["complainant"] = {"role": "patient", "name": "赵六", "phone": "13987654321",
                               "consent_to_contact": True}
    data.update(overrides)
    return data


def test_cli_import_of_bad_file_exits_1_with_every_problem(state: CliState,
                                                           tmp_path: Path) -> None:
    bad = json.loads((EXAMPLES / "portal-communication.json").read_text(encoding="utf-8"))
    bad["received"] = "soon"
    bad["extra"] = 1
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad), encoding="utf-8")
    result = CliRunner().invoke(cli, ["fhir", "import", str(path)], obj=state)
    assert result.exit_code == 1
    assert "Communication.received" in result.output and "Communication.extra" in result.output
    assert state.app is not None and state.app.complaints.list_cases() == []


@pytest.mark.peer("medplum")
def test_cli_push(state: CliState, fhir_server: Any) -> None:
    runner = CliRunner()
    runner.invoke(cli, ["fhir", "import", str(EXAMPLES / "portal-communication.json")],
                  obj=state)
    result = runner.invoke(cli, ["fhir", "push", "--server", fhir_server.base], obj=state)
    assert result.exit_code == 0, result.output
    assert "pushed" in result.output


def test_exam_events_from_appointment_and_cancelled_order() -> None:
    acsn = [{"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                                  "code": "ACSN"}]}, "value": "A1"}]
    appt: dict[str, Any] = {"resourceType": "Appointment", "id": "ap1", "status": "noshow",
                            "identifier": acsn, "start": "2026-11-20T09:00:00+08:00",
                            "participant": [{"actor": {"type": "Location",
                                                       "display": "CT2 室"}}]}
    (event,) = exam_events(appt, source="t")
    assert event.event.value == "no_show" and event.room == "CT2 室"
    assert event.scheduled_start is not None and event.source_message_id == "Appointment/ap1"
    order = {"resourceType": "ServiceRequest", "status": "revoked", "identifier": acsn}
    assert exam_events(order, source="t")[0].event.value == "cancelled"
    assert exam_events({"resourceType": "ServiceRequest", "identifier": []}, source="t") == []

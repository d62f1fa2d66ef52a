"""The installed ``hospital-complaints`` command, run as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXE = Path(sys.executable).parent / "hospital-complaints"


def run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
        stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items()
                if k not in {"HC_DATABASE_URL", "HC_ENCRYPTION_KEYS", "HC_ENCRYPTION_KEY_FILE"}}
    full_env.update(env or {})
    return subprocess.run([str(EXE), *args], capture_output=True, text=True, env=full_env,
                          timeout=120, cwd=cwd, input=stdin)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("clerk")


@pytest.fixture(scope="module")
def demo(workdir: Path) -> subprocess.CompletedProcess[str]:
    return run("demo", cwd=workdir)


def test_demo_plays_the_whole_lifecycle(demo):
    assert demo.returncode == 0, demo.stderr
    out = demo.stdout
    assert "HC-20261116-0001" in out
    for text in ("已办结", "已撤回", "已转办", "部分成立", "纪检监察室"):
        assert text in out
    assert "7 cases; 3 closed, 1 withdrawn, 1 referred, 1 merged, 1 open" in out
    assert "failed: 0" in out
    # the 12320 work order's way, the 12345 duplicate merged, the week's three rates
    for step in ("签收 signed", "延期申请 extension asked", "回访 call-back dissatisfied",
                 "重办 redo", "回访 call-back satisfied", "办结 closed"):
        assert step in out, step
    assert "probable duplicates 疑似重复 HC-20261116-0001" in out
    assert "已并单 merged → HC-20261116-0001" in out
    assert "响应率 response 100%" in out
    assert "finding 结论: CT2 was down 08:10-09:40" in out
    assert "acknowledge: due Tue 11-17 11:00 (24 hours, imaging-dept) - met" in out
    assert "respond: due Mon 11-23 23:59 (5 working days, imaging-dept) - met" in out
    assert "14/14" in out  # progress reached the end
    # the week's exams came as HL7 v2 messages through the hl7v2 adapter
    assert "HL7 v2 feed: 2311 HL7 messages fed 462 exams" in out
    assert "waited 132 min" in out
    assert "2311 applied, 0 duplicates, 0 rejected" in out
    assert "CT2 was down 08:10–09:40 (fault F-17)" in out.replace("\n", "")


def test_demo_without_the_hl7_adapter_stores_exams_directly(tmp_path):
    out = run("demo", "--quiet", env={"HC_DISABLE_PLUGINS": "hl7v2"}, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "HL7 v2 feed" not in out.stdout
    assert "462 stored directly" in out.stdout
    assert "CT2 was down 08:10–09:40 (fault F-17)" in out.stdout.replace("\n", "")


def test_demo_persists_to_the_default_sqlite_file(demo, workdir):
    assert (workdir / "hospital-complaints.db").exists()
    key = workdir / "hospital-complaints.db.key"
    assert key.exists() and oct(key.stat().st_mode & 0o777) == "0o600"
    listing = run("list", "--format", "json", cwd=workdir)
    assert listing.returncode == 0
    # the 12345 call merged into the CT case is listed too
    assert len(listing.stdout.splitlines()) == 7


def test_database_file_holds_no_plaintext_identity(demo, workdir):
    raw = b"".join(p.read_bytes() for p in workdir.glob("hospital-complaints.db*")
                   if not p.name.endswith(".key"))
    for secret in ("陈建国", "13912345678", "王海涛", "P0012345", "wb@example.org"):
        assert secret.encode() not in raw
    assert "CT 检查等待两个多小时".encode() in raw  # the matter itself is readable


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


def test_bad_configuration_is_a_clear_error_and_nonzero_exit(tmp_path):
    out = run("demo", env={"HC_TIMEZONE": "Mars/Olympus"}, cwd=tmp_path)
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


def test_a_clerk_works_a_case_from_the_shell(tmp_path):
    db = f"sqlite:///{tmp_path}/clerk.db"
    form = ('{"channel": "front_desk", "received_at": "2026-11-20T08:30:00+08:00", '
            '"complainant": {"role": "patient", "name": "赵六", "phone": "13500001234", '
            '"consent_to_contact": true}, "subject": "DR 机器坏了", '
            '"description": "DR 设备故障，等了一小时"}')
    reg = run("--db", db, "register", "-", stdin=form)
    assert reg.returncode == 0, reg.stderr
    ref = reg.stdout.strip()
    steps = [
        ("acknowledge", "--set", "method=phone", "--set", "message=已收到"),
        ("start_investigation", "--set", 'team=[{"name": "孙磊", "role": "technologist"}]'),
        ("record_finding", "--set", "text=DR1 detector fault 08:00-09:10"),
        ("respond", "--data", '{"method": "phone", "text": "已维修", '
                              '"outcome": {"kind": "upheld"}}'),
        ("waive_follow_up", "--set", "reason=complainant declined a call"),
        ("close",),
    ]
    for command, *options in steps:
        out = run("--db", db, "act", ref, command, *options, "--actor", "clerk:li")
        assert out.returncode == 0, (command, out.stderr)
    assert "closed" in out.stdout and "已办结" in out.stdout
    shown = run("--db", db, "show", ref, "--history")
    assert shown.returncode == 0
    assert "赵*" in shown.stdout
    assert "赵六" not in shown.stdout and "13500001234" not in shown.stdout
    assert "closed by clerk:li" in shown.stdout
    assert run("--db", db, "audit", "verify").returncode == 0
    csv = run("--db", db, "export", "--format", "csv")
    assert ref in csv.stdout and "13500001234" not in csv.stdout


def test_bad_clerk_input_exits_nonzero_with_reason(tmp_path):
    db = f"sqlite:///{tmp_path}/bad.db"
    bad = run("--db", db, "register", "-", stdin='{"channel": "fax"}')
    assert bad.returncode == 1 and "channel" in bad.stderr and "'fax'" in bad.stderr
    assert "Traceback" not in bad.stderr
    missing = run("--db", db, "show", "HC-20200101-0001")
    assert missing.returncode == 1 and "HC-20200101-0001" in missing.stderr
    not_json = run("--db", db, "register", "-", stdin="{oops")
    assert not_json.returncode == 1 and "JSON" in not_json.stderr


def test_tampering_is_named_by_audit_verify(tmp_path):
    import sqlite3

    db_file = tmp_path / "audit.db"
    assert run("--db", f"sqlite:///{db_file}", "demo", "--quiet").returncode == 0
    with sqlite3.connect(db_file) as conn:
        conn.execute("UPDATE hc_events SET reason = 'edited' WHERE global_seq = 7")
    out = run("--db", f"sqlite:///{db_file}", "audit", "verify")
    assert out.returncode == 1
    assert "global seq 7" in out.stderr and "modified" in out.stderr


def test_unreachable_database_names_host_and_hides_password(tmp_path):
    out = run("--db", "postgresql://hc:topsecret@127.0.0.1:1/x", "list",
              env={"HC_ENCRYPTION_KEYS": "A" * 43 + "="})
    assert out.returncode == 1
    assert "127.0.0.1:1" in out.stderr and "topsecret" not in out.stderr


def test_attach_and_audited_reveal_from_the_shell(tmp_path):
    db = f"sqlite:///{tmp_path}/r.db"
    env = {"HC_BLOB_DIR": str(tmp_path / "blobs")}
    form = ('{"channel": "letter", "received_at": "2026-11-20T08:30:00+08:00", '
            '"complainant": {"role": "patient", "name": "钱七", "address": "北京市某路 1 号", '
            '"consent_to_contact": true}, "subject": "收费", "description": "重复收费"}')
    ref = run("--db", db, "register", "-", stdin=form).stdout.strip()
    scan = tmp_path / "letter.pdf"
    scan.write_bytes(b"%PDF-1.4\n%scan\n")
    out = run("--db", db, "attach", ref, str(scan), env=env)
    assert out.returncode == 0 and "application/pdf" in out.stdout
    assert len(list((tmp_path / "blobs").rglob("*"))) == 2  # one folder, one blob
    bad = tmp_path / "virus.pdf"
    bad.write_bytes(b"MZ\x90\x00binary\x00")
    refused = run("--db", db, "attach", ref, str(bad), env=env)
    assert refused.returncode == 1 and "virus.pdf" in refused.stderr
    denied = run("--db", db, "reveal", ref, "--user", "tech7", "--purpose", "curious")
    assert denied.returncode == 1 and "may not see" in denied.stderr
    shown = run("--db", db, "reveal", ref, "--user", "wang", "--role", "patient_relations",
                "--purpose", "call back")
    assert shown.returncode == 0 and "钱七" in shown.stdout
    history = run("--db", db, "show", ref, "--history").stdout
    assert "identity_revealed by wang - call back" in history and "钱七" not in history


def test_sla_sweep_records_each_alert_once_on_the_database(tmp_path):
    import json

    db = f"sqlite:///{tmp_path}/sla.db"
    form = ('{"channel": "hotline", "received_at": "2026-11-20T08:30:00+08:00", '
            '"complainant": {"role": "anonymous"}, "subject": "MR 报告延迟", '
            '"description": "报告三天没出"}')
    ref = run("--db", db, "register", "-", stdin=form).stdout.strip()
    first = run("--db", db, "sla", "sweep", "--at", "2026-11-23T09:00:00+08:00",
                "--format", "json")
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    overdue = [i for i in report["overdue"] if i["reference"] == ref]
    assert [i["milestone"] for i in overdue] == ["acknowledge"]
    assert report["recorded"] is True and len(report["new_alerts"]) >= 1
    again = json.loads(run("--db", db, "sla", "sweep", "--at", "2026-11-23T09:05:00+08:00",
                           "--format", "json").stdout)
    assert again["new_alerts"] == []  # exactly once per milestone and kind
    history = run("--db", db, "show", ref, "--history").stdout
    assert history.count("deadline_alert by system:sla") == len(report["new_alerts"])


def test_sla_deadlines_command_and_bad_input(tmp_path):
    import json

    out = run("sla", "deadlines", "--policy", "cn-nhc-2019", "--received",
              "2026-09-30T10:00:00+08:00", "--complexity", "complex", "--format", "json",
              cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    due = {d["milestone"]: d["due"] for d in json.loads(out.stdout)["deadlines"]}
    assert due["respond"].startswith("2026-10-13")  # National Day week skipped, 调休 counted
    unknown = run("sla", "deadlines", "--policy", "nope", "--received",
                  "2026-09-30T10:00:00+08:00", cwd=tmp_path)
    assert unknown.returncode == 1 and "cn-nhc-2019" in unknown.stderr
    naive = run("sla", "deadlines", "--policy", "cn-nhc-2019", "--received",
                "2026-09-30T10:00:00", cwd=tmp_path)
    assert naive.returncode != 0 and "offset" in (naive.stderr + naive.stdout).lower()


def test_core_export_through_the_fhir_exporter_is_masked(demo, workdir):
    import json

    out = run("export", "--format", "fhir-r4", cwd=workdir)
    assert out.returncode == 0, out.stderr
    resources = [json.loads(line) for line in out.stdout.splitlines()]
    assert {"Communication", "Task"} <= {r["resourceType"] for r in resources}
    for secret in ("陈建国", "13912345678", "王海涛", "wb@example.org", "P0012345"):
        assert secret not in out.stdout

"""What release 0.1 stored stays readable: its database opens, migrates, lists, replays and
verifies with today's code, and takes new commands beside its old rows.

The fixture (tests/fixtures/release-0.1, see its README) was written by release 0.1; every test
works on a copy in ``tmp_path`` and never changes it.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from support import NOW, TZ

from hospital_complaints import FixedClock, HCPluginManager, Settings, build_service
from hospital_complaints.domain import workflow
from hospital_complaints.domain.commands import RecordFinding, StartInvestigation
from hospital_complaints.domain.complaint import TeamMember
from hospital_complaints.domain.events import Event
from hospital_complaints.plugins.builtin import default_intake, default_routing
from hospital_complaints.services.service import ComplaintService
from hospital_complaints.storage.sql import SqlStore, verify_chain
from hospital_complaints.storage.sql.config import open_store

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "release-0.1"
LISTED = ("reference", "state", "kind", "department", "version", "subject", "complainant")
#: after the fixture's last sweep (2026-12-28)
LATER = datetime(2026, 12, 29, 9, 0, tzinfo=TZ)


@pytest.fixture
def release_01(tmp_path: Path) -> Path:
    """A copy of the release-0.1 database, its key file beside it, and its blobs."""
    work = tmp_path / "release-0.1"
    work.mkdir()
    db = work / "release-0.1.db"
    with gzip.open(FIXTURE / "release-0.1.db.gz") as src, db.open("wb") as dst:
        shutil.copyfileobj(src, dst)
    key = work / "release-0.1.db.key"
    shutil.copyfile(FIXTURE / "release-0.1.db.key", key)
    key.chmod(0o600)
    shutil.copytree(FIXTURE / "blobs", work / "blobs")
    return db


def expected_listing() -> list[dict[str, Any]]:
    lines = (FIXTURE / "expected-list.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def plugin_migrations() -> list[Path]:
    """The HL7 adapter's Alembic branch (the fixture has its table), when it is installed."""
    try:
        import hc_hl7v2  # noqa: F401
    except ImportError:
        return []
    pm = HCPluginManager()
    pm.load_entrypoints()
    return pm.migration_locations()


def open_copy(db: Path) -> SqlStore:
    """Open and migrate the copy as the CLI does, with the key file beside it."""
    return open_store(f"sqlite:///{db}", {"HC_ENCRYPTION_KEY_FILE": f"{db}.key"},
                      migrations=plugin_migrations())


def service_over(store: SqlStore) -> ComplaintService:
    pm = HCPluginManager()
    pm.register(default_intake, name="default_intake")
    pm.register(default_routing, name="default_routing")
    return build_service(Settings(), clock=FixedClock(LATER), plugins=pm,
                         uow_factory=store.unit_of_work)


def stored_rows(store: SqlStore) -> list[dict[str, Any]]:
    e = store.tables.events
    with store.read() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(e).order_by(e.c.global_seq))]


def console_script() -> Path:
    script = Path(sys.executable).with_name("hospital-complaints")
    if not script.exists():
        found = shutil.which("hospital-complaints")
        if found is None:
            pytest.fail("the hospital-complaints console script is not installed")
        script = Path(found)
    return script


# -- the release-0.1 database ------------------------------------------------------------------


def test_release_01_database_lists_replays_and_verifies(release_01: Path) -> None:
    store = open_copy(release_01)
    try:
        service = service_over(store)
        listed = [s.model_dump(mode="json") for s in service.list_cases()]
        # the same cases in the same states (0.1 listed them in insertion order; listings
        # are now ordered by the time each complaint was received)
        assert sorted(({k: row[k] for k in LISTED} for row in listed),
                      key=lambda r: r["reference"]) == \
            sorted(({k: row[k] for k in LISTED} for row in expected_listing()),
                   key=lambda r: r["reference"])
        assert [r["reference"] for r in listed] == [r["reference"] for r in sorted(
            expected_listing(), key=lambda r: r["received_at"])]
        for row in expected_listing():
            case = service.get(row["reference"])
            assert case.state.value == row["state"] and case.version == row["version"]
            # every event is release 0.1's: no recorded states, schema version 1 ...
            assert all(e.to_state is None and e.schema_version == 1 for e in case.events)
            # ... and replays to the same case without today's table
            assert workflow.rebuild(case.events).state is case.state
            assert len(service.history(row["reference"])) == row["version"]  # masked
        assert "陈建国" not in repr(service.history("HC-20261116-0001"))
        revealed = service.get("HC-20261117-0001").events[-1]
        assert (revealed.type, revealed.payload["viewer"]) == ("identity_revealed", "li")
        assert service.get("HC-20261116-0001").complaint.complainant.name == "陈建国"
        assert verify_chain(store) == []
    finally:
        store.dispose()


def test_cli_audit_verify_passes_on_the_release_01_database(release_01: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HC_")}
    env.update(HC_ENCRYPTION_KEY_FILE=f"{release_01}.key",
               HC_BLOB_DIR=str(release_01.parent / "blobs"))
    result = subprocess.run(
        [str(console_script()), "--db", f"sqlite:///{release_01}", "audit", "verify"],
        env=env, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok: 63 events" in result.stdout


def test_new_commands_on_release_01_cases_mix_old_and_new_rows(release_01: Path) -> None:
    store = open_copy(release_01)
    try:
        before = stored_rows(store)
        service = service_over(store)
        started = service.execute("HC-20261118-0004", StartInvestigation(
            team=[TeamMember(name="李强", role="radiologist")]), actor="lead")
        assert (started.from_state, started.to_state) == ("acknowledged", "investigating")
        service.execute("HC-20261120-0001", RecordFinding(text="queue-jumping confirmed"),
                        actor="discipline")
        new = service.register({
            "channel": "front_desk", "received_at": "2026-12-29T08:30:00+08:00",
            "complainant": {"role": "patient", "name": "王小明", "phone": "13900001111"},
            "subject": "DR 报告延迟", "description": "等了三天"}, actor="clerk").reference
    finally:
        store.dispose()

    store = open_copy(release_01)  # a fresh store reads everything back from the rows
    try:
        after = stored_rows(store)
        # the old rows are untouched: same bare payloads, same hashes
        assert [(r["payload"], r["hash"]) for r in after[:len(before)]] == \
            [(r["payload"], r["hash"]) for r in before]
        added = [json.loads(r["payload"]) for r in after[len(before):]]
        assert [p["schema"] for p in added] == [
            "investigation_started/1", "finding_recorded/1", "complaint_registered/1",
            "assigned/1"]
        assert (added[0]["from"], added[0]["to"]) == ("acknowledged", "investigating")
        assert added[2]["from"] is None and added[2]["to"] == "registered"
        registration = after[len(before) + 2]
        assert "王小明" not in registration["payload"] and registration["personal"] is not None
        assert added[2]["data"]["complaint"]["complainant"]["name"] == {"__hc_personal__": 0}

        service = service_over(store)
        mixed = service.get("HC-20261118-0004")
        assert mixed.state.value == "investigating" and mixed.investigation.team[0].name == "李强"
        assert [e.to_state for e in mixed.events][-2:] == [None, "investigating"]
        assert workflow.rebuild(mixed.events).state.value == "investigating"
        assert service.get(new).complaint.complainant.name == "王小明"
        assert service.get("HC-20261120-0001").investigation.findings[0].text == \
            "queue-jumping confirmed"
        assert verify_chain(store) == []
    finally:
        store.dispose()


# -- release-0.1 data that today's input would refuse --------------------------------------


def release_01_events(reference: str, name: str) -> list[Event]:
    """A registration and an acknowledgement, as release 0.1 stored them (no states)."""
    def event(seq: int, type_: str, payload: dict[str, Any]) -> Event:
        return Event(event_id=uuid.uuid4().hex, complaint_ref=reference, seq=seq, type=type_,
                     actor="clerk:0.1", at=NOW + timedelta(minutes=seq), payload=payload)

    return [
        event(1, "complaint_registered", {"complaint": {
            "channel": "letter", "received_at": "2026-11-20T08:00:00+08:00",
            "complainant": {"role": "patient", "name": name, "address": "北京市东城区某街 1 号",
                            "consent_to_contact": True},
            "subject": "收费有疑问", "description": "胸片收了两次费",
            "department": "医患关系办公室 patient-relations office"}}),
        event(2, "acknowledged", {"message": "已收到来信", "method": "letter"}),
    ]


def test_a_long_name_stored_by_release_01_reads_on_every_engine(store, service_for) -> None:
    name = "欧阳" * 150  # 300 characters; today's input allows 200
    reference = "HC-20261120-0042"
    with store.unit_of_work() as uow:  # stored exactly as release 0.1 stored it: bare rows
        uow.cases.add(workflow.rebuild(release_01_events(reference, name)))
        uow.commit()
    first = stored_rows(store)[0]
    assert "schema" not in json.loads(first["payload"]) and name not in first["payload"]

    service = service_for(store)
    case = service.get(reference)
    assert case.complaint.complainant.name == name and case.state.value == "acknowledged"
    [summary] = service.list_cases()
    assert summary.complainant.startswith("patient: 欧*") and "欧阳" not in summary.complainant
    assert name not in repr(service.history(reference))
    service.execute(reference, StartInvestigation(team=[TeamMember(name="李强", role="qc")]),
                    actor="lead")
    assert service.get(reference).state.value == "investigating"
    assert verify_chain(store) == []


def test_recorded_states_and_versions_are_covered_by_the_hash_chain(sqlite_store,
                                                                   service_for) -> None:
    service = service_for(sqlite_store)
    reference = service.register({
        "channel": "front_desk", "received_at": "2026-11-20T08:30:00+08:00",
        "complainant": {"role": "patient"}, "subject": "等待太久", "description": "两小时"},
        actor="clerk").reference
    service.execute(reference, ("decline", {"reason": "outside our remit"}), actor="clerk")
    e = sqlite_store.tables.events
    with sqlite_store.read() as conn:
        stored = conn.execute(sa.select(e.c.payload).where(e.c.type == "declined")).scalar_one()
    forged = json.loads(stored)
    assert forged["to"] == "closed"
    forged["to"] = "withdrawn"  # someone rewrites what the event did
    with sqlite_store.write() as conn:
        conn.execute(sa.update(e).where(e.c.type == "declined").values(
            payload=json.dumps(forged, ensure_ascii=False, sort_keys=True)))
    problems = verify_chain(sqlite_store)
    assert any("does not match its hash" in p.detail for p in problems)

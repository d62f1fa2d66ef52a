"""Security regressions of the storage layer (each failed on release 0.1): the cases listing
and imaging evidence are tamper-evident, attachments are encrypted and streamed, keys are
never created over existing data, and rotation covers everything."""

from __future__ import annotations

import io
import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from support import TZ, draft

from hospital_complaints import Acknowledge, ConfigError, IllegalTransition, InvalidInput
from hospital_complaints.correlation.records import ExamRecord
from hospital_complaints.domain.imaging import EquipmentFault, RosterShift
from hospital_complaints.storage.blobs import FileBlobStore
from hospital_complaints.storage.keys import EncryptionKeyError, KeyRing
from hospital_complaints.storage.sql import SqlStore, verify_chain
from hospital_complaints.storage.sql.config import key_ring_for, open_store
from hospital_complaints.storage.sql.exams import ImagingRepository
from hospital_complaints.storage.sql.seals import reseal, verify_seals

SECRETS = ["张三丰", "13812345678", "110101199001011234"]


def _raw(store: SqlStore, sql: str) -> None:
    with store.engine.begin() as conn:
        conn.execute(sa.text(sql))


@pytest.fixture(params=["sqlite_store", "pg_store", "maria_store"])
def tstore(request: pytest.FixtureRequest) -> SqlStore:
    return request.getfixturevalue(request.param)  # type: ignore[no-any-return]


# -- the cases listing -------------------------------------------------------------------------

@pytest.mark.parametrize("column,value", [("state", "closed"), ("department", "食堂"),
                                          ("owner", "mallory"),
                                          ("received_at", "2020-01-01T00:00:00+08:00")])
def test_an_edited_listing_row_is_detected(tstore: SqlStore, service_for: Any, column: str,
                                           value: str) -> None:
    """Regression: setting a report's state to closed with SQL hid it from `list --open`,
    and `audit verify` still said ok."""
    svc = service_for(tstore)
    ref = svc.register(draft(kind="report", concerns_department="超声科"), actor="x").reference
    svc.execute(ref, Acknowledge(method="phone", message="收到"), actor="clerk")
    assert verify_chain(tstore) == []
    cases = tstore.tables.cases.fullname
    _raw(tstore, f"UPDATE {cases} SET {column} = '{value}' WHERE reference = '{ref}'")
    problems = verify_chain(tstore)
    assert len(problems) == 1 and problems[0].complaint_ref == ref
    assert column in problems[0].detail and "cases table was edited" in problems[0].detail


def test_a_deleted_listing_row_is_detected(sqlite_store: SqlStore, service_for: Any) -> None:
    svc = service_for(sqlite_store)
    ref = svc.register(draft(), actor="x").reference
    _raw(sqlite_store, f"DELETE FROM hc_cases WHERE reference = '{ref}'")
    assert any("no row for it" in p.detail for p in verify_chain(sqlite_store))


# -- imaging evidence rows ---------------------------------------------------------------------

def _evidence(store: SqlStore) -> ImagingRepository:
    repo = ImagingRepository(store)
    t = datetime(2026, 11, 16, 8, 0, tzinfo=TZ)
    repo.add_exams([ExamRecord(accession_number="CT1", modality="CT", station="CT2",
                               patient_id="P1", scheduled_at=t, started_at=t.replace(hour=10))])
    repo.add_faults([EquipmentFault(fault_id="F1", device="CT2", modality="CT", reported_at=t,
                                    urgent=True, source="cmms")])
    repo.add_shifts([RosterShift(staff="李技师", role="technologist", start=t,
                                 end=t.replace(hour=16))])
    return repo


@pytest.mark.parametrize("sql", [
    "UPDATE {p}exams SET started_s = started_s - 7200, wait_min = 0",
    "UPDATE {p}exams SET station = 'CT1'",
    "UPDATE {p}equipment_faults SET urgent = FALSE",
    "UPDATE {p}equipment_faults SET restored_s = reported_s + 60",
    "UPDATE {p}roster_shifts SET staff = '王技师'",
])
def test_an_edited_evidence_row_is_detected(tstore: SqlStore, sql: str) -> None:
    _evidence(tstore)
    report = verify_seals(tstore)
    assert report.problems == [] and report.checked == 3 and report.unsealed == {}
    prefix = f"{tstore.schema}.{tstore.prefix}" if tstore.schema else tstore.prefix
    _raw(tstore, sql.format(p=prefix))
    problems = verify_seals(tstore).problems
    assert len(problems) == 1 and "changed without the key" in problems[0]


def test_rows_from_before_sealing_are_counted_and_rotation_seals_them(
        sqlite_store: SqlStore) -> None:
    _evidence(sqlite_store)
    _raw(sqlite_store, "UPDATE hc_exams SET seal = NULL")
    report = verify_seals(sqlite_store)
    assert report.problems == [] and report.unsealed == {"hc_exams": 1}
    assert reseal(sqlite_store) == 1
    assert verify_seals(sqlite_store).unsealed == {}


# -- attachments -------------------------------------------------------------------------------

PDF = b"%PDF-1.7\n" + "姓名 张三丰 电话 13812345678 身份证 110101199001011234\n".encode() * 20_000


def _blob_service(store: SqlStore, tmp_path: Path, service_for: Any) -> Any:
    svc = service_for(store)
    svc.blobs = FileBlobStore(tmp_path / "blobs", store.key_ring)
    return svc


def test_attachments_are_encrypted_at_rest(sqlite_store: SqlStore, tmp_path: Path,
                                           service_for: Any) -> None:
    """Regression: a blob held a name, mobile number and ID number in clear."""
    svc = _blob_service(sqlite_store, tmp_path, service_for)
    ref = svc.register(draft(), actor="x").reference
    event = svc.attach(ref, io.BytesIO(PDF), "申诉材料.pdf", actor="clerk")
    key = event.payload["attachment"]["reference"]
    files = [p for p in (tmp_path / "blobs").rglob("*") if p.is_file()]
    assert len(files) == 1 and files[0].name == key.removeprefix("sha256:")
    on_disk = files[0].read_bytes()
    for secret in SECRETS:
        assert secret.encode() not in on_disk
    assert b"%PDF" not in on_disk and len(on_disk) > len(PDF)
    assert svc.blobs.get(key) == PDF  # verified against the SHA-256 of the plaintext
    assert svc.blobs.key_id_of(key) == sqlite_store.key_ring.current_id


def test_a_tampered_truncated_or_foreign_blob_does_not_read(sqlite_store: SqlStore,
                                                            tmp_path: Path,
                                                            service_for: Any) -> None:
    svc = _blob_service(sqlite_store, tmp_path, service_for)
    ref = svc.register(draft(), actor="x").reference
    key = svc.attach(ref, PDF, "a.pdf", actor="c").payload["attachment"]["reference"]
    path = svc.blobs.path(key)
    original = path.read_bytes()
    for damaged in (original[:-1], original[:100_000], original + b"\x00" * 16,
                    original[:5000] + bytes([original[5000] ^ 1]) + original[5001:]):
        path.write_bytes(damaged)
        with pytest.raises(EncryptionKeyError):
            svc.blobs.get(key)
    path.write_bytes(original)
    other = FileBlobStore(tmp_path / "blobs", KeyRing.parse(KeyRing.generate_key()))
    with pytest.raises(EncryptionKeyError, match="not in the key ring"):
        other.get(key)


def test_a_refused_attachment_writes_no_blob_and_reads_nothing(
        sqlite_store: SqlStore, tmp_path: Path, service_for: Any) -> None:
    svc = _blob_service(sqlite_store, tmp_path, service_for)
    ref = svc.register(draft(), actor="x").reference
    svc.execute(ref, ("withdraw", {"reason": "resolved"}), actor="clerk")

    class Counting(io.BytesIO):
        read_bytes = 0

        def read(self, n: int | None = -1) -> bytes:
            data = super().read(n)
            Counting.read_bytes += len(data)
            return data

    with pytest.raises(IllegalTransition, match="add_attachment"):
        svc.attach(ref, Counting(PDF), "late.pdf", actor="clerk")
    assert Counting.read_bytes == 0
    assert not [p for p in (tmp_path / "blobs").rglob("*") if p.is_file()]


def test_a_large_stream_is_refused_after_the_limit(sqlite_store: SqlStore, tmp_path: Path,
                                                   service_for: Any) -> None:
    svc = _blob_service(sqlite_store, tmp_path, service_for)
    svc.max_attachment_bytes = 1_000_000
    ref = svc.register(draft(), actor="x").reference

    class Endless(io.RawIOBase):
        served = 0

        def readable(self) -> bool:
            return True

        def read(self, n: int = -1) -> bytes:
            Endless.served += n
            return b"a" * n

    with pytest.raises(InvalidInput, match="at most 1,000,000 bytes"):
        svc.attach(ref, Endless(), "endless.txt", actor="c")  # type: ignore[arg-type]
    assert Endless.served <= 1_000_000 + 64 * 1024
    assert not [p for p in (tmp_path / "blobs").rglob("*") if p.is_file()]


def test_plaintext_blobs_of_release_01_still_read_and_rotation_encrypts_them(
        tmp_path: Path) -> None:
    ring = KeyRing.parse(KeyRing.generate_key())
    store = FileBlobStore(tmp_path / "blobs", ring)
    legacy = Path(__file__).parents[2] / "fixtures" / "release-0.1" / "blobs"
    digest = next(p for p in legacy.rglob("*") if p.is_file()).name
    target = tmp_path / "blobs" / digest[:2] / digest
    target.parent.mkdir(parents=True)
    target.write_bytes((legacy / digest[:2] / digest).read_bytes())
    key = f"sha256:{digest}"
    assert store.key_id_of(key) is None and store.get(key) == b"scan of referral note\n"
    assert store.rewrite(key) is True
    assert store.key_id_of(key) == ring.current_id and b"referral" not in target.read_bytes()
    assert store.get(key) == b"scan of referral note\n"


# -- keys --------------------------------------------------------------------------------------

def test_a_key_file_is_created_0600_only_for_an_empty_database(tmp_path: Path,
                                                               service_for: Any) -> None:
    url = f"sqlite:///{tmp_path / 'hc.db'}"
    env: dict[str, str] = {}
    umask = os.umask(0)  # even with a permissive umask the file is never readable by others
    try:
        store = open_store(url, env)
    finally:
        os.umask(umask)
    key = tmp_path / "hc.db.key"
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    service_for(store).register(draft(), actor="x")
    needed = store.key_ring.current_id
    store.dispose()
    key.rename(tmp_path / "moved.key")
    with pytest.raises(ConfigError, match=needed):
        key_ring_for(url, env)
    assert not key.exists()
    with pytest.raises(ConfigError, match="does not exist"):
        key_ring_for(f"sqlite:///{tmp_path / 'no' / 'dir.db'}", env)


def test_a_key_ring_from_another_database_is_refused(tmp_path: Path, service_for: Any) -> None:
    url = f"sqlite:///{tmp_path / 'hc.db'}"
    store = open_store(url, {})
    service_for(store).register(draft(), actor="x")
    store.dispose()
    with pytest.raises(EncryptionKeyError, match="belongs to another database"):
        open_store(url, {"HC_ENCRYPTION_KEYS": KeyRing.generate_key()})


def test_keys_rotate_and_status_cover_events_seals_and_attachments(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from hospital_complaints.cli.main import cli, start

    for var in ("HC_ENCRYPTION_KEYS", "HC_ENCRYPTION_KEY_FILE", "HC_DATABASE_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HC_BLOB_DIR", str(tmp_path / "blobs"))
    db = f"sqlite:///{tmp_path / 'hc.db'}"

    def hc(*args: str) -> str:
        result = CliRunner().invoke(cli, ["--db", db, *args], obj=start())
        assert result.exit_code == 0, result.output
        return result.stdout

    complaint = tmp_path / "c.json"
    complaint.write_text(json.dumps({**draft(), "received_at": "2026-11-20T08:30:00+08:00"},
                                    ensure_ascii=False), encoding="utf-8")
    ref = hc("register", str(complaint)).strip()
    note = tmp_path / "note.txt"
    note.write_text("回访记录 13812345678", encoding="utf-8")
    hc("attach", ref, str(note))
    csv = tmp_path / "exams.csv"
    csv.write_text("accession_number,modality\nCT1,CT\n", encoding="utf-8")
    hc("exams", "import", "--quiet", str(csv))
    old = json.loads(hc("keys", "status", "--format", "json"))
    assert len(old["configured"]) == 1
    first = old["current"]
    assert old["usage"]["events"] == {first: 1}
    assert old["usage"]["attachments"] == {first: 1}
    out = hc("keys", "rotate", "--new-key")
    assert "new current key" in out
    new = json.loads(hc("keys", "status", "--format", "json"))
    assert new["configured"][1] == first and new["current"] != first
    current = new["current"]
    assert new["usage"]["events"] == {current: 1}
    assert new["usage"]["attachments"] == {current: 1}
    assert new["usage"]["evidence row seals"] == {current: 1}
    assert "old keys no data uses any more" in hc("keys", "status")
    assert "ok:" in hc("audit", "verify")
    key_file = tmp_path / "hc.db.key"
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"

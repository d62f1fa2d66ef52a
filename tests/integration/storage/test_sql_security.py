"""Tamper evidence, encryption at rest, key rotation, clear errors, migrations, concurrency."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from support import draft

from hospital_complaints import Acknowledge, ConcurrencyConflict
from hospital_complaints.storage.sql import (
    DatabaseUnreachable,
    EncryptionKeyError,
    KeyRing,
    SqlStore,
    verify_chain,
)

ACK = Acknowledge(method="phone", message="已收到 received")
SECRETS = ["张三丰", "13812345678", "110101199001011234", "P0099"]


def _three_cases(store, service_for):
    svc = service_for(store)
    refs = [svc.register(draft(), actor="x").reference for _ in range(3)]
    svc.execute(refs[0], ACK, actor="clerk")
    return svc, refs


def _raw(store, sql):
    with store.engine.begin() as conn:
        conn.execute(sa.text(sql))


@pytest.fixture(params=["sqlite_store", "pg_store", "maria_store"])
def tstore(request):
    return request.getfixturevalue(request.param)


def test_intact_log_verifies(tstore, service_for):
    _three_cases(tstore, service_for)
    assert verify_chain(tstore) == []


def test_modified_row_is_named(tstore, service_for):
    _, refs = _three_cases(tstore, service_for)
    ev = tstore.tables.events.fullname
    _raw(tstore, f"UPDATE {ev} SET actor = 'mallory' WHERE complaint_ref = '{refs[1]}'")
    problems = verify_chain(tstore)
    assert problems and problems[0].complaint_ref == refs[1] and problems[0].seq == 1
    assert "modified" in problems[0].detail


def test_deleted_row_is_detected(tstore, service_for):
    _, refs = _three_cases(tstore, service_for)
    ev = tstore.tables.events.fullname
    _raw(tstore, f"DELETE FROM {ev} WHERE complaint_ref = '{refs[0]}' AND seq = 2")
    problems = verify_chain(tstore)
    assert problems
    assert problems[0].global_seq is not None
    assert any(p.complaint_ref == refs[0] for p in problems)


def test_deleted_last_row_is_detected(tstore, service_for):
    _three_cases(tstore, service_for)
    ev = tstore.tables.events.fullname
    _raw(tstore, f"DELETE FROM {ev} WHERE global_seq = (SELECT m FROM "
                 f"(SELECT MAX(global_seq) AS m FROM {ev}) AS x)")
    assert verify_chain(tstore)


def test_reordered_rows_are_detected(tstore, service_for):
    _, refs = _three_cases(tstore, service_for)
    ev = tstore.tables.events.fullname
    where = f"complaint_ref = '{refs[0]}'"
    _raw(tstore, f"UPDATE {ev} SET seq = 0 WHERE {where} AND seq = 1")
    _raw(tstore, f"UPDATE {ev} SET seq = 1 WHERE {where} AND seq = 2")
    _raw(tstore, f"UPDATE {ev} SET seq = 2 WHERE {where} AND seq = 0")
    problems = verify_chain(tstore)
    assert problems and problems[0].complaint_ref == refs[0]


def test_tampered_ciphertext_is_detected(tstore, service_for):
    _, refs = _three_cases(tstore, service_for)
    ev = tstore.tables.events.fullname
    _raw(tstore, f"UPDATE {ev} SET personal = (SELECT personal FROM {ev} WHERE "
                 f"complaint_ref = '{refs[1]}' AND seq = 1) WHERE complaint_ref = '{refs[2]}' "
                 "AND seq = 1")
    problems = verify_chain(tstore)
    assert problems and problems[0].complaint_ref == refs[2]


def test_sqlite_file_holds_no_plaintext(sqlite_store, service_for):
    _three_cases(sqlite_store, service_for)
    sqlite_store.dispose()  # checkpoint the WAL into the file
    db = Path(sqlite_store.url.database or "")
    data = b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))
    for secret in SECRETS:
        assert secret.encode("utf-8") not in data, secret
    assert "张三丰".encode() not in data


def _dump(store) -> str:
    """The database as its own dump tool writes it (pg_dump / mariadb-dump)."""
    import shutil
    import subprocess

    from support import require_peer

    url = store.engine.url
    if store.dialect == "postgresql":
        tool = shutil.which("pg_dump")
        args = [f"--host={url.host}", f"--port={url.port}", f"--username={url.username}",
                f"--schema={store.schema}", url.database]
    else:
        tool = shutil.which("mariadb-dump") or shutil.which("mysqldump")
        args = [f"--host={url.host}", f"--port={url.port}", f"--user={url.username}",
                url.database]
    if tool is None:
        require_peer(f"{store.dialect} dump tool", "pg_dump / mariadb-dump not on PATH")
    out = subprocess.run([tool, *args], capture_output=True, timeout=120, check=True)
    return out.stdout.decode("utf-8")


def test_server_dump_holds_no_plaintext(server_store, service_for):
    _three_cases(server_store, service_for)
    text = _dump(server_store)
    assert "CT 等待太久" in text  # the dump really holds the data
    for secret in SECRETS:
        assert secret not in text, secret


def test_wrong_key_is_a_clear_error(sqlite_store, service_for):
    _svc, refs = _three_cases(sqlite_store, service_for)
    other = SqlStore(sqlite_store.url, key_ring=KeyRing.parse(KeyRing.generate_key()))
    with pytest.raises(EncryptionKeyError) as info:
        service_for(other).get(refs[0])
    assert "not in the key ring" in info.value.en and info.value.zh
    other.dispose()


def test_rotation_reencrypts_and_keeps_chain(sqlite_store, service_for):
    _svc, refs = _three_cases(sqlite_store, service_for)
    old = sqlite_store.key_ring
    new_key = KeyRing.generate_key()
    rotated = SqlStore(sqlite_store.url, key_ring=KeyRing((KeyRing.parse(new_key).keys[0],
                                                           *old.keys)))
    before = service_for(rotated).get(refs[0])  # old key still decrypts
    assert rotated.rotate() == 3
    assert rotated.rotate() == 0
    only_new = SqlStore(sqlite_store.url, key_ring=KeyRing.parse(new_key))
    assert service_for(only_new).get(refs[0]).events == before.events
    assert verify_chain(only_new) == []
    with pytest.raises(EncryptionKeyError):
        service_for(sqlite_store).get(refs[0])  # the old key alone no longer works
    rotated.dispose()
    only_new.dispose()


def test_unreachable_database_names_host_hides_password(key_ring):
    store = SqlStore("postgresql://hc:s3cretpw@127.0.0.1:1/complaints", key_ring=key_ring)
    with pytest.raises(DatabaseUnreachable) as info:
        store.upgrade()
    text = str(info.value)
    assert "127.0.0.1:1" in text and "s3cretpw" not in text and info.value.zh


def test_upgrade_from_every_earlier_revision(tmp_path, key_ring, service_for):
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from hospital_complaints.storage.sql.uow import MIGRATIONS

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    revisions = [r.revision for r in ScriptDirectory.from_config(cfg).walk_revisions()]
    assert len(revisions) >= 2
    for rev in revisions:
        store = SqlStore(f"sqlite:///{tmp_path}/from_{rev}.db", key_ring=key_ring)
        store.upgrade(rev)
        store.upgrade()
        service = service_for(store)
        ref = service.register(draft(), actor="x").reference
        assert service.get(ref).version == 2 and service.dispatch_pending() == 0
        store.dispose()


def test_upgrade_from_empty_is_repeatable(store):
    store.upgrade()  # already at head: a no-op
    names = set(sa.inspect(store.engine).get_table_names(schema=store.schema))
    assert {"hc_events", "hc_cases", "hc_idempotency", "hc_ref_counters",
            "hc_notification_failures", "hc_chain_head", "hc_outbox",
            "hc_alembic_version"} <= names


def test_two_threads_saving_one_case(server_store, service_for):
    svc = service_for(server_store)
    ref = svc.register(draft(), actor="x").reference
    from hospital_complaints.domain import workflow
    barrier = threading.Barrier(2)
    results: list[object] = []

    def save(actor):
        with server_store.unit_of_work() as uow:
            case = uow.cases.get(ref)
            workflow.handle(case, ACK, actor, case.events[-1].at)
            barrier.wait()
            try:
                uow.commit()
                results.append(actor)
            except ConcurrencyConflict as exc:
                results.append(exc)

    threads = [threading.Thread(target=save, args=(a,)) for a in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(isinstance(r, ConcurrencyConflict) for r in results) == 1
    winner = next(r for r in results if isinstance(r, str))
    case = svc.get(ref)
    assert case.version == 3 and case.events[-1].actor == winner
    assert verify_chain(server_store) == []


def test_same_idempotency_key_from_many_threads(server_store, service_for):
    svc = service_for(server_store)
    barrier = threading.Barrier(8)
    refs: list[str] = []
    errors: list[BaseException] = []

    def register():
        barrier.wait()
        try:
            refs.append(svc.register(draft(), actor="x", idempotency_key="hotline-42").reference)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=register) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(set(refs)) == 1 and len(refs) == 8
    assert len(svc.list_cases()) == 1
    assert verify_chain(server_store) == []

"""Plugins' Alembic branches (hook ``hc_register_migrations``) beside the core's chain, on
SQLite, PostgreSQL and MariaDB: a generic branch written here, and the HL7 v2 adapter's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from support import require_peer

from hospital_complaints.storage.sql import KeyRing, SqlStore

BRANCH = '''
"""A plugin's table.

Revision ID: demo_0001
"""
import sqlalchemy as sa
from alembic import context, op

revision = "demo_0001"
down_revision = None
branch_labels = ("demo",)
depends_on = None


def upgrade():
    attrs = context.config.attributes
    op.create_table(f"{attrs.get('hc_prefix', 'hc_')}demo_things",
                    sa.Column("id", sa.Integer, primary_key=True),
                    schema=attrs.get("hc_schema"))


def downgrade():
    pass
'''


def _versions(store: SqlStore) -> set[str]:
    with store.read() as conn:
        version = sa.Table(f"{store.prefix}alembic_version", sa.MetaData(),
                           sa.Column("version_num", sa.String(32)), schema=store.schema)
        return {r[0] for r in conn.execute(sa.select(version.c.version_num))}


def _tables(store: SqlStore) -> set[str]:
    return set(sa.inspect(store.engine).get_table_names(schema=store.schema))


def _core_head() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from hospital_complaints.storage.sql.uow import MIGRATIONS

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head is not None
    return head


def test_a_plugin_branch_is_upgraded_with_the_core_and_survives_its_absence(
        store: SqlStore, tmp_path: Path) -> None:
    branch = tmp_path / "demo_versions"
    branch.mkdir()
    (branch / "demo_0001.py").write_text(BRANCH, encoding="utf-8")
    store.upgrade(version_locations=[branch])
    assert f"{store.prefix}demo_things" in _tables(store)
    assert _versions(store) == {_core_head(), "demo_0001"}
    store.upgrade(version_locations=[branch])  # idempotent
    # the plugin is uninstalled: the core still upgrades, and keeps the branch's record
    store.upgrade()
    assert _versions(store) == {_core_head(), "demo_0001"}
    store.upgrade(version_locations=[branch])
    assert _versions(store) == {_core_head(), "demo_0001"}


def test_the_core_upgrades_from_every_revision_with_a_plugin_branch(
        tmp_path: Path, key_ring: KeyRing) -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from hospital_complaints.storage.sql.uow import MIGRATIONS

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    branch = tmp_path / "demo_versions"
    branch.mkdir()
    (branch / "demo_0001.py").write_text(BRANCH, encoding="utf-8")
    for rev in (r.revision for r in ScriptDirectory.from_config(cfg).walk_revisions()):
        store = SqlStore(f"sqlite:///{tmp_path}/from_{rev}.db", key_ring=key_ring,
                         table_prefix="p_")
        store.upgrade(rev)
        store.upgrade(version_locations=[branch])
        assert _versions(store) == {_core_head(), "demo_0001"}
        assert "p_demo_things" in _tables(store)
        store.dispose()


# -- the HL7 v2 adapter's branch -----------------------------------------------------------


def _hl7_adapter() -> Any:
    """The HL7 v2 adapter package; skipped without it, a failure in CI (HC_REQUIRE_PEERS=1,
    where the README's test command always installs it)."""
    try:
        import hc_hl7v2
    except ImportError:
        require_peer("hc_hl7v2", "the HL7 v2 adapter distribution is not installed")
    return hc_hl7v2


def _legacy_hl7_table(store: SqlStore) -> sa.Table:
    """The table as adapter 0.1.0 made it: ``metadata.create_all``, no Alembic record."""
    return sa.Table(
        f"{store.prefix}hl7_messages", sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("received_at", sa.String(40), nullable=False),
        sa.Column("sender", sa.String(200), nullable=False),
        sa.Column("control_id", sa.String(200), nullable=True),
        sa.Column("message_type", sa.String(20), nullable=True),
        sa.Column("disposition", sa.String(12), nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("event_count", sa.Integer, nullable=False),
        sa.Column("applied_key", sa.String(450), nullable=True, unique=True),
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.Column("raw", sa.Text, nullable=False),
        sa.Column("events", sa.Text, nullable=False),
        schema=store.schema,
    )


def test_hl7_branch_creates_its_table_in_the_stores_schema(store: SqlStore) -> None:
    hl7 = _hl7_adapter()
    from hc_hl7v2.migrations import DIRECTORY, HEAD

    store.upgrade(version_locations=[DIRECTORY])
    assert "hc_hl7_messages" in _tables(store)
    assert HEAD in _versions(store) and _core_head() in _versions(store)
    raw = (Path(hl7.__file__).parents[2] / "tests" / "fixtures" /
           "orm_o01_completed.hl7").read_bytes()
    big = raw + b"NTE|1||" + b"x" * 100_000 + b"\r"  # over TEXT's 64 KiB on MariaDB
    sink = hl7.SqlSink(store)
    assert [hl7.receive(m, "peer", sink).ack_code for m in (raw, big)] == ["AA", "AA"]
    assert [m.raw for m in sink.read()][1] == big
    assert sink.exams.exam("ACC20261120001") is not None
    store.upgrade()  # core only (adapter disabled): fine
    store.upgrade(version_locations=[DIRECTORY])
    assert HEAD in _versions(store)


def test_hl7_table_made_by_the_previous_version_is_adopted(store: SqlStore) -> None:
    hl7 = _hl7_adapter()
    legacy = _legacy_hl7_table(store)
    legacy.create(store.engine)
    with store.write() as conn:
        conn.execute(legacy.insert(), [{
            "received_at": "2026-11-20T00:00:00+00:00", "sender": "A^B", "control_id": "1",
            "message_type": "ORM^O01", "disposition": "rejected", "error": "MSH: bad",
            "event_count": 0, "applied_key": None, "key_id": "k", "raw": "x",
            "events": "[]"}])
    from hc_hl7v2.migrations import HEAD

    assert HEAD not in _versions(store)
    sink = hl7.SqlSink(store)  # upgrades to the adapter's branch on first use
    raw = (Path(hl7.__file__).parents[2] / "tests" / "fixtures" /
           "orm_o01_completed.hl7").read_bytes()
    assert hl7.receive(raw, "peer", sink).ack_code == "AA"
    assert HEAD in _versions(store)
    with store.read() as conn:
        rows = conn.execute(sa.select(sink.table.c.id, sink.table.c.disposition)
                            .order_by(sink.table.c.id)).all()
    assert [r.disposition for r in rows] == ["rejected", "applied"]
    if store.dialect in ("mysql", "mariadb"):
        columns = {c["name"]: c["type"] for c in
                   sa.inspect(store.engine).get_columns("hc_hl7_messages",
                                                        schema=store.schema)}
        assert "LONGTEXT" in str(columns["raw"]).upper()


def test_hl7_branch_honours_the_table_prefix(tmp_path: Path, key_ring: KeyRing) -> None:
    hl7 = _hl7_adapter()
    store = SqlStore(f"sqlite:///{tmp_path}/p.db", key_ring=key_ring, table_prefix="ris_")
    try:
        sink = hl7.SqlSink(store)
        assert sink.accept_many([]) == []
        assert {"ris_hl7_messages", "ris_exams", "ris_alembic_version"} <= _tables(store)
        assert "hc_hl7_messages" not in _tables(store)
    finally:
        store.dispose()


_SCHEMA_LINE = '                    schema=attrs.get("hc_schema"))'
FAILING = BRANCH.replace('"demo_0001"', '"bad_0001"').replace('("demo",)', '("bad",)').replace(
    "demo_things", "bad_things").replace(
    _SCHEMA_LINE, _SCHEMA_LINE + '\n    raise RuntimeError("migration failed")')


def test_a_failed_upgrade_keeps_the_record_of_a_plugin_not_loaded(
        store: SqlStore, tmp_path: Path) -> None:
    """The absent plugin's version row is set aside during an upgrade; when a migration then
    fails (after DDL, which MariaDB commits implicitly), the row is put back."""
    assert "raise RuntimeError" in FAILING
    demo, bad = tmp_path / "demo_versions", tmp_path / "bad_versions"
    demo.mkdir()
    bad.mkdir()
    (demo / "demo_0001.py").write_text(BRANCH, encoding="utf-8")
    (bad / "bad_0001.py").write_text(FAILING, encoding="utf-8")
    store.upgrade(version_locations=[demo])
    with pytest.raises(RuntimeError, match="migration failed"):
        store.upgrade(version_locations=[bad])  # demo's plugin is not loaded now
    assert {_core_head(), "demo_0001"} <= _versions(store)
    store.upgrade(version_locations=[demo])  # and the demo branch is not replayed
    assert {_core_head(), "demo_0001"} <= _versions(store)


def test_a_database_newer_than_the_software_is_refused(store: SqlStore) -> None:
    from hospital_complaints.storage.sql.errors import SchemaTooNew

    store.upgrade()
    with store.write() as conn:
        version = sa.Table(f"{store.prefix}alembic_version", sa.MetaData(),
                           sa.Column("version_num", sa.String(32)), schema=store.schema)
        conn.execute(sa.update(version).values(version_num="0099"))
    with pytest.raises(SchemaTooNew) as info:
        store.upgrade()
    assert "0099" in str(info.value) and "upgrade the software" in str(info.value)
    assert info.value.zh
    assert _versions(store) == {"0099"}  # nothing was changed

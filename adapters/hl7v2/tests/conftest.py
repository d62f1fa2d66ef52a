"""Shared fixtures of the HL7 v2 adapter tests: a SQLite store with its own key ring, and
PostgreSQL / MariaDB stores when those servers are reachable."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from hospital_complaints.storage.sql import KeyRing, SqlStore
from support import require_peer


@pytest.fixture
def sql_store(tmp_path: Path) -> Iterator[SqlStore]:
    store = SqlStore(f"sqlite:///{tmp_path / 'hl7.db'}",
                     key_ring=KeyRing.parse(KeyRing.generate_key()))
    yield store
    store.dispose()


PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
MARIA_URL = "mariadb+pymysql://root:@127.0.0.1:3306/test"


def _reachable(url: str) -> str | None:
    try:
        engine = sa.create_engine(url)
        with engine.connect():
            pass
        engine.dispose()
        return None
    except Exception as exc:
        return str(exc).splitlines()[0]


@pytest.fixture(params=["postgresql", "mariadb"])
def server_store(request: pytest.FixtureRequest) -> Iterator[SqlStore]:
    """A new PostgreSQL schema or MariaDB database (dropped afterwards), where concurrent
    writers really race; skipped when the server is not reachable (a failure in CI, where
    HC_REQUIRE_PEERS=1)."""
    name = f"hc_h_{uuid.uuid4().hex[:10]}"
    ring = KeyRing.parse(KeyRing.generate_key())
    admin_url = PG_URL if request.param == "postgresql" else MARIA_URL
    why = _reachable(admin_url)
    if why:
        require_peer(request.param, why)
    admin = sa.create_engine(admin_url)
    if request.param == "postgresql":
        store = SqlStore(PG_URL, key_ring=ring, schema=name)
        drop = f'DROP SCHEMA IF EXISTS "{name}" CASCADE'
    else:
        with admin.begin() as conn:
            conn.execute(sa.text(f"CREATE DATABASE {name} CHARACTER SET utf8mb4"))
        store = SqlStore(f"mariadb+pymysql://root:@127.0.0.1:3306/{name}", key_ring=ring)
        drop = f"DROP DATABASE IF EXISTS {name}"
    try:
        yield store
    finally:
        store.dispose()
        with admin.begin() as conn:
            conn.execute(sa.text(drop))
        admin.dispose()

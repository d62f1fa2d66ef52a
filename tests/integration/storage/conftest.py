"""Engines for the storage tests: SQLite always, PostgreSQL and MariaDB when reachable.

Each test gets a fresh PostgreSQL schema or MariaDB database, dropped afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from support import NOW, require_peer

from hospital_complaints import FixedClock, HCPluginManager, Settings, build_service
from hospital_complaints.plugins.builtin import default_intake, default_routing
from hospital_complaints.services.service import ComplaintService
from hospital_complaints.storage.sql import KeyRing, SqlStore

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
MARIA_URL = "mariadb+pymysql://root:@127.0.0.1:3306/test"
KEY = KeyRing.generate_key()


def _reachable(url: str) -> str | None:
    try:
        engine = sa.create_engine(url)
        with engine.connect():
            pass
        engine.dispose()
        return None
    except Exception as exc:
        return str(exc).splitlines()[0]


@pytest.fixture
def key_ring() -> KeyRing:
    return KeyRing.parse(KEY)


def make_store(engine: str, tmp_path: object, key_ring: KeyRing) -> Iterator[SqlStore]:
    name = f"hc_t_{uuid.uuid4().hex[:10]}"
    if engine == "sqlite":
        store = SqlStore(f"sqlite:///{tmp_path}/hc.db", key_ring=key_ring)
        store.upgrade()
        yield store
        store.dispose()
    elif engine == "postgresql":
        why = _reachable(PG_URL)
        if why:
            require_peer("postgresql", why)
        store = SqlStore(PG_URL, key_ring=key_ring, schema=name)
        store.upgrade()
        try:
            yield store
        finally:
            store.dispose()
            admin = sa.create_engine(PG_URL)
            with admin.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{name}" CASCADE'))
            admin.dispose()
    else:
        why = _reachable(MARIA_URL)
        if why:
            require_peer("mariadb", why)
        admin = sa.create_engine(MARIA_URL)
        with admin.begin() as conn:
            conn.execute(sa.text(f"CREATE DATABASE {name} CHARACTER SET utf8mb4"))
        store = SqlStore(f"mariadb+pymysql://root:@127.0.0.1:3306/{name}", key_ring=key_ring)
        store.upgrade()
        try:
            yield store
        finally:
            store.dispose()
            with admin.begin() as conn:
                conn.execute(sa.text(f"DROP DATABASE {name}"))
            admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def store(request: pytest.FixtureRequest, tmp_path: object,
          key_ring: KeyRing) -> Iterator[SqlStore]:
    yield from make_store(request.param, tmp_path, key_ring)


@pytest.fixture
def pg_store(tmp_path: object, key_ring: KeyRing) -> Iterator[SqlStore]:
    yield from make_store("postgresql", tmp_path, key_ring)


@pytest.fixture
def maria_store(tmp_path: object, key_ring: KeyRing) -> Iterator[SqlStore]:
    yield from make_store("mariadb", tmp_path, key_ring)


@pytest.fixture(params=["postgresql", "mariadb"])
def server_store(request: pytest.FixtureRequest, tmp_path: object,
                 key_ring: KeyRing) -> Iterator[SqlStore]:
    """The client/server engines, where concurrent writers really race."""
    yield from make_store(request.param, tmp_path, key_ring)


@pytest.fixture
def sqlite_store(tmp_path: object, key_ring: KeyRing) -> Iterator[SqlStore]:
    yield from make_store("sqlite", tmp_path, key_ring)


def _service_for(store: SqlStore) -> ComplaintService:
    pm = HCPluginManager()
    pm.register(default_intake, name="default_intake")
    pm.register(default_routing, name="default_routing")
    return build_service(Settings(), clock=FixedClock(NOW), plugins=pm,
                         uow_factory=store.unit_of_work)


@pytest.fixture
def service_for() -> object:
    """Build a real service over a store: ``service_for(store)``."""
    return _service_for

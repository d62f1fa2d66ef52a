"""The storage tests' engines (SQLite always, PostgreSQL and MariaDB when reachable)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from integration.storage.conftest import KEY, make_store

from hospital_complaints.storage.sql import KeyRing, SqlStore


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def store(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[SqlStore]:
    yield from make_store(request.param, tmp_path, KeyRing.parse(KEY))


@pytest.fixture
def sqlite_store(tmp_path: object) -> Iterator[SqlStore]:
    yield from make_store("sqlite", tmp_path, KeyRing.parse(KEY))


@pytest.fixture(params=["postgresql", "mariadb"])
def server_store(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[SqlStore]:
    """The client/server engines, where concurrent writers really race."""
    yield from make_store(request.param, tmp_path, KeyRing.parse(KEY))

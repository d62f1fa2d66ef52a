"""Shared fixtures of the HL7 v2 adapter tests: a SQLite store with its own key ring."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hospital_complaints.storage.sql import KeyRing, SqlStore


@pytest.fixture
def sql_store(tmp_path: Path) -> Iterator[SqlStore]:
    store = SqlStore(f"sqlite:///{tmp_path / 'hl7.db'}",
                     key_ring=KeyRing.parse(KeyRing.generate_key()))
    yield store
    store.dispose()

"""Bulk registration on real databases: references reserved for many days in one step stay
unique when two imports run at once, and the idempotency keys hold."""

from __future__ import annotations

import threading
from typing import Any

from support import NOW

from hospital_complaints.app import bootstrap
from hospital_complaints.clock import FixedClock
from hospital_complaints.services.service import BulkRow
from hospital_complaints.settings import DatabaseSettings, Settings
from hospital_complaints.testing import builtin_plugins, complaint_draft


def app_on(store: Any) -> Any:
    settings = Settings(database=DatabaseSettings(url=str(store.url)))
    return bootstrap(settings, clock=FixedClock(NOW), plugins=builtin_plugins(), store=store)


def rows(tag: str, n: int) -> list[BulkRow]:
    return [BulkRow(i + 1, complaint_draft(
        received_at=f"2025-{1 + i % 12:02d}-{1 + i % 27:02d}T08:00:00+08:00",
        subject=f"{tag} {i}"), key=f"{tag}-{i}") for i in range(n)]


def test_two_bulk_imports_at_once_get_unique_references(server_store: Any) -> None:
    results: dict[str, Any] = {}

    def run(tag: str) -> None:
        results[tag] = app_on(server_store).complaints.register_bulk(
            rows(tag, 300), actor="import", batch_size=100)

    threads = [threading.Thread(target=run, args=(t,)) for t in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    refs = [r for res in results.values() for _, r in res.registered]
    assert len(refs) == 600 and len(set(refs)) == 600
    again = app_on(server_store).complaints.register_bulk(rows("a", 300), actor="import")
    assert again.registered == [] and len(again.existing) == 300


def test_bulk_on_every_engine(store: Any) -> None:
    result = app_on(store).complaints.register_bulk(rows("x", 50), actor="import",
                                                    batch_size=20)
    assert len(result.registered) == 50 and not result.refused
    refs = [r for _, r in result.registered]
    assert refs[0] == "HC-20250101-0001" and len(set(refs)) == 50

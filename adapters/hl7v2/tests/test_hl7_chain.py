"""Tamper evidence for the stored raw messages: the hash chain over ``hc_hl7_messages`` and
the integrity check the plugin registers (``hc_register_integrity_checks``), which
``hospital-complaints audit verify`` runs. A changed, deleted or reordered row is found and
named by table and row id, never by a value of the row."""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hospital_complaints import HCPluginManager
from hospital_complaints.plugins.types import IntegrityCheck
from hospital_complaints.storage.sql import SqlStore

from hc_hl7v2 import Incoming, SqlSink, extract_bytes, receive
from hc_hl7v2.backfill import import_files
from hc_hl7v2.chain import GENESIS, MessageChainCheck, row_hash
from hc_hl7v2.extract import ExtractOptions
from hc_hl7v2.migrations import DIRECTORY, HEAD

FIXTURES = Path(__file__).parent / "fixtures"
LINE = re.compile(r"hc_hl7_(messages row \d+|chain_head): [a-z0-9 ,:()'_]+")


def filled(store: SqlStore) -> SqlSink:
    """A sink with every fixture imported (good and bad) and a few live messages."""
    sink = SqlSink(store)
    import_files(sorted(FIXTURES.glob("*.hl7")), sink, ExtractOptions())
    for name in ("orm_o01_completed.hl7", "bad_time.hl7", "orm_o01_completed.hl7"):
        receive((FIXTURES / name).read_bytes(), "127.0.0.1:5000", sink)
    return sink


def rows(store: SqlStore, sink: SqlSink) -> list[dict[str, Any]]:
    with store.read() as conn:
        return [dict(r._mapping) for r in
                conn.execute(sa.select(sink.table).order_by(sink.table.c.id))]


def check(store: SqlStore) -> list[str]:
    return MessageChainCheck().check(store)


def test_an_untouched_table_is_intact(sql_store: SqlStore) -> None:
    sink = filled(sql_store)
    stored = rows(sql_store, sink)
    assert len(stored) == 40 and check(sql_store) == []
    assert stored[0]["prev_hash"] == GENESIS
    for before, row in itertools.pairwise(stored):
        assert row["prev_hash"] == before["hash"]
        assert row["hash"] == row_hash(row, row["prev_hash"])


def _update(column: str, value: Callable[[dict[str, Any]], Any], pick: str = "rejected"
            ) -> Callable[[SqlStore, SqlSink, list[dict[str, Any]]], int]:
    def tamper(store: SqlStore, sink: SqlSink, stored: list[dict[str, Any]]) -> int:
        row = next(r for r in stored[1:-1] if r["disposition"] == pick)
        with store.write() as conn:
            conn.execute(sa.update(sink.table).where(sink.table.c.id == row["id"])
                         .values({column: value(row)}))
        return int(row["id"])
    return tamper


def _delete(which: int) -> Callable[[SqlStore, SqlSink, list[dict[str, Any]]], int]:
    def tamper(store: SqlStore, sink: SqlSink, stored: list[dict[str, Any]]) -> int:
        row = stored[which]
        with store.write() as conn:
            conn.execute(sa.delete(sink.table).where(sink.table.c.id == row["id"]))
        return int(stored[which + 1]["id"]) if which != -1 else -1
    return tamper


def _swap_ids(store: SqlStore, sink: SqlSink, stored: list[dict[str, Any]]) -> int:
    a, b = stored[5]["id"], stored[6]["id"]
    t = sink.table
    with store.write() as conn:  # the two rows change places in the order
        conn.execute(sa.update(t).where(t.c.id == a).values(id=-1))
        conn.execute(sa.update(t).where(t.c.id == b).values(id=a))
        conn.execute(sa.update(t).where(t.c.id == -1).values(id=b))
    return int(a)


def _swap_content(store: SqlStore, sink: SqlSink, stored: list[dict[str, Any]]) -> int:
    a, b = stored[7], stored[8]
    t = sink.table
    with store.write() as conn:  # every column but the id, hashes included
        keep = {k: v for k, v in a.items() if k not in ("id", "applied_key")}
        conn.execute(sa.update(t).where(t.c.id == a["id"]).values(
            {k: v for k, v in b.items() if k not in ("id", "applied_key")}))
        conn.execute(sa.update(t).where(t.c.id == b["id"]).values(keep))
    return int(a["id"])


def _around(store: SqlStore, sink: SqlSink, stored: list[dict[str, Any]]) -> int:
    row = {k: v for k, v in stored[-1].items() if k not in ("id", "hash", "prev_hash")}
    row["applied_key"] = None
    with store.write() as conn:
        new_id = conn.execute(sa.insert(sink.table).values(row)).inserted_primary_key
    return int(new_id[0])


def _head(store: SqlStore, sink: SqlSink, stored: list[dict[str, Any]]) -> int:
    with store.write() as conn:
        conn.execute(sa.update(sink.head).values(hash="f" * 64))
    return -1


def _recomputed(store: SqlStore, sink: SqlSink, stored: list[dict[str, Any]]) -> int:
    """The error text changed and the row's own hash recomputed: the next row tells."""
    row = dict(next(r for r in stored[1:-1] if r["disposition"] == "rejected"))
    row["error"] = "MSH-10: message control id is empty"
    with store.write() as conn:
        conn.execute(sa.update(sink.table).where(sink.table.c.id == row["id"]).values(
            error=row["error"], hash=row_hash(row, row["prev_hash"])))
    return int(row["id"]) + 1


TAMPERING = {
    "disposition changed": _update("disposition", lambda r: "applied"),
    "error text changed": _update("error", lambda r: "MSH-12: fine"),
    "error text removed": _update("error", lambda r: None),
    "applied row made rejected": _update("disposition", lambda r: "rejected", pick="applied"),
    "raw ciphertext replaced": _update("raw", lambda r: r["raw"][:-4] + "AAA=", pick="applied"),
    "event count changed": _update("event_count", lambda r: r["event_count"] + 1,
                                   pick="applied"),
    "received_at changed": _update("received_at", lambda r: "2020-01-01T00:00:00+00:00"),
    "row in the middle deleted": _delete(10),
    "first row deleted": _delete(0),
    "last row deleted": _delete(-1),
    "rows reordered (ids swapped)": _swap_ids,
    "rows reordered (content swapped)": _swap_content,
    "row written around the chain": _around,
    "chain head altered": _head,
    "row changed and its hash recomputed": _recomputed,
}


@pytest.mark.parametrize("how", list(TAMPERING), ids=list(TAMPERING))
def test_tampering_is_detected_and_named_by_row(how: str, sql_store: SqlStore) -> None:
    sink = filled(sql_store)
    stored = rows(sql_store, sink)
    row_id = TAMPERING[how](sql_store, sink, stored)
    problems = check(sql_store)
    assert problems, how
    if row_id == -1:  # the end of the chain: the head says so
        assert any(p.startswith("hc_hl7_chain_head: ") for p in problems), problems
    else:
        assert any(p.startswith(f"hc_hl7_messages row {row_id}: ") for p in problems), problems
    values = {str(v) for r in stored for k, v in r.items()
              if isinstance(v, str) and len(v) > 3 and k not in ("disposition",)}
    for line in problems:  # the table and the row, never a value of the row
        assert LINE.fullmatch(line), line
        assert not any(v in line for v in values), line


def test_writing_goes_on_after_a_row_written_around_the_chain(sql_store: SqlStore) -> None:
    sink = filled(sql_store)
    stored = rows(sql_store, sink)
    around = _around(sql_store, sink, stored)  # takes the id the chain would give next
    out = receive((FIXTURES / "orm_o01_cancel.hl7").read_bytes(), "peer", sink)
    assert out.ack_code == "AA"
    assert check(sql_store) == [f"hc_hl7_messages row {around}: has no hash: it was written "
                                "around the chain"]


def test_the_check_is_registered_through_the_plugin_hook(sql_store: SqlStore) -> None:
    pm = HCPluginManager()
    pm.load_entrypoints()
    registered = pm.integrity_checks()["hl7v2:messages"]
    assert isinstance(registered, IntegrityCheck) and registered.description
    filled(sql_store)
    assert registered.check(sql_store) == []


def test_a_database_without_the_table_has_nothing_to_check(sql_store: SqlStore) -> None:
    sql_store.upgrade()  # the core only: the adapter never stored anything here
    assert check(sql_store) == []


def test_head_matches_the_migration_branch() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(DIRECTORY))
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_locations", str(DIRECTORY))
    scripts = ScriptDirectory.from_config(cfg)
    assert scripts.get_heads() == [HEAD]


def _write_concurrently(store: SqlStore, threads: int = 4, batches: int = 12) -> int:
    raw = (FIXTURES / "orm_o01_completed.hl7").read_bytes()
    events = extract_bytes(raw).exam_events
    failures: list[BaseException] = []
    sinks = [SqlSink(store) for _ in range(threads)]  # one each, as separate processes have
    for s in sinks:
        s.accept_many([])  # each migrates (a no-op) before the race

    def writer(k: int) -> None:
        sink = sinks[k]
        try:
            for b in range(batches):
                sink.accept_many([Incoming(raw, f"RIS{k}^H", f"C{b}-{i}", events)
                                  for i in range(5)] + [Incoming(b"x", "peer", None, (), "bad")])
        except BaseException as exc:  # reported below
            failures.append(exc)

    workers = [threading.Thread(target=writer, args=(k,)) for k in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert not failures, failures
    return threads * batches * 6


def test_concurrent_writers_chain_one_after_another_sqlite(sql_store: SqlStore) -> None:
    written = _write_concurrently(sql_store)
    assert len(list(SqlSink(sql_store).read())) == written
    assert check(sql_store) == []


def test_concurrent_writers_chain_one_after_another(server_store: SqlStore) -> None:
    """PostgreSQL and MariaDB: writers lock the chain head, so rows from concurrent
    transactions chain in id order."""
    server_store.upgrade(version_locations=[DIRECTORY])
    written = _write_concurrently(server_store)
    assert len(list(SqlSink(server_store).read())) == written
    assert check(server_store) == []
    tamper = _update("disposition", lambda r: "applied")
    sink = SqlSink(server_store)
    row_id = tamper(server_store, sink, rows(server_store, sink))
    assert [p for p in check(server_store) if p.startswith(f"hc_hl7_messages row {row_id}:")]

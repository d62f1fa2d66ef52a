"""Received messages reach the core's exam table in the same transaction as their raw bytes:
applied messages only, never a duplicate or a rejected one, and all or nothing per batch."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hl7.mllp import open_hl7_connection
from hospital_complaints.storage.sql import KeyRing, SqlStore
from hospital_complaints.storage.sql.exams import ImagingRepository

from hc_hl7v2 import Disposition, ExtractOptions, Incoming, MllpListener, SqlSink, receive
from hc_hl7v2.backfill import import_files
from hc_hl7v2.receive import prepare

from .test_hl7_cli import KEY, run

FIXTURES = Path(__file__).parent / "fixtures"
ACC = "ACC20261120001"
ORDER_FILES = ("orm_o01_new_scheduled.hl7", "orm_o01_in_progress.hl7",
               "orm_o01_completed.hl7", "oru_r01_preliminary.hl7", "oru_r01_final.hl7")


def _prepared(name: str) -> Incoming:
    return prepare((FIXTURES / name).read_bytes(), "test").incoming


def _timeline(store: SqlStore) -> list[tuple[str, str]]:
    return [(e.event.value, e.at.strftime("%H:%M"))
            for e in ImagingRepository(store).timeline(ACC)]


def _count(store: SqlStore, table: sa.Table) -> int:
    with store.read() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def test_applied_messages_become_exam_milestones(sql_store: SqlStore) -> None:
    sink = SqlSink(sql_store)
    result = sink.accept_many([_prepared(n) for n in ORDER_FILES])
    assert result == [Disposition.applied] * 5
    assert _timeline(sql_store) == [("scheduled", "09:30"), ("started", "09:37"),
                                    ("completed", "10:03"), ("preliminary_report", "11:29"),
                                    ("final_report", "14:28")]
    exam = ImagingRepository(sql_store).exam(ACC)
    assert exam is not None and exam.modality == "CT" and exam.source == "hl7v2"
    assert exam.patient_id is None and exam.patient_hash  # only a keyed hash is stored


def test_a_duplicate_is_not_applied_again(sql_store: SqlStore) -> None:
    sink = SqlSink(sql_store)
    first = _prepared("orm_o01_completed.hl7")
    assert sink.accept_many([first]) == [Disposition.applied]
    # the same sender and MSH-10 again, but saying something else: kept, not applied
    changed = prepare((FIXTURES / "orm_o01_completed.hl7").read_bytes().replace(
        b"20261120100300", b"20261120110000"), "test").incoming
    assert sink.accept_many([changed]) == [Disposition.duplicate]
    assert ("completed", "10:03") in _timeline(sql_store)
    assert ("completed", "11:00") not in _timeline(sql_store)


def test_a_rejected_message_is_kept_and_leaves_the_exam_table_alone(
        sql_store: SqlStore) -> None:
    sink = SqlSink(sql_store)
    bad = _prepared("bad_time.hl7")
    assert bad.error is not None and bad.events == ()
    assert sink.accept_many([bad]) == [Disposition.rejected]
    assert _count(sql_store, sink.exams.exams) == 0
    stored = list(sink.read())
    assert stored[0].raw == (FIXTURES / "bad_time.hl7").read_bytes() and stored[0].error


def test_a_failing_exam_merge_rolls_back_the_whole_batch(
        sql_store: SqlStore, monkeypatch: pytest.MonkeyPatch) -> None:
    sink = SqlSink(sql_store)
    sink.accept_many([])  # ready

    def broken(*_a: Any, **_k: Any) -> int:
        raise sa.exc.OperationalError("INSERT", {}, Exception("disk I/O error"))

    monkeypatch.setattr(sink.exams, "merge_exam_events", broken)
    with pytest.raises(sa.exc.OperationalError):
        sink.accept_many([_prepared(n) for n in ORDER_FILES])
    assert _count(sql_store, sink.table) == 0 and _count(sql_store, sink.exams.exams) == 0
    # the listener's path: not stored, so AE "send it again", never AA
    out = receive((FIXTURES / ORDER_FILES[0]).read_bytes(), "peer", sink)
    assert out.ack_code == "AE" and out.disposition is None
    assert b"could not be stored" in out.ack
    # the import path reports it
    summary = import_files([FIXTURES / n for n in ORDER_FILES], sink, ExtractOptions())
    assert summary.sink_failed == 5 and "NOT STORED" in summary.render()
    assert _count(sql_store, sink.table) == 0
    monkeypatch.undo()
    assert sink.accept_many([_prepared(ORDER_FILES[0])]) == [Disposition.applied]
    assert _timeline(sql_store) == [("scheduled", "09:30")]


def test_mllp_receipt_reaches_the_exam_table(sql_store: SqlStore) -> None:
    sink = SqlSink(sql_store)

    async def main() -> list[bytes]:
        listener = MllpListener(sink, host="127.0.0.1", port=0)
        await listener.start()
        acks = []
        try:
            reader, writer = await open_hl7_connection("127.0.0.1", listener.port)
            for name in ORDER_FILES[:3]:
                writer.writeblock((FIXTURES / name).read_bytes())
                await writer.drain()
                acks.append(await asyncio.wait_for(reader.readblock(), 10))
            writer.close()
            await writer.wait_closed()
        finally:
            await listener.stop()
        return acks

    acks = asyncio.run(main())
    assert all(b"MSA|AA" in a for a in acks)
    assert [e for e, _ in _timeline(sql_store)] == ["scheduled", "started", "completed"]


def test_hl7_import_then_exams_show(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'hc.db'}"
    files = [str(FIXTURES / n) for n in ORDER_FILES]
    assert run("--db", db, "hl7", "import", "--no-progress", *files).returncode == 0
    shown = run("--db", db, "exams", "show", ACC)
    assert shown.returncode == 0, shown.stderr
    for milestone in ("scheduled", "started", "completed", "preliminary_report",
                      "final_report"):
        assert milestone in shown.stdout
    assert "P20261101" not in shown.stdout + shown.stderr
    again = run("--db", db, "hl7", "import", "--no-progress", *files)
    assert "applied: 0" in again.stdout and "duplicates: 5" in again.stdout
    store = SqlStore(db, key_ring=KeyRing.parse(KEY))
    try:
        assert len(_timeline(store)) == 5
    finally:
        store.dispose()

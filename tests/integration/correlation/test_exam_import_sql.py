"""The bulk exam import on SQLite, PostgreSQL (COPY) and MariaDB writes exactly the rows, seals
and merges that ``add_exams`` (the ingest port's path) writes: patient ids only as keyed
hashes, stored rows merged field by field, seals that ``audit verify`` accepts, nothing of a
failed batch (of a failed SQLite bulk load: nothing at all, indexes intact)."""

from __future__ import annotations

import csv
import random
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from hospital_complaints.correlation import ExamRecord, import_file
from hospital_complaints.correlation.importers import EXAM_COLUMNS, EXAM_TIME_COLUMNS
from hospital_complaints.storage.sql import SqlStore
from hospital_complaints.storage.sql.exams import ImagingRepository
from hospital_complaints.storage.sql.imaging import bulk
from hospital_complaints.storage.sql.seals import verify_seals

TZ = ZoneInfo("Asia/Shanghai")
BASE = datetime(2026, 11, 16, 7, 0, tzinfo=TZ)
STATIONS = [("CT1", "CT"), ("CT2", "CT"), ("MR1", "MR"), ("DR1", "DX"), ("US1", "US")]


def records(n: int, seed: int, *, sparse: bool = False) -> list[ExamRecord]:
    """``n`` exams with whole-second times; a few out of order or incomplete. ``sparse``:
    an update feed that has only some fields (the rest empty)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        station, modality = STATIONS[rng.randrange(len(STATIONS))]
        t = BASE + timedelta(days=rng.randrange(40), seconds=rng.randrange(12 * 3600))
        times: dict[str, Any] = {}
        for attr in EXAM_TIME_COLUMNS.values():
            t += timedelta(seconds=rng.choice((0, 59, 61, 600, 1800)))
            if rng.random() > (0.6 if sparse else 0.15):
                times[attr] = t
        if rng.random() < 0.05 and "started_at" in times:
            times["started_at"] -= timedelta(hours=2)  # out of order: flagged
        keep = (lambda: rng.random() > 0.5) if sparse else (lambda: True)
        out.append(ExamRecord(
            f"A{i:05d}", study_instance_uid=f"1.2.156.{seed}.{i}" if keep() else None,
            modality=modality if keep() else None, station=station if keep() else None,
            room=f"室 {station}" if keep() else None,
            patient_id=f"P{rng.randrange(10**7):07d}" if keep() else None,
            source="ris.csv", **times))
    return out


def write_csv(path: Path, exams: list[ExamRecord]) -> Path:
    names = {v: k for k, v in EXAM_TIME_COLUMNS.items()}
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(EXAM_COLUMNS)
        for e in exams:
            cells = {"accession_number": e.accession_number,
                     "study_instance_uid": e.study_instance_uid, "patient_id": e.patient_id,
                     "modality": e.modality, "station": e.station, "room": e.room}
            for attr, col in names.items():
                t = getattr(e, attr)
                cells[col] = None if t is None else t.isoformat()
            w.writerow(["" if cells[c] is None else cells[c] for c in EXAM_COLUMNS])
    return path


def dump(store: SqlStore) -> list[tuple[Any, ...]]:
    e = store.tables.exams
    assert e is not None
    with store.read() as conn:
        return sorted(tuple(r) for r in conn.execute(sa.select(e)))


def clear(store: SqlStore) -> None:
    e = store.tables.exams
    assert e is not None
    with store.write() as conn:
        conn.execute(sa.delete(e))


def test_bulk_rows_equal_the_ingest_port_rows(store: SqlStore, tmp_path: Path) -> None:
    repo = ImagingRepository(store, tz=TZ)
    repo.bulk_batch = 70  # several batches, each merged against the stored rows
    first, update = records(300, 1), records(200, 2, sparse=True)
    report = import_file(repo, write_csv(tmp_path / "a.csv", first), "exams", source="ris.csv")
    assert (report.read, report.imported, report.rejected) == (300, 300, [])
    assert report.flagged
    import_file(repo, write_csv(tmp_path / "b.csv", update), "exams", source="ris.csv")
    bulk_rows = dump(store)
    clear(store)
    repo.add_exams(first)
    repo.add_exams(update)
    assert bulk_rows == dump(store)  # every column, the seal included
    assert "P0" not in repr(bulk_rows)  # only keyed hashes of the patient ids
    seals = verify_seals(store)
    assert seals.problems == [] and seals.unsealed == {} and seals.checked == 300


def test_rows_written_by_the_port_are_merged_not_overwritten(store: SqlStore,
                                                             tmp_path: Path) -> None:
    """Milestones from an HL7 feed stay when a file brings other milestones of the exam."""
    repo = ImagingRepository(store, tz=TZ)
    t0 = datetime(2026, 11, 16, 8, 0, tzinfo=TZ)
    repo.add_exams([ExamRecord("CT-1", modality="CT", station="CT2", patient_id="P1",
                               arrived_at=t0, started_at=t0 + timedelta(minutes=30),
                               source="hl7")])
    f = tmp_path / "e.csv"
    f.write_text("accession_number,station,final_report_at,completed_at\n"
                 "CT-1,,2026-11-16T10:00:00+08:00,2026-11-16T08:40:00+08:00\n"
                 "CT-1,CT3,,\n", encoding="utf-8")
    import_file(repo, f, "exams")
    exam = repo.exam("CT-1")
    assert exam is not None
    assert (exam.station, exam.modality, exam.source) == ("CT3", "CT", "e.csv")
    assert exam.minutes("wait") == 30 and exam.minutes("report") == 80
    assert exam.patient_hash == repo.hasher.hash("P1")
    assert verify_seals(store).problems == []


def test_a_sqlite_bulk_load_is_one_transaction(sqlite_store: SqlStore, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    store = sqlite_store
    repo = ImagingRepository(store, tz=TZ)
    repo.bulk_batch = 50
    monkeypatch.setattr(bulk, "BULK_MIN_ROWS", 100)

    def indexes() -> list[tuple[str, str]]:
        with store.read() as conn:
            return sorted(conn.exec_driver_sql(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                "AND tbl_name = 'hc_exams'").all())

    before = indexes()
    exams = write_csv(tmp_path / "e.csv", records(400, 3))
    calls = 0
    real = bulk.ImagingBulk._insert

    def failing(self: Any, conn: Any, rows: Any, plan: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 5:
            raise RuntimeError("disk full")
        real(self, conn, rows, plan)

    monkeypatch.setattr(bulk.ImagingBulk, "_insert", failing)
    with pytest.raises(RuntimeError):
        import_file(repo, exams, "exams")
    assert dump(store) == [] and indexes() == before  # nothing, indexes back
    monkeypatch.setattr(bulk.ImagingBulk, "_insert", real)
    assert import_file(repo, exams, "exams").imported == 400
    assert len(dump(store)) == 400 and indexes() == before
    with store.read() as conn:
        plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN SELECT * FROM hc_exams "
                                    "WHERE patient_hash = 'x'").all()
    assert "hc_exams_patient" in str(plan)


def test_a_failed_batch_leaves_nothing_of_itself(store: SqlStore, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Outside a SQLite bulk load each batch is its own transaction: the batches before the
    failure are stored (re-importing the file is safe), nothing of the failed one."""
    repo = ImagingRepository(store, tz=TZ)
    repo.bulk_batch = 100
    real = bulk.ImagingBulk._insert
    calls = 0

    def failing(self: Any, conn: Any, rows: Any, plan: Any) -> None:
        nonlocal calls
        calls += 1
        real(self, conn, rows, plan)
        if calls == 2:
            raise RuntimeError("connection lost")

    monkeypatch.setattr(bulk.ImagingBulk, "_insert", failing)
    exams = write_csv(tmp_path / "e.csv", records(250, 4))
    with pytest.raises(RuntimeError):
        import_file(repo, exams, "exams")
    assert len(dump(store)) == 100
    monkeypatch.setattr(bulk.ImagingBulk, "_insert", real)
    import_file(repo, exams, "exams")
    assert len(dump(store)) == 250


def test_a_conflicting_writer_makes_the_batch_merge_again(server_store: SqlStore,
                                                          tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    """PostgreSQL / MariaDB: a row another writer inserted between the read and the COPY is
    a unique-key conflict; the batch is done again and merges it."""
    store = server_store
    repo = ImagingRepository(store, tz=TZ)
    t0 = datetime(2026, 11, 16, 8, 0, tzinfo=TZ)
    real = bulk.ImagingBulk._stored
    calls = 0

    def racing(self: Any, conn: Any, keys: list[str]) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:  # another feed writes the exam now, in its own transaction
            ImagingRepository(store, tz=TZ).add_exams([ExamRecord(
                "CT-9", modality="CT", arrived_at=t0, source="hl7")])
            return {}
        return real(self, conn, keys)

    monkeypatch.setattr(bulk.ImagingBulk, "_stored", racing)
    f = tmp_path / "e.csv"
    f.write_text("accession_number,started_at\nCT-9,2026-11-16T08:25:00+08:00\n",
                 encoding="utf-8")
    import_file(repo, f, "exams")
    exam = repo.exam("CT-9")
    assert calls == 2 and exam is not None and exam.minutes("wait") == 25


def test_the_fast_row_builder_equals_the_plain_one(sqlite_store: SqlStore) -> None:
    """Every value and the seal of ``_row_builder`` equal ``_built`` (derive + the seal text
    of the table's columns), also for texts that look like JSON or Python (``None``,
    ``null``, quotes, backslashes, Chinese) and rows with few or no times."""
    repo = ImagingRepository(sqlite_store, tz=TZ)
    plan = repo._plan()
    assert plan is not None
    local = bulk.LocalClock(repo.tz)
    build = bulk._row_builder(plan, local, repo._patient_hash())
    assert build is not None
    rng = random.Random(5)
    texts = [None, "None", "null", 'a "b" \\ c', "室 CT2", "None,null", "x" * 200]
    for e in records(500, 3) + records(500, 4, sparse=True):
        row: tuple[Any, ...] = (
            e.accession_number, rng.choice([e.study_instance_uid, None]),
            rng.choice([e.modality, None]), rng.choice(texts), rng.choice(texts),
            rng.choice([e.patient_id, None, " P1 "]), rng.choice(["ris.csv", "None", None]),
            *(None if t is None else int(t.timestamp()) for t in (
                getattr(e, a) for a in EXAM_TIME_COLUMNS.values())))
        hashed = row if row[5] is None else (*row[:5], repo.hasher.hash(row[5]), *row[6:])
        assert build(row) == repo._built(hashed, plan, local), row


def tricky_csv(path: Path) -> Path:
    """Exams as a real export has them, for the worker processes: accessions given again
    (in the same chunk and in later ones), rejected rows, a blank line, and quoted cells
    holding a comma, a quote and line breaks (a chunk must not end inside them)."""
    exams = records(400, 3) + records(150, 4, sparse=True)
    write_csv(path, exams)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    head, body = lines[0], lines[1:]
    body.insert(17, 'Q1,,P1,CT,CT1,"室 1, 东区\n""新""楼\r\n二层",2026-11-16T08:00:00+08:00'
                    + "," * 10 + "\n")
    body.insert(40, "\n")
    body.insert(90, "BAD1,,,CT,CT1,,not a time" + "," * 10 + "\n")
    body.insert(130, "BAD2,,,XRAY-MACHINE,CT1" + "," * 12 + "\n")
    body.insert(300, 'Q1,,,,CT2,"又一个\n换行",,2026-11-16T08:05:00+08:00' + "," * 9 + "\n")
    path.write_text(head + "".join(body), encoding="utf-8")
    return path


def test_worker_processes_store_what_one_process_stores(
        store: SqlStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A large CSV parsed and prepared by worker processes: the same rows, seals, merges,
    rejected rows and line numbers as one process, on a first import and on a second
    (every row merged with its stored row); on SQLite also as one bulk load."""
    from hospital_complaints.correlation import import_workers, importers

    monkeypatch.setattr(import_workers, "PARALLEL_MIN_ROWS", 0)
    monkeypatch.setattr(import_workers, "CHUNK_ROWS", 37)
    used: list[int] = []
    batches = importers.prepared_exam_batches

    def spy(*args: Any) -> Any:
        used.append(args[-1])
        return batches(*args)

    monkeypatch.setattr(importers, "prepared_exam_batches", spy)
    repo = ImagingRepository(store, tz=TZ)
    repo.bulk_batch = 70
    path = tricky_csv(tmp_path / "ris.csv")
    again = write_csv(tmp_path / "again.csv", records(200, 5, sparse=True))

    def run(workers: int) -> tuple[list[Any], list[Any]]:
        clear(store)
        reports = [import_file(repo, p, "exams", workers=workers) for p in (path, again)]
        return [(r.read, r.imported, r.rejected, r.flagged) for r in reports], dump(store)

    for bulk_min in ([10**9, 0] if store.dialect == "sqlite" else [10**9]):
        monkeypatch.setattr(bulk, "BULK_MIN_ROWS", bulk_min)
        used.clear()
        one_reports, one_rows = run(0)
        assert used == []
        many_reports, many_rows = run(2)
        assert used == [2, 2]  # the worker path, for both files
        assert many_reports == one_reports
        assert many_rows == one_rows  # every column, the seal included
        (read, imported, rejected, flagged), _ = one_reports
        assert (read, imported) == (554, 552) and flagged
        assert [(p.line, p.column) for p in rejected] == [(94, "ordered_at"),
                                                         (134, "modality")]
        q1 = repo.exam("Q1")
        assert q1 is not None and q1.station == "CT2" and q1.room == "又一个\n换行"
        seals = verify_seals(store)
        assert seals.problems == [] and seals.unsealed == {}


def test_worker_processes_are_not_forked_beside_other_threads(
        sqlite_store: SqlStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """In a process with other threads (a server) the import runs in one process: a thread
    holding a lock at the fork would leave it held in the child."""
    import threading

    from hospital_complaints.correlation import import_workers, importers

    monkeypatch.setattr(import_workers, "PARALLEL_MIN_ROWS", 0)
    called: list[int] = []
    monkeypatch.setattr(importers, "prepared_exam_batches",
                        lambda *args: called.append(1))
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        report = import_file(ImagingRepository(sqlite_store, tz=TZ),
                             write_csv(tmp_path / "a.csv", records(50, 6)), "exams", workers=2)
    finally:
        stop.set()
        other.join()
    assert called == [] and report.imported == 50


def _killed_worker(text: str) -> Any:
    """A worker that dies as one killed for lack of memory would."""
    import os

    os._exit(137)


def test_a_killed_worker_stops_the_import_with_what_to_do_and_stores_nothing(
        sqlite_store: SqlStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker process that dies (the kernel's out-of-memory killer) ends the import with
    an error that says so and how to go on (one process), in English and Chinese, not a
    traceback; the bulk load is one transaction, so nothing of it is stored."""
    from hospital_complaints.correlation import import_workers, importers
    from hospital_complaints.errors import HospitalComplaintsError

    monkeypatch.setattr(import_workers, "PARALLEL_MIN_ROWS", 0)
    monkeypatch.setattr(bulk, "BULK_MIN_ROWS", 0)
    monkeypatch.setattr(importers, "_worker_chunk", _killed_worker)
    path = write_csv(tmp_path / "ris.csv", records(120, 8))
    with pytest.raises(HospitalComplaintsError) as caught:
        import_file(ImagingRepository(sqlite_store, tz=TZ), path, "exams", workers=2)
    assert "ris.csv" in caught.value.en and "--workers 0" in caught.value.en
    assert "--workers 0" in str(caught.value.zh) and "内存不足" in str(caught.value.zh)
    assert dump(sqlite_store) == []

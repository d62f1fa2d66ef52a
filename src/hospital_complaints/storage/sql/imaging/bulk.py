"""Bulk loading of exams from files (``exams import``): the same rows, merges and seals as
:mod:`.writes`, without an object per exam.

Rows arrive as :data:`~hospital_complaints.correlation.exam_rows.ExamRow` tuples (whole epoch
seconds). Per batch, in one write transaction: the patient ids are replaced by their keyed
hash, rows of one accession are merged (the later wins per field), the stored rows of the
batch's accessions are read (``FOR UPDATE`` on PostgreSQL and MariaDB) and merged under the
new values as :meth:`ExamRecord.merged` does, the derived values are computed
(:func:`~hospital_complaints.correlation.exam_rows.derive`), each row is sealed with the
same seal :class:`~..seals.Sealer` checks (``audit verify``), and the rows are written:

- **SQLite**: ``executemany`` through the driver. A large load into a table that is empty or
  small next to it (:data:`BULK_MIN_ROWS` rows or more, at least half the rows the table
  already holds) is **one transaction**: the exam table's secondary indexes are dropped,
  the rows written, and the indexes built again from sorted data before the commit, which is
  several times quicker than updating nine indexes row by row. Nothing is visible to readers
  until the commit (they keep reading the old rows and indexes), and a failure rolls all of
  it back, indexes included. Other writers wait for the commit (``busy_timeout``). Smaller
  loads commit per batch of :attr:`ImagingBulk.bulk_batch` rows.
- **PostgreSQL**: ``COPY ... FROM STDIN`` (psycopg), one transaction per batch.
- **MariaDB**: ``executemany`` (multi-row ``INSERT``), one transaction per batch.

On PostgreSQL and MariaDB a batch that meets a row another writer inserted meanwhile (a
unique-key conflict) is done again, then finding it stored and merging it.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from json.encoder import encode_basestring
from operator import itemgetter
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ....correlation.exam_rows import (
    T0,
    ExamRow,
    LocalClock,
    derive,
    flags_of,
    merge_rows,
    record_of,
)
from ....correlation.records import PatientHasher, hmac_sha256_hex
from ..seals import PURPOSE, sealed_columns
from .rows import _chunks
from .writes import ImagingWrites

#: a load of at least this many rows into a table holding at most twice as many is one
#: transaction with the indexes built afterwards (SQLite)
BULK_MIN_ROWS = 50_000
#: page cache of the connection during a load into SQLite (the default is 2 MB)
SQLITE_LOAD_CACHE_KIB = 262_144
_ATTEMPTS = 3
_NO_PARTS = (None, None, None, None)
#: the texts :func:`_row_builder` writes into the seal without encoding: the local day and
#: month (digits and '-') and the flags (names from exam_rows.flags_of)
_SAFE_TEXTS = frozenset({"local_day", "local_month", "flags"})
#: the exam table's columns in the order the rows are built (the order of migration 0003
#: plus 0005's seal)
BUILT_COLUMNS = (
    "accession_number", "study_uid", "modality", "station", "room", "patient_hash",
    "ordered_s", "scheduled_s", "arrived_s", "started_s", "completed_s", "preliminary_s",
    "final_s", "corrected_s", "cancelled_s", "no_show_s", "window_start_s", "window_end_s",
    "local_day", "local_hour", "local_weekday", "local_month", "wait_min", "slip_min",
    "report_min", "flags", "source")
#: the stored columns that hold a row's own values (the rest is derived)
RAW_COLUMNS = ("accession_number", "study_uid", "modality", "station", "room", "patient_hash",
               "source", *BUILT_COLUMNS[6:16])


#: how a value of a column of each kind is written in the seal's JSON text, as an
#: expression of the value ``{v}`` (``seals._value``, then ``json.dumps``; ``enc`` is json's
#: string encoder): text, whole numbers, and doubles (a whole double as an integer)
_ENCODE = {
    "text": "'null' if {v} is None else enc({v})",
    "int": "'null' if {v} is None else str(int({v}))",
    "float": "'null' if {v} is None else str(int({v})) if {v}.is_integer() else repr({v})",
}


class _Plan:
    """How one store's exam table takes built rows: the column order, and the seal of a
    row, the same text and HMAC as :meth:`Sealer.seal <..seals.Sealer.seal>` (a JSON array
    ``[table, [[column, value], ...]]``).

    The seal text is made by one function written for the table's columns (each value's
    encoding inlined, see :data:`_ENCODE`): about twice as quick as a loop over the columns,
    and a test (``tests/unit/test_exam_import.py``) checks it against ``Sealer.seal``."""

    def __init__(self, table: sa.Table, key_id: str, key: bytes) -> None:
        sealed = sealed_columns(table)
        self.columns = [*sealed, "seal"]
        self.reorder: Callable[[tuple[Any, ...]], tuple[Any, ...]] | None = None
        if tuple(sealed) != BUILT_COLUMNS:
            self.reorder = itemgetter(*(BUILT_COLUMNS.index(c) for c in sealed))
        template = "[" + _escape(encode_basestring(table.name)) + ",[" + ",".join(
            "[" + _escape(encode_basestring(c)) + ",%s]" for c in sealed) + "]]"
        values = ",\n        ".join(
            "(" + _ENCODE[_kind(table.c[c])].format(v=f"r[{i}]") + ")"
            for i, c in enumerate(sealed))
        code = f"def text(r):\n    return TEMPLATE % (\n        {values})\n"
        scope: dict[str, Any] = {"TEMPLATE": template, "enc": encode_basestring}
        exec(compile(code, f"<seal text of {table.name}>", "exec"), scope)
        self.text: Callable[[Sequence[Any]], str] = scope["text"]
        self.table = table.name
        self.key_id = key_id
        self.key = key
        #: the kind of each sealed column (see :data:`_ENCODE`)
        self.kinds = tuple(_kind(table.c[c]) for c in sealed)

    def seal(self, values: Sequence[Any]) -> str:
        digest = hmac.digest(self.key, self.text(values).encode("utf-8"), "sha256")
        return f"{self.key_id}:{digest.hex()}"


#: the kinds of :data:`BUILT_COLUMNS` that :func:`_row_builder` writes the seal text for
_BUILT_KINDS = ("text",) * 6 + ("int",) * 12 + ("text", "int", "int", "text") + (
    "float",) * 3 + ("text", "text")


def _row_builder(plan: _Plan, local: LocalClock, hash_id: Callable[[str], str] | None
                 ) -> Callable[[ExamRow], tuple[Any, ...]] | None:
    """The stored row (values, then the seal) of a merged :data:`ExamRow`, in one function:
    the same row as :meth:`ImagingBulk._built` (a test compares them), about 1.7 times as
    quick. None when the table's columns are not :data:`BUILT_COLUMNS` with the kinds
    :data:`_BUILT_KINDS`. ``hash_id``: replace the patient id by its keyed hash first."""
    if plan.reorder is not None or plan.kinds != _BUILT_KINDS:
        return None
    return _builder(plan.table, plan.key_id, plan.key, local, hash_id)


def _builder(table: str, key_id: str, key: bytes, local: LocalClock,
             hash_id: Callable[[str], str] | None
             ) -> Callable[[ExamRow], tuple[Any, ...]] | None:
    """:func:`_row_builder` for a table of :data:`BUILT_COLUMNS` named ``table``, sealed
    under ``key`` (named ``key_id``): plain values, so that a worker process can make it too
    (:class:`ExamRowPreparer`).

    The seal text is made in three pieces: the texts from outside (JSON-encoded), then the
    instants, local day and hour, delays and flags, which are numbers, None or texts of
    digits, '-', letters, ':', '>' and ',' only (written by ``%s`` and then ``None`` turned
    into ``null``), then the source. A delay that is a whole number of minutes is given as
    an integer (how the seal writes it; the database stores it as a double all the same)."""
    name = encode_basestring
    head = "[" + name(table) + ",[" + ",".join(
        "[" + name(c) + ",%s]" for c in BUILT_COLUMNS[:6]) + ","
    middle = ",".join("[" + name(c) + (',"%s"]' if c in _SAFE_TEXTS else ",%s]")
                      for c in BUILT_COLUMNS[6:26]) + ","
    tail = "[" + name(BUILT_COLUMNS[26]) + ",%s]]]"
    if any("None" in text or "null" in text for text in (head, middle, tail)):
        return None  # a column name the replacement below would change
    mac = hmac_sha256_hex(key)
    prefix = key_id + ":"
    enc = encode_basestring

    def build(r: ExamRow) -> tuple[Any, ...]:
        acc, uid, modality, station, room, patient, source = r[:7]
        if hash_id is not None and patient is not None:
            patient = hash_id(patient)
        times = r[7:]
        ordered, scheduled, arrived, started, completed, _, final = times[:7]
        if scheduled is not None and arrived is not None and started is not None:
            ws = min(scheduled, arrived, started)
            we = max(ws, arrived, started) if completed is None else max(
                ws, arrived, started, completed)
        else:
            starts = [t for t in (scheduled, arrived, started) if t is not None]
            if starts:
                ws = min(starts)
                we = max([ws, *(t for t in (completed, started, arrived) if t is not None)])
            else:
                ws = we = None
        anchor = (started if started is not None else arrived if arrived is not None
                  else scheduled if scheduled is not None else ordered)
        day, hour, weekday, month = _NO_PARTS if anchor is None else local(anchor)
        # delays in minutes to the hundredth (exam_rows.hundredths); whole ones as integers
        wait = slip = report = None
        if arrived is not None and started is not None and started >= arrived:
            h = (10 * (started - arrived) + 3) // 6
            wait = h / 100 if h % 100 else h // 100
        if scheduled is not None and started is not None:
            h = (10 * (started - scheduled) + 3) // 6
            slip = h / 100 if h % 100 else h // 100
        if completed is not None and final is not None and final >= completed:
            h = (10 * (final - completed) + 3) // 6
            report = h / 100 if h % 100 else h // 100
        flags = flags_of(times)
        values = (acc, uid, modality, station, room, patient, *times, ws, we, day, hour,
                  weekday, month, wait, slip, report, flags, source)
        text = (head % (enc(acc), "null" if uid is None else enc(uid),
                        "null" if modality is None else enc(modality),
                        "null" if station is None else enc(station),
                        "null" if room is None else enc(room),
                        "null" if patient is None else enc(patient))
                + (middle % values[6:26]).replace('"None"', "null").replace("None", "null")
                + tail % ("null" if source is None else enc(source)))
        return (*values, prefix + mac(text.encode("utf-8")))

    return build


_first = itemgetter(0)


def _kind(column: sa.Column[Any]) -> str:
    if isinstance(column.type, sa.String):
        return "text"
    if isinstance(column.type, (sa.Float, sa.Numeric)):
        return "float"
    return "int"


def _escape(text: str) -> str:
    return text.replace("%", "%%")


#: a stored row (:data:`BUILT_COLUMNS` and the seal) -> its :data:`ExamRow`, with the patient
#: hash in place of the id (as :meth:`ImagingBulk._stored` gives stored rows)
_RAW_AT = (*range(6), BUILT_COLUMNS.index("source"), *range(6, 16))
_raw_of: Callable[[tuple[Any, ...]], ExamRow] = itemgetter(*_RAW_AT)


class ExamRowPreparer:
    """Parsed :data:`ExamRow` -> the stored row (the patient id replaced by its keyed hash,
    the derived values, the seal), as :meth:`ImagingBulk.add_exam_rows` builds it. It can
    be pickled, so that an import's worker processes prepare rows while the store writes
    (``correlation.import_workers``); it then carries the table's seal key and the patient
    hash key to the worker (a child process of the same user, over a local pipe) and builds
    its row function there."""

    def __init__(self, table: str, key_id: str, key: bytes, hasher: PatientHasher,
                 tz: ZoneInfo) -> None:
        self.table, self.key_id, self.key, self.hasher, self.tz = (
            table, key_id, key, hasher, tz)
        self._build: Callable[[ExamRow], tuple[Any, ...]] | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_build": None}

    def __call__(self, row: ExamRow) -> tuple[Any, ...]:
        build = self._build
        if build is None:
            build = _builder(self.table, self.key_id, self.key, LocalClock(self.tz),
                             self.hasher.fast())
            assert build is not None  # checked by ImagingBulk.exam_row_preparer
            self._build = build
        return build(row)


class ImagingBulk(ImagingWrites):
    """:meth:`add_exam_rows`: exams from files, merged and sealed, in bulk."""

    #: rows per batch (per transaction outside a SQLite bulk load)
    bulk_batch = 20_000

    def _plan(self) -> _Plan | None:
        """The table's plan, or None when the table has columns this module does not build
        (a newer schema): rows then go through :meth:`add_exams`."""
        if {c.name for c in self.exams.columns} != {*BUILT_COLUMNS, "seal"}:
            return None
        ring = self.store.key_ring
        key_id = ring.current_id
        return _Plan(self.exams, key_id, ring.derived(key_id, PURPOSE, "a row seal"))

    def add_exam_rows(self, rows: Iterable[ExamRow], *, expected: int | None = None) -> int:
        """Store or merge exam rows (a file import); returns how many rows were given.
        ``expected``: about how many rows will come (picks a SQLite bulk load)."""
        plan = self._plan()
        if plan is None:
            count = 0

            def records() -> Iterable[Any]:
                nonlocal count
                for r in rows:
                    count += 1
                    yield record_of(r, self.tz)

            self.add_exams(records())
            return count
        local = LocalClock(self.tz)
        return self._load(_chunks(rows, self.bulk_batch), expected,
                          lambda conn, batch: self._write_batch(conn, batch, plan, local))

    def exam_row_preparer(self) -> ExamRowPreparer | None:
        """What :meth:`add_prepared_exam_rows` takes rows from, to run in other processes;
        None when this table's rows are not built that way (a newer schema)."""
        plan = self._plan()
        if plan is None or _row_builder(plan, LocalClock(self.tz), None) is None:
            return None
        return ExamRowPreparer(plan.table, plan.key_id, plan.key, self.hasher, self.tz)

    def add_prepared_exam_rows(self, batches: Iterable[Sequence[tuple[Any, ...]]], *,
                               expected: int | None = None) -> int:
        """:meth:`add_exam_rows` of rows already prepared by :meth:`exam_row_preparer`
        (hashed, derived and sealed), in the batches given: the same merges (an accession
        twice, or already stored, is merged from its values and sealed again), the same
        transactions."""
        plan = self._plan()
        build = None if plan is None else _row_builder(plan, LocalClock(self.tz), None)
        if plan is None or build is None:
            raise ValueError("the exam table's columns changed since the rows were prepared")
        return self._load(batches, expected,
                          lambda conn, batch: self._write_prepared(conn, batch, plan, build))

    def _load(self, batches: Iterable[Sequence[Any]], expected: int | None,
              write: Callable[[Connection, Sequence[Any]], None]) -> int:
        """Write ``batches`` with ``write`` (in the caller's order): a SQLite bulk load, or
        a transaction per batch, done again on a unique-key conflict (another writer)."""
        if self.store.dialect == "sqlite":
            return self._load_sqlite(batches, expected, write)
        dbapi = self.store.engine.dialect.dbapi
        conflict = (sa.exc.IntegrityError, *((dbapi.IntegrityError,) if dbapi else ()))
        n = 0
        for batch in batches:
            for attempt in range(_ATTEMPTS):
                try:
                    with self.store.write() as conn:
                        write(conn, batch)
                    break
                except conflict:  # another writer stored one of the exams meanwhile
                    if attempt == _ATTEMPTS - 1:
                        raise
            n += len(batch)
        return n

    # -- SQLite -----------------------------------------------------------------------------

    def _load_sqlite(self, batches: Iterable[Sequence[Any]], expected: int | None,
                     write: Callable[[Connection, Sequence[Any]], None]) -> int:
        e = self.exams
        with self.store.read() as conn:
            stored = int(conn.execute(sa.select(sa.func.count()).select_from(e)).scalar_one())
        n = 0
        if expected is not None and expected >= BULK_MIN_ROWS and stored <= 2 * expected:
            with self.store.write() as conn, _sqlite_cache(conn):
                indexes = conn.exec_driver_sql(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
                    "AND sql IS NOT NULL", (e.name,)).all()
                prep = conn.dialect.identifier_preparer
                for name, _sql in indexes:
                    conn.exec_driver_sql(f"DROP INDEX {prep.quote(name)}")
                for batch in batches:
                    write(conn, batch)
                    n += len(batch)
                for _name, sql in indexes:
                    conn.exec_driver_sql(sql)
            return n
        for batch in batches:
            with self.store.write() as conn, _sqlite_cache(conn):
                write(conn, batch)
            n += len(batch)
        return n

    # -- one batch, in the caller's transaction ---------------------------------------------

    def _write_batch(self, conn: Connection, batch: Sequence[ExamRow], plan: _Plan,
                     local: LocalClock) -> None:
        build = _row_builder(plan, local, None)
        hash_id = self.hasher.hash
        merged: dict[str, ExamRow] = dict(zip(map(_first, batch), batch, strict=True))
        if len(merged) < len(batch):  # an accession twice in the batch: the later wins
            merged = {}
            for r in batch:
                old = merged.get(r[0])
                merged[r[0]] = r if old is None else merge_rows(old, r)
        stored = self._stored(conn, list(merged))
        if stored:
            for acc, old in stored.items():
                r = merged[acc]
                if r[5] is not None:
                    r = (*r[:5], hash_id(r[5]), *r[6:])
                merged[acc] = merge_rows(old, r)
            self._delete(conn, stored)
        hashed = _row_builder(plan, local, self._patient_hash()) if build is not None else None
        if build is None or hashed is None:
            rows = [self._built(r if acc in stored or r[5] is None
                                else (*r[:5], hash_id(r[5]), *r[6:]), plan, local)
                    for acc, r in merged.items()]
        elif stored:
            rows = [build(r) if acc in stored else hashed(r) for acc, r in merged.items()]
        else:
            rows = list(map(hashed, merged.values()))
        self._insert(conn, rows, plan)

    def _write_prepared(self, conn: Connection, batch: Sequence[tuple[Any, ...]], plan: _Plan,
                        build: Callable[[ExamRow], tuple[Any, ...]]) -> None:
        """One batch of prepared rows (:class:`ExamRowPreparer`): merged as
        :meth:`_write_batch` merges, from the values the rows carry (the patient's hash in
        place of the id, as stored rows have it)."""
        merged: dict[str, tuple[Any, ...]] = dict(zip(map(_first, batch), batch, strict=True))
        if len(merged) < len(batch):  # an accession twice in the batch: the later wins
            merged = {}
            for r in batch:
                old = merged.get(r[0])
                merged[r[0]] = r if old is None else build(merge_rows(_raw_of(old), _raw_of(r)))
        stored = self._stored(conn, list(merged))
        if stored:
            for acc, old_row in stored.items():
                merged[acc] = build(merge_rows(old_row, _raw_of(merged[acc])))
            self._delete(conn, stored)
        self._insert(conn, list(merged.values()), plan)

    def _delete(self, conn: Connection, accessions: Iterable[str]) -> None:
        """Delete the stored rows of ``accessions`` (their merged rows are inserted next)."""
        e = self.exams
        for keys in _chunks(accessions, 1000):
            conn.execute(sa.delete(e).where(e.c.accession_number.in_(keys)))

    def _patient_hash(self) -> Callable[[str], str]:
        return self.hasher.fast()

    def _built(self, r: ExamRow, plan: _Plan, local: LocalClock) -> tuple[Any, ...]:
        times = r[T0:]
        values = (r[0], r[1], r[2], r[3], r[4], r[5], *times, *derive(times, local), r[6])
        if plan.reorder is not None:
            values = plan.reorder(values)
        return (*values, plan.seal(values))

    def _stored(self, conn: Connection, keys: list[str]) -> dict[str, ExamRow]:
        """The stored rows of ``keys`` as rows (patient hash in place of the id), locked for
        update on PostgreSQL and MariaDB."""
        e = self.exams
        cols = [e.c[c] for c in RAW_COLUMNS]
        out: dict[str, ExamRow] = {}
        if self.store.dialect == "sqlite":  # one query per batch, the keys as one JSON text
            prep = conn.dialect.identifier_preparer
            rows: Iterable[Any] = conn.exec_driver_sql(
                f"SELECT {', '.join(prep.quote(c) for c in RAW_COLUMNS)} FROM "
                f"{prep.format_table(e)} WHERE accession_number IN "
                "(SELECT value FROM json_each(?))", (json.dumps(keys, ensure_ascii=False),))
        else:
            if self.store.dialect == "postgresql":
                # by the primary key, also while a load into a new table grows it faster than
                # its statistics (planned as a sequential scan, each batch took seconds)
                conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            rows = [r for chunk in _chunks(keys, 1000) for r in conn.execute(
                sa.select(*cols).where(e.c.accession_number.in_(chunk)).with_for_update())]
        for r in rows:
            out[r[0]] = tuple(r)
        return out

    def _insert(self, conn: Connection, rows: list[tuple[Any, ...]], plan: _Plan) -> None:
        if not rows:
            return
        table = conn.dialect.identifier_preparer.format_table(self.exams)
        names = ", ".join(conn.dialect.identifier_preparer.quote(c) for c in plan.columns)
        dbapi = conn.connection.driver_connection
        assert dbapi is not None
        if self.store.dialect == "postgresql":
            with dbapi.cursor() as cur, cur.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        mark = "?" if self.store.dialect == "sqlite" else "%s"
        cursor = dbapi.cursor()
        try:
            cursor.executemany(f"INSERT INTO {table} ({names}) VALUES "
                               f"({', '.join([mark] * len(plan.columns))})", rows)
        finally:
            cursor.close()


@contextmanager
def _sqlite_cache(conn: Connection) -> Iterator[None]:
    """A large page cache on a SQLite connection while it loads, the previous size after."""
    if conn.dialect.name != "sqlite":
        yield
        return
    before = int(conn.exec_driver_sql("PRAGMA cache_size").scalar() or -2000)
    conn.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_LOAD_CACHE_KIB}")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size={before}")

"""Tamper evidence for what the adapter keeps as evidence: the raw MPPS messages and the record
of DICOM files that left the hospital. Each is a hash chain:

* a row's ``hash`` is SHA-256 over its stored columns (``tables.MPPS_HASHED`` /
  ``tables.DISCLOSURE_HASHED``: the id, the readable columns and the ciphertext exactly as
  stored) and ``prev_hash``, the hash of the row before it (64 zeros for the first);
* ``<prefix>dicom_chain_head`` keeps, per chain, the last row's id and hash. A writer locks
  that row (``SELECT ... FOR UPDATE``; SQLite's write transactions are exclusive) before it
  reads the chain's end, so concurrent writers append one after the other.

The hash covers the ciphertext, so no key is needed to check it. Someone able to rewrite
every row, the head, and recompute every hash can forge a consistent chain: keep a copy of
the head (``audit verify`` output) where they cannot write.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from .tables import DISCLOSURE_HASHED, HEAD_DISCLOSURES, HEAD_MPPS, MPPS_HASHED, tables

if TYPE_CHECKING:
    from hospital_complaints.plugin_api import SqlStore

GENESIS = "0" * 64
MAX_PROBLEMS = 1000


def chain_hash(values: Sequence[Any], prev_hash: str) -> str:
    """SHA-256 (hex) over ``values`` and ``prev_hash``: each value written as its length, a
    colon and its text (an integer as decimal text; ``None`` as ``-``), so no two rows hash
    the same text."""
    h = hashlib.sha256()
    for v in values:
        if v is None:
            h.update(b"-;")
            continue
        text = v if isinstance(v, str) else str(int(v))
        data = text.encode("utf-8")
        h.update(b"%d:" % len(data))
        h.update(data)
        h.update(b";")
    h.update(prev_hash.encode("ascii"))
    return h.hexdigest()


class Appender:
    """Appends rows to a chained table inside the caller's write transaction."""

    def __init__(self, conn: sa.Connection, head: sa.Table, head_id: int) -> None:
        self.conn = conn
        self.head = head
        self.head_id = head_id
        top = conn.execute(sa.select(head.c.last_id, head.c.hash)
                           .where(head.c.id == head_id).with_for_update()).first()
        if top is None:
            raise RuntimeError(f"{head.name} has no row {head_id}: the adapter's tables were "
                               "not migrated or were tampered with; nothing was stored")
        self.last_id = int(top.last_id)
        self.prev_hash = str(top.hash)

    def next_id(self) -> int:
        return self.last_id + 1

    def chain(self, values: Sequence[Any]) -> tuple[str, str]:
        """``(prev_hash, hash)`` of the row whose hashed values are ``values`` (its id is
        :meth:`next_id`); moves the chain's end to it."""
        prev = self.prev_hash
        digest = chain_hash(values, prev)
        self.last_id += 1
        self.prev_hash = digest
        return prev, digest

    def finish(self) -> None:
        self.conn.execute(sa.update(self.head).where(self.head.c.id == self.head_id)
                          .values(last_id=self.last_id, hash=self.prev_hash))


def _rows(conn: sa.Connection, table: sa.Table,
          page: int = 1000) -> Iterator[Mapping[Any, Any]]:
    last = 0
    while True:
        rows = [r._mapping for r in conn.execute(
            sa.select(table).where(table.c.id > last).order_by(table.c.id).limit(page))]
        if not rows:
            return
        yield from rows
        last = int(rows[-1]["id"])


def check_chain(store: SqlStore, table: sa.Table, hashed: Sequence[str], head: sa.Table,
                head_id: int) -> list[str]:
    """Problems of one chain, one line each, naming the table and the row id (never a
    value): a row changed, a row deleted or rows reordered, the last rows deleted."""
    problems: list[str] = []
    more = 0
    name = table.name

    def bad(line: str) -> None:
        nonlocal more
        if len(problems) < MAX_PROBLEMS:
            problems.append(line)
        else:
            more += 1

    with store.read() as conn:
        if not sa.inspect(conn).has_table(table.name, schema=store.schema):
            return []
        prev_hash, prev_id = GENESIS, 0
        for row in _rows(conn, table):
            row_id = int(row["id"])
            if row["prev_hash"] != prev_hash:
                after = f"row {prev_id}" if prev_id else "the start of the table"
                bad(f"{name} row {row_id}: does not chain to {after}: a row between them was "
                    "deleted or changed, or rows were reordered")
            if chain_hash([row[c] for c in hashed], row["prev_hash"]) != row["hash"]:
                bad(f"{name} row {row_id}: its content does not match its hash: the row was "
                    "modified")
            prev_hash, prev_id = row["hash"], row_id
        top = conn.execute(sa.select(head.c.last_id, head.c.hash)
                           .where(head.c.id == head_id)).first()
    if top is None:
        bad(f"{head.name}: the chain head row {head_id} is missing")
    elif int(top.last_id) != prev_id or top.hash != prev_hash:
        bad(f"{head.name}: the head says the chain ends at {name} row {top.last_id}, the "
            f"table's chain ends at row {prev_id}: the last rows were deleted, or the head "
            "was altered")
    if more:
        problems.append(f"{name}: {more} more problems not listed")
    return problems


class MppsChainCheck:
    """``audit verify``: the hash chain over the received MPPS messages."""

    id = "dicom:mpps"
    description = ("hash chain over the received MPPS messages (dicom_mpps_messages): "
                   "modified, deleted or reordered rows")

    def check(self, store: SqlStore) -> list[str]:
        t = tables(store.prefix, store.schema)
        return check_chain(store, t.messages, MPPS_HASHED, t.head, HEAD_MPPS)


class DisclosureChainCheck:
    """``audit verify``: the hash chain over the record of DICOM files that left."""

    id = "dicom:disclosures"
    description = ("hash chain over the record of de-identified DICOM files shared "
                   "(dicom_disclosures)")

    def check(self, store: SqlStore) -> list[str]:
        t = tables(store.prefix, store.schema)
        return check_chain(store, t.disclosures, DISCLOSURE_HASHED, t.head, HEAD_DISCLOSURES)


class EncryptedRows:
    """``keys status``: which key encrypts the adapter's rows. They stay under the key they
    were written with (their hash chain covers the ciphertext); keep such a key in the ring
    for as long as the rows are kept."""

    def __init__(self, which: str) -> None:
        self.which = which
        self.id = f"dicom:{which}"
        self.description = {"mpps": "raw MPPS messages (kept under their key)",
                            "disclosures": "records of shared DICOM files (kept under their "
                                           "key)"}[which]

    def _table(self, store: SqlStore) -> sa.Table:
        t = tables(store.prefix, store.schema)
        return t.messages if self.which == "mpps" else t.disclosures

    def key_ids(self, store: SqlStore) -> dict[str, int]:
        table = self._table(store)
        with store.read() as conn:
            if not sa.inspect(conn).has_table(table.name, schema=store.schema):
                return {}
            return {str(k): int(n) for k, n in conn.execute(
                sa.select(table.c.key_id, sa.func.count()).group_by(table.c.key_id))}

    def rotate(self, store: SqlStore) -> int:
        return 0

"""Tamper evidence for the received messages: a hash chain over ``<prefix>hl7_messages``.

Raw HL7 messages are evidence (what the RIS said, and when), so a changed, deleted or
reordered row must show. Each row carries

* ``hash`` = SHA-256 over every stored column of the row (:data:`HASHED`: the id, the
  readable columns, ``disposition`` and ``error``, and the encrypted ``raw`` and ``events``
  exactly as stored) and ``prev_hash``;
* ``prev_hash`` = the ``hash`` of the row before it (by id), :data:`GENESIS` for the first.

The table ``<prefix>hl7_chain_head`` holds one row (id 1): the id and hash of the last row.
Writers lock that row (``SELECT ... FOR UPDATE``; SQLite's write transactions are exclusive)
before they read the chain's end, so concurrent writers on PostgreSQL or MariaDB append one
after the other, and the ids they give their rows follow the chain.

The hash covers the ciphertext, not the plaintext: no key is needed to compute or check it
(the migration that introduced the chain hashed the rows already stored), and a key rotation
that re-encrypted rows would have to rebuild the chain. Someone who can rewrite every row and
the head and recompute every hash can forge a consistent table: keep a copy of the head
(``hospital-complaints audit verify`` prints the checks) where they cannot write to detect
that too.

:class:`MessageChainCheck` is the ``IntegrityCheck`` the plugin registers
(``hc_register_integrity_checks``); ``audit verify`` runs it.
"""

from __future__ import annotations

import hashlib
import operator
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

if TYPE_CHECKING:
    from hospital_complaints.plugin_api import SqlStore

GENESIS = "0" * 64
#: the columns a row's hash covers, in this order (with ``prev_hash`` last). A stored format:
#: never change it (the migration ``hl7v2_0003`` and every chain written since depend on it).
HASHED = ("id", "received_at", "sender", "control_id", "message_type", "disposition", "error",
          "event_count", "applied_key", "key_id", "raw", "events", "raw_length")
HEAD_TABLE = "hl7_chain_head"
#: the most problems one check reports (then a line saying how many more there are)
MAX_PROBLEMS = 1000


def row_hash(row: Mapping[Any, Any], prev_hash: str) -> str:
    """The hash of one row (a mapping with every name of :data:`HASHED`) chained to
    ``prev_hash``: see :func:`values_hash`."""
    return values_hash(_HASHED_VALUES(row), prev_hash)


def values_hash(values: Sequence[Any], prev_hash: str) -> str:
    """SHA-256 (hex) of ``len|value|len|value|...|prev_hash`` over ``values`` (those of
    :data:`HASHED`, in its order), UTF-8, where NULL is ``~|`` (no value) and an integer is
    its decimal text. Unambiguous whatever the values hold (each length says where its
    value ends), and cheap on the import path (one join, one hash)."""
    parts: list[str] = []
    append = parts.append
    for value in values:
        if value is None:
            append("~")
            append("")
        else:
            if value.__class__ is not str:
                value = str(int(value))
            append(str(len(value)))
            append(value)
    append(prev_hash)
    return hashlib.sha256("|".join(parts).encode("utf-8")).hexdigest()


_HASHED_VALUES = operator.itemgetter(*HASHED)


def head_table(metadata: sa.MetaData, prefix: str, schema: str | None) -> sa.Table:
    """``<prefix>hl7_chain_head``: one row, id 1, the last chained row's id and hash."""
    return sa.Table(
        f"{prefix}{HEAD_TABLE}", metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("last_id", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        schema=schema,
    )


def rows_by_id(conn: sa.Connection, table: sa.Table,
               page: int = 1000) -> Iterator[Mapping[Any, Any]]:
    """Every row of ``table``, by id, a page at a time (the table may be large)."""
    last: int | None = None
    while True:
        query = sa.select(table).order_by(table.c.id).limit(page)
        if last is not None:
            query = query.where(table.c.id > last)
        rows = [r._mapping for r in conn.execute(query)]
        if not rows:
            return
        yield from rows
        last = int(rows[-1]["id"])


class MessageChainCheck:
    """Checks the hash chain of ``<prefix>hl7_messages``: a modified row (any column,
    ``disposition`` and ``error`` included), a deleted row (the next row no longer chains;
    the last rows: the head no longer matches), reordered rows (the id is hashed) and rows
    written around the chain (no hash). Each problem is one line naming the table and the
    row id, never a value of the row."""

    id = "hl7v2:messages"
    description = ("hash chain over the received HL7 v2 messages (hl7_messages): "
                   "modified, deleted or reordered rows")

    def check(self, store: SqlStore) -> list[str]:
        from .sink import _table

        metadata = sa.MetaData()
        table = _table(metadata, store.prefix, store.schema)
        head = head_table(metadata, store.prefix, store.schema)
        name = table.name
        with store.read() as conn:
            inspector = sa.inspect(conn)
            if not inspector.has_table(table.name, schema=store.schema):
                return []  # nothing received yet: nothing to check
            if not inspector.has_table(head.name, schema=store.schema):
                return [f"{name}: no hash chain yet (the adapter's migration hl7v2_0003 was "
                        "not applied; open the database with hospital-complaints first)"]
            problems: list[str] = []
            more = 0

            def bad(line: str) -> None:
                nonlocal more
                if len(problems) < MAX_PROBLEMS:
                    problems.append(line)
                else:
                    more += 1

            prev_hash, prev_id = GENESIS, 0
            for row in rows_by_id(conn, table):
                row_id = int(row["id"])
                if row["hash"] is None:
                    bad(f"{name} row {row_id}: has no hash: it was written around the chain")
                    continue
                if row["prev_hash"] != prev_hash:
                    after = f"row {prev_id}" if prev_id else "the start of the table"
                    bad(f"{name} row {row_id}: does not chain to {after}: a row between "
                        "them was deleted or changed, or rows were reordered")
                if row_hash(row, row["prev_hash"] or "") != row["hash"]:
                    bad(f"{name} row {row_id}: its content does not match its hash: the row "
                        "was modified")
                prev_hash, prev_id = row["hash"], row_id
            top = conn.execute(sa.select(head.c.last_id, head.c.hash)
                               .where(head.c.id == 1)).first()
        if top is None:
            bad(f"{head.name}: the chain head row is missing")
        elif int(top.last_id) != prev_id or top.hash != prev_hash:
            bad(f"{head.name}: the head says the chain ends at {name} row {top.last_id}, "
                f"the table's chain ends at row {prev_id}: the last rows were deleted, or "
                "the head was altered")
        if more:
            problems.append(f"{name}: {more} more problems not listed")
        return problems


class MessageKeys:
    """The raw messages' encryption keys, for ``hospital-complaints keys status``
    (``hc_register_encrypted_data``). Rotation leaves these rows under the key they were
    stored with: their hash chain covers the ciphertext, so re-encrypting them would mean
    re-writing the chain, which is exactly what the chain must make visible. Keep such a key
    in the ring (after the current one) for as long as the messages are kept."""

    id = "hl7v2:messages"
    description = "raw HL7 v2 messages (kept under their key; see docs/hl7v2.md)"

    def key_ids(self, store: SqlStore) -> dict[str, int]:
        from .sink import _table

        table = _table(sa.MetaData(), store.prefix, store.schema)
        with store.read() as conn:
            if not sa.inspect(conn).has_table(table.name, schema=store.schema):
                return {}
            return {str(k): int(n) for k, n in conn.execute(
                sa.select(table.c.key_id, sa.func.count()).group_by(table.c.key_id))}

    def rotate(self, store: SqlStore) -> int:
        return 0

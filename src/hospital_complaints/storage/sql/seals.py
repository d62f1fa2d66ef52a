"""Seals on imaging evidence rows (exams, equipment faults, roster shifts).

These rows are evidence in a complaint (how long the patient waited, whether the CT was
down), but they are a merged projection of several feeds, not an append-only log, so they
cannot be hash-chained like events. Instead each row carries a seal: ``<key id>:<hex>``, an
HMAC-SHA256 over every stored value of the row (in column order, typed), keyed by a sub-key
of the encryption key ring. Somebody who edits a row with SQL but does not hold the key cannot
make a valid seal, and ``audit verify`` names the row.

What a seal does not show: a row deleted outright (the evidence pack then lacks that exam;
an HL7-fed exam can be rebuilt from its raw messages, which are hash-chained), and edits by
somebody who holds the key. Rows written before migration 0005 have no seal; ``audit verify``
counts them and ``hospital-complaints keys rotate`` seals them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ..keys import EncryptionKeyError, KeyRing

if TYPE_CHECKING:
    from .uow import SqlStore

PURPOSE = b"row-seal"


def _value(v: Any) -> Any:
    """One stored value in a form every database gives back the same way."""
    if v is None or isinstance(v, str):
        return v
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, (int, float)):
        return v
    return str(v)


@dataclass
class Sealer:
    """Seals and checks rows of one table under the key ring's current key."""

    key_ring: KeyRing
    _keys: dict[str, bytes] = field(default_factory=dict, repr=False)

    def _key(self, key_id: str) -> bytes:
        key = self._keys.get(key_id)
        if key is None:
            key = self._keys[key_id] = self.key_ring.derived(key_id, PURPOSE, "a row seal")
        return key

    def _mac(self, key_id: str, table: str, columns: Sequence[str],
             row: Mapping[str, Any]) -> str:
        text = json.dumps([table, [[c, _value(row.get(c))] for c in columns]],
                          ensure_ascii=False, separators=(",", ":"))
        return hmac.new(self._key(key_id), text.encode("utf-8"), hashlib.sha256).hexdigest()

    def seal(self, table: str, columns: Sequence[str], row: Mapping[str, Any]) -> str:
        key_id = self.key_ring.current_id
        return f"{key_id}:{self._mac(key_id, table, columns, row)}"

    def check(self, table: str, columns: Sequence[str], row: Mapping[str, Any]) -> str | None:
        """``None`` if the seal is right; otherwise why not (``"unsealed"`` for a row from
        before migration 0005)."""
        seal = row.get("seal")
        if not seal:
            return "unsealed"
        key_id, _, mac = str(seal).partition(":")
        try:
            want = self._mac(key_id, table, columns, row)
        except EncryptionKeyError:
            return f"sealed with key id {key_id}, which is not in the key ring"
        if not hmac.compare_digest(want, mac):
            return "the row does not match its seal: it was changed without the key"
        return None


def sealed_columns(table: sa.Table) -> list[str]:
    return [c.name for c in table.columns if c.name != "seal"]


@dataclass
class SealReport:
    problems: list[str] = field(default_factory=list)
    unsealed: dict[str, int] = field(default_factory=dict)
    checked: int = 0


def _id_of(table: sa.Table, row: Mapping[str, Any]) -> str:
    key = [c.name for c in table.primary_key.columns]
    return ", ".join(f"{k} {row[k]}" for k in key)


def evidence_tables(store: SqlStore) -> list[sa.Table]:
    t = store.tables
    return [x for x in (t.exams, t.faults, t.shifts) if x is not None]


def verify_seals(store: SqlStore, batch: int = 5000) -> SealReport:
    """Check the seal of every exam, fault and roster row."""
    sealer = Sealer(store.key_ring)
    report = SealReport()
    for table in evidence_tables(store):
        columns = sealed_columns(table)
        for row in _rows(store, table, batch):
            report.checked += 1
            why = sealer.check(table.name, columns, row)
            if why == "unsealed":
                report.unsealed[table.name] = report.unsealed.get(table.name, 0) + 1
            elif why is not None:
                report.problems.append(f"{table.name}: {_id_of(table, row)}: {why}")
    return report


def _rows(store: SqlStore, table: sa.Table, batch: int) -> Iterator[dict[str, Any]]:
    key = list(table.primary_key.columns)
    last: tuple[Any, ...] | None = None
    while True:
        query = sa.select(table).order_by(*key).limit(batch)
        if last is not None:
            query = query.where(sa.tuple_(*key) > sa.tuple_(*last))
        with store.read() as conn:
            rows = [dict(r._mapping) for r in conn.execute(query)]
        if not rows:
            return
        yield from rows
        last = tuple(rows[-1][c.name] for c in key)


def reseal(store: SqlStore, batch: int = 2000) -> int:
    """Seal every evidence row not sealed under the current key (rows from before 0005, or
    sealed under an older key whose seal is still valid). A row whose seal is wrong is left
    alone (sealing it would hide the tampering); returns how many rows were sealed."""
    sealer = Sealer(store.key_ring)
    current = store.key_ring.current_id
    changed = 0
    for table in evidence_tables(store):
        columns = sealed_columns(table)
        key = list(table.primary_key.columns)
        todo = []
        for row in _rows(store, table, batch):
            seal = row.get("seal")
            if seal and str(seal).startswith(current + ":"):
                continue
            if seal and sealer.check(table.name, columns, row) is not None:
                continue
            todo.append(row)
            if len(todo) >= batch:
                changed += _write_seals(store, table, key, columns, sealer, todo)
                todo = []
        changed += _write_seals(store, table, key, columns, sealer, todo)
    return changed


def _write_seals(store: SqlStore, table: sa.Table, key: list[sa.Column[Any]],
                 columns: list[str], sealer: Sealer, rows: list[dict[str, Any]]) -> int:
    if not rows:
        return 0
    with store.write() as conn:
        for row in rows:
            where = sa.and_(*(c == row[c.name] for c in key))
            conn.execute(sa.update(table).where(where).values(
                seal=sealer.seal(table.name, columns, row)))
    return len(rows)

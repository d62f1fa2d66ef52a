"""``audit verify`` for the event log: both hash chains, the chain head, the personal data,
and the cases listing rebuilt from the events (:func:`verify_chain`). See chain.py for what the
hashes cover and docs/security.md for what they cannot show."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from .chain import global_hash, row_hash
from .crypto import has_markers
from .errors import EncryptionKeyError
from .tables import GENESIS
from .uow import SqlStore, SqlUnitOfWork


@dataclass(frozen=True)
class Problem:
    """One thing wrong in the log. ``complaint_ref``/``seq``/``global_seq`` name the row."""

    table: str
    complaint_ref: str | None
    seq: int | None
    global_seq: int | None
    detail: str

    def __str__(self) -> str:
        return (f"{self.table}: complaint {self.complaint_ref} seq {self.seq} "
                f"(global seq {self.global_seq}): {self.detail}")


def verify_chain(store: SqlStore, *, decrypt: bool = True) -> list[Problem]:
    """Every problem in the event log, first bad row first; ``[]`` means the log is intact.

    Detects modified rows (hash mismatch), deleted rows (gaps in seq or global seq, a case whose
    version does not match its events, a head that points past the last row) and reordered rows.
    With ``decrypt`` the personal data of every row is also decrypted and checked.
    """
    t = store.tables
    name = t.events.name
    problems: list[Problem] = []
    with store.read() as conn:
        rows = [dict(r._mapping) for r in conn.execute(
            sa.select(t.events).order_by(t.events.c.global_seq))]
        head = conn.execute(sa.select(t.chain_head).where(t.chain_head.c.id == 1)).first()
        listing = {r.reference: dict(r._mapping) for r in conn.execute(sa.select(t.cases))}
        versions = {ref: r["version"] for ref, r in listing.items()}

    last_of: dict[str, tuple[int, str]] = {}
    prev_global = GENESIS
    expected_global = 1
    for row in rows:
        ref, seq, gseq = row["complaint_ref"], row["seq"], row["global_seq"]

        def bad(detail: str, ref: str = ref, seq: int = seq, gseq: int = gseq) -> None:
            problems.append(Problem(name, ref, seq, gseq, detail))

        if gseq != expected_global:
            bad(f"global seq {gseq} follows {expected_global - 1}: rows are missing or "
                "reordered")
        prev_seq, prev_hash = last_of.get(ref, (0, GENESIS))
        if seq != prev_seq + 1:
            bad(f"seq {seq} follows seq {prev_seq} of the same complaint: events are missing "
                "or reordered")
        if row["prev_hash"] != prev_hash:
            bad("prev_hash does not match the previous event of this complaint")
        if row_hash(row, row["prev_hash"]) != row["hash"]:
            bad("row content does not match its hash: the row was modified")
        if global_hash(row["hash"], prev_global) != row["global_hash"]:
            bad("global hash does not chain to the previous row")
        if decrypt:
            _check_personal(store, row, bad)
        last_of[ref] = (seq, row["hash"])
        prev_global = row["global_hash"]
        expected_global = gseq + 1

    if head is None:
        problems.append(Problem(t.chain_head.name, None, None, None, "chain head row missing"))
    elif head.global_seq != expected_global - 1 or head.hash != prev_global:
        problems.append(Problem(
            t.chain_head.name, None, None, head.global_seq,
            f"chain head says global seq {head.global_seq}, the log ends at "
            f"{expected_global - 1}: the last rows were deleted or the head was altered"))
    for ref, version in sorted(versions.items()):
        have = last_of.get(ref, (0, ""))[0]
        if have != version:
            problems.append(Problem(t.cases.name, ref, have, None,
                                    f"case row says version {version}, the log has {have} "
                                    "events: events were deleted"))
    if decrypt:
        problems += verify_listing(store, rows, listing, last_of)
    problems.sort(key=lambda p: (p.global_seq is None, p.global_seq or 0))
    return problems


#: listing columns that ``audit verify`` recomputes from the events
LISTING_COLUMNS = ("state", "department", "owner", "received_at", "updated_at", "kind",
                   "channel", "categories", "department_key", "received_s", "summary")


def verify_listing(store: SqlStore, rows: list[dict[str, Any]],
                   listing: dict[str, dict[str, Any]],
                   last_of: dict[str, tuple[int, str]]) -> list[Problem]:
    """Rebuild every case from its events and compare it with its row of the ``cases``
    listing table (which ``list``, filters and the SLA sweep read): a state, department or
    date changed with SQL, a case row without events, or events without a case row."""
    from ...domain.workflow import rebuild

    name = store.tables.cases.name
    problems: list[Problem] = []
    by_ref: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_ref.setdefault(row["complaint_ref"], []).append(row)
    for ref in sorted(set(by_ref) - set(listing)):
        problems.append(Problem(name, ref, None, None, "the log has events of this case but "
                                "the cases table has no row for it: the row was deleted"))
    for ref, row in sorted(listing.items()):
        events = by_ref.get(ref)
        if not events:
            problems.append(Problem(name, ref, None, None, "case row without any event"))
            continue
        try:
            case = rebuild([store.event_from_row(r) for r in events])
        except Exception as exc:  # a damaged log: reported above row by row
            problems.append(Problem(name, ref, None, None, "the case cannot be rebuilt from "
                                    f"its events ({type(exc).__name__})"))
            continue
        want = SqlUnitOfWork.case_columns(case)
        for column in LISTING_COLUMNS:
            if row[column] != want[column]:
                problems.append(Problem(
                    name, ref, case.version, None,
                    f"listing column {column!r} is {_short(row[column])} but the events say "
                    f"{_short(want[column])}: the cases table was edited"))
        if ref in last_of and row["head_hash"] != last_of[ref][1]:
            problems.append(Problem(name, ref, case.version, None, "head_hash does not match "
                                    "the case's last event"))
    return problems


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _check_personal(store: SqlStore, row: dict[str, Any], bad: Any) -> None:
    payload = json.loads(row["payload"])
    if row["personal"] is None:
        if has_markers(payload):
            bad("personal data referenced by the payload is missing")
        return
    try:
        store.decrypt_row(row)
    except EncryptionKeyError as exc:
        bad(f"personal data does not decrypt: {exc.en}")

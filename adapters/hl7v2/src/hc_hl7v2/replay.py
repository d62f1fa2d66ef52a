"""``hl7 replay``: read the stored raw messages again (after a sender profile was fixed) and
apply what they give now, without a resend from the RIS and without applying anything twice.

- Every stored message (optionally of one sender, received since a date) is extracted again
  with today's options and profiles. Rows of duplicates are skipped (the message they repeat
  is replayed), and so is a rejected message that a later corrected one with the same sender
  and MSH-10 replaced; so are frames stored only in part (over the listener's limit).
- What a message gives now is compared with what is applied for it: the events of its row,
  or of its newest replay. The same events: nothing is written. Other events (or the message
  is usable now, or no longer): one row in ``<prefix>hl7_replays`` records them.
- The exam rows of the accession numbers those messages touch (before and now) are merged
  again, in the order the messages were received, from the first message that changed on
  (every sender): the core's merge lets the newer message win per field, so a replayed old
  message does not overwrite what a later one said. The replay rows and the exam rows are
  written in one transaction.

The received messages' rows are never changed (their hash chain stays intact). Known limit:
the core's merge never clears a value, so a value a message no longer gives (a person's name
that was taken as the station) stays in the exam row until a later message sets another.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from hospital_complaints.plugin_api import ExamEvent

from .extract import ExtractOptions
from .receive import prepare
from .sink import Disposition, SqlSink, _aad, _events_json

TABLE = "hl7_replays"


def replay_table(metadata: sa.MetaData, prefix: str, schema: str | None) -> sa.Table:
    return sa.Table(
        f"{prefix}{TABLE}", metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("message_id", sa.BigInteger, nullable=False),
        sa.Column("replayed_at", sa.String(40), nullable=False),
        sa.Column("disposition", sa.String(12), nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("event_count", sa.Integer, nullable=False),
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.Column("events", sa.Text, nullable=False),
        schema=schema,
    )


@dataclass
class ReplaySummary:
    """What a replay did."""

    read: int = 0  # stored messages in scope
    skipped: int = 0  # duplicates, replaced rejections, partly stored frames
    unchanged: int = 0
    changed: int = 0  # gave other events than applied before (replay rows written)
    now_usable: int = 0  # of the changed: rejected before, applied now
    now_rejected: int = 0  # of the changed: applied before, unusable now
    exam_events: int = 0  # events of the changed messages, applied
    accessions: int = 0  # exam rows merged again
    reasons: list[str] = field(default_factory=list)  # why changed messages are rejected now

    def render(self) -> str:
        lines = [f"stored messages read: {self.read}  skipped: {self.skipped}  "
                 f"unchanged: {self.unchanged}  changed: {self.changed} (usable now: "
                 f"{self.now_usable}, rejected now: {self.now_rejected})  exam events "
                 f"applied: {self.exam_events}  exams merged again: {self.accessions}"]
        for reason in dict.fromkeys(self.reasons):
            lines.append(f"  rejected now x{self.reasons.count(reason)}: {reason}")
        return "\n".join(lines)


@dataclass
class _Stored:
    id: int
    received_at: datetime
    sender: str
    control_id: str | None
    disposition: str
    raw: bytes
    complete: bool
    applied: list[dict[str, Any]]  # the events applied for it now (JSON objects)


def replay(sink: SqlSink, opts: ExtractOptions, *, sender: str | None = None,
           since: datetime | None = None, now: datetime | None = None,
           dry_run: bool = False) -> ReplaySummary:
    """Replay the stored messages of ``sender`` (``MSH-3^MSH-4``, or ``MSH-3`` alone)
    received at or after ``since``; see the module text."""
    sink.exams  # noqa: B018 (migrates the store: the replay table comes with the branch)
    store = sink.store
    ring = store.key_ring
    table = replay_table(sa.MetaData(), store.prefix, store.schema)
    summary = ReplaySummary()
    stored = list(_stored(sink, table))
    last_applied: dict[tuple[str, str | None], int] = {}
    for m in stored:
        if m.disposition == Disposition.applied.value:
            last_applied[(m.sender, m.control_id)] = m.id
    changed: dict[int, tuple[list[dict[str, Any]], str | None]] = {}
    for m in stored:
        if not _in_scope(m, sender, since):
            continue
        summary.read += 1
        later = last_applied.get((m.sender, m.control_id), 0)
        if m.disposition == Disposition.duplicate.value or not m.complete or (
                m.disposition == Disposition.rejected.value and later > m.id):
            summary.skipped += 1
            continue
        p = prepare(m.raw, "replay", opts)
        events = [json.loads(e.model_dump_json()) for e in p.incoming.events]
        if p.incoming.error is None and events == m.applied:
            summary.unchanged += 1
            continue
        if p.incoming.error is None and not events and not m.applied:
            summary.unchanged += 1
            continue
        summary.changed += 1
        if p.incoming.error is not None:
            summary.now_rejected += 1 if m.applied else 0
            summary.reasons.append(p.incoming.error)
            if not m.applied and m.disposition == Disposition.rejected.value:
                summary.changed -= 1  # still unusable, and nothing was applied for it
                summary.unchanged += 1
                summary.reasons.pop()
                continue
        elif m.disposition == Disposition.rejected.value and not m.applied:
            summary.now_usable += 1
        summary.exam_events += len(events)
        changed[m.id] = (events, p.incoming.error)
    if not changed or dry_run:
        return summary
    touched = {e["accession_number"] for m in stored if m.id in changed
               for e in (*m.applied, *changed[m.id][0])}
    first = min(changed)
    to_merge: list[ExamEvent] = []
    for m in stored:
        if m.id < first:
            continue
        events = changed[m.id][0] if m.id in changed else m.applied
        to_merge += [ExamEvent.model_validate(e) for e in events
                     if e["accession_number"] in touched]
    at = (now or datetime.now(UTC)).isoformat()
    rows = []
    for mid, (events, error) in sorted(changed.items()):
        data = _events_json([ExamEvent.model_validate(e) for e in events])
        key_id, enc = ring.encrypt(data, _replay_aad(mid))
        rows.append({"message_id": mid, "replayed_at": at,
                     "disposition": (Disposition.rejected if error else Disposition.applied
                                     ).value, "error": error, "event_count": len(events),
                     "key_id": key_id, "events": enc})
    with store.write() as conn:
        conn.execute(sa.insert(table), rows)
        if to_merge:
            summary.accessions = sink.exams.merge_exam_events(conn, to_merge)
    return summary


def _in_scope(m: _Stored, sender: str | None, since: datetime | None) -> bool:
    if sender is not None and m.sender != sender and not m.sender.startswith(sender + "^"):
        return False
    return since is None or m.received_at >= since


def _replay_aad(message_id: int) -> bytes:
    return f"hl7-replay:{message_id}".encode()


def _stored(sink: SqlSink, table: sa.Table) -> Iterator[_Stored]:
    """Every stored message, oldest first, decrypted, with the events applied for it now."""
    store = sink.store
    ring = store.key_ring
    t = sink.table
    with store.read() as conn:
        newest = {r.message_id: r for r in conn.execute(
            sa.select(table).order_by(table.c.id))}  # the last row of a message wins
        rows = list(conn.execute(sa.select(t).order_by(t.c.id)))
    for r in rows:
        aad = _aad(r.sender, r.control_id)
        where = f"{sink.table.name} row {r.id}"
        raw = ring.decrypt(r.key_id, r.raw, aad, where)
        again = newest.get(r.id)
        if again is not None:
            applied = json.loads(ring.decrypt(again.key_id, again.events, _replay_aad(r.id),
                                              f"{table.name} row {again.id}"))
        elif r.disposition == Disposition.applied.value:
            applied = json.loads(ring.decrypt(r.key_id, r.events, aad, where))
        else:
            applied = []
        yield _Stored(int(r.id), datetime.fromisoformat(r.received_at), r.sender,
                      r.control_id, r.disposition, raw,
                      r.raw_length is None or r.raw_length <= len(raw), applied)

"""Writing imaging records: exam milestones merged per accession number (the newer feed
wins per field, so re-importing a file changes nothing), faults, roster shifts and the
complaint->exam links projected for analytics. Every row is sealed."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ....correlation.records import ExamRecord, merge_all, merge_events, record_from_event
from ....correlation.repository import ComplaintLink
from ....domain.imaging import EquipmentFault, ExamEvent, RosterShift
from .rows import ImagingTables, _chunks, _s


class ImagingWrites(ImagingTables):
    """Loading: exams (or their milestone events), faults, shifts and complaint links."""

    def add_exams(self, exams: Iterable[ExamRecord]) -> int:
        """Store or merge exams; returns how many records were given (after merging).
        Each batch is its own transaction."""
        n = 0
        for chunk in _chunks(exams, self.batch_size):
            with self.store.write() as conn:
                n += self.merge_exams(conn, chunk)
        return n

    def merge_exams(self, conn: Connection, exams: Sequence[ExamRecord]) -> int:
        """Merge ``exams`` into the exam table inside the caller's write transaction
        ``conn`` (from ``store.write()``), so a source can commit its own rows (e.g. the
        HL7 adapter's raw message) and the exam milestones atomically. Returns how many
        accessions were written."""
        return self._write_merged(conn, merge_all(exams))

    def merge_exam_events(self, conn: Connection, events: Iterable[ExamEvent]) -> int:
        """:meth:`merge_exams` for milestone events, in the caller's transaction."""
        return self._write_merged(conn, merge_events(events))

    def _write_merged(self, conn: Connection, merged: dict[str, ExamRecord]) -> int:
        """Merge one record per accession with the stored row (the newer wins per field), in
        batches of ``batch_size``. The stored rows are read ``FOR UPDATE``: two feeds writing
        the same exam at once (MLLP connections) on PostgreSQL or MariaDB then merge one after
        the other instead of the later one overwriting the earlier one's milestones."""
        e = self.exams
        for acc, rec in merged.items():
            if rec.patient_id is not None:
                merged[acc] = replace(rec, patient_id=None,
                                      patient_hash=self.hasher.hash(rec.patient_id))
        for chunk in _chunks(merged, self.batch_size):
            old = {r.accession_number: self._record(r._mapping) for r in conn.execute(
                sa.select(e).where(e.c.accession_number.in_(chunk)).with_for_update())}
            rows = [self._row(old[a].merged(merged[a]) if a in old else merged[a])
                    for a in chunk]
            if old:
                conn.execute(sa.delete(e).where(e.c.accession_number.in_(list(old))))
            conn.execute(sa.insert(e), rows)
        return len(merged)

    def add_exam_events(self, events: Iterable[ExamEvent]) -> int:
        """Store milestone events (an ``ExamSource``'s output); returns the events read."""
        count = 0

        def records() -> Iterator[ExamRecord]:
            nonlocal count
            for ev in events:
                count += 1
                yield record_from_event(ev)

        self.add_exams(records())
        return count

    def add_faults(self, faults: Iterable[EquipmentFault]) -> int:
        """Store faults; a fault id seen before is replaced by the newer work order."""
        f = self.faults
        n = 0
        for chunk in _chunks(faults, self.batch_size):
            rows = {x.fault_id: self._seal(f, {
                "fault_id": x.fault_id, "device": x.device, "modality": x.modality,
                "reported_s": _s(x.reported_at), "on_site_s": _s(x.responder_on_site_at),
                "restored_s": _s(x.restored_at), "urgent": x.urgent, "cause": x.cause,
                "action": x.action, "acceptance": x.acceptance, "source": x.source})
                for x in chunk}
            with self.store.write() as conn:
                conn.execute(sa.delete(f).where(f.c.fault_id.in_(list(rows))))
                conn.execute(sa.insert(f), list(rows.values()))
            n += len(rows)
        return n

    def add_shifts(self, shifts: Iterable[RosterShift]) -> int:
        """Store roster shifts; the same (staff, role, start, end) is stored once."""
        s = self.shifts
        n = 0
        for chunk in _chunks(shifts, self.batch_size):
            rows = {}
            for x in chunk:
                key = hashlib.sha256(f"{x.staff}|{x.role}|{_s(x.start)}|{_s(x.end)}".encode()
                                     ).hexdigest()
                rows[key] = self._seal(s, {
                    "shift_key": key, "staff": x.staff, "role": x.role, "start_s": _s(x.start),
                    "end_s": _s(x.end), "device": x.device,
                    "extra": json.dumps(x.extra, ensure_ascii=False) if x.extra else None})
            with self.store.write() as conn:
                conn.execute(sa.delete(s).where(s.c.shift_key.in_(list(rows))))
                conn.execute(sa.insert(s), list(rows.values()))
            n += len(rows)
        return n

    def set_complaint_links(self, links: Iterable[ComplaintLink]) -> int:
        """Project complaint->exam links for analytics (replaces each complaint's links)."""
        lt = self.links
        n = 0
        for chunk in _chunks(links, self.batch_size):
            rows = {(x.complaint_ref, x.accession_number): {
                "complaint_ref": x.complaint_ref, "accession_number": x.accession_number,
                "received_s": _s(x.received_at)} for x in chunk}
            with self.store.write() as conn:
                conn.execute(sa.delete(lt).where(lt.c.complaint_ref.in_(
                    list({r for r, _ in rows}))))
                conn.execute(sa.insert(lt), list(rows.values()))
            n += len(rows)
        return n

"""Looking imaging records up: one exam (by accession number or study), its timeline, a
patient's exams, and the faults and roster shifts of a period."""

from __future__ import annotations

import json
from datetime import datetime

import sqlalchemy as sa

from ....correlation.records import ExamRecord, TimelineEntry, timeline_of
from ....correlation.repository import MAX_OUTAGE_S
from ....domain.imaging import EquipmentFault, RosterShift
from .rows import _s
from .tuning import ImagingTuning


class ImagingLookups(ImagingTuning):
    """Records by key or by period, read in tuned read transactions."""

    def _one(self, where: sa.ColumnElement[bool]) -> ExamRecord | None:
        with self._read() as conn:
            row = conn.execute(sa.select(self.exams).where(where).limit(1)).first()
        return None if row is None else self._record(row._mapping)

    def exam(self, accession_number: str) -> ExamRecord | None:
        return self._one(self.exams.c.accession_number == accession_number)

    def exam_by_study(self, study_instance_uid: str) -> ExamRecord | None:
        return self._one(self.exams.c.study_uid == study_instance_uid)

    def timeline(self, accession_number: str) -> list[TimelineEntry]:
        exam = self.exam(accession_number)
        return [] if exam is None else timeline_of(exam)

    def exams_since(self, milestone: str, since_s: int, limit: int = 1000,
                    after: str = "") -> list[ExamRecord]:
        """Exams whose ``milestone`` (``final``, ``started`` ...) came after ``since_s`` (UTC
        epoch seconds), or in that second with an accession number after ``after``, in
        (time, accession) order: a job's incremental scan, which resumes exactly where a
        batch that ended within one second stopped."""
        e = self.exams
        col = e.c[f"{milestone}_s"]
        later = sa.or_(col > since_s, sa.and_(col == since_s, e.c.accession_number > after))
        with self._read() as conn:
            rows = conn.execute(sa.select(e).where(later)
                                .order_by(col, e.c.accession_number).limit(limit)).all()
        return [self._record(r._mapping) for r in rows]

    def exams_for_patient(self, patient_id: str, start: datetime,
                          end: datetime) -> list[ExamRecord]:
        e = self.exams
        with self._read() as conn:
            rows = conn.execute(sa.select(e).where(
                e.c.patient_hash.in_(self.hasher.candidates(patient_id)),
                e.c.window_start_s >= _s(start), e.c.window_start_s <= _s(end))
                .order_by(e.c.window_start_s)).all()
        return [self._record(r._mapping) for r in rows]

    def faults_between(self, start: datetime, end: datetime) -> list[EquipmentFault]:
        """Faults whose outage overlaps the visit ``start``-``end``, half-open as
        :func:`~hospital_complaints.correlation.repository.overlaps` says, reported less
        than ``MAX_OUTAGE`` before it began (an open fault is down that long)."""
        f = self.faults
        a, b = int(start.timestamp()), int(end.timestamp())
        with self._read() as conn:
            rows = conn.execute(sa.select(f).where(
                sa.or_(f.c.reported_s < b, f.c.reported_s == a),
                f.c.reported_s > a - MAX_OUTAGE_S,
                sa.func.coalesce(f.c.restored_s, f.c.reported_s + MAX_OUTAGE_S) > a)
                .order_by(f.c.reported_s)).all()
        return [self._fault(r._mapping) for r in rows]

    def shifts_between(self, start: datetime, end: datetime) -> list[RosterShift]:
        """Shifts overlapping the visit ``start``-``end`` (half-open, as faults)."""
        s = self.shifts
        a, b = int(start.timestamp()), int(end.timestamp())
        with self._read() as conn:
            rows = conn.execute(sa.select(s).where(sa.or_(s.c.start_s < b, s.c.start_s == a),
                                                   s.c.end_s > a)
                                .order_by(s.c.start_s, s.c.staff)).all()
        out = []
        for r in rows:
            m = r._mapping
            out.append(RosterShift(staff=m["staff"], role=m["role"], start=self._t(m["start_s"]),
                                   end=self._t(m["end_s"]), device=m["device"],
                                   extra=json.loads(m["extra"]) if m["extra"] else {}))
        return out

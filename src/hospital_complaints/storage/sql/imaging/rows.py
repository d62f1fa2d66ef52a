"""The imaging tables and their rows: how an exam, a fault or a roster shift maps to a row
(instants as UTC epoch seconds, the patient id as a keyed hash, each row sealed) and back.

:class:`ImagingTables` holds the store's imaging tables; the repository's parts
(:mod:`.writes`, :mod:`.lookups`, :mod:`.analytics`) build on it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from itertools import islice
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from ....correlation.records import ExamRecord, PatientHasher, local_parts
from ....domain.imaging import EquipmentFault
from ..seals import Sealer, sealed_columns
from ..uow import SqlStore

T = TypeVar("T")
_TIME_COLS = {"ordered_at": "ordered_s", "scheduled_at": "scheduled_s",
              "arrived_at": "arrived_s", "started_at": "started_s",
              "completed_at": "completed_s", "preliminary_at": "preliminary_s",
              "final_at": "final_s", "corrected_at": "corrected_s",
              "cancelled_at": "cancelled_s", "no_show_at": "no_show_s"}


def _chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


def _s(t: datetime | None) -> int | None:
    return None if t is None else int(t.timestamp())


class ImagingTables:
    """The imaging tables of one :class:`SqlStore` (exams, faults, roster shifts, complaint
    links), and the conversions between records and rows."""

    def __init__(self, store: SqlStore, tz: ZoneInfo | str = "Asia/Shanghai",
                 batch_size: int = 2000) -> None:
        t = store.tables
        if t.exams is None or t.faults is None or t.shifts is None or t.complaint_exams is None:
            raise RuntimeError("the store's tables lack the imaging tables (migration 0003)")
        self.store = store
        self.tz = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
        self.hasher = PatientHasher(store.key_ring.keys)
        self.sealer = Sealer(store.key_ring)
        self.batch_size = batch_size
        self.exams: sa.Table = t.exams
        self.faults: sa.Table = t.faults
        self.shifts: sa.Table = t.shifts
        self.links: sa.Table = t.complaint_exams
        self._sealed = {x.name: sealed_columns(x) for x in (self.exams, self.faults,
                                                              self.shifts)}

    def _seal(self, table: sa.Table, row: dict[str, Any]) -> dict[str, Any]:
        row["seal"] = self.sealer.seal(table.name, self._sealed[table.name], row)
        return row

    def _row(self, r: ExamRecord) -> dict[str, Any]:
        row: dict[str, Any] = {
            "accession_number": r.accession_number, "study_uid": r.study_instance_uid,
            "modality": r.modality, "station": r.station, "room": r.room,
            "patient_hash": r.patient_hash, "source": r.source,
            "wait_min": r.minutes("wait"), "slip_min": r.minutes("slip"),
            "report_min": r.minutes("report"), "flags": ",".join(r.flags)[:400] or None,
        }
        for attr, col in _TIME_COLS.items():
            row[col] = _s(getattr(r, attr))
        w = r.window
        row["window_start_s"], row["window_end_s"] = (_s(w[0]), _s(w[1])) if w else (None, None)
        a = r.anchor
        parts = local_parts(a, self.tz) if a else (None, None, None, None)
        row["local_day"], row["local_hour"], row["local_weekday"], row["local_month"] = parts
        return self._seal(self.exams, row)

    def _t(self, s: int | None) -> datetime | None:
        return None if s is None else datetime.fromtimestamp(s, self.tz)

    def _record(self, m: Any) -> ExamRecord:
        times = {attr: self._t(m[col]) for attr, col in _TIME_COLS.items()}
        return ExamRecord(accession_number=m["accession_number"],
                          study_instance_uid=m["study_uid"], modality=m["modality"],
                          station=m["station"], room=m["room"], patient_hash=m["patient_hash"],
                          source=m["source"], **times)  # type: ignore[arg-type]

    def _fault(self, m: Any) -> EquipmentFault:
        return EquipmentFault(
            fault_id=m["fault_id"], device=m["device"], modality=m["modality"],
            reported_at=self._t(m["reported_s"]),
            responder_on_site_at=self._t(m["on_site_s"]), restored_at=self._t(m["restored_s"]),
            urgent=bool(m["urgent"]), cause=m["cause"], action=m["action"],
            acceptance=m["acceptance"], source=m["source"])

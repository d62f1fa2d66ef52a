"""Exams as plain rows for bulk loads: the same record as :class:`~.records.ExamRecord`, with
every instant as whole UTC epoch seconds, and the values derived from it (visit window,
anchor and its local day/hour, delays, flags) computed without making an object per exam.

An :data:`ExamRow` is a tuple laid out as :data:`ROW_FIELDS`::

    (accession_number, study_instance_uid, modality, station, room, patient, source,
     ordered_s, scheduled_s, arrived_s, started_s, completed_s, preliminary_s, final_s,
     corrected_s, cancelled_s, no_show_s)

``patient`` is the plain patient id as read from a file; a store replaces it by its keyed
hash before anything is written (see :meth:`.records.PatientHasher.hash`). :func:`derive`
gives exactly what :class:`~.records.ExamRecord` gives for the same (whole-second) times:
``tests/unit/test_exam_import.py`` compares the two on many generated exams.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from .records import ExamRecord

#: the milestone columns, in row order (suffix ``_s`` in storage, ``_at`` on ExamRecord)
MILESTONE_NAMES = ("ordered", "scheduled", "arrived", "started", "completed", "preliminary",
                   "final", "corrected", "cancelled", "no_show")
ROW_FIELDS = ("accession_number", "study_instance_uid", "modality", "station", "room",
              "patient", "source", *(f"{m}_s" for m in MILESTONE_NAMES))
#: index of the first milestone in a row
T0 = 7
ExamRow = tuple[Any, ...]
#: (local day 'YYYY-MM-DD', hour, weekday 0=Mon, month 'YYYY-MM')
LocalParts = tuple[str, int, int, str]
#: (window_start_s, window_end_s, local_day, local_hour, local_weekday, local_month,
#:  wait_min, slip_min, report_min, flags text or None)
Derived = tuple[Any, ...]

_CHAIN = ((0, "ordered"), (2, "arrived"), (3, "started"), (4, "completed"),
          (5, "preliminary"), (6, "final"))
_NEEDS = ((3, 2, "missing:arrived"), (4, 3, "missing:started"), (6, 4, "missing:completed"))
_NO_PARTS = (None, None, None, None)
_EPOCH_DAY = date(1970, 1, 1)


class LocalClock:
    """Local (day, hour, weekday, month) of epoch seconds in one zone: the same as
    :func:`.records.local_parts`, without a datetime per exam. The zone's UTC offset is
    looked up once per UTC day (per second on a day the offset changes), the texts once per
    local day."""

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz
        self._offsets: dict[int, int | None] = {}
        self._days: dict[int, tuple[str, int, str]] = {}

    def _exact(self, s: int) -> LocalParts:
        t = datetime.fromtimestamp(s, self.tz)
        return t.strftime("%Y-%m-%d"), t.hour, t.weekday(), t.strftime("%Y-%m")

    def _offset(self, utc_day: int) -> int | None:
        """The offset in seconds all of a UTC day has, or None when it changes that day."""
        first = datetime.fromtimestamp(utc_day * 86400, self.tz).utcoffset()
        last = datetime.fromtimestamp(utc_day * 86400 + 86399, self.tz).utcoffset()
        return None if first is None or first != last else int(first.total_seconds())

    def __call__(self, s: int) -> LocalParts:
        utc_day = s // 86400
        try:
            offset = self._offsets[utc_day]
        except KeyError:
            offset = self._offsets[utc_day] = self._offset(utc_day)
        if offset is None:
            return self._exact(s)
        local = s + offset
        local_day = local // 86400
        texts = self._days.get(local_day)
        if texts is None:
            d = _EPOCH_DAY + timedelta(days=local_day)
            texts = self._days[local_day] = (d.strftime("%Y-%m-%d"), d.weekday(),
                                             d.strftime("%Y-%m"))
        return texts[0], local % 86400 // 3600, texts[1], texts[2]


def hundredths(seconds: int) -> int:
    """Whole seconds as minutes rounded to hundredths, times 100: ``round(seconds / 60, 2)
    == hundredths(seconds) / 100`` exactly (both are the double nearest to that many
    hundredths; ``seconds / 60`` is never within rounding error of a halfway point)."""
    return (10 * seconds + 3) // 6


def _minutes(a: int | None, b: int | None, may_be_negative: bool) -> float | None:
    if a is None or b is None or (b < a and not may_be_negative):
        return None
    return (10 * (b - a) + 3) // 6 / 100


def flags_of(times: Sequence[int | None]) -> str | None:
    """The data-quality flags (``ExamRecord.flags``) of the ten milestones, comma-separated
    and cut at 400 characters as stored; None when there are none."""
    o, _, a, s, c, p, f = times[:7]
    if (o is not None and a is not None and s is not None and c is not None
            and f is not None and o <= a <= s <= c <= f and (p is None or c <= p <= f)):
        return None  # the usual exam: every milestone there, in order
    found: list[str] = []
    previous: tuple[str, int] | None = None
    for i, name in _CHAIN:
        t = times[i]
        if t is None:
            continue
        if previous is not None and t < previous[1]:
            found.append(f"out_of_order:{previous[0]}>{name}")
        previous = (name, t)
    for later, needed, flag in _NEEDS:
        if times[later] is not None and times[needed] is None:
            found.append(flag)
    return ",".join(found)[:400] if found else None


def derive(times: Sequence[int | None], local: Callable[[int], LocalParts]) -> Derived:
    """The derived values of an exam from its ten milestones (epoch seconds), as
    :class:`~.records.ExamRecord` computes them (``window``, ``anchor``, ``minutes``,
    ``flags``) and the store keeps them."""
    ordered, scheduled, arrived, started, completed, _, final = times[:7]
    starts = [t for t in (scheduled, arrived, started) if t is not None]
    ws: int | None
    we: int | None
    if starts:
        ws = min(starts)
        we = max([ws, *(t for t in (completed, started, arrived) if t is not None)])
    else:
        ws = we = None
    anchor = (started if started is not None else arrived if arrived is not None
              else scheduled if scheduled is not None else ordered)
    parts = _NO_PARTS if anchor is None else local(anchor)
    return (ws, we, *parts, _minutes(arrived, started, False),
            _minutes(scheduled, started, True), _minutes(completed, final, False),
            flags_of(times))


def record_of(row: ExamRow, tz: ZoneInfo) -> ExamRecord:
    """The :class:`ExamRecord` of a row (``patient`` as the plain ``patient_id``)."""
    t = [None if s is None else datetime.fromtimestamp(s, tz) for s in row[T0:]]
    return ExamRecord(accession_number=row[0], study_instance_uid=row[1], modality=row[2],
                      station=row[3], room=row[4], patient_id=row[5], source=row[6],
                      ordered_at=t[0], scheduled_at=t[1], arrived_at=t[2], started_at=t[3],
                      completed_at=t[4], preliminary_at=t[5], final_at=t[6],
                      corrected_at=t[7], cancelled_at=t[8], no_show_at=t[9])


def merge_rows(old: ExamRow, new: ExamRow) -> ExamRow:
    """``old`` with every value ``new`` has (the newer feed wins per field; the accession
    is the key), as :meth:`ExamRecord.merged` does."""
    return (old[0], *(o if n is None else n for o, n in zip(old[1:], new[1:], strict=True)))

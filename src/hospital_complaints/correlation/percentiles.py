"""The numbers of many complaints' evidence at once: percentile ranks from per-cell value
lists, and the faults overlapping each visit.

A *cell* is the exams of one (local day, modality, station): the store sends each cell's
delays as one comma-separated text per metric (``GROUP_CONCAT`` / ``string_agg``) of whole
hundredths of a minute (the precision delays are stored with), one calendar month at a
time. A day's distribution of a modality is the union of that day's
cells of the modality; a device's distribution of a month is the union of the month's
cells of the station. Only the distributions that hold a complaint exam are built; each is
sorted once and every complaint exam in it is ranked by bisection. So no Python object is
made per exam row, and memory is bounded by one month of delays.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .repository import MAX_OUTAGE_S, outage_end, overlaps, percentile

#: (local_day, modality, station, one text of comma-separated values per metric or None)
Cell = tuple[str, str | None, str | None, Sequence[str | None]]


@dataclass(frozen=True)
class RankTarget:
    """A complaint exam to rank: its group keys and its value per metric in hundredths of a
    minute (None = missing)."""

    key: int
    day: str
    modality: str | None
    station: str | None
    values: Sequence[int | None]


def parse_values(text: str | None) -> list[int]:
    """The values of one cell's comma-separated text (None: no values)."""
    return [] if not text else list(map(int, text.split(",")))


def rank_month(cells: Iterable[Cell], targets: Sequence[RankTarget], n_metrics: int
               ) -> dict[int, tuple[list[float | None], list[float | None]]]:
    """Percentiles of each target (by key) in its day+modality and its station+month
    distribution, per metric: ``{key: ([day percentile per metric], [device percentile per
    metric])}``, as :attr:`Rank.percentile <.repository.Rank.percentile>` gives them; a
    missing value has none. ``cells`` and ``targets`` belong to one calendar month."""
    want_day = {(t.day, t.modality) for t in targets}
    want_dev = {t.station for t in targets}
    by_day: dict[tuple[str, str | None], list[list[int]]] = {}
    by_dev: dict[str | None, list[list[int]]] = {}
    for day, modality, station, texts in cells:
        in_day, in_dev = (day, modality) in want_day, station in want_dev
        if not (in_day or in_dev):
            continue
        day_lists = by_day.setdefault((day, modality), [[] for _ in range(n_metrics)]) \
            if in_day else None
        dev_lists = by_dev.setdefault(station, [[] for _ in range(n_metrics)]) \
            if in_dev else None
        for i, text in enumerate(texts):
            values = parse_values(text)
            if day_lists is not None:
                day_lists[i] += values
            if dev_lists is not None:
                dev_lists[i] += values
    for groups in (by_day.values(), by_dev.values()):
        for lists in groups:
            for values in lists:
                values.sort()
    empty: list[list[int]] = [[] for _ in range(n_metrics)]
    out: dict[int, tuple[list[float | None], list[float | None]]] = {}
    for t in targets:
        day_lists = by_day.get((t.day, t.modality), empty)
        dev_lists = by_dev.get(t.station, empty)
        out[t.key] = (
            [None if v is None else percentile(bisect_right(day_lists[i], v), len(day_lists[i]))
             for i, v in enumerate(t.values)],
            [None if v is None else percentile(bisect_right(dev_lists[i], v), len(dev_lists[i]))
             for i, v in enumerate(t.values)])
    return out


class FaultIndex:
    """Faults by device and by modality, sorted by report time, to find the ones overlapping
    a visit as :meth:`ImagingRecords.faults_between
    <hospital_complaints.correlation.repository.ImagingRecords.faults_between>` and
    :func:`~hospital_complaints.correlation.build_evidence` do: reported less than
    :data:`MAX_OUTAGE` before the visit, and the outage overlapping it (half-open,
    :func:`~hospital_complaints.correlation.repository.overlaps`)."""

    def __init__(self, faults: Iterable[tuple[str, str, str | None, int, int | None]]) -> None:
        """``faults``: (fault id, device, modality, reported, restored) in epoch seconds."""
        self._by: dict[tuple[str, str], list[tuple[int, str, int | None]]] = {}
        longest = 0
        for fault_id, device, modality, reported, restored in faults:
            entry = (reported, fault_id, restored)
            self._by.setdefault(("device", device), []).append(entry)
            if modality is not None:
                self._by.setdefault(("modality", modality), []).append(entry)
            longest = max(longest, outage_end(reported, restored) - reported)
        for entries in self._by.values():
            entries.sort()
        self._reported = {k: [x[0] for x in v] for k, v in self._by.items()}
        #: a fault reported this long (or longer) before a visit ended before it, or is not
        #: looked at
        self._lookback = min(MAX_OUTAGE_S, longest)

    def overlapping(self, station: str | None, modality: str | None, start: int | None,
                    end: int | None) -> list[str]:
        """Ids of the faults on ``station`` or of ``modality`` during the visit
        ``start``-``end``, oldest first."""
        if start is None or end is None:
            return []
        found: dict[str, int] = {}
        for key in (("device", station), ("modality", modality)):
            if key[1] is None or key not in self._by:
                continue
            entries, reported = self._by[key], self._reported[key]
            i = bisect_right(reported, start - self._lookback)
            j = bisect_right(reported, end)
            for at, fault_id, restored in entries[i:j]:
                if overlaps(start, end, at, outage_end(at, restored)):
                    found[fault_id] = at
        return sorted(found, key=lambda fid: (found[fid], fid))


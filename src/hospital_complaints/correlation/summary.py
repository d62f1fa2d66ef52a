"""Department analytics over all exams, with exam volume as the denominator.

The store computes every count (grouped SQL); this module only turns counts into rates,
relative risks and clusters. Complaints are linked to exams through the projection that
:func:`refresh_complaint_links` writes.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from .repository import DIMENSIONS, WEEKDAYS, ComplaintExamRow, ImagingRecords
from .targets import Targets


class _View(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RateRow(_View):
    key: str
    exams: int
    complaints: int
    per_1000: float | None


class BandRow(_View):
    band: str
    exams: int
    complaints: int
    per_1000: float | None
    relative_risk: float | None


class FaultRow(_View):
    """One fault of the period; ``station`` and ``exams_on_station`` are read under their
    old names ``device`` and ``exams_on_device`` too."""

    fault_id: str
    station: str = Field(validation_alias=AliasChoices("station", "device"))
    modality: str | None
    reported_at: datetime
    restored_at: datetime | None
    urgent: bool
    response_min: float | None
    response_target_min: float
    response_met: bool | None
    downtime_min: float | None
    exams_on_station: int = Field(validation_alias=AliasChoices("exams_on_station",
                                                                "exams_on_device"))
    exams_of_modality: int
    complaints: int

    @property
    def device(self) -> str:
        """The old name of :attr:`station` (deprecated)."""
        return self.station

    @property
    def exams_on_device(self) -> int:
        """The old name of :attr:`exams_on_station` (deprecated)."""
        return self.exams_on_station


class Cluster(_View):
    kind: str  # "device" | "report_delay"
    key: str
    complaint_refs: list[str]
    first: datetime
    last: datetime


class DepartmentSummary(_View):
    day_from: str
    day_to: str
    exams: int
    complaints: int
    rates: dict[str, list[RateRow]]
    wait_bands: list[BandRow]
    report_bands: list[BandRow]
    faults: list[FaultRow]
    clusters: list[Cluster]


def per_1000(complaints: int, exams: int) -> float | None:
    return None if exams == 0 else round(1000 * complaints / exams, 2)


def band_labels(edges: Sequence[float]) -> list[str]:
    labels = [f"<{edges[0]:g} min"]
    labels += [f"{a:g}-{b:g} min" for a, b in itertools.pairwise(edges)]
    return [*labels, f">={edges[-1]:g} min"]


def band_rows(counts: dict[int, tuple[int, int]], edges: Sequence[float]) -> list[BandRow]:
    """Rates per band and the relative risk against the lowest (first) band."""
    labels = band_labels(edges)
    base_exams, base_complaints = counts.get(0, (0, 0))
    base = None if base_exams == 0 else base_complaints / base_exams
    rows = []
    for i, name in enumerate(labels):
        exams, complaints = counts.get(i, (0, 0))
        rate = None if exams == 0 else complaints / exams
        rr = None if rate is None or not base else round(rate / base, 2)
        rows.append(BandRow(band=name, exams=exams, complaints=complaints,
                            per_1000=per_1000(complaints, exams), relative_risk=rr))
    return rows


def find_clusters(rows: Iterable[ComplaintExamRow], targets: Targets) -> list[Cluster]:
    """``cluster_size`` complaints within ``cluster_days`` about one device, or about report
    delay (report over target) in one modality. Overlapping windows merge into one cluster."""
    series: dict[tuple[str, str], list[tuple[datetime, str]]] = defaultdict(list)
    for r in rows:
        if r.station:
            series[("device", r.station)].append((r.received_at, r.complaint_ref))
        if r.report_min is not None and r.report_min > targets.report_min:
            series[("report_delay", r.modality or "?")].append((r.received_at, r.complaint_ref))
    span = timedelta(days=targets.cluster_days)
    out: list[Cluster] = []
    for (kind, key), items in sorted(series.items()):
        items.sort()
        i = 0
        current: tuple[int, int] | None = None
        found: list[tuple[int, int]] = []
        for j in range(len(items)):
            while items[j][0] - items[i][0] > span:
                i += 1
            if j - i + 1 >= targets.cluster_size:
                if current is not None and i <= current[1]:
                    current = (current[0], j)
                else:
                    if current is not None:
                        found.append(current)
                    current = (i, j)
        if current is not None:
            found.append(current)
        for a, b in found:
            part = items[a:b + 1]
            out.append(Cluster(kind=kind, key=key, complaint_refs=[ref for _, ref in part],
                               first=part[0][0], last=part[-1][0]))
    return out


def _order(dimension: str) -> Callable[[str], tuple[int, str]]:
    """Keys in the order a reader expects: weekdays Monday first, then by hour; others by
    name."""
    if dimension != "weekday_hour":
        return lambda key: (0, key)

    def weekday_first(key: str) -> tuple[int, str]:
        day, _, hour = key.partition(" ")
        return (WEEKDAYS.index(day) if day in WEEKDAYS else 7, hour)

    return weekday_first


def build_summary(repo: ImagingRecords, day_from: str, day_to: str,
                  targets: Targets | None = None) -> DepartmentSummary:
    targets = targets or Targets()
    rates: dict[str, list[RateRow]] = {}
    counts = repo.summary_counts(day_from, day_to, {"wait": targets.wait_bands,
                                                    "report": targets.report_bands})
    for dim in DIMENSIONS:
        exams, complaints = counts.exams[dim], counts.complaints[dim]
        rates[dim] = [RateRow(key=k, exams=exams.get(k, 0), complaints=complaints.get(k, 0),
                              per_1000=per_1000(complaints.get(k, 0), exams.get(k, 0)))
                      for k in sorted(set(exams) | set(complaints), key=_order(dim))]
    faults = []
    for fi in repo.fault_impacts(day_from, day_to):
        f = fi.fault
        target = targets.onsite_urgent_min if f.urgent else targets.onsite_min
        response = None if f.responder_on_site_at is None else round(
            (f.responder_on_site_at - f.reported_at).total_seconds() / 60, 1)
        down = None if f.restored_at is None else round(
            (f.restored_at - f.reported_at).total_seconds() / 60, 1)
        faults.append(FaultRow(
            fault_id=f.fault_id, station=f.device, modality=f.modality,
            reported_at=f.reported_at.astimezone(repo.tz), restored_at=f.restored_at,
            urgent=f.urgent, response_min=response, response_target_min=target,
            response_met=None if response is None else response <= target,
            downtime_min=down, exams_on_station=fi.exams_on_station,
            exams_of_modality=fi.exams_of_modality, complaints=fi.complaints))
    by_modality = rates["modality"]
    return DepartmentSummary(
        day_from=day_from, day_to=day_to, exams=sum(r.exams for r in by_modality),
        complaints=sum(r.complaints for r in by_modality), rates=rates,
        wait_bands=band_rows(counts.bands["wait"], targets.wait_bands),
        report_bands=band_rows(counts.bands["report"], targets.report_bands),
        faults=faults,
        clusters=find_clusters(repo.complaint_exams(day_from, day_to), targets))

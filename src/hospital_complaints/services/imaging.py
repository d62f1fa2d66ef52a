"""Imaging use cases: exam records from any source, linking, suggestions, evidence packs,
department summaries (``app.imaging``).

The exam ingest port for adapters is here: :meth:`ImagingService.ingest` merges milestone
events (an HL7 listener, a DICOMweb sync, a CSV); :meth:`ImagingService.transaction` gives a
source that keeps its own raw records (the HL7 adapter's messages) one transaction for those
rows and the exam milestones together, so neither is stored without the other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from ..clock import zone
from ..correlation import (
    DepartmentSummary,
    EvidencePack,
    ExamSuggestion,
    ImagingRecords,
    ImportReport,
    ModalityAliases,
    Targets,
    build_evidence,
    build_summary,
    import_file,
    suggest_exams,
)
from ..correlation.evidence import evidence_commands
from ..correlation.importers import Kind
from ..correlation.records import ExamRecord, TimelineEntry
from ..correlation.repository import ComplaintLink
from ..correlation.summary import Cluster
from ..domain.events import Event
from ..domain.imaging import (
    EquipmentFault,
    ExamEvent,
    ExamSource,
    IncrementalExamSource,
    RosterShift,
)
from ..errors import FieldProblem, InvalidInput, NotFound

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from ..app import App
    from ..storage.sql.exams import ImagingRepository


@dataclass(frozen=True)
class ExamTransaction:
    """One write transaction of the SQL store, for a source that stores its own rows and
    the exam milestones they carry atomically. ``connection`` writes the source's own
    tables; :meth:`merge` the milestones. Commit happens when the ``with`` block ends."""

    connection: Connection
    _repo: ImagingRepository

    def merge(self, events: Iterable[ExamEvent]) -> int:
        """Merge milestone events into the exam table, in this transaction."""
        return self._repo.merge_exam_events(self.connection, events)


class ImagingService:
    def __init__(self, app: App) -> None:
        self.app = app

    @cached_property
    def repo(self) -> ImagingRecords:
        """The exam, fault and roster records (SQL, or in memory for ``memory://``)."""
        if self.app.in_memory:
            from ..correlation import InMemoryImagingRepository

            return InMemoryImagingRepository(tz=self.tz)
        from ..storage.sql.exams import ImagingRepository

        return ImagingRepository(self.app.store, tz=self.tz)

    @property
    def tz(self) -> ZoneInfo:
        return zone(self.app.settings.timezone)

    @cached_property
    def targets(self) -> Targets:
        return Targets.from_settings(self.app.settings.imaging)

    @cached_property
    def modality_aliases(self) -> ModalityAliases:
        """Which words name which modality: the built-in table plus the settings'
        ``[imaging.modality_words]`` (docs/correlation.md, "Modality words")."""
        return ModalityAliases.from_settings(self.app.settings.imaging)

    # -- ingest: the port every exam source uses ---------------------------------------------

    def ingest(self, events: Iterable[ExamEvent]) -> int:
        """Merge exam milestone events (from any source); returns how many were read."""
        return self.repo.add_exam_events(events)

    @contextmanager
    def transaction(self) -> Iterator[ExamTransaction]:
        """A write transaction for a source that stores its own rows with the milestones
        (SQL stores only)."""
        from ..storage.sql.exams import ImagingRepository

        repo = self.repo
        if not isinstance(repo, ImagingRepository):
            raise InvalidInput("imaging", [FieldProblem(
                "store", "memory://", "a SQL database for sources that keep their own rows")],
                ["  - 该数据源需要 SQL 数据库"])
        with self.app.store.write() as conn:
            yield ExamTransaction(conn, repo)

    def add_exams(self, exams: Iterable[ExamRecord]) -> int:
        return self.repo.add_exams(exams)

    def add_faults(self, faults: Iterable[EquipmentFault]) -> int:
        return self.repo.add_faults(faults)

    def add_shifts(self, shifts: Iterable[RosterShift]) -> int:
        return self.repo.add_shifts(shifts)

    def import_file(self, path: Path, kind: Kind, *, tz: ZoneInfo | None = None,
                    source: str | None = None, encoding: str | None = None,
                    on_progress: Callable[[int], None] | None = None,
                    workers: int | None = None) -> ImportReport:
        """Import exams, faults or roster shifts from a CSV, JSON or JSONL file.
        ``workers``: processes that prepare a large exam CSV (``correlation.import_workers``;
        default one per core, 0: none)."""
        report = import_file(self.repo, path, kind, tz=tz, source=source,
                             on_progress=on_progress, encoding=encoding, workers=workers)
        if report.imported:
            self.analyze()
        return report

    def sources(self) -> dict[str, ExamSource]:
        """The exam sources plugins registered (``hc_register_exam_sources``)."""
        return self.app.plugins.exam_sources(self.app)

    def sync(self, source_id: str | None = None, *, incremental: bool = False
             ) -> dict[str, int]:
        """Read every registered exam source (or one) and merge its events; returns the
        events read per source.

        ``incremental``: a source that can read changes (``changes_since``, see
        :class:`IncrementalExamSource`) reads from its stored watermark, which moves on only
        after the events are merged; other sources are read whole (merging is idempotent).
        """
        sources = self.sources()
        if source_id is not None:
            if source_id not in sources:
                raise InvalidInput("exam source", [FieldProblem(
                    "source", source_id, f"one of: {', '.join(sorted(sources)) or 'none'}")],
                    [f"  - 未知检查数据源 {source_id!r}"])
            sources = {source_id: sources[source_id]}
        read: dict[str, int] = {}
        for sid, source in sources.items():
            if incremental and isinstance(source, IncrementalExamSource):
                key = f"exam-source:{sid}"
                watermark, events = source.changes_since(self.app.locks.watermark(key))
                read[sid] = self.ingest(events)
                self.app.locks.set_watermark(key, watermark, self.app.clock.now().timestamp())
            else:
                read[sid] = self.ingest(source.read_exam_events())
        return read

    def watermark(self, source_id: str) -> str | None:
        """How far an incremental exam source has been read (``None``: never)."""
        return self.app.locks.watermark(f"exam-source:{source_id}")

    def analyze(self) -> None:
        analyze = getattr(self.repo, "analyze", None)
        if analyze is not None:
            analyze()

    # -- reading -----------------------------------------------------------------------------

    def exam(self, accession_number: str) -> ExamRecord:
        exam = self.repo.exam(accession_number)
        if exam is None:
            raise NotFound(f"no exam with accession number {accession_number!r} in the "
                           "imported exam records",
                           f"检查记录中没有检查号 {accession_number!r}")
        return exam

    def timeline(self, accession_number: str) -> list[TimelineEntry]:
        self.exam(accession_number)
        return self.repo.timeline(accession_number)

    def suggest(self, reference: str) -> list[ExamSuggestion]:
        """Candidate exams for a complaint (nothing is linked)."""
        return suggest_exams(self.repo, self.app.complaints.get(reference).complaint,
                             aliases=self.modality_aliases)

    def evidence(self, reference: str, accession: str | None = None) -> EvidencePack:
        """The evidence pack for one complaint: timeline, delays against the day and the
        device, faults during the visit, staff on duty, a zh/en finding."""
        case = self.app.complaints.get(reference)
        return build_evidence(self.repo, case.complaint, self.targets, accession)

    def accept_evidence(self, reference: str, pack: EvidencePack, *,
                        actor: str) -> list[Event]:
        """Record the pack as evidence items on the case, in one transaction: all of them
        or none."""
        commands = evidence_commands(reference, pack)
        return self.app.complaints.execute_all(reference, commands, actor=actor)

    # -- department analytics ----------------------------------------------------------------

    def summary(self, day_from: str, day_to: str) -> DepartmentSummary:
        """Complaint rates per 1,000 exams, waiting and report bands, faults, clusters.

        Reads only: the complaint->exam links are kept by the store as cases are registered
        and linked (an in-memory app projects them here)."""
        if self.app.in_memory:
            self.refresh_links()
        return build_summary(self.repo, day_from, day_to, self.targets)

    def refresh_links(self) -> int:
        """Rebuild the complaint->exam link projection from every case (maintenance: links
        by study UID whose exam arrived after the complaint)."""
        links: list[ComplaintLink] = []
        for case in self.app.complaints.iter_cases():
            c = case.complaint
            for link in c.exam_links:
                acc = link.accession_number
                if acc is None and link.study_instance_uid:
                    exam = self.repo.exam_by_study(link.study_instance_uid)
                    acc = exam.accession_number if exam else None
                if acc is not None:
                    links.append(ComplaintLink(c.reference, acc, c.received_at))
        return self.repo.set_complaint_links(links)

    def record_cluster_alerts(self, clusters: Sequence[Cluster]) -> int:
        """Record each cluster (N complaints within D days on one device or modality) once,
        as a ``cluster_alert`` event on its latest complaint; notifiers hear of it through
        the outbox like any event. Returns how many were new."""
        return self.app.complaints.record_cluster_alerts(clusters,
                                                         self.targets.cluster_days)


"""Correlation of complaints with imaging records: exam linking, the evidence pack for one
complaint, and department analytics over all exams (docs/correlation.md).

The SQL repository is ``hospital_complaints.storage.sql.exams.ImagingRepository``; this package
imports no storage engine. Exams from files travel as plain rows (:mod:`.exam_rows`).
"""

from .evidence import EvidencePack, build_evidence, evidence_commands, finding_text, resolve_exam
from .importers import ImportReport, RowProblem, import_file
from .linking import MODALITY_WORDS, ExamSuggestion, ModalityAliases, suggest_exams
from .records import ExamRecord, PatientHasher, TimelineEntry, record_from_event, timeline_of
from .repository import (
    ComplaintLink,
    ImagingRecords,
    InMemoryImagingRepository,
    Rank,
)
from .summary import (
    Cluster,
    DepartmentSummary,
    build_summary,
    find_clusters,
)
from .targets import Targets

__all__ = [
    "MODALITY_WORDS",
    "Cluster",
    "ComplaintLink",
    "DepartmentSummary",
    "EvidencePack",
    "ExamRecord",
    "ExamSuggestion",
    "ImagingRecords",
    "ImportReport",
    "InMemoryImagingRepository",
    "ModalityAliases",
    "PatientHasher",
    "Rank",
    "RowProblem",
    "Targets",
    "TimelineEntry",
    "build_evidence",
    "build_summary",
    "evidence_commands",
    "find_clusters",
    "finding_text",
    "import_file",
    "record_from_event",
    "resolve_exam",
    "suggest_exams",
    "timeline_of",
]

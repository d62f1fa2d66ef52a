"""What the evidence pack needs from this adapter, until the core asks for it through hooks
(docs/dicom.md, "What the core needs"): where each milestone came from, and the viewer link.
"""

from __future__ import annotations

from typing import Any

from .links import evidence_links
from .provenance import milestone_sources

#: ExamRecord attribute -> milestone name
_COLUMNS = (("scheduled", "scheduled_at"), ("ordered", "ordered_at"), ("arrived", "arrived_at"),
            ("started", "started_at"), ("completed", "completed_at"),
            ("preliminary_report", "preliminary_at"), ("final_report", "final_at"),
            ("corrected_report", "corrected_at"), ("cancelled", "cancelled_at"),
            ("no_show", "no_show_at"))


def exam_sources(app: Any, accession: str) -> dict[str, Any]:
    """The exam's milestones, each with the DICOM source that gave it (when one did and the
    exam still holds that time), and its viewer links. ``NotFound`` for an unknown exam."""
    exam = app.imaging.exam(accession)
    sources = milestone_sources(app.store, exam.accession_number)
    milestones = []
    for name, column in _COLUMNS:
        at = getattr(exam, column)
        if at is None:
            continue
        row: dict[str, Any] = {"milestone": name, "at": at.isoformat()}
        p = sources.get(name)
        if p is not None and abs((p.at - at).total_seconds()) < 1:
            zh, en = p.label
            row.update(source=p.source, source_zh=zh, source_en=en)
        milestones.append(row)
    milestones.sort(key=lambda m: m["at"])
    return {
        "accession_number": exam.accession_number,
        "study_instance_uid": exam.study_instance_uid,
        "modality": exam.modality, "station": exam.station,
        "milestones": milestones,
        "links": [{"url": x.url, "label_zh": x.label_zh, "label_en": x.label_en,
                   "kind": x.kind} for x in evidence_links(exam, app)],
    }

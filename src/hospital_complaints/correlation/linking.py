"""Candidate exams for a complaint that names none: never linked automatically.

Candidates are the patient's exams (matched by keyed hash) in a window before the complaint,
ranked by modality/station named in the complaint and by closeness in time, each with the
reasons a clerk can check before linking one (command ``link_exam``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta

from ..domain.complaint import Complaint
from .records import ExamRecord
from .repository import ImagingRecords

#: words in a complaint that name a modality
MODALITY_WORDS: dict[str, tuple[str, ...]] = {
    "CT": ("CT", "计算机断层"),
    "MR": ("MR", "MRI", "磁共振", "核磁"),
    "DX": ("DR", "DX", "X光", "X线", "胸片", "拍片"),
    "CR": ("CR",),
    "US": ("US", "超声", "B超", "彩超"),
    "MG": ("MG", "钼靶", "乳腺"),
    "NM": ("NM", "PET", "核医学"),
}


@dataclass(frozen=True)
class ExamSuggestion:
    exam: ExamRecord
    score: float
    reasons: list[str] = field(default_factory=list)


def named_modalities(text: str) -> set[str]:
    found = set()
    for code, words in MODALITY_WORDS.items():
        for w in words:
            pattern = rf"(?<![A-Za-z]){re.escape(w)}(?![A-Za-z])" if w.isascii() else re.escape(w)
            if re.search(pattern, text, flags=re.I if w.isascii() else 0):
                found.add(code)
    return found


def suggest_exams(repo: ImagingRecords, complaint: Complaint, *, days_before: int = 14,
                  days_after: int = 1, limit: int = 5) -> list[ExamSuggestion]:
    """The patient's exams around the complaint, best first. Empty without a patient id."""
    if complaint.patient is None:
        return []
    received = complaint.received_at
    exams = repo.exams_for_patient(complaint.patient.patient_id,
                                   received - timedelta(days=days_before),
                                   received + timedelta(days=days_after))
    text = f"{complaint.subject} {complaint.description}"
    modalities = named_modalities(text) | {link.modality for link in complaint.exam_links
                                           if link.modality}
    stations = {link.station for link in complaint.exam_links if link.station}
    linked = {link.accession_number for link in complaint.exam_links}
    out = []
    for e in exams:
        if e.accession_number in linked:
            continue
        reasons = ["same patient id (keyed hash) 同一患者"]
        score = 1.0
        if e.modality and e.modality in modalities:
            score += 2
            reasons.append(f"modality {e.modality} named in the complaint 投诉提及 {e.modality}")
        if e.station and (e.station in stations or e.station.casefold() in text.casefold()):
            score += 1
            reasons.append(f"station {e.station} named 投诉提及设备 {e.station}")
        anchor = e.anchor
        if anchor is not None:
            hours = (received - anchor).total_seconds() / 3600
            score += 1 / (1 + abs(hours) / 24)
            when = (f"{hours:.0f} h before the complaint 投诉前 {hours:.0f} 小时" if hours >= 0
                    else f"{-hours:.0f} h after the complaint 投诉后 {-hours:.0f} 小时")
            reasons.append(f"exam {anchor.astimezone(repo.tz):%Y-%m-%d %H:%M}, {when}")
        out.append(ExamSuggestion(e, round(score, 3), reasons))
    return sorted(out, key=lambda s: -s.score)[:limit]

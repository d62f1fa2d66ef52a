"""Candidate exams for a complaint that names none: never linked automatically.

Candidates are the patient's exams (matched by keyed hash) in a window before the complaint,
ranked by modality/station named in the complaint and by closeness in time, each with the
reasons a clerk can check before linking one (command ``link_exam``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from ..domain.complaint import Complaint
from ..errors import FieldProblem, InvalidInput
from .records import ExamRecord
from .repository import ImagingRecords

#: The built-in modality table: a DICOM modality (the family) -> the words and codes that
#: name it, in complaints and in exam records (``DR``/``CR`` exams, ``胸片`` in a complaint:
#: all DX). docs/correlation.md shows it; a site adds its own words
#: (:meth:`ModalityAliases.extended`, the settings' ``[imaging.modality_words]``).
MODALITY_WORDS: dict[str, tuple[str, ...]] = {
    "CT": ("CT", "CTA", "计算机断层", "平扫", "增强CT", "螺旋CT"),
    "MR": ("MR", "MRI", "NMR", "MRA", "磁共振", "核磁", "核磁共振"),
    "DX": ("DX", "DR", "CR", "X光", "X线", "X射线", "胸片", "拍片", "平片", "摄片"),
    "US": ("US", "超声", "B超", "彩超", "多普勒"),
    "MG": ("MG", "钼靶", "乳腺X线"),
    "NM": ("NM", "ECT", "SPECT", "核医学", "骨扫描"),
    "PT": ("PT", "PET", "PET-CT", "PET/CT"),
    "XA": ("XA", "DSA", "造影", "血管造影"),
    "RF": ("RF", "透视", "钡餐"),
}
_CODE = re.compile(r"[A-Z]{2,4}\Z")
MAX_WORD = 40


@dataclass(frozen=True)
class ModalityAliases:
    """Which modality a complaint names, and which family an exam's modality code belongs
    to, from a table ``{family: words}`` (:data:`MODALITY_WORDS` plus a site's own).

    A word in Latin letters matches as a whole word in any case (``mri``, not the ``mr`` of
    ``Mrs``); other words match anywhere (``B超``). A word of 2-4 capital letters is also an
    exam modality code of its family (an exam stored as ``DR`` or ``CR`` is a DX exam)."""

    words: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MODALITY_WORDS)
    _patterns: list[tuple[str, str, re.Pattern[str]]] = field(
        init=False, repr=False, compare=False, default_factory=list)
    _codes: dict[str, str] = field(init=False, repr=False, compare=False, default_factory=dict)

    def __post_init__(self) -> None:
        patterns = []
        codes: dict[str, str] = {}
        for family, words in self.words.items():
            for w in words:
                if _CODE.match(w.upper()):
                    codes.setdefault(w.upper(), family)
                body = re.escape(w)
                if w.isascii():
                    body = rf"(?<![A-Za-z]){body}(?![A-Za-z])"
                patterns.append((family, w, re.compile(body, re.I if w.isascii() else 0)))
        object.__setattr__(self, "_patterns", patterns)
        object.__setattr__(self, "_codes", codes)

    def family(self, code: str | None) -> str | None:
        """The family of an exam's modality code (``CR`` -> ``DX``; a code the table does
        not know is its own family)."""
        if code is None:
            return None
        up = code.strip().upper()
        return self._codes.get(up, up)

    def named(self, text: str) -> dict[str, str]:
        """The families a text names, each with the first word that named it."""
        found: dict[str, str] = {}
        for family, word, pattern in self._patterns:
            if family not in found and pattern.search(text):
                found[family] = word
        return found

    def extended(self, extra: Mapping[str, Iterable[str]]) -> ModalityAliases:
        """This table with a site's words added (``{"CT": ["螺旋"], "DX": ["摄片"]}``); a
        family may be new. InvalidInput names a family that is no modality code, or an
        empty or too long word."""
        problems: list[FieldProblem] = []
        merged = {k: list(v) for k, v in self.words.items()}
        for family, words in extra.items():
            code = str(family).strip().upper()
            if not _CODE.match(code):
                problems.append(FieldProblem("modality_words", str(family)[:40],
                                             "a modality code of 2-4 letters, e.g. CT"))
                continue
            for w in words:
                word = str(w).strip()
                if not word or len(word) > MAX_WORD:
                    problems.append(FieldProblem(f"modality_words.{code}", word[:40],
                                                 f"a word of 1-{MAX_WORD} characters"))
                elif word not in merged.setdefault(code, []):
                    merged[code].append(word)
        if problems:
            raise InvalidInput("modality words", problems,
                               ["  - modality_words：键须为 2-4 个字母的检查类型代码（如 CT），"
                                f"词语须为 1-{MAX_WORD} 个字符"])
        return ModalityAliases({k: tuple(v) for k, v in merged.items()})

    @classmethod
    def from_settings(cls, imaging: object) -> ModalityAliases:
        """The built-in table plus the settings' ``modality_words`` (the imaging section;
        none: the built-in table)."""
        extra = getattr(imaging, "modality_words", None) or {}
        return cls().extended(extra) if extra else cls()


DEFAULT_ALIASES = ModalityAliases()


def named_modalities(text: str, aliases: ModalityAliases = DEFAULT_ALIASES) -> set[str]:
    """The modality families a complaint's text names."""
    return set(aliases.named(text))


@dataclass(frozen=True)
class ExamSuggestion:
    exam: ExamRecord
    score: float
    reasons: list[str] = field(default_factory=list)


def suggest_exams(repo: ImagingRecords, complaint: Complaint, *, days_before: int = 14,
                  days_after: int = 1, limit: int = 5,
                  aliases: ModalityAliases = DEFAULT_ALIASES) -> list[ExamSuggestion]:
    """The patient's exams around the complaint, best first. Empty without a patient id.
    ``aliases``: the modality table (which words name which modality)."""
    if complaint.patient is None:
        return []
    received = complaint.received_at
    exams = repo.exams_for_patient(complaint.patient.patient_id,
                                   received - timedelta(days=days_before),
                                   received + timedelta(days=days_after))
    text = f"{complaint.subject} {complaint.description}"
    named = aliases.named(text)
    for link in complaint.exam_links:
        family = aliases.family(link.modality)
        if family is not None:
            named.setdefault(family, link.modality or family)
    stations = {link.station for link in complaint.exam_links if link.station}
    linked = {link.accession_number for link in complaint.exam_links}
    out = []
    for e in exams:
        if e.accession_number in linked:
            continue
        reasons = ["same patient id (keyed hash) 同一患者"]
        score = 1.0
        family = aliases.family(e.modality)
        if family is not None and family in named:
            word = named[family]
            score += 2
            reasons.append(f"modality {e.modality} named in the complaint ({word}"
                           f"{'' if family == e.modality else f' = {family}'}) "
                           f"投诉提及{word}")
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

"""What one QIDO-RS study and its series say about an exam, and which start time they give.

The sync reads a handful of attributes of every result. It reads them from the DICOM JSON
model directly (``{"00080050": {"vr": "SH", "Value": ["CT2026-1"]}}``): pydicom's
``Dataset.from_json`` builds a whole dataset (about 220 µs per result here, most of a sync's
CPU time), and a test checks that both read the same values on the real server's answers.
``Dataset.from_json`` is what ``dicom find`` uses to show results.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from .errors import DicomInputError
from .times import combine, parse_offset

#: keyword -> tag (hex, as DICOM JSON keys)
TAGS = {
    "SpecificCharacterSet": "00080005",
    "StudyDate": "00080020",
    "SeriesDate": "00080021",
    "StudyTime": "00080030",
    "SeriesTime": "00080031",
    "AccessionNumber": "00080050",
    "Modality": "00080060",
    "ModalitiesInStudy": "00080061",
    "TimezoneOffsetFromUTC": "00080201",
    "StationName": "00081010",
    "PatientID": "00100020",
    "StudyInstanceUID": "0020000D",
    "SeriesInstanceUID": "0020000E",
    "SeriesNumber": "00200011",
    "NumberOfStudyRelatedSeries": "00201206",
    "NumberOfStudyRelatedInstances": "00201208",
    "PerformedProcedureStepStartDate": "00400244",
    "PerformedProcedureStepStartTime": "00400245",
}
#: what the sync asks for beyond each level's default attributes
STUDY_FIELDS = ("ModalitiesInStudy", "TimezoneOffsetFromUTC")
SERIES_FIELDS = ("StationName", "PerformedProcedureStepStartDate",
                 "PerformedProcedureStepStartTime", "SeriesDate", "SeriesTime",
                 "TimezoneOffsetFromUTC", "AccessionNumber", "StudyInstanceUID")
#: modalities of objects made after the acquisition (reports, presentation states ...):
#: never "the modality of the exam", and their series times are not its start
DERIVED = frozenset({"SR", "PR", "KO", "DOC", "REG", "SEG", "RWV", "OT", "PLAN", "FID"})

#: where a milestone came from (``ExamEvent.source``), best first
SOURCE_MPPS = "dicom:mpps"
SOURCE_SERIES_PPS = "dicom:series-pps"
SOURCE_SERIES_TIME = "dicom:series-time"
SOURCE_STUDY_TIME = "dicom:study-time"
SOURCE_WORKLIST = "dicom:worklist"
SOURCE_QIDO = "dicom:qido"
RANK = {SOURCE_MPPS: 0, SOURCE_SERIES_PPS: 1, SOURCE_SERIES_TIME: 2, SOURCE_STUDY_TIME: 3}
#: how the evidence pack words each source
SOURCE_LABELS: dict[str, tuple[str, str]] = {
    SOURCE_MPPS: ("开始/结束时间来自设备 MPPS", "time from MPPS (the modality's own report)"),
    SOURCE_SERIES_PPS: ("开始时间来自序列的执行步骤开始时间",
                        "start time from the first series' performed procedure step start"),
    SOURCE_SERIES_TIME: ("开始时间来自序列时间", "start time from series time"),
    SOURCE_STUDY_TIME: ("开始时间来自检查（Study）时间", "start time from study time"),
    SOURCE_WORKLIST: ("预约时间来自设备工作列表", "scheduled time from the modality worklist"),
}


def value(obj: Mapping[str, Any], keyword: str) -> Any:
    """The first value of attribute ``keyword`` in a DICOM JSON object, or ``None``."""
    element = obj.get(TAGS[keyword])
    if not isinstance(element, dict):
        return None
    values = element.get("Value")
    if not values:
        return None
    first = values[0]
    if isinstance(first, dict):  # PN: {"Alphabetic": ...}
        return first.get("Alphabetic")
    return first


def values(obj: Mapping[str, Any], keyword: str) -> list[Any]:
    element = obj.get(TAGS[keyword])
    if not isinstance(element, dict):
        return []
    return list(element.get("Value") or [])


def _text(obj: Mapping[str, Any], keyword: str) -> str | None:
    v = value(obj, keyword)
    if v is None:
        return None
    text = str(v).strip()
    return text or None


@dataclass(frozen=True, slots=True)
class SeriesInfo:
    """One series as QIDO-RS describes it."""

    series_uid: str | None
    modality: str | None
    station: str | None
    pps_start: datetime | None
    series_time: datetime | None
    problems: tuple[str, ...] = ()

    @property
    def start(self) -> tuple[datetime, str] | None:
        """This series' start and where it comes from: the performed procedure step start,
        else the series date/time."""
        if self.pps_start is not None:
            return self.pps_start, SOURCE_SERIES_PPS
        if self.series_time is not None:
            return self.series_time, SOURCE_SERIES_TIME
        return None


@dataclass(frozen=True, slots=True)
class StudyInfo:
    """One study with its series."""

    study_uid: str
    accession: str | None
    patient_id: str | None
    study_time: datetime | None
    modalities: tuple[str, ...]
    series: list[SeriesInfo] = field(default_factory=list)
    problems: tuple[str, ...] = ()

    def acquisitions(self) -> list[SeriesInfo]:
        """The series made by the acquisition (not reports, presentation states ...), oldest
        first; series without a time last."""
        own = [s for s in self.series if (s.modality or "") not in DERIVED] or list(self.series)
        return sorted(own, key=lambda s: (s.start is None,
                                          s.start[0] if s.start is not None else datetime.min))

    @property
    def first_series(self) -> SeriesInfo | None:
        found = self.acquisitions()
        return found[0] if found else None

    @property
    def started(self) -> tuple[datetime, str] | None:
        """The exam's start as the images tell it, and its source: the first series'
        performed procedure step start or series date/time, else the study date/time."""
        first = self.first_series
        if first is not None and first.start is not None:
            return first.start
        if self.study_time is not None:
            return self.study_time, SOURCE_STUDY_TIME
        return None

    @property
    def modality(self) -> str | None:
        first = self.first_series
        if first is not None and first.modality and first.modality not in DERIVED:
            return first.modality
        own = [m for m in self.modalities if m not in DERIVED]
        return own[0] if own else (self.modalities[0] if self.modalities else None)

    @property
    def station(self) -> str | None:
        first = self.first_series
        return first.station if first is not None else None


def _time(obj: Mapping[str, Any], day: str, clock: str, zone: tzinfo, offset: tzinfo | None,
          problems: list[str]) -> datetime | None:
    try:
        return combine(_text(obj, day), _text(obj, clock), zone=zone, offset=offset,
                       date_attribute=day, time_attribute=clock)
    except DicomInputError as exc:
        problems.append(exc.en)
        return None


def _offset(obj: Mapping[str, Any], problems: list[str]) -> tzinfo | None:
    try:
        return parse_offset(_text(obj, "TimezoneOffsetFromUTC"))
    except DicomInputError as exc:
        problems.append(exc.en)
        return None


def read_series(obj: Mapping[str, Any], zone: tzinfo) -> SeriesInfo:
    """A series result (times in its ``TimezoneOffsetFromUTC``, else ``zone``). A value that
    is not a time is left out and named in ``problems``."""
    problems: list[str] = []
    offset = _offset(obj, problems)
    return SeriesInfo(
        series_uid=_text(obj, "SeriesInstanceUID"),
        modality=_text(obj, "Modality"),
        station=_text(obj, "StationName"),
        pps_start=_time(obj, "PerformedProcedureStepStartDate",
                        "PerformedProcedureStepStartTime", zone, offset, problems),
        series_time=_time(obj, "SeriesDate", "SeriesTime", zone, offset, problems),
        problems=tuple(problems),
    )


def read_study(obj: Mapping[str, Any], zone: tzinfo,
               series: Sequence[Mapping[str, Any]] = ()) -> StudyInfo | None:
    """A study result and its series results; ``None`` without a Study Instance UID."""
    uid = _text(obj, "StudyInstanceUID")
    if uid is None:
        return None
    problems: list[str] = []
    offset = _offset(obj, problems)
    infos = [read_series(s, zone) for s in series]
    return StudyInfo(
        study_uid=uid,
        accession=_text(obj, "AccessionNumber"),
        patient_id=_text(obj, "PatientID"),
        study_time=_time(obj, "StudyDate", "StudyTime", zone, offset, problems),
        modalities=tuple(str(m) for m in values(obj, "ModalitiesInStudy")),
        series=infos,
        problems=tuple(problems) + tuple(p for s in infos for p in s.problems),
    )

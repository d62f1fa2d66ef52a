"""The modality worklist (MWL) C-FIND SCU: scheduled procedure steps become ``scheduled``
exam events.

The query asks, for a date range (and optionally a station AE title and a modality), for the
items' AccessionNumber, StudyInstanceUID, PatientID, RequestedProcedureID and
RequestedProcedureDescription, and, in the Scheduled Procedure Step Sequence,
ScheduledStationAETitle, ScheduledStationName, Modality, ScheduledProcedureStepStartDate/Time
and ScheduledProcedureStepDescription. Times are the worklist's local time (its
TimezoneOffsetFromUTC, else the configured zone).

Peers: Orthanc's worklist plugin refuses (aborts) a query from an AE title it does not know
unless ``DicomAlwaysAllowFindWorklist`` is set; DCMTK's ``wlmscpfs`` answers any caller.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from hospital_complaints.plugin_api import ExamEvent, ExamEventType
from pydicom.dataset import Dataset
from pynetdicom import AE

from .errors import DicomError, DicomInputError
from .events import make_event
from .studies import SOURCE_WORKLIST
from .times import combine, da, parse_offset

PENDING = (0xFF00, 0xFF01)
#: Modality Worklist Information Model - FIND (PS3.4 K.6.1)
MWL_FIND = "1.2.840.10008.5.1.4.31"


@dataclass(frozen=True)
class WorklistItem:
    """One scheduled procedure step."""

    accession: str | None
    study_uid: str | None
    patient_id: str | None
    requested_procedure_id: str | None
    requested_procedure: str | None
    station_ae: str | None
    station_name: str | None
    modality: str | None
    scheduled_start: datetime | None
    step_description: str | None
    problems: tuple[str, ...] = ()

    def to_event(self) -> ExamEvent | None:
        """The ``scheduled`` event (``None`` without accession number or start time)."""
        if self.scheduled_start is None:
            return None
        return make_event(self.accession, ExamEventType.SCHEDULED, source=SOURCE_WORKLIST,
                          occurred_at=self.scheduled_start,
                          scheduled_start=self.scheduled_start, study_uid=self.study_uid,
                          modality=self.modality, station=self.station_ae or self.station_name,
                          patient_id=self.patient_id)

    def as_row(self) -> dict[str, object]:
        """A JSON-friendly view (patient id masked by the caller if needed)."""
        return {
            "accession_number": self.accession, "study_instance_uid": self.study_uid,
            "patient_id": self.patient_id, "requested_procedure_id": self.requested_procedure_id,
            "requested_procedure": self.requested_procedure, "station_ae": self.station_ae,
            "station_name": self.station_name, "modality": self.modality,
            "scheduled_start": self.scheduled_start.isoformat() if self.scheduled_start
            else None, "step_description": self.step_description,
            **({"problems": list(self.problems)} if self.problems else {}),
        }


def build_query(day_from: date, day_to: date, *, station_ae: str | None = None,
                modality: str | None = None) -> Dataset:
    """The C-FIND identifier: matching keys and the attributes to return (empty)."""
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.AccessionNumber = ""
    ds.StudyInstanceUID = ""
    ds.PatientID = ""
    ds.PatientName = ""
    ds.RequestedProcedureID = ""
    ds.RequestedProcedureDescription = ""
    ds.TimezoneOffsetFromUTC = ""
    step = Dataset()
    step.ScheduledStationAETitle = station_ae or ""
    step.ScheduledStationName = ""
    step.Modality = modality or ""
    when = da(day_from) if day_from == day_to else f"{da(day_from)}-{da(day_to)}"
    step.ScheduledProcedureStepStartDate = when
    step.ScheduledProcedureStepStartTime = ""
    step.ScheduledProcedureStepDescription = ""
    step.ScheduledProcedureStepID = ""
    ds.ScheduledProcedureStepSequence = [step]
    return ds


def _text(ds: Dataset, keyword: str) -> str | None:
    value = ds.get(keyword)
    if value is None:
        return None
    text = str(value).strip()
    return text or None


_TEXT_VRS = frozenset({"SH", "LO", "ST", "LT", "UT", "UC", "PN"})


def recode(ds: Dataset, charset: str) -> None:
    """Text of an answer that declares no Specific Character Set, read again in ``charset``.

    DCMTK's ``wlmscpfs`` by default returns no (0008,0005) whatever its files say, and
    pydicom then reads 8-bit bytes as ISO 8859-1 (``胸部`` becomes ``è\x83¸é\x83¨``). Such
    text is turned back into its bytes and decoded with the site's character set
    (``HC_DICOM_WORKLIST_CHARSET``, UTF-8 by default); text that is not valid there is kept
    as it was read."""
    from pydicom.charset import python_encoding

    codec = python_encoding.get(charset, charset)
    for elem in ds.iterall():
        if elem.VR not in _TEXT_VRS or elem.value is None:
            continue
        values = list(elem.value) if elem.VM > 1 else [elem.value]
        fixed = []
        for v in values:
            text = str(v)
            if text.isascii():
                fixed.append(v)
                continue
            try:
                fixed.append(text.encode("latin-1").decode(codec))
            except (UnicodeError, LookupError):
                fixed.append(v)
        elem.value = fixed if elem.VM > 1 else fixed[0]


def read_item(ds: Dataset, zone: tzinfo, charset: str = "ISO_IR 192") -> WorklistItem:
    """One C-FIND answer as an item; a time that is not one is left out and named. An answer
    without Specific Character Set is read in ``charset`` (:func:`recode`)."""
    if not ds.get("SpecificCharacterSet"):
        recode(ds, charset)
    problems: list[str] = []
    steps = ds.get("ScheduledProcedureStepSequence") or [Dataset()]
    step = steps[0]
    start = None
    try:
        offset = parse_offset(_text(ds, "TimezoneOffsetFromUTC"))
        start = combine(_text(step, "ScheduledProcedureStepStartDate"),
                        _text(step, "ScheduledProcedureStepStartTime"), zone=zone,
                        offset=offset, date_attribute="ScheduledProcedureStepStartDate",
                        time_attribute="ScheduledProcedureStepStartTime")
    except DicomInputError as exc:
        problems.append(exc.en)
    return WorklistItem(
        accession=_text(ds, "AccessionNumber"), study_uid=_text(ds, "StudyInstanceUID"),
        patient_id=_text(ds, "PatientID"),
        requested_procedure_id=_text(ds, "RequestedProcedureID"),
        requested_procedure=_text(ds, "RequestedProcedureDescription"),
        station_ae=_text(step, "ScheduledStationAETitle"),
        station_name=_text(step, "ScheduledStationName"), modality=_text(step, "Modality"),
        scheduled_start=start, step_description=_text(step, "ScheduledProcedureStepDescription"),
        problems=tuple(problems))


def query(host: str, port: int, *, called_ae: str, calling_ae: str, day_from: date,
          day_to: date, zone: tzinfo, station_ae: str | None = None,
          modality: str | None = None, timeout: float = 30.0,
          charset: str = "ISO_IR 192") -> Iterator[WorklistItem]:
    """Ask the worklist SCP at ``host:port`` and yield its items."""
    ae = AE(ae_title=calling_ae)
    ae.add_requested_context(MWL_FIND)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = timeout
    assoc = ae.associate(host, port, ae_title=called_ae)
    if not assoc.is_established:
        why = "rejected" if assoc.is_rejected else "aborted" if assoc.is_aborted else \
            "no answer"
        raise DicomError(
            f"worklist {called_ae}@{host}:{port}: association {why}; check the address, "
            f"the called AE title (HC_DICOM_WORKLIST_AE) and that the SCP accepts our AE "
            f"title {calling_ae} (Orthanc: DicomAlwaysAllowFindWorklist or DicomModalities)",
            f"工作列表 {called_ae}@{host}:{port}：连接被{'拒绝' if why == 'rejected' else '中止'}；"
            "请检查地址、被叫 AE 名称（HC_DICOM_WORKLIST_AE）及对方是否允许本机 AE 名称")
    try:
        identifier = build_query(day_from, day_to, station_ae=station_ae, modality=modality)
        for status, answer in assoc.send_c_find(identifier, MWL_FIND):
            if not status:
                raise DicomError(
                    f"worklist {called_ae}@{host}:{port}: the query was aborted "
                    "(connection lost or timed out)",
                    f"工作列表 {called_ae}@{host}:{port}：查询中断（连接断开或超时）")
            code = int(status.Status)
            if code in PENDING and answer is not None:
                yield read_item(answer, zone, charset)
            elif code != 0x0000:
                comment = str(status.get("ErrorComment", "") or "")[:80]
                raise DicomError(
                    f"worklist {called_ae}@{host}:{port}: the query failed with status "
                    f"0x{code:04X} {comment}".rstrip(),
                    f"工作列表 {called_ae}@{host}:{port}：查询失败，状态 0x{code:04X}")
    finally:
        if assoc.is_established:
            assoc.release()

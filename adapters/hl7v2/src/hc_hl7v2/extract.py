"""The fast extraction path: IHE Scheduled Workflow messages -> exam events (no hl7apy).

Which message carries what, and how times are read, is tabled in ``docs/hl7v2.md``. One
message gives one :class:`Hl7Event` per order (ORC/OBR group, or the appointment of an SIU);
each with an accession number becomes an :class:`~hospital_complaints.domain.imaging.ExamEvent`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import NamedTuple

from hospital_complaints.domain.imaging import ExamEvent
from hospital_complaints.domain.taxonomy import ExamEventType
from pydantic import ValidationError

from .errors import REQUIRED_FIELD_MISSING, UNSUPPORTED_VERSION, Hl7InputError
from .times import DEFAULT_ZONE, parse_dtm
from .tokenise import Message, parse_message

SOURCE = "hl7v2"
E = ExamEventType

_UID = re.compile(r"(?=.{1,64}\Z)(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*\Z")
_MODALITY = re.compile(r"[A-Z]{2,4}\Z")


@dataclass(frozen=True, slots=True)
class ExtractOptions:
    """:ivar zone: the zone of times sent without an offset (default Asia/Shanghai).
    :ivar default_charset: codec for messages without MSH-18 (default UTF-8).
    :ivar accession_from_filler_order: when OBR-18/IPC-1 is empty, use the filler order
        number (ORC-3, OBR-3, SCH-27, TXA-15) as the accession number, as RIS systems that fill
        the order commonly do. The record's ``sources`` says which field was used."""

    zone: tzinfo = DEFAULT_ZONE
    default_charset: str = "utf-8"
    accession_from_filler_order: bool = True


DEFAULT_OPTIONS = ExtractOptions()


class Hl7Event(NamedTuple):
    """One exam milestone read from one message: richer than ``ExamEvent`` (the accession
    number may be missing, e.g. ADT arrivals) and with the field each value came from.
    (A NamedTuple: immutable and cheap to build on the fast path.)

    ``sources`` maps an attribute name to ``(segment index, field, component)``: index into
    ``Message.segments``, 1-based field and component numbers."""

    message_control_id: str
    message_type: str
    event: ExamEventType
    sources: dict[str, tuple[int, int, int]]
    accession_number: str | None = None
    placer_order: str | None = None
    filler_order: str | None = None
    requested_procedure_id: str | None = None
    study_instance_uid: str | None = None
    patient_id: str | None = None
    modality: str | None = None
    station: str | None = None
    room: str | None = None
    occurred_at: datetime | None = None
    scheduled_start: datetime | None = None
    warnings: tuple[str, ...] = ()

    def to_exam_event(self) -> ExamEvent | None:
        """The core's ``ExamEvent``, or ``None`` without an accession number."""
        if not self.accession_number:
            return None
        try:
            return ExamEvent(
                accession_number=self.accession_number, event=self.event,
                occurred_at=self.occurred_at, scheduled_start=self.scheduled_start,
                study_instance_uid=self.study_instance_uid, placer_order=self.placer_order,
                filler_order=self.filler_order, patient_id=self.patient_id,
                modality=self.modality, station=self.station, room=self.room,
                source=SOURCE, source_message_id=self.message_control_id or None)
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = ".".join(str(p) for p in first["loc"])
            where = self.sources.get(loc)
            raise Hl7InputError(f"field {where[1]} of segment {where[0] + 1}" if where else loc,
                                f"value does not fit {loc}: {first['msg']}") from None


@dataclass(frozen=True, slots=True)
class Extraction:
    """What one message gave: its events, and a note when the type is not used."""

    message: Message
    events: list[Hl7Event]
    exam_events: list[ExamEvent]
    note: str | None = None


# -- event rules ---------------------------------------------------------------------------

_ORDER_STATUS = {"SC": E.SCHEDULED, "IP": E.STARTED, "CM": E.COMPLETED, "CA": E.CANCELLED,
                 "DC": E.CANCELLED, "HD": E.OTHER, "A": E.STARTED, "ER": E.OTHER}
_CANCEL_CONTROLS = frozenset({"CA", "OC", "CR", "DC", "OD", "DR"})


def order_event(control: str, status: str) -> ExamEventType:
    """ORC-1 (order control) + ORC-5 (order status) -> event."""
    control, status = control.upper(), status.upper()
    if control in _CANCEL_CONTROLS:
        return E.CANCELLED
    if control == "NW":
        return E.SCHEDULED if status == "SC" else E.ORDERED
    if control in ("XO", "XX", "XR") and status in ("", "SC"):
        return E.RESCHEDULED
    return _ORDER_STATUS.get(status, E.OTHER)


SIU_TRIGGERS: dict[str, ExamEventType] = {
    "S12": E.SCHEDULED, "S13": E.RESCHEDULED, "S14": E.RESCHEDULED, "S15": E.CANCELLED,
    "S16": E.CANCELLED, "S17": E.CANCELLED, "S18": E.OTHER, "S19": E.OTHER, "S20": E.OTHER,
    "S21": E.OTHER, "S22": E.OTHER, "S23": E.OTHER, "S24": E.OTHER, "S25": E.OTHER,
    "S26": E.NO_SHOW,
}
# SCH-25 filler status (HL7 table 0278, plus arrival codes some RIS send) overrides S12/S14.
SIU_STATUS: dict[str, ExamEventType] = {
    "STARTED": E.STARTED, "COMPLETE": E.COMPLETED, "NOSHOW": E.NO_SHOW,
    "CANCELLED": E.CANCELLED, "DELETED": E.CANCELLED, "DC": E.CANCELLED,
    "ARRIVED": E.ARRIVED, "CHECKEDIN": E.ARRIVED, "CHECKIN": E.ARRIVED,
}
REPORT_STATUS: dict[str, ExamEventType] = {  # OBR-25 (table 0123)
    "P": E.PRELIMINARY_REPORT, "R": E.PRELIMINARY_REPORT, "A": E.PRELIMINARY_REPORT,
    "F": E.FINAL_REPORT, "C": E.CORRECTED_REPORT, "X": E.CANCELLED}
DOCUMENT_STATUS: dict[str, ExamEventType] = {  # TXA-17 (table 0271)
    "DI": E.PRELIMINARY_REPORT, "DO": E.PRELIMINARY_REPORT, "IP": E.PRELIMINARY_REPORT,
    "IN": E.PRELIMINARY_REPORT, "PA": E.PRELIMINARY_REPORT, "AU": E.FINAL_REPORT,
    "LA": E.FINAL_REPORT, "CA": E.CANCELLED}
ORDER_TYPES = frozenset({"ORM^O01", "OMG^O19", "OMI^O23"})
ADT_ARRIVAL = frozenset({"ADT^A04", "ADT^A10"})
MDM_TYPES = frozenset({"MDM^T02", "MDM^T04"})


# -- reading -------------------------------------------------------------------------------


class _Reader:
    """Reads values of one group of segments and remembers where each came from."""

    __slots__ = ("_last", "group", "msg", "opts", "sources", "warnings")

    def __init__(self, msg: Message, group: dict[str, int], opts: ExtractOptions) -> None:
        self.msg = msg
        self.group = group
        self.opts = opts
        self.sources: dict[str, tuple[int, int, int]] = {}
        self.warnings: list[str] = []
        self._last = (0, 0, 0)

    def _find(self, paths: tuple[tuple[str, int, int], ...]) -> tuple[str, str] | None:
        """``(segment name, value)`` of the first non-empty path; records its source."""
        group, msg = self.group, self.msg
        split = msg._fields  # the message's cache of split segments (same package)
        for seg, n, comp in paths:
            idx = group.get(seg)
            if idx is None:
                continue
            fields = split.get(idx) or msg.fields_at(idx)
            if n >= len(fields) or not fields[n]:
                continue
            v = (msg.first_component(fields[n]) if comp == 1 else
                 msg.pick(fields[n], comp)).strip()
            if v:
                self._last = (idx, n, comp)
                return seg, v
        return None

    def first(self, name: str, *paths: tuple[str, int, int]) -> str | None:
        """The first non-empty of ``(segment, field, component)`` paths."""
        found = self._find(paths)
        if found is None:
            return None
        self.sources[name] = self._last
        return found[1]

    def time(self, name: str, *paths: tuple[str, int, int]) -> datetime | None:
        found = self._find(paths)
        if found is None:
            return None
        self.sources[name] = self._last
        _, n, comp = self._last
        where = f"{found[0]}-{n}" + (f".{comp}" if comp > 1 else "")
        return parse_dtm(found[1], where, self.opts.zone)


def _groups(msg: Message) -> tuple[dict[str, int], list[dict[str, int]]]:
    """Message-level segments (first of each) and order groups: each ORC starts a group, and
    an OBR starts one unless the current group has no OBR yet."""
    top: dict[str, int] = {}
    groups: list[dict[str, int]] = []
    current: dict[str, int] | None = None
    for i, seg in enumerate(msg.segments):
        name = seg[:3]
        if name == "ORC" or (name == "OBR" and (current is None or "OBR" in current)):
            current = {}
            groups.append(current)
        if current is not None and name not in ("PID", "PV1", "MSH", "EVN", "SCH"):
            current.setdefault(name, i)
        top.setdefault(name, i)
    return top, groups


def _study_uid(msg: Message, group: dict[str, int], r: _Reader) -> str | None:
    uid = r.first("study_instance_uid", ("IPC", 3, 1), ("ZDS", 1, 1))
    if uid is None:
        for idx in msg.positions("OBX"):
            code = msg.at(idx, 3, 1)
            text = msg.at(idx, 3, 2).lower()
            if code == "113014" or "study instance uid" in text:
                uid = msg.at(idx, 5, 1).strip() or None
                if uid:
                    r.sources["study_instance_uid"] = (idx, 5, 1)
                    break
    if uid is not None and not _UID.match(uid):
        r.warnings.append(f"study instance UID {uid!r} is not a DICOM UID; left out")
        r.sources.pop("study_instance_uid", None)
        return None
    return uid


def _modality(r: _Reader) -> str | None:
    mod = r.first("modality", ("IPC", 5, 1), ("OBR", 24, 1))
    if mod is None:
        return None
    up = mod.upper()
    if not _MODALITY.match(up):
        r.warnings.append(f"modality {mod!r} is not a DICOM modality code; left out")
        r.sources.pop("modality", None)
        return None
    return up


def _event(msg: Message, r: _Reader, kind: ExamEventType, occurred: datetime | None,
           scheduled: datetime | None, top: dict[str, int]) -> Hl7Event:
    fallback = ("ORC", 3, 1), ("OBR", 3, 1), ("SCH", 27, 1), ("TXA", 15, 1)
    accession = r.first("accession_number", ("IPC", 1, 1), ("OBR", 18, 1))
    if accession is None and r.opts.accession_from_filler_order:
        accession = r.first("accession_number", *fallback)
    patient = None
    pid = top.get("PID")
    if pid is not None:
        patient = msg.first_component(msg.at_raw(pid, 3)).strip() or None
        if patient:
            r.sources["patient_id"] = (pid, 3, 1)
    return Hl7Event(
        message_control_id=msg.control_id,
        message_type=msg.message_type,
        event=kind,
        accession_number=accession,
        placer_order=r.first("placer_order", ("ORC", 2, 1), ("OBR", 2, 1), ("SCH", 26, 1),
                             ("TXA", 14, 1)),
        filler_order=r.first("filler_order", *fallback),
        requested_procedure_id=r.first("requested_procedure_id", ("IPC", 2, 1), ("OBR", 19, 1)),
        study_instance_uid=_study_uid(msg, r.group, r),
        patient_id=patient,
        modality=_modality(r),
        station=r.first("station", ("IPC", 9, 1), ("IPC", 7, 1), ("AIG", 3, 1)),
        room=r.first("room", ("IPC", 8, 1), ("AIL", 3, 2), ("AIL", 3, 1)),
        occurred_at=occurred,
        scheduled_start=scheduled,
        warnings=tuple(r.warnings),
        sources=r.sources,
    )


def _orders(msg: Message, top: dict[str, int], groups: list[dict[str, int]],
            opts: ExtractOptions) -> list[Hl7Event]:
    out = []
    for g in groups:
        if "ORC" not in g:
            continue
        r = _Reader(msg, g | {"MSH": 0}, opts)
        kind = order_event(msg.at(g["ORC"], 1), msg.at(g["ORC"], 5))
        if kind is E.STARTED or kind is E.COMPLETED:
            occurred = r.time("occurred_at", ("OBR", 7, 1), ("ORC", 9, 1), ("MSH", 7, 1))
        else:
            occurred = r.time("occurred_at", ("ORC", 9, 1), ("MSH", 7, 1))
        scheduled = r.time("scheduled_start", ("TQ1", 7, 1), ("ORC", 7, 4), ("OBR", 27, 4))
        out.append(_event(msg, r, kind, occurred, scheduled, top))
    return out


def _reports(msg: Message, top: dict[str, int], groups: list[dict[str, int]],
             opts: ExtractOptions) -> list[Hl7Event]:
    out = []
    for g in groups:
        if "OBR" not in g:
            continue
        r = _Reader(msg, g | {"MSH": 0}, opts)
        status = msg.at(g["OBR"], 25).upper()
        kind = REPORT_STATUS.get(status, E.OTHER)
        occurred = r.time("occurred_at", ("OBR", 22, 1), ("MSH", 7, 1))
        scheduled = r.time("scheduled_start", ("TQ1", 7, 1), ("ORC", 7, 4), ("OBR", 27, 4))
        out.append(_event(msg, r, kind, occurred, scheduled, top))
    return out


def _document(msg: Message, top: dict[str, int], groups: list[dict[str, int]],
              opts: ExtractOptions) -> list[Hl7Event]:
    if "TXA" not in top:
        raise Hl7InputError("TXA", f"{msg.message_type} has no TXA segment",
                            code=REQUIRED_FIELD_MISSING)
    g = dict(groups[0]) if groups else {}
    g.update({k: top[k] for k in ("TXA", "EVN", "MSH") if k in top})
    r = _Reader(msg, g, opts)
    status = msg.at(top["TXA"], 17).upper()
    kind = DOCUMENT_STATUS.get(status, E.OTHER)
    if kind is E.FINAL_REPORT and msg.at(top["TXA"], 13):  # has a parent document
        kind = E.CORRECTED_REPORT
    occurred = r.time("occurred_at", ("EVN", 6, 1), ("EVN", 2, 1), ("TXA", 4, 1),
                      ("MSH", 7, 1))
    scheduled = r.time("scheduled_start", ("TQ1", 7, 1), ("ORC", 7, 4), ("OBR", 27, 4))
    return [_event(msg, r, kind, occurred, scheduled, top)]


def _appointment(msg: Message, top: dict[str, int], groups: list[dict[str, int]],
                 opts: ExtractOptions) -> list[Hl7Event]:
    if "SCH" not in top:
        raise Hl7InputError("SCH", f"{msg.message_type} has no SCH segment",
                            code=REQUIRED_FIELD_MISSING)
    trigger = msg.value("MSH", 9, 2).upper()
    kind = SIU_TRIGGERS[trigger]
    status = msg.at(top["SCH"], 25).upper().replace(" ", "").replace("-", "")
    if trigger in ("S12", "S14") and status in SIU_STATUS:
        kind = SIU_STATUS[status]
    g = dict(groups[0]) if groups else {}
    g.update({k: top[k] for k in ("SCH", "EVN", "MSH", "AIS", "AIL", "AIG", "TQ1")
              if k in top})
    r = _Reader(msg, g, opts)
    occurred = r.time("occurred_at", ("EVN", 6, 1), ("EVN", 2, 1), ("MSH", 7, 1))
    scheduled = r.time("scheduled_start", ("AIS", 4, 1), ("SCH", 11, 4), ("TQ1", 7, 1))
    return [_event(msg, r, kind, occurred, scheduled, top)]


def _arrival(msg: Message, top: dict[str, int], groups: list[dict[str, int]],
             opts: ExtractOptions) -> list[Hl7Event]:
    g = dict(groups[0]) if groups else {}
    g.update({k: top[k] for k in ("EVN", "MSH", "PV1") if k in top})
    r = _Reader(msg, g, opts)
    occurred = r.time("occurred_at", ("EVN", 6, 1), ("EVN", 2, 1), ("PV1", 44, 1),
                      ("MSH", 7, 1))
    return [_event(msg, r, E.ARRIVED, occurred, None, top)]


_Rule = Callable[[Message, dict[str, int], list[dict[str, int]], ExtractOptions],
                 list[Hl7Event]]


def _rule_for(message_type: str) -> _Rule | None:
    if message_type in ORDER_TYPES:
        return _orders
    if message_type == "ORU^R01":
        return _reports
    if message_type in MDM_TYPES:
        return _document
    if message_type in ADT_ARRIVAL:
        return _arrival
    if message_type[:4] == "SIU^" and message_type[4:] in SIU_TRIGGERS:
        return _appointment
    return None


def extract(msg: Message, opts: ExtractOptions = DEFAULT_OPTIONS) -> Extraction:
    """Events of one tokenised message. Raises :class:`Hl7InputError` when it is unusable."""
    if not msg.control_id:
        raise Hl7InputError("MSH-10", "message control id is empty",
                            code=REQUIRED_FIELD_MISSING)
    mtype = msg.message_type
    if not mtype or mtype[0] == "^":
        raise Hl7InputError("MSH-9", "message type is empty", code=REQUIRED_FIELD_MISSING)
    version = msg.first_component(msg.at_raw(0, 12))
    if version and not version.startswith("2."):
        raise Hl7InputError("MSH-12", f"version {version!r} is not HL7 v2.x",
                            code=UNSUPPORTED_VERSION, ack_code="AR")
    rule = _rule_for(mtype.upper())
    if rule is None:
        return Extraction(msg, [], [], note=f"message type {mtype} carries no exam events here; "
                          "stored and acknowledged, not used")
    top, groups = _groups(msg)
    events = rule(msg, top, groups, opts)
    if not events:
        return Extraction(msg, [], [], note=f"{mtype} has no ORC/OBR order group")
    # Built here so that a value the core cannot store fails now, not later in the sink.
    exams = [x for ev in events if (x := ev.to_exam_event()) is not None]
    return Extraction(msg, events, exams)


def extract_bytes(raw: bytes, opts: ExtractOptions = DEFAULT_OPTIONS) -> Extraction:
    """Decode, tokenise and extract one message's bytes."""
    return extract(parse_message(raw, opts.default_charset), opts)

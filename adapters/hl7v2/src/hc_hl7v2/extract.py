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
from typing import Any, NamedTuple

from hospital_complaints.plugin_api import ExamEvent, ExamEventType
from pydantic import BaseModel, ValidationError

from .errors import (
    REQUIRED_FIELD_MISSING,
    SEGMENT_SEQUENCE_ERROR,
    UNSUPPORTED_VERSION,
    Hl7InputError,
    describe,
)
from .times import DEFAULT_ZONE, DTM_CACHE, cached_dtm, parse_dtm
from .tokenise import _STANDARD, Message, parse_message, unescape

SOURCE = "hl7v2"
E = ExamEventType

_UID = re.compile(r"(?=.{1,64}\Z)(?:0|[1-9][0-9]*)(?:\.(?:0|[1-9][0-9]*))*\Z")
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
        """The core's ``ExamEvent``, or ``None`` without an accession number.

        The fast path has already checked every value the way ``ExamEvent`` validates it
        (stripped, non-empty, DICOM UID and modality patterns, aware times), so when every
        text also fits the 200-character limit the event is built without re-validation
        (:func:`_trusted_exam_event`); otherwise pydantic validates it and a value that does
        not fit is an ``AE`` naming its field."""
        (control_id, _, event, _, accession, placer, filler, _, uid, patient, modality,
         station, room, occurred, scheduled, _) = self  # one unpacking, not 13 look-ups
        if not accession:
            return None
        cid = control_id.strip() or None
        values = {
            "accession_number": accession, "event": event, "occurred_at": occurred,
            "scheduled_start": scheduled, "study_instance_uid": uid, "placer_order": placer,
            "filler_order": filler, "patient_id": patient, "modality": modality,
            "station": station, "room": room, "source": SOURCE, "source_message_id": cid}
        if _TRUSTED_OK and len(accession) <= 200 and (  # the core's limit for every text
                placer is None or len(placer) <= 200) and (
                filler is None or len(filler) <= 200) and (
                uid is None or len(uid) <= 200) and (
                patient is None or len(patient) <= 200) and (
                station is None or len(station) <= 200) and (
                room is None or len(room) <= 200) and (cid is None or len(cid) <= 200):
            return _trusted_exam_event(values)
        try:
            return ExamEvent(**values)
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = ".".join(str(p) for p in first["loc"])
            where = self.sources.get(loc)
            raise Hl7InputError(f"field {where[1]} of segment {where[0] + 1}" if where else loc,
                                f"value does not fit {loc}: {first['msg']}") from None


_FIELDS_SET: set[str] = set(ExamEvent.model_fields)  # copied per event, never changed


def _trusted_exam_event(values: dict[str, Any]) -> ExamEvent:
    """An ``ExamEvent`` from values already validated, without pydantic's validation: what
    ``ExamEvent.model_construct`` does, at a tenth of its cost (~0.5 us instead of ~4 us on
    the fast path). ``values`` must name every field, in the model's field order (pydantic
    serialises ``__dict__`` in its order). The module checks at import that the
    result equals a validated event (see ``_TRUSTED_OK``); a test checks it on every fixture.
    """
    event = object.__new__(ExamEvent)
    # BaseModel's slot descriptors, called directly: object.__setattr__ would look each up
    _SET_DICT(event, values)
    _SET_FIELDS_SET(event, _FIELDS_SET.copy())
    _SET_EXTRA(event, None)
    _SET_PRIVATE(event, None)
    return event


def _slot_setter(name: str) -> Callable[[object, object], None]:
    """The setter of BaseModel's slot ``name`` (``__dict__`` and the three
    ``__pydantic_*__``); ``object.__setattr__`` should a pydantic version not have it."""
    descriptor = vars(BaseModel).get(name)
    setter: Callable[[object, object], None] | None = getattr(descriptor, "__set__", None)
    if setter is not None:
        return setter
    return lambda obj, value: object.__setattr__(obj, name, value)


_SET_DICT = _slot_setter("__dict__")
_SET_FIELDS_SET = _slot_setter("__pydantic_fields_set__")
_SET_EXTRA = _slot_setter("__pydantic_extra__")
_SET_PRIVATE = _slot_setter("__pydantic_private__")


def _trusted_matches_validated() -> bool:
    """Whether :func:`_trusted_exam_event` builds what validation builds (pydantic's internals
    could change; then the fast path validates every event)."""
    sample = {name: None for name in ExamEvent.model_fields} | {
        "accession_number": "A1", "event": E.COMPLETED, "source": SOURCE,
        "occurred_at": datetime(2026, 11, 20, 8, 0, tzinfo=DEFAULT_ZONE), "modality": "CT"}
    try:
        trusted = _trusted_exam_event(dict(sample))
        return bool(trusted == ExamEvent(**sample) and
                    trusted.model_dump_json() == ExamEvent(**sample).model_dump_json())
    except Exception:
        return False


_TRUSTED_OK = _trusted_matches_validated()


@dataclass(frozen=True, slots=True)
class Extraction:
    """What one message gave: its events, and a note when the type is not used."""

    message: Message
    events: list[Hl7Event]
    exam_events: list[ExamEvent]
    note: str | None = None


# The slots of Extraction, set directly: a frozen dataclass's __init__ goes through
# object.__setattr__ field by field, which costs twice as much on the fast path.
_SLOTS = vars(Extraction)  # the slot descriptors (slots=True)
_SET_MESSAGE = _SLOTS["message"].__set__
_SET_EVENTS = _SLOTS["events"].__set__
_SET_EXAMS = _SLOTS["exam_events"].__set__
_SET_NOTE = _SLOTS["note"].__set__


def _extraction(msg: Message, events: list[Hl7Event], exams: list[ExamEvent],
                note: str | None = None) -> Extraction:
    """``Extraction(msg, events, exams, note)``, built the fast way (equal, same type)."""
    x: Extraction = object.__new__(Extraction)
    _SET_MESSAGE(x, msg)
    _SET_EVENTS(x, events)
    _SET_EXAMS(x, exams)
    _SET_NOTE(x, note)
    return x


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


_Path = tuple[str, int, int]
_At = tuple[int, int, int]  # segment index, 1-based field and component
_Spec = tuple[tuple[str, tuple[_Path, ...]], ...]
# (position in the spec, name, paths the group has), only names with at least one path
_Resolved = tuple[tuple[int, str, tuple[_At, ...]], ...]
_NOT_HERE: list[str] = []  # the fields of a segment the group does not have


class _Group:
    """One group of segments (segment id -> index into ``Message.segments``) with each spec
    of paths resolved against it, once: only the paths whose segment the group has, made
    segment indexes.

    A group depends only on the message's shape (its type and segment ids), so it is built
    once per shape (:class:`_Shape`) and shared by every message of that shape; it must not
    be changed after it was built. Specs (module constants) are cached by ``id``, checked to
    be the same object."""

    __slots__ = ("_readers", "_resolved", "_where", "seg")

    def __init__(self, seg: dict[str, int], pid: int | None = None) -> None:
        self.seg = seg
        # paths resolve against the group's segments plus the message's PID (PID-3)
        self._where = seg if pid is None else {**seg, "PID": pid}
        self._resolved: dict[int, tuple[_Spec, _Resolved]] = {}
        self._readers: dict[int, tuple[_Spec, _ValuesFn]] = {}

    def reader(self, spec: _Spec) -> _ValuesFn:
        """:meth:`_Reader.values` for ``spec`` in this group, compiled once (see
        :func:`_compile_values`)."""
        cached = self._readers.get(id(spec))
        if cached is not None and cached[0] is spec:  # the same object, not a reused id
            return cached[1]
        fn = _compile_values(self.resolve(spec), len(spec))
        self._readers[id(spec)] = (spec, fn)
        return fn

    def resolve(self, spec: _Spec) -> _Resolved:
        """``spec`` (``(name, paths)`` pairs) with every path made ``(index, field,
        component)``: the paths of segments the group does not have are dropped, and so
        are the names left without a path (their value is ``None``); each kept name comes
        with its position in ``spec``."""
        cached = self._resolved.get(id(spec))
        if cached is not None and cached[0] is spec:  # the same object, not a reused id
            return cached[1]
        seg = self._where
        resolved = ((k, name, tuple((seg[s], n, c) for s, n, c in paths if s in seg))
                    for k, (name, paths) in enumerate(spec))
        got = tuple(entry for entry in resolved if entry[2])
        self._resolved[id(spec)] = (spec, got)
        return got


_STANDARD_DELIMS = (_STANDARD.repetition, _STANDARD.component, _STANDARD.subcomponent,
                    _STANDARD.escape)


# (message, its split-segment cache, sources, repetition, component, subcomponent and escape
# characters) -> the value of each name of a spec (see _Reader.values)
_ValuesFn = Callable[[Message, dict[int, list[str]], dict[str, _At], str, str, str, str],
                     list[str | None]]


def _compile_values(resolved: _Resolved, size: int) -> _ValuesFn:
    """A function doing what :meth:`_Reader._values_loop` does for one resolved spec, with
    the loops unrolled: segments, fields and components are constants in its code, each
    segment it reads is split once up front (into the message's cache, as ``fields_at``
    does) and no path is looked up at run time. Built once per group and spec: this is the
    hot loop of the fast path. Its code is made only of integers and ``repr`` of the names."""
    used = sorted({idx for _, _, ats in resolved for idx, _, _ in ats})
    lines = ["def _values(msg, split, sources, rep, comp, sub, esc):",
             f"    out = [None] * {int(size)}"]
    if any(idx != 0 for idx in used):
        lines += ["    segments = msg.segments", "    fsep = msg.encoding.field"]
    for idx in used:  # Message.fields_at, inline (it treats MSH apart)
        split = "msg.fields_at(0)" if idx == 0 else f"segments[{int(idx)}].split(fsep)"
        lines += [f"    f{idx} = split.get({idx})", f"    if f{idx} is None:",
                  f"        f{idx} = split[{idx}] = {split}", f"    n{idx} = len(f{idx})"]
    pad = " " * 16
    first = [  # up to the first delimiter (repetition, component, sub-): Message.pick
        "if comp in v:", "    v = v[:v.index(comp)]", "if rep in v:", "    v = v[:v.index(rep)]",
        "if sub in v:", "    v = v[:v.index(sub)]", "if esc in v:",
        "    v = unescape(v, msg.encoding)", "elif v == '\"\"':", "    v = ''"]
    for k, name, ats in resolved:
        lines.append(f"    while True:  # {k}")  # one block per name: break when found
        for idx, n, c in ats:
            lines += [f"        if {int(n)} < n{idx}:", f"            v = f{idx}[{int(n)}]",
                      "            if v:"]
            if c == 1:
                lines += [pad + line for line in first]
            else:
                lines.append(f"{pad}v = msg.pick(v, {int(c)})")
            lines += [f"{pad}v = v.strip()", f"{pad}if v:",
                      f"{pad}    sources[{name!r}] = ({int(idx)}, {int(n)}, {int(c)})",
                      f"{pad}    out[{int(k)}] = v", f"{pad}    break"]
        lines.append("        break")
    lines.append("    return out")
    namespace: dict[str, Any] = {"unescape": unescape}
    exec("\n".join(lines), namespace)  # generated from integers and repr'd names only
    fn: _ValuesFn = namespace["_values"]
    return fn


class _Reader:
    """Reads values of one group of segments for one message and remembers where each came
    from (``sources``). This is the hot loop of the fast path: it works on the message's
    cache of split segments, visits only the paths the group can have (already resolved)
    and takes the first component inline (the rules of :meth:`Message.first_component`)."""

    __slots__ = ("delims", "group", "msg", "opts", "sources", "warnings")

    def __init__(self, msg: Message, group: _Group, opts: ExtractOptions) -> None:
        self.msg = msg
        self.group = group
        self.opts = opts
        self.sources: dict[str, tuple[int, int, int]] = {}
        self.warnings: list[str] = []
        enc = msg.encoding
        #: repetition, component, subcomponent and escape characters
        self.delims = _STANDARD_DELIMS if enc is _STANDARD else (
            enc.repetition, enc.component, enc.subcomponent, enc.escape)

    def fields(self, seg: str) -> list[str]:
        """The fields of the group's ``seg`` (empty when the group has none)."""
        idx = self.group.seg.get(seg)
        return _NOT_HERE if idx is None else self.msg.fields_at(idx)

    def values(self, spec: _Spec) -> list[str | None]:
        """For each ``(name, paths)`` of ``spec``: the first non-empty value (stripped), its
        source recorded as ``name``'s; ``None`` when every path is empty."""
        rep, comp, sub, esc = self.delims
        group = self.group
        cached = group._readers.get(id(spec))  # group.reader(spec), inline
        fn = cached[1] if cached is not None and cached[0] is spec else group.reader(spec)
        msg = self.msg
        return fn(msg, msg._fields, self.sources, rep, comp, sub, esc)

    def _values_loop(self, spec: _Spec) -> list[str | None]:
        """What the compiled :meth:`values` does, as a loop (the reference the tests compare
        the compiled code with)."""
        msg = self.msg
        split = msg._fields  # the message's cache of split segments (same package)
        segments = msg.segments
        fsep = msg.encoding.field
        sources = self.sources
        rep, comp, sub, esc = self.delims
        out: list[str | None] = [None] * len(spec)
        for k, name, ats in self.group.resolve(spec):
            for at in ats:
                idx, n, c = at
                fields = split.get(idx)
                if fields is None:  # Message.fields_at, inline (it treats MSH apart)
                    fields = msg.fields_at(idx) if idx == 0 else segments[idx].split(fsep)
                    split[idx] = fields
                if n >= len(fields):
                    continue
                raw = fields[n]
                if not raw:
                    continue
                if c == 1:  # up to the first delimiter (repetition, component, sub-)
                    v = raw  # `in` is an operator, cheaper than a method call
                    if comp in v:
                        v = v[:v.index(comp)]
                    if rep in v:
                        v = v[:v.index(rep)]
                    if sub in v:
                        v = v[:v.index(sub)]
                    if esc in v:
                        v = unescape(v, msg.encoding)
                    elif v == '""':
                        continue
                else:
                    v = msg.pick(raw, c)
                v = v.strip()
                if v:
                    sources[name] = at
                    out[k] = v
                    break
        return out

    def time(self, name: str, value: str | None) -> datetime | None:
        """``value`` (read as ``name`` by :meth:`values`) parsed; an error names the
        segment and field it came from."""
        if value is None:
            return None
        zone = self.opts.zone
        got = cached_dtm(value, zone)
        if got is not None:
            return got
        idx, n, c = self.sources[name]
        return parse_dtm(value, f"{self.msg.names[idx]}-{n}" + (f".{c}" if c > 1 else ""),
                         zone)


# where each value is read from, first non-empty wins (docs/hl7v2.md tables them)
_ACCESSION: tuple[_Path, ...] = (("IPC", 1, 1), ("OBR", 18, 1))
_FILLER: tuple[_Path, ...] = (("ORC", 3, 1), ("OBR", 3, 1), ("SCH", 27, 1), ("TXA", 15, 1))
_PLACER: tuple[_Path, ...] = (("ORC", 2, 1), ("OBR", 2, 1), ("SCH", 26, 1), ("TXA", 14, 1))
_REQUESTED: tuple[_Path, ...] = (("IPC", 2, 1), ("OBR", 19, 1))
_UID_PATHS: tuple[_Path, ...] = (("IPC", 3, 1), ("ZDS", 1, 1))
_MODALITY_PATHS: tuple[_Path, ...] = (("IPC", 5, 1), ("OBR", 24, 1))
_STATION: tuple[_Path, ...] = (("IPC", 9, 1), ("IPC", 7, 1), ("AIG", 3, 1))
_ROOM: tuple[_Path, ...] = (("IPC", 8, 1), ("AIL", 3, 2), ("AIL", 3, 1))
_OCCURRED = "occurred_at"
_SCHEDULED = "scheduled_start"
_ORDER_DONE_AT: tuple[_Path, ...] = (("OBR", 7, 1), ("ORC", 9, 1), ("MSH", 7, 1))
_ORDER_AT: tuple[_Path, ...] = (("ORC", 9, 1), ("MSH", 7, 1))
_ORDER_SCHEDULED: tuple[_Path, ...] = (("TQ1", 7, 1), ("ORC", 7, 4), ("OBR", 27, 4))
_REPORT_AT: tuple[_Path, ...] = (("OBR", 22, 1), ("MSH", 7, 1))
_DOCUMENT_AT: tuple[_Path, ...] = (("EVN", 6, 1), ("EVN", 2, 1), ("TXA", 4, 1), ("MSH", 7, 1))
_SIU_AT: tuple[_Path, ...] = (("EVN", 6, 1), ("EVN", 2, 1), ("MSH", 7, 1))
_SIU_SCHEDULED: tuple[_Path, ...] = (("AIS", 4, 1), ("SCH", 11, 4), ("TQ1", 7, 1))
_ADT_AT: tuple[_Path, ...] = (("EVN", 6, 1), ("EVN", 2, 1), ("PV1", 44, 1), ("MSH", 7, 1))


def _groups(names: tuple[str, ...]) -> tuple[dict[str, int], list[dict[str, int]]]:
    """Message-level segments (first of each) and order groups: each ORC starts a group, and
    an OBR starts one unless the current group has no OBR yet."""
    top: dict[str, int] = {}
    groups: list[dict[str, int]] = []
    current: dict[str, int] | None = None
    for i, name in enumerate(names):
        if name == "ORC" or (name == "OBR" and (current is None or "OBR" in current)):
            current = {"MSH": 0}
            groups.append(current)
        if current is not None and name not in ("PID", "PV1", "MSH", "EVN", "SCH"):
            current.setdefault(name, i)
        top.setdefault(name, i)
    return top, groups


# DICOM UIDs found valid: every message of an exam's life (order, schedule, start, reports)
# repeats its study UID. Bounded: cleared when full.
_UIDS_SEEN: set[str] = set()


def _valid_uid(uid: str) -> bool:
    """Whether ``uid`` is a DICOM UID (remembered in :data:`_UIDS_SEEN` when it is)."""
    if _UID.match(uid) is None:
        return False
    if len(_UIDS_SEEN) >= 8192:
        _UIDS_SEEN.clear()
    _UIDS_SEEN.add(uid)
    return True


def _study_uid(msg: Message, r: _Reader, uid: str | None) -> str | None:
    """``uid`` (IPC-3/ZDS-1) or the OBX that carries it; ``None`` unless a DICOM UID."""
    if uid is None:
        for idx in msg.positions("OBX"):
            code = msg.at(idx, 3, 1)
            text = msg.at(idx, 3, 2).lower()
            if code == "113014" or "study instance uid" in text:
                uid = msg.at(idx, 5, 1).strip() or None
                if uid:
                    r.sources["study_instance_uid"] = (idx, 5, 1)
                    break
    if uid is not None and uid not in _UIDS_SEEN and not _valid_uid(uid):
        r.warnings.append(f"study instance UID is not a DICOM UID, {describe(uid)}; "
                          "left out")
        r.sources.pop("study_instance_uid", None)
        return None
    return uid


_MODALITIES: dict[str, str] = {}  # valid modality as sent -> upper case (a handful)


def _modality(r: _Reader, mod: str | None) -> str | None:
    if mod is None:
        return None
    up = _MODALITIES.get(mod)
    if up is not None:
        return up
    up = mod.upper()
    if _MODALITY.match(up):
        if len(_MODALITIES) < 1024:
            _MODALITIES[mod] = up
    else:
        r.warnings.append(f"modality is not a DICOM modality code, {describe(mod)}; "
                          "left out")
        r.sources.pop("modality", None)
        return None
    return up


_EVENT_VALUES: _Spec = (
    ("accession_number", _ACCESSION), ("placer_order", _PLACER), ("filler_order", _FILLER),
    ("requested_procedure_id", _REQUESTED), ("study_instance_uid", _UID_PATHS),
    ("modality", _MODALITY_PATHS), ("station", _STATION), ("room", _ROOM))


def _spec(occurred: tuple[_Path, ...], scheduled: tuple[_Path, ...]) -> _Spec:
    """Everything one event reads, in one spec (one :meth:`_Reader.values` call): the time
    it occurred, its scheduled start, :data:`_EVENT_VALUES`, then the patient (PID-3)."""
    return ((_OCCURRED, occurred), (_SCHEDULED, scheduled), *_EVENT_VALUES,
            ("patient_id", (("PID", 3, 1),)))


_ORDER_DONE_SPEC = _spec(_ORDER_DONE_AT, _ORDER_SCHEDULED)  # started or completed
_ORDER_SPEC = _spec(_ORDER_AT, _ORDER_SCHEDULED)
_REPORT_SPEC = _spec(_REPORT_AT, _ORDER_SCHEDULED)
_DOCUMENT_SPEC = _spec(_DOCUMENT_AT, _ORDER_SCHEDULED)
_SIU_SPEC = _spec(_SIU_AT, _SIU_SCHEDULED)
_ADT_SPEC = _spec(_ADT_AT, ())  # an arrival has no scheduled start


def _event(msg: Message, r: _Reader, kind: ExamEventType, spec: _Spec,
           shape: _Shape) -> Hl7Event:
    """Read ``spec`` (made by :func:`_spec`) and build the event."""
    (occurred_text, scheduled_text, accession, placer, filler, requested, uid, modality,
     station, room, patient) = r.values(spec)
    # the caches are looked up here, before any call: this is the hot path
    zone = r.opts.zone
    occurred = scheduled = None
    if occurred_text is not None:  # first: its error is the one reported
        occurred = DTM_CACHE.get((occurred_text, zone)) or r.time(_OCCURRED, occurred_text)
    if scheduled_text is not None:
        scheduled = DTM_CACHE.get((scheduled_text, zone)) or r.time(_SCHEDULED, scheduled_text)
    if accession is None and filler is not None and r.opts.accession_from_filler_order:
        accession = filler  # the filler order number, from the same field
        r.sources["accession_number"] = r.sources["filler_order"]
    if uid is None:
        if shape.has_obx:
            uid = _study_uid(msg, r, uid)
    elif uid not in _UIDS_SEEN:
        uid = _study_uid(msg, r, uid)
    if modality is not None:
        modality = _MODALITIES.get(modality) or _modality(r, modality)
    # every field, in order: tuple.__new__ skips the NamedTuple's generated __new__
    return tuple.__new__(Hl7Event, (
        msg.control_id if msg._cid is None else msg._cid,  # set by header(): no property
        msg.message_type if msg._mtype is None else msg._mtype, kind, r.sources, accession,
        placer, filler, requested, uid, patient, modality, station, room, occurred, scheduled,
        tuple(r.warnings) if r.warnings else ()))


# -- per message type: plan (from the shape only) and read (every message) ---------------


class _Shape:
    """What depends only on a message's type and segment ids, computed once per shape and
    cached (:data:`_SHAPES`): the groups the rule reads, where PID is, whether an OBX may
    carry the study UID, and the rule's reading function."""

    __slots__ = ("groups", "has_obx", "read")

    def __init__(self, read: _Read, groups: list[dict[str, int]],
                 top: dict[str, int]) -> None:
        self.read = read
        self.groups = [_Group(g, top.get("PID")) for g in groups]
        self.has_obx = "OBX" in top


_Read = Callable[[Message, _Shape, ExtractOptions], list[Hl7Event]]


def _merged(groups: list[dict[str, int]], top: dict[str, int],
            names: tuple[str, ...]) -> dict[str, int]:
    """The first order group (if any) with the message-level ``names`` added."""
    g = dict(groups[0]) if groups else {}
    g.update({k: top[k] for k in names if k in top})
    return g


# (ORC-1, ORC-5 as sent, delimiters) -> event: order_event's answers, remembered (a few
# dozen in practice; bounded: cleared when full)
_ORDER_KINDS: dict[tuple[str, str, tuple[str, str, str, str]], ExamEventType] = {}


def _read_orders(msg: Message, shape: _Shape, opts: ExtractOptions) -> list[Hl7Event]:
    out = []
    for g in shape.groups:
        r = _Reader(msg, g, opts)
        orc = r.fields("ORC")
        n = len(orc)
        # keyed by the fields as sent (with the delimiters, which decide what pick reads)
        key = (orc[1] if n > 1 else "", orc[5] if n > 5 else "", r.delims)
        kind = _ORDER_KINDS.get(key)
        if kind is None:
            kind = order_event(msg.pick(key[0]), msg.pick(key[1]))
            if len(_ORDER_KINDS) >= 4096:
                _ORDER_KINDS.clear()
            _ORDER_KINDS[key] = kind
        spec = _ORDER_DONE_SPEC if kind is E.STARTED or kind is E.COMPLETED else _ORDER_SPEC
        out.append(_event(msg, r, kind, spec, shape))
    return out


def _read_reports(msg: Message, shape: _Shape, opts: ExtractOptions) -> list[Hl7Event]:
    out = []
    for g in shape.groups:
        r = _Reader(msg, g, opts)
        obr = r.fields("OBR")
        status = msg.pick(obr[25]).upper() if len(obr) > 25 else ""
        kind = REPORT_STATUS.get(status, E.OTHER)
        out.append(_event(msg, r, kind, _REPORT_SPEC, shape))
    return out


def _read_document(msg: Message, shape: _Shape, opts: ExtractOptions) -> list[Hl7Event]:
    g = shape.groups[0]
    r = _Reader(msg, g, opts)
    txa = g.seg["TXA"]
    kind = DOCUMENT_STATUS.get(msg.at(txa, 17).upper(), E.OTHER)
    if kind is E.FINAL_REPORT and msg.at(txa, 13):  # has a parent document
        kind = E.CORRECTED_REPORT
    return [_event(msg, r, kind, _DOCUMENT_SPEC, shape)]


def _read_appointment(msg: Message, shape: _Shape, opts: ExtractOptions) -> list[Hl7Event]:
    trigger = msg.message_type.upper()[4:]  # _rule_for checked it is in SIU_TRIGGERS
    kind = SIU_TRIGGERS[trigger]
    g = shape.groups[0]
    status = msg.at(g.seg["SCH"], 25).upper().replace(" ", "").replace("-", "")
    if trigger in ("S12", "S14") and status in SIU_STATUS:
        kind = SIU_STATUS[status]
    r = _Reader(msg, g, opts)
    return [_event(msg, r, kind, _SIU_SPEC, shape)]


def _read_arrival(msg: Message, shape: _Shape, opts: ExtractOptions) -> list[Hl7Event]:
    r = _Reader(msg, shape.groups[0], opts)
    return [_event(msg, r, E.ARRIVED, _ADT_SPEC, shape)]


def _missing(segment: str, mtype: str, what: str) -> Hl7InputError:
    """A segment the message type needs is not there: ``AE`` (HL7 0357 code 100, "required
    segments are missing"), never ``AA`` with no events, which the sender would not resend."""
    return Hl7InputError(segment, f"{mtype} has no {segment} segment ({what}): nothing of "
                         "it can be used; fix the message and send it again",
                         code=SEGMENT_SEQUENCE_ERROR)


def _plan(msg: Message, mtype: str) -> _Shape | None:
    """The shape of ``msg`` (``mtype`` is its upper-cased type, one we know when a segment
    is missing), or ``None`` when its type carries no exam events. Raises
    :class:`Hl7InputError` when a segment the type needs is missing: ORC for orders, OBR for
    ORU, TXA for MDM, SCH for SIU, PID for ADT arrivals (not cached)."""
    top, groups = _groups(msg.names)
    if mtype in ORDER_TYPES:
        orders = [g for g in groups if "ORC" in g]
        if not orders:
            raise _missing("ORC", mtype, "the common order")
        return _Shape(_read_orders, orders, top)
    if mtype == "ORU^R01":
        reports = [g for g in groups if "OBR" in g]
        if not reports:
            raise _missing("OBR", mtype, "the observation request")
        return _Shape(_read_reports, reports, top)
    if mtype in MDM_TYPES:
        if "TXA" not in top:
            raise _missing("TXA", mtype, "the document")
        return _Shape(_read_document, [_merged(groups, top, ("TXA", "EVN", "MSH"))], top)
    if mtype in ADT_ARRIVAL:
        if "PID" not in top:
            raise _missing("PID", mtype, "the patient who arrived")
        return _Shape(_read_arrival, [_merged(groups, top, ("EVN", "MSH", "PV1"))], top)
    if mtype[:4] == "SIU^" and mtype[4:] in SIU_TRIGGERS:
        if "SCH" not in top:
            raise _missing("SCH", mtype, "the appointment")
        return _Shape(_read_appointment, [_merged(
            groups, top, ("SCH", "EVN", "MSH", "AIS", "AIL", "AIG", "TQ1"))], top)
    return None


# (message type, segment ids) -> shape; None: the type carries no exam events
_SHAPES: dict[tuple[str, tuple[str, ...]], _Shape | None] = {}
_SHAPES_MAX = 4096  # feeds send a handful of shapes; a flood of odd ones only clears it


_UNKNOWN = _Shape(lambda msg, shape, opts: [], [], {})  # a shape not in _SHAPES yet


def _shape(msg: Message, mtype: str) -> _Shape | None:
    """The cached shape of ``msg``, whose message type is ``mtype``."""
    key = (mtype, msg.names)
    try:
        return _SHAPES[key]
    except KeyError:
        pass
    shape = _plan(msg, mtype.upper())
    if len(_SHAPES) >= _SHAPES_MAX:
        _SHAPES.clear()
    _SHAPES[key] = shape
    return shape


def extract(msg: Message, opts: ExtractOptions = DEFAULT_OPTIONS) -> Extraction:
    """Events of one tokenised message. Raises :class:`Hl7InputError` when it is unusable."""
    control_id, mtype, version = msg.header()
    if not control_id:
        raise Hl7InputError("MSH-10", "message control id is empty",
                            code=REQUIRED_FIELD_MISSING)
    if not mtype or mtype[0] == "^":
        raise Hl7InputError("MSH-9", "message type is empty", code=REQUIRED_FIELD_MISSING)
    if version and version[:2] != "2.":
        raise Hl7InputError("MSH-12", f"the version is not HL7 v2.x: {describe(version)}",
                            code=UNSUPPORTED_VERSION, ack_code="AR")
    shape = _SHAPES.get((mtype, msg.names), _UNKNOWN)  # _shape(msg, mtype), inline
    if shape is _UNKNOWN:
        shape = _shape(msg, mtype)
    if shape is None:
        shown = mtype if _MESSAGE_TYPE.match(mtype) else describe(mtype)
        return Extraction(msg, [], [], note=f"message type {shown} carries no exam events: "
                          "stored, not used")
    events = shape.read(msg, shape, opts)
    # Built here so that a value the core cannot store fails now, not later in the sink.
    exams = [x for ev in events if (x := ev.to_exam_event()) is not None]
    if not exams:  # e.g. an ADT arrival, or an order before the RIS gave it a number
        return _extraction(msg, events, exams, _NO_ACCESSION)
    return _extraction(msg, events, exams)


# a message type as HL7 names them (MSH-9.1^MSH-9.2: ``ADT^A08``), which a note may show
_MESSAGE_TYPE = re.compile(r"[A-Za-z]{3}\^[A-Za-z][0-9]{2}\Z")
_NO_ACCESSION = "no accession number (OBR-18, IPC-1, filler order): stored, no exam event"


def extract_bytes(raw: bytes, opts: ExtractOptions = DEFAULT_OPTIONS) -> Extraction:
    """Decode, tokenise and extract one message's bytes."""
    return extract(parse_message(raw, opts.default_charset), opts)

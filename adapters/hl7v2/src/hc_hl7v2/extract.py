"""The fast extraction path: IHE Scheduled Workflow messages -> exam events (no hl7apy).

Which message carries what, and how times are read, is tabled in ``docs/hl7v2.md``. One
message gives one :class:`Hl7Event` per order (ORC/OBR group, or the appointment of an SIU);
each with an accession number becomes an :class:`~hospital_complaints.domain.imaging.ExamEvent`.

Where each value is read from is a set of rules (:class:`_Rules`): the built-in one, or one
per sender profile (:mod:`hc_hl7v2.profiles`). A value that cannot be used (a time that is
none, a modality of no DICOM term, a text too long to store) is left out with a warning and
the next candidate is read; the rest of the event is kept.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from operator import itemgetter
from typing import Any, NamedTuple

from hospital_complaints.plugin_api import ExamEvent, ExamEventType
from pydantic import BaseModel, ValidationError

from .charsets import codec_for, declared_charset
from .errors import (
    REQUIRED_FIELD_MISSING,
    SEGMENT_SEQUENCE_ERROR,
    Hl7InputError,
    describe,
)
from .modality import CHECKED, DEFAULT_ALIASES, DICOM_TERMS, normalise
from .profiles import Profile, Profiles
from .times import DEFAULT_ZONE, DTM_CACHE, read_dtm
from .tokenise import (
    _HEADS,
    _NO_WARNINGS,
    _STANDARD,
    _STANDARD_TYPES,
    MAX_SEGMENTS,
    Message,
    parse_message,
    unescape,
)

SOURCE = "hl7v2"
E = ExamEventType

_UID = re.compile(r"(?=.{1,64}\Z)(?:0|[1-9][0-9]*)(?:\.(?:0|[1-9][0-9]*))*\Z")


@dataclass(frozen=True, slots=True)
class ExtractOptions:
    """:ivar zone: the zone of times sent without an offset (default Asia/Shanghai).
    :ivar default_charset: codec for messages without MSH-18 (default UTF-8).
    :ivar accession_from_filler_order: when OBR-18/IPC-1 is empty, use the filler order
        number (ORC-3, OBR-3, SCH-27, TXA-15, SCH-2) as the accession number, as RIS systems
        that fill the order commonly do. The record's ``sources`` says which field was used.
    :ivar profiles: per-sender profiles (:mod:`hc_hl7v2.profiles`); a profile's charset,
        zone, field paths and modality aliases replace the defaults above for its sender."""

    zone: tzinfo = DEFAULT_ZONE
    default_charset: str = "utf-8"
    accession_from_filler_order: bool = True
    profiles: Profiles | None = None
    _rules: Any = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_rules", _Rules.build(self, None))




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
    #: the times (``occurred_at``, ``scheduled_start``) read from a date without a time
    date_only: tuple[str, ...] = ()

    def to_exam_event(self) -> ExamEvent | None:
        """The core's ``ExamEvent``, or ``None`` without an accession number.

        The fast path has already checked every value the way ``ExamEvent`` validates it
        (stripped, non-empty, DICOM UID and modality patterns, aware times), so when every
        text also fits the 200-character limit the event is built without re-validation
        (:func:`_trusted_exam_event`); otherwise pydantic validates it and a value that does
        not fit is an ``AE`` naming its field."""
        (control_id, _, event, _, accession, placer, filler, _, uid, patient, modality,
         station, room, occurred, scheduled, _, date_only) = self  # one unpacking
        if not accession:
            return None
        cid = control_id.strip() or None
        values: dict[str, Any] = {
            "accession_number": accession, "event": event, "occurred_at": occurred,
            "scheduled_start": scheduled, "study_instance_uid": uid, "placer_order": placer,
            "filler_order": filler, "patient_id": patient, "modality": modality,
            "station": station, "room": room, "source": SOURCE, "source_message_id": cid}
        for name in _PRECISION_FIELDS:  # which times were given as a date only
            values[name] = name.removesuffix("_date_only") in date_only
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
            if loc in _OPTIONAL_TEXTS:  # the caller leaves it out with a warning
                raise _Unfit(loc, str(first["msg"])) from None
            where = self.sources.get(loc)
            raise Hl7InputError(f"field {where[1]} of segment {where[0] + 1}" if where else loc,
                                f"value does not fit {loc}: {first['msg']}") from None


class _Unfit(Exception):
    """An optional value the core cannot store (too long): left out with a warning."""

    def __init__(self, name: str, why: str) -> None:
        super().__init__(name)
        self.name = name
        self.why = why


_OPTIONAL_TEXTS = frozenset({"placer_order", "filler_order", "patient_id", "station", "room",
                             "study_instance_uid", "modality"})
#: the core's flags of a time given as a date only (its merge keeps a stored time that day)
_PRECISION_FIELDS = ("occurred_at_date_only", "scheduled_start_date_only")


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
    """Whether :meth:`Hl7Event.to_exam_event` builds without validation what it builds with
    it (pydantic's internals or the core's fields could change; then the fast path
    validates every event)."""
    global _TRUSTED_OK
    ev = Hl7Event("C1", "ORM^O01", E.COMPLETED, {}, "A1", modality="CT", patient_id="P1",
                  occurred_at=datetime(2026, 11, 20, 8, 0, tzinfo=DEFAULT_ZONE),
                  date_only=("scheduled_start",),
                  scheduled_start=datetime(2026, 11, 20, tzinfo=DEFAULT_ZONE))
    try:
        _TRUSTED_OK = False
        validated = ev.to_exam_event()
        _TRUSTED_OK = True
        trusted = ev.to_exam_event()
        return bool(trusted is not None and validated is not None and trusted == validated
                    and list(vars(trusted)) == list(ExamEvent.model_fields)
                    and trusted.model_dump_json() == validated.model_dump_json())
    except Exception:
        return False
    finally:
        _TRUSTED_OK = False


_TRUSTED_OK = False
_TRUSTED_OK = _trusted_matches_validated()


@dataclass(frozen=True, slots=True)
class Extraction:
    """What one message gave: its events, and a note when the type is not used."""

    message: Message
    events: list[Hl7Event]
    exam_events: list[ExamEvent]
    note: str | None = None

    @property
    def warnings(self) -> tuple[str, ...]:
        """Every warning of the message and its events, each once, in order."""
        seen: dict[str, None] = dict.fromkeys(self.message.warnings)
        for ev in self.events:
            seen.update(dict.fromkeys(ev.warnings))
        return tuple(seen)


# The slots of Extraction, set directly by _extract (equal to a constructed one, same
# type): a frozen dataclass's __init__ goes through object.__setattr__ field by field,
# which costs twice as much on the fast path.
_SLOTS = vars(Extraction)  # the slot descriptors (slots=True)
_SET_MESSAGE = _SLOTS["message"].__set__
_SET_EVENTS = _SLOTS["events"].__set__
_SET_EXAMS = _SLOTS["exam_events"].__set__
_SET_NOTE = _SLOTS["note"].__set__
_new = object.__new__  # an instance without __init__, its slots set by the caller


# -- event rules ---------------------------------------------------------------------------

_ORDER_STATUS = {"SC": E.SCHEDULED, "IP": E.STARTED, "CM": E.COMPLETED, "CA": E.CANCELLED,
                 "DC": E.CANCELLED, "HD": E.OTHER, "A": E.STARTED, "ER": E.OTHER}
_CANCEL_CONTROLS = frozenset({"CA", "OC", "CR", "DC", "OD", "DR"})
# the members the readers compare with, as module constants: reading one off the enum class
# (``E.STARTED``) costs about as much as reading a field
_STARTED, _COMPLETED, _OTHER, _ARRIVED = E.STARTED, E.COMPLETED, E.OTHER, E.ARRIVED
_CANCELLED, _FINAL, _CORRECTED = E.CANCELLED, E.FINAL_REPORT, E.CORRECTED_REPORT


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
MDM_TYPES = frozenset(f"MDM^T{n:02d}" for n in range(1, 12))


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
    be the same object. ``family`` is the rule it is read by: :meth:`read_fn` compiles its
    reading for a set of rules (:func:`_compile_read`; :class:`_Shape` keeps them)."""

    __slots__ = ("_readers", "_resolved", "_where", "family", "has_aig", "has_obx", "seg")

    def __init__(self, seg: dict[str, int], top: dict[str, int] | None = None,
                 family: _Family | None = None) -> None:
        self.seg = seg
        self.family = family
        # paths resolve against the group's segments plus the message's first PID, PV1 and
        # EVN (PID-3, and PV1-19 or the like in a sender's profile)
        top = top or {}
        self._where = {**{k: top[k] for k in _MESSAGE_LEVEL if k in top}, **seg}
        #: whether the message has an OBX (the study UID or modality may be there) and an
        #: AIG (the station): as :class:`_Shape` says, known when its readings are compiled
        self.has_obx = "OBX" in top
        self.has_aig = "AIG" in top
        self._resolved: dict[int, tuple[_Spec, _Resolved]] = {}
        self._readers: dict[int, tuple[_Spec, _ValuesFn]] = {}

    def read_fn(self, rules: _Rules) -> _GroupRead:
        """The group's event read by ``rules`` (the specs its family names), compiled."""
        if self.family is None:
            raise ValueError("a group without a rule cannot be read")
        return _compile_read(self, tuple(getattr(rules, name) for name in self.family.specs))

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


_MESSAGE_LEVEL = ("PID", "PV1", "EVN")
_STANDARD_DELIMS = (_STANDARD.repetition, _STANDARD.component, _STANDARD.subcomponent,
                    _STANDARD.escape)


# (message, its split-segment cache, sources, repetition, component, subcomponent and escape
# characters) -> the value of each name of a spec (see _Reader.values)
_ValuesFn = Callable[[Message, list[list[str] | None], dict[str, _At], str, str, str, str],
                     list[str | None]]


def _component(c: int) -> list[str]:
    """Lines of code doing ``v = msg.pick(v, c).strip()`` for a non-empty ``v`` and a
    component ``c`` > 1 (the first repetition, the first subcomponent), inline: a method
    call costs more than the reading itself."""
    return [
        "if rep in v:", "    v = v[:v.index(rep)]", "if comp in v:",
        f"    v = v.split(comp, {c})", f"    v = v[{c - 1}] if {c - 1} < len(v) else ''",
        "    if sub in v:", "        v = v[:v.index(sub)]", "    if v == '\"\"':",
        "        v = ''", "    elif esc in v:", "        v = unescape(v, msg.encoding)",
        "    v = v.strip()", "else:", "    v = ''"]


def _value_blocks(resolved: _Resolved, target: Callable[[int], str]) -> list[str]:
    """The unrolled reading of a resolved spec (what :meth:`_Reader._values_loop` does),
    as lines of code at one indentation level: :func:`_segment_lines`, then
    :func:`_name_blocks`. Expects ``msg``, ``split``, ``sources`` and the delimiters
    ``rep``, ``comp``, ``sub``, ``esc``. Made only of integers and ``repr`` of the names."""
    return _segment_lines(_last_fields([resolved])) + _name_blocks(resolved, target)


def _last_fields(resolved: list[_Resolved]) -> dict[int, int]:
    """Segment index -> the last field the resolved specs read from it."""
    last: dict[int, int] = {}
    for spec in resolved:
        for _, _, ats in spec:
            for idx, n, _ in ats:
                last[idx] = max(last.get(idx, 0), n)
    return last


def _segment_lines(last: dict[int, int]) -> list[str]:
    """Lines splitting each segment of ``last`` (index -> the last field read) into
    ``f<index>`` and its length ``n<index>``: the message's cached split when there is one
    (``fields_at``, which treats MSH apart), else up to the last field read (fewer strings
    when the segment is long; not cached then)."""
    lines = []
    if any(idx != 0 for idx in last):
        lines += ["segments = msg.segments", "fsep = msg.encoding.field"]
    for idx, n in sorted(last.items()):  # Message.fields_at, inline (it treats MSH apart)
        if idx == 0:
            lines += ["f0 = split[0]", "if f0 is None:", "    f0 = msg.fields_at(0)"]
            lines.append("n0 = len(f0)")
        else:  # split up to the last field read (fewer strings when the segment is long)
            lines += [f"f{idx} = split[{idx}]", f"if f{idx} is None:",
                      f"    f{idx} = segments[{int(idx)}].split(fsep, {int(n) + 1})",
                      f"n{idx} = len(f{idx})"]
    return lines


def _name_blocks(resolved: _Resolved, target: Callable[[int], str],
                 size: int | None = None) -> list[str]:
    """Lines of one block per name of ``resolved``, reading the segments split by
    :func:`_segment_lines`: the first non-empty value of its paths goes to ``target(k)``
    and its source to ``sources``. With ``size`` (the names of the spec), ``target(k)`` is
    set to ``None`` for every name without a value (nothing needs to be set before)."""
    lines = []
    pad = " " * 12
    # up to the first delimiter (repetition, component, sub-): Message.pick; a value of
    # letters and digits only (most times and numbers) has no delimiter and no space, nor
    # has one cut at the component separator that is (an id with its assigning authority,
    # "PLC1001^HIS")
    rest = [
        "if rep in v:", "    v = v[:v.index(rep)]", "if sub in v:", "    v = v[:v.index(sub)]",
        "if esc in v:", "    v = unescape(v, msg.encoding)", "elif v == '\"\"':", "    v = ''",
        "v = v.strip()"]
    first = [
        "if not v.isalnum():", "    if comp in v:", "        v = v[:v.index(comp)]",
        "        if not v.isalnum():", *("            " + line for line in rest), "    else:",
        *("        " + line for line in rest)]
    for k, name, ats in resolved:
        lines.append(f"while True:  # {k}")  # one block per name: break when found
        for idx, n, c in ats:
            lines += [f"    if {int(n)} < n{idx}:", f"        v = f{idx}[{int(n)}]",
                      "        if v:"]
            lines += [pad + line for line in (first if c == 1 else _component(int(c)))]
            lines += [f"{pad}if v:",
                      f"{pad}    sources[{name!r}] = ({int(idx)}, {int(n)}, {int(c)})",
                      f"{pad}    {target(int(k))} = v", f"{pad}    break"]
        if size is not None:
            lines.append(f"    {target(int(k))} = None")
        lines.append("    break")
    if size is not None:  # the names the group has no path for
        lines += [f"{target(k)} = None" for k in sorted(set(range(size)) - {
            k for k, _, _ in resolved})]
    return lines


def _compile_values(resolved: _Resolved, size: int) -> _ValuesFn:
    """A function doing what :meth:`_Reader._values_loop` does for one resolved spec, with
    the loops unrolled (:func:`_value_blocks`): segments, fields and components are
    constants in its code, and no path is looked up at run time."""
    lines = ["def _values(msg, split, sources, rep, comp, sub, esc):",
             f"    out = [None] * {int(size)}"]
    lines += ["    " + line for line in _value_blocks(resolved, lambda k: f"out[{k}]")]
    lines.append("    return out")
    namespace: dict[str, Any] = {"unescape": unescape}
    exec("\n".join(lines), namespace)  # generated from integers and repr'd names only
    fn: _ValuesFn = namespace["_values"]
    return fn


# (message, rules, events, exam events, delimiters) -> whether an ExamEvent must be built
# the slow way: the group's event is appended to the events, its ExamEvent (when it has an
# accession number and need not be built slowly) to the exam events (see _compile_read)
_GroupRead = Callable[[Message, "_Rules", list["Hl7Event"], list["ExamEvent"],
                       tuple[str, str, str, str]], bool]

# what _compile_read's code does after reading the values v0..v10 of a spec (the two times,
# then _VALUE_NAMES in order): the hot path of every event, with the rare cases (a time not
# cached, a UID or modality not seen before, an AIG, a value too long) handed to the
# functions that also make the warnings. HAS_OBX and HAS_AIG are replaced by the group's
# True or False (_compile_read)
_EVENT_TAIL = """
r = None
zone = rules.zone
occurred = scheduled = None
if v0 is not None:
    occurred = DTM_CACHE.get((v0, zone))
    if occurred is None:
        r = _Reader(msg, group, rules, sources)
        occurred = r.time('occurred_at', spec)
if v1 is not None:
    scheduled = DTM_CACHE.get((v1, zone))
    if scheduled is None:
        if r is None:
            r = _Reader(msg, group, rules, sources)
        scheduled = r.time('scheduled_start', spec)
if v2 is None and v4 is not None and rules.accession_from_filler:
    v2 = v4
    sources['accession_number'] = sources['filler_order']
if v6 is None:
    if HAS_OBX:
        v6, passed = _study_uid(msg, sources, None)
        if passed:
            if r is None:
                r = _Reader(msg, group, rules, sources)
            r.warnings.append(passed)
elif v6 not in _UIDS_SEEN:
    v6, passed = _study_uid(msg, sources, v6)
    if passed:
        if r is None:
            r = _Reader(msg, group, rules, sources)
        r.warnings.append(passed)
if v7 is not None:
    m = rules.modalities.get(v7)
    if m is None:
        if r is None:
            r = _Reader(msg, group, rules, sources)
        m = _modality(msg, r, spec, HAS_OBX)
    v7 = m
elif HAS_OBX and _obx(msg, '121139', 'modality') is not None:
    if r is None:
        r = _Reader(msg, group, rules, sources)
    v7 = _modality(msg, r, spec, True)
if v8 is None and HAS_AIG and rules.aig:
    v8, passed = _aig_station(msg, rules, sources)
    if passed:
        if r is None:
            r = _Reader(msg, group, rules, sources)
        r.warnings.extend(passed)
if r is None:
    warnings = date_only = ()
else:
    warnings = tuple(r.warnings)
    date_only = r.date_only
if msg.warnings:
    warnings = (*msg.warnings, *warnings)
cid = msg._cid
ev = tuple_new(Hl7Event, (cid, msg._mtype, kind, sources, v2, v3, v4, v5, v6, v10, v7, v8,
                          v9, occurred, scheduled, warnings, date_only))
events.append(ev)
if v2 is None:
    return False
cid = cid.strip() or None
if not TRUSTED or max(map(len, msg.segments)) > 200 and (
        len(v2) > 200 or (v3 is not None and len(v3) > 200) or (
        v4 is not None and len(v4) > 200) or (v6 is not None and len(v6) > 200) or (
        v10 is not None and len(v10) > 200) or (v8 is not None and len(v8) > 200) or (
        v9 is not None and len(v9) > 200) or (cid is not None and len(cid) > 200)):
    return True
x = new(ExamEvent)
set_dict(x, {'accession_number': v2, 'event': kind, 'occurred_at': occurred,
             'scheduled_start': scheduled, 'study_instance_uid': v6, 'placer_order': v3,
             'filler_order': v4, 'patient_id': v10, 'modality': v7, 'station': v8,
             'room': v9, 'source': 'hl7v2', 'source_message_id': cid})
set_fields(x, FIELDS.copy())
set_extra(x, None)
set_private(x, None)
exams.append(x)
return False
"""


def _local(k: int) -> str:
    """The local variable the compiled reading keeps the value of name ``k`` of a spec in."""
    return f"v{int(k)}"


def _compile_read(group: _Group, specs: tuple[_Spec, ...]) -> _GroupRead:
    """The event of ``group`` read by its family's rule, compiled: the event kind (by the
    family's function, or for an order from ORC-1 and ORC-5 inline: :data:`_ORDER_KINDS`),
    each segment read split once (:func:`_segment_lines`), the values of the spec into
    locals ``v0``..``v10`` (:func:`_name_blocks`; an order has two specs, the second for
    a started or completed one), then :data:`_EVENT_TAIL`: what :func:`_event` does,
    without building a reader unless a rare case needs one, appending the event and its
    ``ExamEvent``. That is built without validation when every value was checked the way
    ``ExamEvent`` checks it (see :meth:`Hl7Event.to_exam_event`); otherwise the caller
    builds it (``True``)."""
    for spec in specs:
        names = [name for name, _ in spec]
        if names != [_OCCURRED, _SCHEDULED, *_VALUE_NAMES]:
            raise ValueError(f"a spec of {names} cannot be compiled")
    family = group.family
    resolved = [group.resolve(spec) for spec in specs]
    last = _last_fields(resolved)
    size = len(specs[0])
    lines = ["def _read(msg, rules, events, exams, delims):",
             "    rep, comp, sub, esc = delims", "    split = msg._fields", "    sources = {}"]
    if family is not None and family.kind is not None:
        lines.append("    kind = kind_of(msg, group)")
    else:  # an order: ORC-1 (order control) and ORC-5 (order status), as sent
        orc = group.seg["ORC"]
        last[orc] = max(last.get(orc, 0), 5)
    lines += ["    " + line for line in _segment_lines(last)]
    if family is None or family.kind is None:
        lines += [f"    key = (f{orc}[1] if n{orc} > 1 else '', f{orc}[5] if n{orc} > 5 else '',"
                  " delims)", "    kind = ORDER_KINDS.get(key)", "    if kind is None:",
                  "        kind = order_kind(msg, key)"]
    if len(specs) == 1:
        lines.append("    spec = SPEC0")
        lines += ["    " + line for line in _name_blocks(resolved[0], _local, size)]
    else:  # (order, order_done)
        lines += ["    if kind is STARTED or kind is COMPLETED:", "        spec = SPEC1"]
        lines += ["        " + line for line in _name_blocks(resolved[1], _local, size)]
        lines += ["    else:", "        spec = SPEC0"]
        lines += ["        " + line for line in _name_blocks(resolved[0], _local, size)]
    tail = _EVENT_TAIL
    extra = "".join(f", {name!r}: {name.removesuffix('_date_only')!r} in date_only"
                    for name in _PRECISION_FIELDS)  # the date-only flags, in field order
    tail = tail.replace("'source_message_id': cid}", f"'source_message_id': cid{extra}}}")
    # the message's OBX and AIG as literals: the compiler drops the branches of a False
    tail = tail.replace("HAS_OBX", repr(bool(group.has_obx)))
    tail = tail.replace("HAS_AIG", repr(bool(group.has_aig)))
    lines += ["    " + line for line in tail.strip("\n").splitlines()]
    namespace: dict[str, Any] = {
        "unescape": unescape, "DTM_CACHE": DTM_CACHE, "_Reader": _Reader, "group": group,
        "_study_uid": _study_uid, "_UIDS_SEEN": _UIDS_SEEN, "_obx": _obx,
        "_modality": _modality, "_aig_station": _aig_station, "tuple_new": tuple.__new__,
        "Hl7Event": Hl7Event, "TRUSTED": _TRUSTED_OK, "new": object.__new__,
        "ExamEvent": ExamEvent, "set_dict": _SET_DICT, "set_fields": _SET_FIELDS_SET,
        "set_extra": _SET_EXTRA, "set_private": _SET_PRIVATE, "FIELDS": _FIELDS_SET,
        "kind_of": family.kind if family is not None else None, "ORDER_KINDS": _ORDER_KINDS,
        "order_kind": _order_kind, "STARTED": _STARTED, "COMPLETED": _COMPLETED,
        **{f"SPEC{i}": spec for i, spec in enumerate(specs)}}
    exec("\n".join(lines), namespace)  # integers, repr'd names and fixed text only
    fn: _GroupRead = namespace["_read"]
    return fn


class _Reader:
    """Reads values of one group of segments for one message and remembers where each came
    from (``sources``). This is the hot loop of the fast path: it works on the message's
    cache of split segments, visits only the paths the group can have (already resolved)
    and takes the first component inline (the rules of :meth:`Message.first_component`)."""

    __slots__ = ("date_only", "delims", "group", "msg", "rules", "sources", "warnings")

    def __init__(self, msg: Message, group: _Group, rules: _Rules,
                 sources: dict[str, tuple[int, int, int]] | None = None) -> None:
        self.msg = msg
        self.group = group
        self.rules = rules
        self.sources: dict[str, tuple[int, int, int]] = {} if sources is None else sources
        self.warnings: list[str] = []
        self.date_only: tuple[str, ...] = ()
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
                fields = split[idx]
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

    def candidates(self, spec: _Spec, name: str) -> list[tuple[_At, str]]:
        """Every non-empty value of ``name`` in ``spec`` (not only the first), with where
        it came from: for the slow paths that look past the first (a date-only or bad time,
        a modality that is no DICOM term)."""
        msg = self.msg
        out = []
        for _, n, ats in self.group.resolve(spec):
            if n != name:
                continue
            for at in ats:
                idx, f, c = at
                v = msg.at(idx, f, c).strip()
                if v:
                    out.append((at, v))
        return out

    def location(self, at: _At) -> str:
        idx, n, c = at
        return f"{self.msg.names[idx]}-{n}" + (f".{c}" if c > 1 else "")

    def time(self, name: str, spec: _Spec) -> datetime | None:
        """The time ``name`` of ``spec`` when the first value is not a standard precise time
        cached before: each candidate in turn, read tolerantly. A date without a time gives
        way to a precise time of the same day from a later candidate (``ORC-9`` 20251029
        and ``MSH-7`` 20251029081839: 08:18:39); a bad value is left out with a warning and
        the next candidate is read, except MSH-7 (required: the message is unusable); a
        non-standard form is read with a warning."""
        zone = self.rules.zone
        chosen: tuple[_At, datetime, str | None, bool] | None = None
        for at, text in self.candidates(spec, name):
            where = self.location(at)
            try:
                got = read_dtm(text, where, zone)
            except Hl7InputError as exc:
                if where == "MSH-7":
                    raise
                self.warnings.append(f"{exc.reason}; left out")
                continue
            if got.value is None:
                continue
            if chosen is None:
                chosen = (at, got.value, got.warning, got.date_only)
                if not got.date_only:
                    break
            elif not got.date_only:  # a precise time after a date-only one
                if got.value.astimezone(zone).date() == chosen[1].astimezone(zone).date():
                    chosen = (at, got.value, got.warning, False)
                break
        if chosen is None:
            self.sources.pop(name, None)
            return None
        at, value, warning, date_only = chosen
        self.sources[name] = at
        if warning:
            self.warnings.append(warning)
        if date_only:
            self.date_only = (*self.date_only, name)
            self.warnings.append(f"{self.location(at)}: a date without a time of day, read "
                                 "as its midnight (no precise time of that day was sent)")
        return value


# where each value is read from, first non-empty wins (docs/hl7v2.md tables them)
_ACCESSION: tuple[_Path, ...] = (("IPC", 1, 1), ("OBR", 18, 1))
_FILLER: tuple[_Path, ...] = (("ORC", 3, 1), ("OBR", 3, 1), ("SCH", 27, 1), ("TXA", 15, 1),
                              ("SCH", 2, 1))
_PLACER: tuple[_Path, ...] = (("ORC", 2, 1), ("OBR", 2, 1), ("SCH", 26, 1), ("TXA", 14, 1),
                              ("SCH", 1, 1))
_REQUESTED: tuple[_Path, ...] = (("IPC", 2, 1), ("OBR", 19, 1))
_UID_PATHS: tuple[_Path, ...] = (("IPC", 3, 1), ("ZDS", 1, 1))
_MODALITY_PATHS: tuple[_Path, ...] = (("IPC", 5, 1), ("OBR", 24, 1))
# AIG-3 is read by its resource type (AIG-4), after these: :func:`_aig_station`
_STATION: tuple[_Path, ...] = (("IPC", 9, 1), ("IPC", 7, 1), ("AIG", 3, 1))
_ROOM: tuple[_Path, ...] = (("IPC", 8, 1), ("AIL", 3, 2), ("AIL", 3, 1))
_PATIENT: tuple[_Path, ...] = (("PID", 3, 1),)
_OCCURRED = "occurred_at"
_SCHEDULED = "scheduled_start"
_ORDER_DONE_AT: tuple[_Path, ...] = (("OBR", 7, 1), ("ORC", 9, 1), ("MSH", 7, 1))
_ORDER_AT: tuple[_Path, ...] = (("ORC", 9, 1), ("MSH", 7, 1))
_ORDER_SCHEDULED: tuple[_Path, ...] = (("TQ1", 7, 1), ("OBR", 36, 1), ("ORC", 7, 4),
                                       ("OBR", 27, 4))
_REPORT_AT: tuple[_Path, ...] = (("OBR", 22, 1), ("MSH", 7, 1))
_DOCUMENT_AT: tuple[_Path, ...] = (("EVN", 6, 1), ("EVN", 2, 1), ("TXA", 4, 1), ("MSH", 7, 1))
_SIU_AT: tuple[_Path, ...] = (("EVN", 6, 1), ("EVN", 2, 1), ("MSH", 7, 1))
_SIU_SCHEDULED: tuple[_Path, ...] = (("AIS", 4, 1), ("SCH", 11, 4), ("TQ1", 7, 1))
_ADT_AT: tuple[_Path, ...] = (("EVN", 6, 1), ("EVN", 2, 1), ("PV1", 44, 1), ("MSH", 7, 1))

#: the built-in paths of each value a profile may set (``hc_hl7v2.profiles.FIELD_NAMES``)
DEFAULT_FIELDS: dict[str, tuple[_Path, ...]] = {
    "accession_number": _ACCESSION, "placer_order": _PLACER, "filler_order": _FILLER,
    "requested_procedure_id": _REQUESTED, "modality": _MODALITY_PATHS, "station": _STATION,
    "room": _ROOM, "patient_id": _PATIENT}

#: AIG-4 (resource type) words that name equipment: AIG-3 is then the station
EQUIPMENT_TYPES = frozenset({
    "EQUIPMENT", "EQUIP", "EQP", "EQ", "E", "DEVICE", "MODALITY", "SCANNER", "MACHINE",
    "STATION", "UNIT", "设备", "机房设备"})
#: AIG-4 words that name a person: AIG-3 is then never the station
PERSON_TYPES = frozenset({
    "PERSON", "PERSONNEL", "STAFF", "PHYSICIAN", "DOCTOR", "MD", "RADIOLOGIST", "TECHNICIAN",
    "TECHNOLOGIST", "TECH", "RT", "NURSE", "RN", "PROVIDER", "PRACTITIONER", "RESIDENT",
    "OPERATOR", "P", "医生", "技师", "护士"})
# coding systems a CE's third component names (AIG-3 as a code, not a person's given name)
_CODING_SYSTEM = re.compile(r"(?:L|LN|99\w*|HL7\d*|DCM|SRT|SCT|SNM\d?|LOCAL|RADLEX|RID|"
                            r"I9C|I10|CPT\d*|ISO\d*)\Z", re.IGNORECASE)
_NAME_LIKE = re.compile(r"[^\W\d_][^\W\d_ .'-]*(?:[ .'-]+[^\W\d_]+)*\.?\Z")
_TITLE = re.compile(r"(?:DR|DR\.|PROF|PROF\.|MR|MRS|MS)\s+\S", re.IGNORECASE)


class _Rules:
    """Everything a message is read by: the specs of each rule (where each value comes
    from), the zone, the accession fallback, the modality aliases and the resource types
    of AIG. Built once per options (the defaults) and once per sender profile."""

    __slots__ = ("accession_from_filler", "adt", "aig", "aliases", "document", "equipment",
                 "modalities", "order", "order_done", "profile", "report", "siu", "zone")

    def __init__(self, fields: dict[str, tuple[_Path, ...]],
                 scheduled: tuple[_Path, ...] | None, zone: tzinfo, accession_from_filler: bool,
                 aliases: Mapping[str, str], equipment: frozenset[str],
                 profile: Profile | None) -> None:
        self.zone = zone
        self.accession_from_filler = accession_from_filler
        self.aliases = aliases
        #: the value as sent -> its DICOM term, for values found valid (a handful; bounded)
        self.modalities: dict[str, str] = {}
        self.equipment = equipment
        self.profile = profile
        stations = fields["station"]
        self.aig = any(s == "AIG" for s, _, _ in stations)  # read by resource type
        fields = dict(fields, station=tuple(p for p in stations if p[0] != "AIG"))

        def spec(occurred: tuple[_Path, ...], default: tuple[_Path, ...]) -> _Spec:
            return ((_OCCURRED, occurred), (_SCHEDULED, scheduled or default),
                    *((name, fields[name]) for name in _VALUE_NAMES))

        self.order_done = spec(_ORDER_DONE_AT, _ORDER_SCHEDULED)  # started or completed
        self.order = spec(_ORDER_AT, _ORDER_SCHEDULED)
        self.report = spec(_REPORT_AT, _ORDER_SCHEDULED)
        self.document = spec(_DOCUMENT_AT, _ORDER_SCHEDULED)
        self.siu = spec(_SIU_AT, _SIU_SCHEDULED)
        self.adt = ((_OCCURRED, _ADT_AT), (_SCHEDULED, ()),  # an arrival has no schedule
                    *((name, fields[name]) for name in _VALUE_NAMES))

    @classmethod
    def build(cls, opts: ExtractOptions, profile: Profile | None) -> _Rules:
        if profile is None:
            return cls(DEFAULT_FIELDS, None, opts.zone, opts.accession_from_filler_order,
                       DEFAULT_ALIASES, EQUIPMENT_TYPES, None)
        given = profile.fields.given()
        scheduled = given.pop("scheduled_start", None)
        fields = {**DEFAULT_FIELDS, **given}
        filler = profile.accession_from_filler_order
        # the site's own table: the aliases and equipment words of the profile for every
        # sender (no MSH-3/MSH-4 named) apply to every profile, under its own
        site = opts.profiles.for_sender("", "") if opts.profiles is not None else None
        aliases = {**DEFAULT_ALIASES, **(site.modality_aliases if site else {}),
                   **profile.modality_aliases}
        words = {t.strip().upper() for p in (site, profile) if p is not None
                 for t in p.station_resource_types}
        return cls(fields, scheduled, profile.tz or opts.zone,
                   opts.accession_from_filler_order if filler is None else filler,
                   aliases, EQUIPMENT_TYPES | words, profile)


# the order of the values after the two times in every spec (see _Rules and _event)
_VALUE_NAMES = ("accession_number", "placer_order", "filler_order", "requested_procedure_id",
                "study_instance_uid", "modality", "station", "room", "patient_id")
DEFAULT_FIELDS["study_instance_uid"] = _UID_PATHS

DEFAULT_OPTIONS = ExtractOptions()

# the rules of each profile, built once (a profile is immutable): (options, profile) -> rules
_PROFILE_RULES: dict[tuple[int, int], tuple[ExtractOptions, Profile, _Rules]] = {}


def _rules_for(opts: ExtractOptions, profile: Profile | None) -> _Rules:
    if profile is None:
        rules: _Rules = opts._rules
        return rules
    key = (id(opts), id(profile))
    got = _PROFILE_RULES.get(key)
    if got is not None and got[0] is opts and got[1] is profile:
        return got[2]
    rules = _Rules.build(opts, profile)
    if len(_PROFILE_RULES) >= 256:
        _PROFILE_RULES.clear()
    _PROFILE_RULES[key] = (opts, profile, rules)
    return rules


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


def _obx(msg: Message, code: str, words: str) -> tuple[int, str] | None:
    """The first OBX whose OBX-3 is ``code`` or whose OBX-3 text says ``words``: its index
    and OBX-5.1."""
    segments = msg.segments
    for idx in msg._index.get("OBX", ()):
        seg = segments[idx]  # neither in the segment: neither in its OBX-3 (not split)
        if code not in seg and words not in seg.lower():
            continue
        fields = msg.fields_at(idx)
        n = len(fields)
        raw = fields[3] if n > 3 else ""
        if code not in raw and words not in raw.lower():  # neither can be in its parts
            continue
        # msg.at(idx, 3, 1), msg.at(idx, 3, 2) and msg.at(idx, 5, 1), on the fields at hand
        if msg.pick(raw).strip() == code or words in msg.pick(raw, 2).lower():
            value = msg.pick(fields[5]).strip() if n > 5 else ""
            if value:
                return idx, value
    return None


def _study_uid(msg: Message, sources: dict[str, _At],
               uid: str | None) -> tuple[str | None, str | None]:
    """``uid`` (IPC-3/ZDS-1) or the OBX that carries it; ``None`` unless a DICOM UID, with
    the warning saying so."""
    if uid is None:
        found = _obx(msg, "113014", "study instance uid")  # DCM 113014
        if found is not None:
            uid = found[1]
            sources["study_instance_uid"] = (found[0], 5, 1)
    if uid is not None and uid not in _UIDS_SEEN and not _valid_uid(uid):
        sources.pop("study_instance_uid", None)
        return None, f"study instance UID is not a DICOM UID, {describe(uid)}; left out"
    return uid, None


def _modality(msg: Message, r: _Reader, spec: _Spec, has_obx: bool) -> str | None:
    """The first candidate (the spec's paths, then an OBX whose OBX-3 is DCM 121139
    "Modality") that is a DICOM defined term after the aliases (:mod:`hc_hl7v2.modality`);
    a warning naming what was checked when some were sent and none is."""
    rules = r.rules
    tried: list[tuple[_At, str]] = r.candidates(spec, "modality")
    if has_obx:
        found = _obx(msg, "121139", "modality")  # DCM 121139 "Modality"
        if found is not None:
            tried.append(((found[0], 5, 1), found[1]))
    wrong: list[tuple[_At, str]] = []
    for at, value in tried:
        term = normalise(value, rules.aliases)
        if term is not None:
            if len(rules.modalities) >= 1024:
                rules.modalities.clear()
            rules.modalities[value] = term
            r.sources["modality"] = at
            return term
        wrong.append((at, value))
    r.sources.pop("modality", None)
    if wrong:
        where = ", ".join(dict.fromkeys(r.location(at) for at, _ in wrong))
        r.warnings.append(f"modality ({where}) left out: {describe(wrong[0][1])} is {CHECKED}")
    return None


def _aig_station(msg: Message, rules: _Rules,
                 sources: dict[str, _At]) -> tuple[str | None, tuple[str, ...]]:
    """AIG-3 of the first AIG whose resource type (AIG-4) names equipment, or that has no
    type and does not name a person; ``None`` otherwise. With the warnings of the AIGs
    passed over for an unknown type or a person's name. Each AIG's answer is remembered by
    its AIG-3 and AIG-4 as sent (a department has a handful of resources)."""
    warnings: tuple[str, ...] = ()
    equipment = rules.equipment
    for idx in msg._index.get("AIG", ()):
        fields = msg.fields_at(idx)
        n = len(fields)
        key = (fields[3] if n > 3 else "", fields[4] if n > 4 else "", equipment,
               msg.encoding)
        got = _AIG_SEEN.get(key)
        if got is None:
            got = _aig_one(msg, idx, equipment)
            if len(_AIG_SEEN) >= 1024:
                _AIG_SEEN.clear()
            _AIG_SEEN[key] = got
        value, component, warning = got
        if value is not None:
            sources["station"] = (idx, 3, component)
            return value, warnings
        if warning is not None:
            warnings = (*warnings, warning)
    return None, warnings


# (AIG-3 and AIG-4 as sent, equipment words, encoding) -> (station or None, its component,
# the warning when passed over): bounded, cleared when full
_AIG_SEEN: dict[tuple[str, str, frozenset[str], Any],
                tuple[str | None, int, str | None]] = {}


def _aig_one(msg: Message, idx: int,
             equipment: frozenset[str]) -> tuple[str | None, int, str | None]:
    """One AIG: its station (AIG-3.1, else AIG-3.2) and component, or why it is none."""
    code = msg.at(idx, 3, 1).strip()
    value = code or msg.at(idx, 3, 2).strip()
    if not value:
        return None, 1, None
    kind = (msg.at(idx, 4, 1) or msg.at(idx, 4, 2)).strip().upper()
    if kind:
        if kind in equipment or kind in DICOM_TERMS:
            return value, 1 if code else 2, None
        if kind not in PERSON_TYPES:
            return None, 1, (f"AIG-3 not taken as the station: its resource type (AIG-4, "
                             f"{describe(kind)}) is not known as equipment; add it to "
                             "station_resource_types in the sender's profile")
        return None, 1, None
    if _names_person(msg, idx):
        return None, 1, ("AIG-3 not taken as the station: it is written as a person's name "
                         "(ID^family^given) and AIG-4 gives no resource type")
    return value, 1 if code else 2, None


def _names_person(msg: Message, idx: int) -> bool:
    """Whether AIG-3 (a CE: code^text^coding system) is rather a person (XCN:
    id^family^given...): a name-like second and third component where a CE has a coding
    system, or a title before the text."""
    family, given = msg.at(idx, 3, 2).strip(), msg.at(idx, 3, 3).strip()
    if family and given and _NAME_LIKE.match(family) and _NAME_LIKE.match(given) and \
            not _CODING_SYSTEM.match(given):
        return True
    text = family or msg.at(idx, 3, 1).strip()
    return bool(_TITLE.match(text))


# -- per message type: plan (from the shape only) and read (every message) ---------------


class _Family(NamedTuple):
    """A rule by message type: the specs of :class:`_Rules` it reads (an order: ``order``,
    then ``order_done`` for a started or completed one) and the event kind of a group (for
    an order, read inline by :func:`_compile_read`: ``None``)."""

    specs: tuple[str, ...]
    kind: Callable[[Message, _Group], ExamEventType] | None


class _Shape:
    """What depends only on a message's type and segment ids, computed once per shape and
    cached (:data:`_SHAPES`): the groups its rule reads and, per rules, the compiled reading
    of each group (:meth:`reads`; a handful of rules: the defaults and the senders'
    profiles; bounded)."""

    __slots__ = ("_reads", "groups")

    def __init__(self, family: _Family, groups: list[dict[str, int]],
                 top: dict[str, int]) -> None:
        self.groups = [_Group(g, top, family) for g in groups]
        self._reads: dict[_Rules, tuple[_GroupRead, ...]] = {}

    def reads(self, rules: _Rules) -> tuple[_GroupRead, ...]:
        """Each group's :meth:`_Group.read_fn` for ``rules``, compiled once per rules."""
        got = self._reads.get(rules)
        if got is None:
            got = tuple(g.read_fn(rules) for g in self.groups)
            if len(self._reads) >= 64:
                self._reads.clear()
            self._reads[rules] = got
        return got


def _merged(groups: list[dict[str, int]], top: dict[str, int],
            names: tuple[str, ...]) -> dict[str, int]:
    """The first order group (if any) with the message-level ``names`` added."""
    g = dict(groups[0]) if groups else {}
    g.update({k: top[k] for k in names if k in top})
    return g


# (ORC-1, ORC-5 as sent, delimiters) -> event: order_event's answers, remembered (a few
# dozen in practice; bounded: cleared when full)
_ORDER_KINDS: dict[tuple[str, str, tuple[str, str, str, str]], ExamEventType] = {}


def _order_kind(msg: Message, key: tuple[str, str, tuple[str, str, str, str]]) -> ExamEventType:
    """The event of an order whose ORC-1 and ORC-5 as sent, with the delimiters that decide
    what :meth:`Message.pick` reads, are ``key``; remembered in :data:`_ORDER_KINDS`."""
    kind = order_event(msg.pick(key[0]), msg.pick(key[1]))
    if len(_ORDER_KINDS) >= 4096:
        _ORDER_KINDS.clear()
    _ORDER_KINDS[key] = kind
    return kind


def _report_kind(msg: Message, g: _Group) -> ExamEventType:
    """The event of an observation request: OBR-25 (result status)."""
    obr = msg.fields_at(g.seg["OBR"])
    status = msg.pick(obr[25]).upper() if len(obr) > 25 else ""
    return REPORT_STATUS.get(status, _OTHER)


def document_event(trigger: str, status: str, order_control: str,
                   has_parent: bool) -> ExamEventType:
    """MDM trigger (``T01``-``T11``) + TXA-17 (document completion status) + ORC-1 (order
    control, v2.5+) + whether TXA-13 names a parent document -> event.

    A cancellation or deletion (T11, TXA-17 ``CA``, an ORC-1 cancel code) is ``cancelled``,
    never a corrected report. A replacement (T09/T10), an edit (T07/T08) or an addendum
    (T05/T06) of a final document, or a final document with a parent, is a corrected report;
    T10 without a completion status is one too (it carries the replacing document)."""
    status = status.upper()
    if trigger == "T11" or status == "CA" or order_control.upper() in _CANCEL_CONTROLS:
        return _CANCELLED
    kind = DOCUMENT_STATUS.get(status, _OTHER)
    changed = trigger in _DOCUMENT_CHANGES
    if kind is _FINAL and (changed or has_parent):
        return _CORRECTED
    if kind is _OTHER and not status and trigger in ("T09", "T10"):
        return _CORRECTED
    return kind


_DOCUMENT_CHANGES = frozenset({"T05", "T06", "T07", "T08", "T09", "T10"})


def _document_kind(msg: Message, g: _Group) -> ExamEventType:
    """The event of a document: :func:`document_event`."""
    txa = g.seg["TXA"]
    orc = g.seg.get("ORC")
    return document_event((msg._mtype or msg.message_type).upper()[4:], msg.at(txa, 17),
                          msg.at(orc, 1) if orc is not None else "", bool(msg.at(txa, 13)))


def _appointment_kind(msg: Message, g: _Group) -> ExamEventType:
    """The event of an appointment: the SIU trigger, or SCH-25 (filler status) for S12 and
    S14."""
    trigger = (msg._mtype or msg.message_type).upper()[4:]  # in SIU_TRIGGERS (_plan)
    kind = SIU_TRIGGERS[trigger]
    status = msg.at(g.seg["SCH"], 25).upper().replace(" ", "").replace("-", "")
    if trigger in ("S12", "S14") and status in SIU_STATUS:
        kind = SIU_STATUS[status]
    return kind


def _arrival_kind(msg: Message, g: _Group) -> ExamEventType:
    """The event of an ADT arrival."""
    return _ARRIVED


_ORDERS = _Family(("order", "order_done"), None)
_REPORTS = _Family(("report",), _report_kind)
_DOCUMENTS = _Family(("document",), _document_kind)
_APPOINTMENTS = _Family(("siu",), _appointment_kind)
_ARRIVALS = _Family(("adt",), _arrival_kind)


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
        return _Shape(_ORDERS, orders, top)
    if mtype == "ORU^R01":
        reports = [g for g in groups if "OBR" in g]
        if not reports:
            raise _missing("OBR", mtype, "the observation request")
        return _Shape(_REPORTS, reports, top)
    if mtype in MDM_TYPES:
        if "TXA" not in top:
            raise _missing("TXA", mtype, "the document")
        return _Shape(_DOCUMENTS, [_merged(groups, top, ("TXA", "EVN", "MSH"))], top)
    if mtype in ADT_ARRIVAL:
        if "PID" not in top:
            raise _missing("PID", mtype, "the patient who arrived")
        return _Shape(_ARRIVALS, [_merged(groups, top, ("EVN", "MSH", "PV1"))], top)
    if mtype[:4] == "SIU^" and mtype[4:] in SIU_TRIGGERS:
        if "SCH" not in top:
            raise _missing("SCH", mtype, "the appointment")
        return _Shape(_APPOINTMENTS, [_merged(
            groups, top, ("SCH", "EVN", "MSH", "AIS", "AIL", "AIG", "TQ1"))], top)
    return None


# (message type, segment ids) -> shape; None: the type carries no exam events
_SHAPES: dict[tuple[str, tuple[str, ...]], _Shape | None] = {}
_SHAPES_MAX = 4096  # feeds send a handful of shapes; a flood of odd ones only clears it


_UNKNOWN = _Shape(_ARRIVALS, [], {})  # a shape not in _SHAPES yet


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


def extract(msg: Message, opts: ExtractOptions = DEFAULT_OPTIONS,
            profile: Profile | None = None) -> Extraction:
    """Events of one tokenised message, read by the rules of ``profile`` (by default: the
    profile of ``opts.profiles`` its MSH-3/MSH-4 match, if any). Raises
    :class:`Hl7InputError` when it is unusable."""
    control_id, mtype, version = msg.header()
    return _extract(msg, opts, profile, control_id, mtype, version)


def _extract(msg: Message, opts: ExtractOptions, profile: Profile | None, control_id: str,
             mtype: str, version: str, decided: bool = False) -> Extraction:
    """:func:`extract` once MSH-10, MSH-9 and MSH-12 are read (``decided``: ``profile`` was
    chosen from the bytes, ``None`` included)."""
    if not control_id:
        raise Hl7InputError("MSH-10", "message control id is empty",
                            code=REQUIRED_FIELD_MISSING)
    if not mtype or mtype[0] == "^":
        raise Hl7InputError("MSH-9", "message type is empty", code=REQUIRED_FIELD_MISSING)
    if version and version[:2] != "2.":  # e.g. "1.0": read as v2 all the same
        msg.warnings = [*msg.warnings, f"MSH-12: the version is not HL7 v2.x "
                        f"({describe(version)}); read as HL7 v2"]
    if profile is None and opts.profiles is not None and not decided:
        profile = opts.profiles.for_sender(msg.value("MSH", 3).strip(),
                                           msg.value("MSH", 4).strip())
    rules: _Rules = opts._rules if profile is None else _rules_for(opts, profile)
    shape = _SHAPES.get((mtype, msg.names), _UNKNOWN)  # _shape(msg, mtype), inline
    if shape is _UNKNOWN:
        shape = _shape(msg, mtype)
    if shape is None:
        shown = mtype if _MESSAGE_TYPE.match(mtype) else describe(mtype)
        return Extraction(msg, [], [], note=f"message type {shown} carries no exam events: "
                          "stored, not used")
    enc = msg.encoding
    delims = _STANDARD_DELIMS if enc is _STANDARD else (
        enc.repetition, enc.component, enc.subcomponent, enc.escape)
    events: list[Hl7Event] = []
    exams: list[ExamEvent] = []
    slow = False
    for read in shape._reads.get(rules) or shape.reads(rules):  # each group's event
        if read(msg, rules, events, exams, delims):
            slow = True
    if slow:  # an event to build slowly
        exams = []
        for i, ev in enumerate(events):
            try:
                exam = ev.to_exam_event()
            except _Unfit:
                ev = events[i] = _fitted(ev)
                exam = ev.to_exam_event()
            if exam is not None:
                exams.append(exam)
    x: Extraction = _new(Extraction)  # _extraction(...), inline
    _SET_MESSAGE(x, msg)
    _SET_EVENTS(x, events)
    _SET_EXAMS(x, exams)
    # no exam event: e.g. an ADT arrival, or an order before the RIS gave it a number
    _SET_NOTE(x, None if exams else _NO_ACCESSION)
    return x


def _fitted(ev: Hl7Event) -> Hl7Event:
    """``ev`` with each optional value the core cannot store left out, with a warning."""
    for _ in _OPTIONAL_TEXTS:
        try:
            ev.to_exam_event()
            return ev
        except _Unfit as unfit:
            where = ev.sources.get(unfit.name)
            shown = f"{unfit.name} ({where[1]} of segment {where[0] + 1})" if where else \
                unfit.name
            changes: dict[str, Any] = {unfit.name: None, "warnings": (
                *ev.warnings, f"{shown} left out: {unfit.why}")}
            ev = ev._replace(**changes)
    return ev


# a message type as HL7 names them (MSH-9.1^MSH-9.2: ``ADT^A08``), which a note may show
_MESSAGE_TYPE = re.compile(r"[A-Za-z]{3}\^[A-Za-z][0-9]{2}\Z")
_NO_ACCESSION = ("no accession number (OBR-18, IPC-1, filler order, SCH-2, or the fields of "
                 "the sender's profile): stored, no exam event")


def _common(raw: bytes, default_charset: str,
            force: bool = False) -> tuple[Message, str, str, str] | None:
    """:func:`parse_message` and :meth:`Message.header` in one go for the common message:
    the standard delimiters, a shape (segment heads) seen before, the declared or default
    character set decoding it: ``(message, MSH-10, MSH-9, MSH-12)``. ``None``: take the
    general path (which reports any error). A test checks it gives what the general path
    gives.

    ASCII bytes with a default character set that reads ASCII as ASCII
    (:data:`_ASCII_SAFE`) are decoded first, and MSH-18 is looked for only when the
    decoded MSH has 17 field separators: the bytes then have as many before the first line
    break, which is what :func:`_decoded` checks. Other bytes are decoded as it says."""
    body = raw.rstrip(_TRAILING)
    if len(body) >= MAX_SEGMENTS:
        return None
    codec = default_charset
    checked = force
    if codec in _ASCII_SAFE and body.isascii():  # cannot fail
        text = body.decode(codec)
    else:  # the bytes, as the general path reads them
        decoded = _decoded(body, codec, force)
        if decoded is None:
            return None
        text, codec = decoded
        checked = True
    if "\n" in text:
        text = text.replace("\r\n", "\r").replace("\n", "\r")
    segments = text.split("\r")
    msh = segments[0].split("|")
    if not checked and len(msh) > 17:  # MSH-18 may be there: decoded as it says
        decoded = _decoded(body, codec, force)
        if decoded is None:
            return None
        if decoded[1] != codec:
            text, codec = decoded
            if "\n" in text:
                text = text.replace("\r\n", "\r").replace("\n", "\r")
            segments = text.split("\r")
            msh = segments[0].split("|")
    if len(segments) < 2:  # no line break: the general path (it reads what is there)
        return None
    known = _HEADS.get(tuple(map(_HEAD, segments)))  # each segment's first 4 characters
    if known is None:
        return None
    if known[2] is not None:  # the shape has envelope lines: dropped
        segments = [segments[i] for i in known[2]]
    # Message(segments, _STANDARD, text, codec, known[1], known[0]), slot by slot (its
    # __init__ costs a call and sets what is set again below)
    msg: Message = _new(Message)
    msg.segments = segments
    msg.encoding = _STANDARD
    msg.text = text
    msg.charset = codec
    msg.names = known[0]
    msg._index = known[1]
    msg.warnings = _NO_WARNINGS
    # Message.header() for the standard delimiters, inline
    msh.insert(1, "|")
    fields: list[list[str] | None] = [None] * len(segments)
    fields[0] = msh
    msg._fields = fields
    n = len(msh)
    cid = msh[10] if n > 10 else ""
    if not cid.isalnum():
        cid = msg.first_component(cid)
    sent = msh[9] if n > 9 else ""
    mtype = _STANDARD_TYPES.get(sent)
    if mtype is None:
        mtype = msg._message_type(sent)
        if len(_STANDARD_TYPES) < 1024:
            _STANDARD_TYPES[sent] = mtype
    msg._cid = cid
    msg._mtype = mtype
    version = msh[12] if n > 12 else ""
    if version and version[:2] != "2.":
        version = msg.first_component(version)
    return msg, cid, mtype, version


def _decoded(body: bytes, codec: str, force: bool) -> tuple[str, str] | None:
    """``(text, codec)`` of a message's bytes as :func:`parse_message` decodes them: per
    MSH-18 (read from the bytes when the first line has 17 field separators), else
    ``codec``; always ``codec`` when ``force``. ``None`` when there is no line break, or
    the character set is unknown or cannot decode them (the general path says why)."""
    if b"\r" not in body and b"\n" not in body:
        return None
    name = None if force else declared_charset(body)
    if name:
        found = _CODECS.get(name)
        if found is None:
            try:
                found = codec_for(name)
            except Hl7InputError:
                return None
            if len(_CODECS) < 256:
                _CODECS[name] = found
        codec = found
    try:
        return body.decode(codec), codec
    except (UnicodeDecodeError, LookupError):
        return None


# codecs in which every ASCII character is its own byte and no byte of another character
# is an ASCII byte: "|", CR and LF are found the same in the bytes and in the text
# MSH-18 as sent -> its codec (codec_for's answers; a feed declares one or two). Bounded.
_CODECS: dict[str, str] = {}
_ASCII_SAFE = frozenset({"utf-8", "utf8", "UTF-8", "ascii", "latin-1", "latin1",
                         "iso-8859-1", "iso8859-1"})
_HEAD = itemgetter(slice(0, 4))  # a segment's id and separator (no frame, unlike a listcomp)
_COMMON_START = b"MSH|^~\\&|"
_TRAILING = b"\x0b\x1c\x00 \t\r\n"


def extract_bytes(raw: bytes, opts: ExtractOptions = DEFAULT_OPTIONS) -> Extraction:
    """Decode, tokenise and extract one message's bytes (with the charset and rules of the
    sender's profile when ``opts.profiles`` has one for it).

    The common message (the standard delimiters, segments ended by CR, no MSH-18, a shape
    seen before) is tokenised here in one go; it gives what :func:`parse_message` gives
    (a test compares them), and anything else takes that general path."""
    if opts.profiles is None:
        if raw.startswith(_COMMON_START):
            common = _common(raw, opts.default_charset)
            if common is not None:
                return _extract(common[0], opts, None, common[1], common[2], common[3])
        return extract(parse_message(raw, opts.default_charset), opts)
    profile = opts.profiles.for_raw(raw)
    codec = opts.default_charset if profile is None else (
        profile.codec or opts.default_charset)
    force = profile is not None and profile.force_charset and profile.charset is not None
    if raw.startswith(_COMMON_START):
        common = _common(raw, codec, force)
        if common is not None:
            return _extract(common[0], opts, profile, common[1], common[2], common[3], True)
    msg = parse_message(raw, codec, force_charset=force)
    control_id, mtype, version = msg.header()
    return _extract(msg, opts, profile, control_id, mtype, version, True)

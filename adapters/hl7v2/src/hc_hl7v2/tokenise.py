"""The tokeniser: bytes -> messages -> segments -> fields, lazily and without hl7apy.

What real feeds send is handled here: encoding characters from MSH-1/MSH-2, segments ended by
CR, LF or CRLF, MSH-18 character sets, escape sequences, repetitions, Z-segments (kept like any
other segment) and FHS/BHS batch files (split into messages). A segment is split into fields
only when a field of it is asked for, which keeps the extraction path fast.

Batch envelope lines (FHS, BHS, BTS, FTS) are handled here and only here, the same way for a
file (:func:`split_batch`, ``hl7 import``) and for one MLLP frame (:func:`parse_message`):
an envelope line belongs to no message and is dropped wherever it is, and it never ends a
message: the segments after it belong to the message they are in. Only an MSH line starts a
message. Content before the first MSH that is not envelope lines or blank is a piece of its
own, which parsing reports (nothing is dropped in silence).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from .charsets import decode
from .errors import REQUIRED_FIELD_MISSING, SEGMENT_SEQUENCE_ERROR, Hl7InputError, describe

#: the batch envelope segments (file header/trailer, batch header/trailer)
ENVELOPE_IDS = frozenset({"FHS", "BHS", "BTS", "FTS"})
# a message start: MSH then a separator, at the start or after CR, LF or an MLLP start block
# (0x0B, for files of captured frames). Searched as "line start followed by MSH" (a character
# class first lets the regex engine skip ahead: five times faster on large files than a
# look-behind at every byte).
_MSH_AFTER_EOL = re.compile(rb"[\r\n\x0b](?=MSH[^A-Za-z0-9\r\n])")
_MSH_AT_START = re.compile(rb"MSH[^A-Za-z0-9\r\n]")
# an envelope line at the start of some bytes (an id, then a separator or the line's end)
_ENVELOPE_LINE = re.compile(rb"(?:FHS|BHS|BTS|FTS)(?:[^A-Za-z0-9\r\n][^\r\n]*)?(?:\r\n|\r|\n|\Z)")
_BLANKS = re.compile(rb"[\r\n\t \x0b\x1c\x00\xef\xbb\xbf]*")  # may stand between messages
_SEGMENT_ID = re.compile(r"[A-Z][A-Z0-9]{2}\Z")
#: the most segments one message may have (a guard for memory: the tokeniser makes a few
#: objects per segment; real messages have tens, a long report a few thousand)
MAX_SEGMENTS = 100_000
# the standard segment ids an error may name when a line starts with one (never a Z-segment:
# "ZHA" could be the start of a name)
_KNOWN_IDS = frozenset({
    "MSH", "PID", "PD1", "PV1", "PV2", "NK1", "GT1", "IN1", "IN2", "IN3", "AL1", "DG1", "EVN",
    "ORC", "OBR", "OBX", "NTE", "TQ1", "TQ2", "IPC", "SCH", "AIS", "AIG", "AIL", "AIP", "RGS",
    "TXA", "CTI", "SPM", "BLG", "MSA", "ERR", "QRD", "QRF"}) | ENVELOPE_IDS


def _segment_id_shown(text: str) -> str:
    """The first 3 characters of a line when they are a standard segment id (quoted), else
    what :func:`~hc_hl7v2.errors.describe` says of them: an error may name a segment id,
    never a value."""
    head = text[:3]
    return repr(head) if head in _KNOWN_IDS else describe(head)


def _is_envelope(segment: str) -> bool:
    """Whether a segment (one line) is a batch envelope line: FHS, BHS, BTS or FTS, then a
    separator or nothing."""
    return segment[:3] in ENVELOPE_IDS and (len(segment) == 3 or not segment[3].isalnum())


@dataclass(frozen=True, slots=True)
class Encoding:
    """The five delimiters of one message (MSH-1 and MSH-2)."""

    field: str = "|"
    component: str = "^"
    repetition: str = "~"
    escape: str = "\\"
    subcomponent: str = "&"


_STANDARD = Encoding()


def _encoding_of(header: str) -> Encoding:
    """Read MSH-1/MSH-2 from the text of an MSH segment. They depend only on its characters
    3 to 9: each pair read is remembered (:data:`_ENCODINGS`; an Encoding is immutable)."""
    if header[3:9] == "|^~\\&|":
        return _STANDARD
    key = header[3:10]
    if len(key) == 7:
        known = _ENCODINGS.get(key)
        if known is not None:
            return known
    if len(header) < 8:
        raise Hl7InputError("MSH-2", "the MSH segment is truncated before its encoding "
                            "characters", code=REQUIRED_FIELD_MISSING, ack_code="AR")
    sep = header[3]
    enc = header[4:4 + 6].split(sep, 1)[0]  # at most 5 and one too many: never more is read
    if len(enc) < 2 or len(enc) > 5:
        raise Hl7InputError("MSH-2", "the encoding characters must be 2 to 5 characters "
                            "(component, repetition, escape, subcomponent) ended by the "
                            f"field separator; found {'more' if len(enc) > 5 else len(enc)}",
                            ack_code="AR")
    chars = [sep, *enc]
    if sep.isalnum() or sep in "\r\n" or len(set(chars)) != len(chars) or \
            any(c.isalnum() or c in "\r\n" for c in enc):
        raise Hl7InputError("MSH-1", "the field separator (MSH-1) and the encoding characters "
                            "(MSH-2) must be distinct punctuation characters; "
                            f"MSH-1 and MSH-2 are {describe(sep + enc)}", ack_code="AR")
    found = Encoding(sep, enc[0], enc[1], enc[2] if len(enc) > 2 else "\\",
                     enc[3] if len(enc) > 3 else "&")
    if len(key) == 7:
        if len(_ENCODINGS) >= 256:
            _ENCODINGS.clear()
        _ENCODINGS[key] = found
    return found


# MSH characters 3 to 9 (MSH-1, MSH-2 and what follows) -> their encoding, for the
# non-standard ones read before (a feed sends one). Bounded: cleared when full.
_ENCODINGS: dict[str, Encoding] = {}


def split_segments(text: str) -> list[str]:
    """Segments ended by CR, LF or CRLF (mixed is fine); blank lines are dropped."""
    if "\n" in text:
        text = text.replace("\r\n", "\r").replace("\n", "\r")
    return [s for s in text.split("\r") if s.strip()]


class Message:
    """One decoded HL7 v2 message. Field access is 1-based, as in the standard (``MSH-9``).

    >>> m = Message.from_text("MSH|^~\\\\&|RIS||||||ORM^O01|42|P|2.3.1\\rPID|||P1")
    >>> m.value("MSH", 9, 2), m.value("PID", 3)
    ('O01', 'P1')
    """

    __slots__ = ("_cid", "_fields", "_index", "_mtype", "charset", "encoding", "names",
                 "segments", "text", "warnings")

    def __init__(self, segments: list[str], encoding: Encoding, text: str,
                 charset: str = "utf-8", index: dict[str, list[int]] | None = None,
                 names: tuple[str, ...] | None = None) -> None:
        self.segments = segments
        self.encoding = encoding
        self.text = text
        self.charset = charset
        #: the segment ids in order (``("MSH", "PID", ...)``): the message's shape
        self.names = names if names is not None else tuple([s[:3] for s in segments])
        if index is None:
            index = {}
            for i, name in enumerate(self.names):
                index.setdefault(name, []).append(i)
        self._index = index  # shared between messages of one shape: never changed
        self._fields: list[list[str] | None] = [None] * len(segments)
        self._cid: str | None = None
        self._mtype: str | None = None
        #: what was tolerated while reading it (a line joined, a version not 2.x ...)
        self.warnings: list[str] = _NO_WARNINGS

    @classmethod
    def from_text(cls, text: str, charset: str = "utf-8") -> Message:
        if "\n" in text:
            text = text.replace("\r\n", "\r").replace("\n", "\r")
        if len(text) >= MAX_SEGMENTS and text.count("\r") >= MAX_SEGMENTS:  # (short: fewer)
            raise Hl7InputError(None, f"the message has more than {MAX_SEGMENTS:,} lines "
                                "(segments); it is not one message", code=SEGMENT_SEQUENCE_ERROR,
                                ack_code="AR")
        segments = text.split("\r")
        sep = text[3:4]
        if text.startswith("MSH") and sep and not sep.isspace():
            encoding = _STANDARD if text[3:9] == "|^~\\&|" else _encoding_of(segments[0])
            # each segment's first 4 characters (id and separator): a shape seen before
            # needs no check (the heads decide it: the separator is heads[0][3])
            heads = tuple([seg[:4] for seg in segments])
            known = _HEADS.get(heads)
            if known is not None:
                if known[2] is not None:  # the shape has envelope lines: dropped
                    segments = [segments[i] for i in known[2]]
                return cls(segments, encoding, text, charset, known[1], known[0])
            # the common case, checked in one pass: every segment is an id and a separator
            # (or a bare id), no blank lines; the ids are checked once per shape below
            for seg in segments:
                if seg[3:4] != sep and (len(seg) != 3 or seg.isspace()):
                    return cls._from_segments(split_segments(text), text, charset)
            names = tuple([seg[:3] for seg in segments])
            keep = None
            if not ENVELOPE_IDS.isdisjoint(names):  # envelope lines (the heads decide it)
                keep = tuple([i for i, head in enumerate(heads) if not _is_envelope(head)])
                segments = [segments[i] for i in keep]
                names = tuple([names[i] for i in keep])
            index = _INDEXES.get(names)
            if index is None:
                if not all(_SEGMENT_ID.match(name) for name in names):  # a new shape
                    return cls._from_segments(split_segments(text), text, charset)
                index = _index_of(names, segments, sep)
            if len(_HEADS) >= _INDEXES_MAX:
                _HEADS.clear()
            _HEADS[heads] = (names, index, keep)
            return cls(segments, encoding, text, charset, index, names)
        return cls._from_segments(split_segments(text), text, charset)

    @classmethod
    def _from_segments(cls, segments: list[str], text: str, charset: str) -> Message:
        """:meth:`from_text` for any input: blank lines and batch envelope lines dropped,
        leading blanks before MSH allowed, and an error naming the first segment that is not
        one."""
        if any(_is_envelope(seg.lstrip()) for seg in segments):
            segments = [seg for seg in segments if not _is_envelope(seg.lstrip())]
        if not segments:
            raise Hl7InputError(None, "the message is empty", code=SEGMENT_SEQUENCE_ERROR,
                                ack_code="AR")
        first = segments[0]
        if not first.startswith("MSH"):
            first = first.lstrip()
            if not first.startswith("MSH"):
                raise Hl7InputError("MSH", "a message must start with an MSH segment; it "
                                    f"starts with {_segment_id_shown(first)}",
                                    code=SEGMENT_SEQUENCE_ERROR, ack_code="AR")
            segments[0] = first
        encoding = _encoding_of(first)
        sep = encoding.field
        warnings: list[str] = []
        if any((seg[3:4] != sep and len(seg) != 3) or not _SEGMENT_ID.match(seg[:3])
               for seg in segments):
            segments = _rejoin(segments, sep, warnings)
        names = tuple([seg[:3] for seg in segments])
        index = _INDEXES.get(names)
        if index is None:
            index = _index_of(names, segments, sep)
        msg = cls(segments, encoding, text, charset, index, names)
        if warnings:
            msg.warnings = warnings
        return msg

    # -- access ----------------------------------------------------------------------------

    def has(self, segment: str) -> bool:
        return segment in self._index

    def count(self, segment: str) -> int:
        return len(self._index.get(segment, ()))

    def positions(self, segment: str) -> list[int]:
        """Indexes (into :attr:`segments`) of every occurrence of ``segment`` (a new list:
        the index is shared by the messages of one shape)."""
        return list(self._index.get(segment, ()))

    def fields_at(self, index: int) -> list[str]:
        """The fields of the segment at ``index``; ``[0]`` is the segment id, and for MSH
        ``[1]`` is MSH-1 (the field separator) so that ``[n]`` is always field n."""
        fields = self._fields[index]
        if fields is None:
            seg = self.segments[index]
            fields = seg.split(self.encoding.field)
            if index == 0 and seg.startswith("MSH"):
                fields.insert(1, self.encoding.field)
            self._fields[index] = fields
        return fields

    def raw_field(self, segment: str, n: int, occurrence: int = 0) -> str:
        """Field ``n`` of the ``occurrence``-th ``segment``, still escaped ('' when absent)."""
        pos = self._index.get(segment)
        if not pos or occurrence >= len(pos):
            return ""
        fields = self.fields_at(pos[occurrence])
        return fields[n] if n < len(fields) else ""

    def value(self, segment: str, n: int, component: int = 1, *, occurrence: int = 0,
              repetition: int = 0, subcomponent: int = 1) -> str:
        """One unescaped value, e.g. ``value("PID", 3, 1)`` is PID-3.1 (first repetition)."""
        raw = self.raw_field(segment, n, occurrence)
        return self.pick(raw, component, repetition, subcomponent)

    def at(self, index: int, n: int, component: int = 1, *, repetition: int = 0,
           subcomponent: int = 1) -> str:
        """Like :meth:`value` for the segment at position ``index`` of :attr:`segments`."""
        fields = self._fields[index]  # self.fields_at(index), the cached case inline
        if fields is None:
            fields = self.fields_at(index)
        raw = fields[n] if n < len(fields) else ""
        return self.pick(raw, component, repetition, subcomponent) if raw else ""

    def pick(self, raw: str, component: int = 1, repetition: int = 0,
             subcomponent: int = 1) -> str:
        if not raw:
            return ""
        enc = self.encoding
        if enc.repetition in raw:
            reps = raw.split(enc.repetition)
            raw = reps[repetition] if repetition < len(reps) else ""
        elif repetition:
            return ""
        if enc.component in raw:
            comps = raw.split(enc.component)
            raw = comps[component - 1] if component <= len(comps) else ""
        elif component != 1:
            return ""
        if enc.subcomponent in raw:
            subs = raw.split(enc.subcomponent)
            raw = subs[subcomponent - 1] if subcomponent <= len(subs) else ""
        elif subcomponent != 1:
            return ""
        if raw == '""':  # HL7 explicit null
            return ""
        return unescape(raw, enc) if enc.escape in raw else raw

    def at_raw(self, index: int, n: int) -> str:
        """Field ``n`` (still escaped) of the segment at position ``index``."""
        fields = self.fields_at(index)
        return fields[n] if n < len(fields) else ""

    def first_component(self, raw: str) -> str:
        """``pick(raw)`` for the common case (first repetition, component, subcomponent)."""
        enc = self.encoding
        v = raw
        if enc.component in v:
            v = v[:v.index(enc.component)]
        if enc.repetition in v:
            v = v[:v.index(enc.repetition)]
        if enc.subcomponent in v:
            v = v[:v.index(enc.subcomponent)]
        if enc.escape in v:
            return unescape(v, enc)
        return "" if v == '""' else v

    def repetitions(self, segment: str, n: int, occurrence: int = 0) -> list[str]:
        """The repetitions of a field, each still escaped."""
        raw = self.raw_field(segment, n, occurrence)
        return raw.split(self.encoding.repetition) if raw else []

    def header(self) -> tuple[str, str, str]:
        """``(control_id, message_type, version)``: MSH-10, MSH-9 (see
        :attr:`message_type`) and MSH-12.1, from one read of the MSH segment."""
        msh = self.fields_at(0)
        n = len(msh)
        first = self.first_component
        enc = self.encoding
        rep, comp, sub, esc = enc.repetition, enc.component, enc.subcomponent, enc.escape
        if self._cid is None:
            cid = msh[10] if n > 10 else ""
            if comp in cid or rep in cid or sub in cid or esc in cid or cid == '""':
                cid = first(cid)
            self._cid = cid
        if self._mtype is None:
            raw = msh[9] if n > 9 else ""
            if enc is _STANDARD:  # MSH-9 as sent -> message type: a handful per feed
                mtype = _STANDARD_TYPES.get(raw)
                if mtype is None:
                    mtype = self._message_type(raw)
                    if len(_STANDARD_TYPES) >= 1024:
                        _STANDARD_TYPES.clear()
                    _STANDARD_TYPES[raw] = mtype
                self._mtype = mtype
            else:
                self._mtype = self._message_type(raw)
        version = msh[12] if n > 12 else ""
        if comp in version or rep in version or sub in version or esc in version or \
                version == '""':
            version = first(version)
        return self._cid, self._mtype, version

    def _message_type(self, raw: str) -> str:
        """MSH-9 as sent (``raw``) -> ``code^trigger`` (see :attr:`message_type`)."""
        enc = self.encoding
        rep, comp, sub, esc = enc.repetition, enc.component, enc.subcomponent, enc.escape
        if comp in raw and not (rep in raw or esc in raw or raw.count(comp) > 2 or
                                sub in raw):
            parts = raw.split(comp)  # the common "ORM^O01" or "ORM^O01^ORM_O01"
            code, trigger = parts[0], parts[1]
            if trigger == '""':
                trigger = ""
            if code == '""':
                code = ""
        else:
            code = self.first_component(raw)
            trigger = self.pick(raw, 2) if comp in raw else ""
        return f"{code}^{trigger}" if trigger else code

    @property
    def control_id(self) -> str:
        """MSH-10."""
        if self._cid is None:
            self._cid = self.first_component(self.at_raw(0, 10))
        return self._cid

    @property
    def message_type(self) -> str:
        """MSH-9.1^MSH-9.2, e.g. ``ORM^O01``."""
        if self._mtype is None:
            raw = self.at_raw(0, 9)
            code = self.first_component(raw)
            trigger = self.pick(raw, 2) if self.encoding.component in raw else ""
            self._mtype = f"{code}^{trigger}" if trigger else code
        return self._mtype


_NO_WARNINGS: list[str] = []  # shared: replaced, never appended to

# segment ids -> their index (id -> positions); the ids were checked. Shared by the messages
# of one shape, so never changed. Bounded: cleared when full.
_INDEXES: dict[tuple[str, ...], dict[str, list[int]]] = {}
_INDEXES_MAX = 4096
# MSH-9 as sent -> message type, for messages with the standard delimiters. Bounded.
_STANDARD_TYPES: dict[str, str] = {}
# the first 4 characters of each segment -> (segment ids, index, which segments to keep:
# None, or the positions that are no envelope line), for the heads that passed
# :meth:`Message.from_text`'s one-pass check and whose ids were checked. Bounded likewise.
_HEADS: dict[tuple[str, ...],
             tuple[tuple[str, ...], dict[str, list[int]], tuple[int, ...] | None]] = {}


def _index_of(names: tuple[str, ...], segments: list[str], sep: str) -> dict[str, list[int]]:
    """Check the segment ids of a new shape and index them (cached in :data:`_INDEXES`)."""
    index: dict[str, list[int]] = {}
    for i, name in enumerate(names):
        found = index.get(name)
        if found is None:
            if not _SEGMENT_ID.match(name):
                raise _not_a_segment(i + 1, segments[i], sep)
            index[name] = [i]
        else:
            found.append(i)
    if len(index["MSH"]) > 1:
        raise Hl7InputError("MSH", "more than one MSH segment: this is several messages; "
                            "send one per MLLP frame or use a batch file",
                            code=SEGMENT_SEQUENCE_ERROR, ack_code="AR")
    if len(_INDEXES) >= _INDEXES_MAX:
        _INDEXES.clear()
    _INDEXES[names] = index
    return index


# text a stray CR may have cut off a field: no control character (a tab is text)
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def _rejoin(segments: list[str], sep: str, warnings: list[str]) -> list[str]:
    """``segments`` with each line that is no segment joined to the segment before it: a
    CR (or LF) sent inside a field cuts the field, and the rest of the segment follows on a
    line of its own (``PID|1||P1||WANG^`` then ``LI||19800101|F``). Only text is joined (no
    control characters: binary content stays an error naming the line); the CR is dropped,
    and ``warnings`` says which line was joined. The first line of all must be MSH."""
    out = [segments[0]]
    for i, seg in enumerate(segments[1:], start=2):
        if (seg[3:4] == sep or len(seg) == 3) and _SEGMENT_ID.match(seg[:3]):
            out.append(seg)
        elif _CONTROL.search(seg) is None:
            out[-1] += seg
            warnings.append(f"segment {i}: a line that is no segment was joined to the "
                            f"segment before it (a line break inside a field)")
        else:
            raise _not_a_segment(i, seg, sep)
    return out


def _not_a_segment(n: int, seg: str, sep: str) -> Hl7InputError:
    shown = repr(sep) if sep.isascii() and sep.isprintable() else "the field separator"
    return Hl7InputError(f"segment {n}", f"this line is not a segment (a segment starts with a "
                         f"3-character id and {shown}); it starts with {describe(seg[:4])}; "
                         "the message is binary, truncated or wrongly framed",
                         code=SEGMENT_SEQUENCE_ERROR, ack_code="AR")


def unescape(value: str, enc: Encoding = Encoding()) -> str:
    """Resolve HL7 escape sequences: ``\\F\\ \\S\\ \\T\\ \\R\\ \\E\\ \\Xhh..\\`` and the
    formatting ones (``\\.br\\`` becomes a newline; ``\\H\\``, ``\\N\\`` and other ``\\.xx\\``
    are dropped). An unknown or unterminated sequence is kept as it was sent."""
    esc = enc.escape
    if esc not in value:
        return value
    out: list[str] = []
    i = 0
    while True:
        start = value.find(esc, i)  # the text up to the next sequence, in one piece
        if start < 0:
            out.append(value[i:])
            break
        out.append(value[i:start])
        end = value.find(esc, start + 1)
        if end < 0:
            out.append(value[start:])
            break
        seq = value[start + 1:end]
        rep = _ESCAPES.get(seq)
        if rep is not None:
            out.append(getattr(enc, rep) if rep in _DELIMS else rep)
        elif seq[:1] == "X" and len(seq) > 1 and len(seq) % 2 == 1:
            try:
                out.append(bytes.fromhex(seq[1:]).decode("utf-8", errors="replace"))
            except ValueError:
                out.append(value[start:end + 1])
        elif seq[:1] == "." or seq in ("H", "N"):
            if seq in (".br", ".sp"):
                out.append("\n")
        else:
            out.append(value[start:end + 1])
        i = end + 1
    return "".join(out)


_DELIMS = frozenset({"field", "component", "subcomponent", "repetition", "escape"})
_ESCAPES = {"F": "field", "S": "component", "T": "subcomponent", "R": "repetition",
            "E": "escape"}


def escape(value: str, enc: Encoding = Encoding()) -> str:
    """The inverse of :func:`unescape` for delimiter characters and line breaks."""
    out = value.replace(enc.escape, f"{enc.escape}E{enc.escape}")
    for attr, code in (("field", "F"), ("component", "S"), ("subcomponent", "T"),
                       ("repetition", "R")):
        out = out.replace(getattr(enc, attr), f"{enc.escape}{code}{enc.escape}")
    return out.replace("\r\n", "\n").replace("\r", "\n").replace(
        "\n", f"{enc.escape}.br{enc.escape}")


# -- bytes -> messages -------------------------------------------------------------------


def split_batch(data: bytes) -> Iterator[tuple[int, bytes]]:
    """Split a file (a single message, messages one after another, or an FHS/BHS batch)
    into ``(offset, message bytes)``: one piece per MSH line, from it up to the next one, so
    every byte from the first MSH on is in exactly one piece. Envelope lines inside a piece
    are dropped when it is parsed (:meth:`Message.from_text`). What comes before the first
    MSH is dropped only when it is nothing but blank and envelope lines; otherwise it is
    yielded as a piece of its own, so that parsing it reports what is wrong."""
    starts = [m.start() + 1 for m in _MSH_AFTER_EOL.finditer(data)]
    if _MSH_AT_START.match(data):
        starts.insert(0, 0)
    if not starts or starts[0] > 0:
        head = data[:starts[0]] if starts else data
        if not _only_envelope(head):
            yield 0, head
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(data)
        yield start, data[start:end]


def _envelope_end(data: bytes) -> int:
    """Where the blank and batch envelope lines ``data`` starts with end."""
    pos = 0
    while True:
        blank = _BLANKS.match(data, pos)
        assert blank is not None  # "*": matches everywhere
        pos = blank.end()
        m = _ENVELOPE_LINE.match(data, pos)
        if m is None:
            return pos
        pos = m.end()


def _only_envelope(data: bytes) -> bool:
    """Whether ``data`` holds nothing but blank and batch envelope lines."""
    return _envelope_end(data) == len(data)


def parse_message(raw: bytes, default_charset: str = "utf-8", *,
                  force_charset: bool = False) -> Message:
    """Decode (per MSH-18, else ``default_charset``; always ``default_charset`` when
    ``force_charset``: a sender's profile that knows its MSH-18 is wrong) and tokenise one
    message. Raises :class:`Hl7InputError`.

    Batch envelope lines are dropped wherever they are (a sender may wrap one message in a
    BHS/BTS batch): the envelope lines it starts with before anything is decoded, the
    others by :meth:`Message.from_text`."""
    body = raw.strip(b"\x0b\x1c\x00 \t\r\n")
    if body.startswith(b"\xef\xbb\xbf"):
        body = body[3:]
    if not body.startswith(b"MSH") and body[:3] in _ENVELOPE_BYTES:
        body = body[_envelope_end(body):]
    if not body:
        raise Hl7InputError(None, "the message is empty", code=SEGMENT_SEQUENCE_ERROR,
                            ack_code="AR")
    if not body.startswith(b"MSH"):
        shown = _segment_id_shown(body[:3].decode("latin-1"))
        raise Hl7InputError("MSH", f"a message must start with an MSH segment; it starts "
                            f"with {shown}", code=SEGMENT_SEQUENCE_ERROR, ack_code="AR")
    text, codec = decode(body, default_charset, force=force_charset)
    return Message.from_text(text, codec)


_ENVELOPE_BYTES = frozenset(i.encode("ascii") for i in ENVELOPE_IDS)

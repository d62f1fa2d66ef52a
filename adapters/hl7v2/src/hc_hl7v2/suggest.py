"""``hl7 profile suggest FEED.hl7``: read a sample feed, propose a sender profile per
sending application/facility, with the fill rate of every candidate field.

Nothing is stored. The proposal is TOML in the format :mod:`hc_hl7v2.profiles` reads; each
choice comes with a comment giving the fill rates it was made from, so the interface engineer
can check it against what the RIS vendor says. Values of the feed are never printed, except
modality codes that map to no DICOM term (short codes of letters and digits only, so that an
alias can be written for them) and the senders' MSH-3/MSH-4.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from .charsets import codec_for, declared_charset
from .errors import Hl7InputError
from .extract import ADT_ARRIVAL, MDM_TYPES, ORDER_TYPES, SIU_TRIGGERS, ExtractOptions
from .modality import DEFAULT_ALIASES, normalise
from .profiles import sender_of
from .times import read_dtm
from .tokenise import Message, parse_message

#: the candidate fields of each value, in the order they are proposed on equal fill
CANDIDATES: dict[str, tuple[str, ...]] = {
    "accession_number": ("IPC-1", "OBR-18", "OBR-19", "OBR-20", "ORC-3", "OBR-3", "PV1-19",
                         "SCH-2", "SCH-1", "SCH-27", "TXA-12", "TXA-15"),
    "placer_order": ("ORC-2", "OBR-2", "SCH-26", "TXA-14", "SCH-1"),
    "filler_order": ("ORC-3", "OBR-3", "SCH-27", "TXA-15", "SCH-2"),
    "modality": ("IPC-5", "OBR-24", "OBR-21", "OBX:121139"),
    "station": ("IPC-9", "IPC-7", "AIG-3", "AIL-3", "OBR-21", "PV1-3"),
    "scheduled_start": ("TQ1-7", "OBR-36", "ORC-7.4", "OBR-27.4", "AIS-4", "SCH-11.4"),
    "patient_id": ("PID-3", "PID-2", "PID-4"),
}
#: what the built-in rules read (a value is proposed only when they fall short)
BUILT_IN: dict[str, tuple[str, ...]] = {
    "accession_number": ("IPC-1", "OBR-18", "ORC-3", "OBR-3", "SCH-27", "TXA-15", "SCH-2"),
    "placer_order": ("ORC-2", "OBR-2", "SCH-26", "TXA-14", "SCH-1"),
    "filler_order": ("ORC-3", "OBR-3", "SCH-27", "TXA-15", "SCH-2"),
    "modality": ("IPC-5", "OBR-24", "OBX:121139"),
    "station": ("IPC-9", "IPC-7", "AIG-3"),
    "scheduled_start": ("TQ1-7", "OBR-36", "ORC-7.4", "OBR-27.4", "AIS-4", "SCH-11.4"),
    "patient_id": ("PID-3",),
}
_TIMES = ("MSH-7", "EVN-2", "EVN-6", "ORC-9", "OBR-7", "OBR-22", "OBR-36", "TQ1-7", "AIS-4",
          "TXA-4", "PV1-44")
_CODE = re.compile(r"[A-Za-z0-9]{1,8}\Z")  # a modality code that may be shown
_TRY_CODECS = ("utf-8", "gb18030", "latin-1")  # latin-1 decodes anything: last
# a sender that declares ASCII or an ISO 8859 set and sends other bytes sends Latin-1 (or
# Windows-1252) far more often than a multi-byte set, which would also "decode" them
_SINGLE_BYTE = ("latin-1",)
GOOD_ENOUGH = 0.95  # the built-in rules fill a value in this share of messages: no change


@dataclass
class SenderSample:
    """What one sender's messages showed."""

    application: str
    facility: str
    messages: int = 0
    relevant: int = 0  # of a type that carries exam events
    types: Counter[str] = field(default_factory=Counter)
    unusable: Counter[str] = field(default_factory=Counter)
    declared: Counter[str] = field(default_factory=Counter)
    undecodable: int = 0  # not decodable as declared (or as the default without MSH-18)
    decoded_by: Counter[str] = field(default_factory=Counter)  # codec that read those
    filled: Counter[str] = field(default_factory=Counter)  # candidate path -> messages
    built_in: Counter[str] = field(default_factory=Counter)  # value -> messages filled
    modality_valid: Counter[str] = field(default_factory=Counter)  # path -> DICOM term
    unmapped: Counter[str] = field(default_factory=Counter)  # modality code -> messages
    time_forms: Counter[str] = field(default_factory=Counter)  # "ORC-9 date only" ...

    def rate(self, n: int) -> str:
        return f"{n / self.relevant:.0%} ({n:,} of {self.relevant:,})" if self.relevant else "-"


def _value(msg: Message, path: str) -> str:
    if path.startswith("OBX:"):
        code = path[4:]
        for idx in msg.positions("OBX"):
            if msg.at(idx, 3, 1).strip() == code:
                return msg.at(idx, 5, 1).strip()
        return ""
    seg, _, rest = path.partition("-")
    n, _, c = rest.partition(".")
    return msg.value(seg, int(n), int(c or 1)).strip()


def _relevant(mtype: str) -> bool:
    m = mtype.upper()
    return m in ORDER_TYPES or m == "ORU^R01" or m in MDM_TYPES or m in ADT_ARRIVAL or (
        m[:4] == "SIU^" and m[4:] in SIU_TRIGGERS)


def sample(pieces: Iterable[bytes], opts: ExtractOptions | None = None) -> list[SenderSample]:
    """Read every message of ``pieces`` (nothing is stored) into one sample per sender."""
    opts = opts or ExtractOptions()
    senders: dict[tuple[str, str], SenderSample] = {}
    for raw in pieces:
        app, fac = sender_of(raw)
        s = senders.get((app, fac))
        if s is None:
            s = senders[(app, fac)] = SenderSample(app, fac)
        s.messages += 1
        msg = _read(raw, s, opts)
        if msg is None:
            continue
        _, mtype, _ = msg.header()
        s.types[mtype] += 1
        if not _relevant(mtype):
            continue
        s.relevant += 1
        _fields(msg, s, opts)
    return sorted(senders.values(), key=lambda s: -s.messages)


def _read(raw: bytes, s: SenderSample, opts: ExtractOptions) -> Message | None:
    name = declared_charset(raw)
    if name:
        s.declared[name] += 1
    try:
        return parse_message(raw, opts.default_charset)
    except Hl7InputError as exc:
        if not (exc.location or "").startswith("byte"):
            s.unusable[exc.reason.split(":")[0]] += 1
            return None
    s.undecodable += 1
    single = name is not None and (name.strip().upper() == "ASCII" or
                                   name.strip().upper().startswith("8859"))
    for codec in _SINGLE_BYTE if single else _TRY_CODECS:
        try:
            msg = parse_message(raw, codec, force_charset=True)
        except Hl7InputError:
            continue
        s.decoded_by[codec] += 1
        return msg
    return None  # pragma: no cover (latin-1 decodes any bytes)


def _fields(msg: Message, s: SenderSample, opts: ExtractOptions) -> None:
    seen: set[str] = set()  # a path candidate for two values counts once per message
    for name, paths in CANDIDATES.items():
        for path in paths:
            value = _value(msg, path)
            if not value or path in seen:
                continue
            seen.add(path)
            s.filled[path] += 1
            if name == "modality":
                term = normalise(value, DEFAULT_ALIASES)
                if term is not None:
                    s.modality_valid[path] += 1
                elif _CODE.match(value):
                    s.unmapped[value.upper()] += 1
    for name, paths in BUILT_IN.items():
        if any(_value(msg, p) and (name != "modality" or normalise(
                _value(msg, p), DEFAULT_ALIASES)) for p in paths):
            s.built_in[name] += 1
    for path in _TIMES:
        value = _value(msg, path)
        if not value:
            continue
        try:
            got = read_dtm(value, path, opts.zone)
        except Hl7InputError:
            s.time_forms[f"{path} unreadable"] += 1
            continue
        if got.warning:
            s.time_forms[f"{path} non-standard form, read"] += 1
        if got.date_only:
            s.time_forms[f"{path} date without time"] += 1


def _q(text: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(text, ensure_ascii=False)


def _best(s: SenderSample, name: str) -> list[str]:
    """The candidates of ``name`` by fill (valid modality codes for ``modality``), most
    first, only those filled at all; the built-in order breaks ties."""
    counts = s.modality_valid if name == "modality" else s.filled
    paths = [p for p in CANDIDATES[name] if counts[p]]
    return sorted(paths, key=lambda p: -counts[p])


def render(samples: list[SenderSample], source: str) -> str:
    """The proposed profile file (TOML, with the figures as comments)."""
    out = [f"# HL7 sender profiles proposed by `hospital-complaints hl7 profile suggest` from "
           f"{source}.",
           "# Fill rates are shares of the messages of exam-event types (orders, reports, "
           "documents, appointments, arrivals).",
           "# Review every choice; a key left out keeps the built-in rules (docs/hl7v2.md)."]
    for i, s in enumerate(samples, start=1):
        out += ["", "[[profile]]", f"name = {_q(_name(s, i))}"]
        out.append(f"sending_application = {_q(s.application)}" if s.application else
                   "# sending_application: MSH-3 is empty in this sample")
        if s.facility:
            out.append(f"sending_facility = {_q(s.facility)}")
        out.append(f"# {s.messages:,} message(s): " + ", ".join(
            f"{t or '(no type)'} {n:,}" for t, n in s.types.most_common(8)))
        for reason, n in s.unusable.most_common(5):
            out.append(f"# unusable x{n:,}: {reason}")
        out += _charset_lines(s)
        fields: list[str] = []
        for name in CANDIDATES:
            fields += _field_lines(s, name)
        out.append("")
        out.append("[profile.fields]")
        out += fields or ["# the built-in rules fill every value: nothing to change"]
        if s.time_forms:
            out.append("# times: " + "; ".join(
                f"{k} x{n:,}" for k, n in sorted(s.time_forms.items())))
        if s.unmapped:
            out += ["", "[profile.modality_aliases]",
                    "# modality codes of no DICOM term: map each to one (CT, MR, DX, US, ...)"]
            out += [f"# {_q(code)} = \"\"  # seen {n:,} times"
                    for code, n in s.unmapped.most_common(20)]
    return "\n".join(out) + "\n"


def _name(s: SenderSample, i: int) -> str:
    base = "-".join(x for x in (s.application, s.facility) if x) or f"sender-{i}"
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", base).lower() or f"sender-{i}"


def _charset_lines(s: SenderSample) -> list[str]:
    declared = ", ".join(f"{k} x{n:,}" for k, n in s.declared.most_common(3)) or "none"
    if not s.undecodable:
        return [f"# character set: MSH-18 {declared}; every message decodes as declared"]
    codec = s.decoded_by.most_common(1)[0][0] if s.decoded_by else "latin-1"
    name = {"latin-1": "8859/1", "utf-8": "UNICODE UTF-8", "gb18030": "GB 18030-2000"}[codec]
    lines = [f"# character set: MSH-18 {declared}; {s.undecodable:,} message(s) do not decode "
             f"as declared, {s.decoded_by[codec]:,} of them decode as {name}"]
    lines.append(f"charset = {_q(name)}")
    if s.declared:
        lines.append("force_charset = true  # MSH-18 is wrong for this sender")
    codec_for(name)  # a name the profile loader accepts
    return lines


def _field_lines(s: SenderSample, name: str) -> list[str]:
    built = s.built_in[name]
    best = _best(s, name)
    label = "valid DICOM codes" if name == "modality" else "filled"
    counts = s.modality_valid if name == "modality" else s.filled
    rates = ", ".join(f"{p} {s.rate(counts[p])}" for p in best) or "none filled"
    comment = f"# {name}: built-in rules {s.rate(built)}; {label}: {rates}"
    if not s.relevant or built >= GOOD_ENOUGH * s.relevant or not best:
        return [comment]
    if counts[best[0]] <= built:
        return [comment]
    paths = [p for p in best if not p.startswith("OBX:")]
    paths += [p for p in BUILT_IN[name] if p not in paths and not p.startswith("OBX:")]
    return [comment, f"{name} = [{', '.join(_q(p) for p in paths[:6])}]"]

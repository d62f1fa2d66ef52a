"""ACK/NAK messages, built with hl7apy (TOLERANT), answering in the sender's HL7 version.

``AA`` after the sink stored the message; ``AE`` (application error) or ``AR`` (reject) with
an ERR segment naming the segment/field and the problem. v2.3-2.4 put the error in ERR-1
(segment^sequence^field^code&text); v2.5 and later in ERR-2 (location), ERR-3 (HL7 table 0357
code), ERR-4 (severity) and ERR-8 (user message).
"""

from __future__ import annotations

import logging
import re
import uuid
from datetime import datetime
from functools import lru_cache
from typing import NamedTuple

from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.core import Message as ApyMessage
from hl7apy.core import Segment as ApySegment

from .errors import Hl7InputError
from .tokenise import Encoding, escape

log = logging.getLogger(__name__)

_ENC = Encoding()
_OLD_ERR = frozenset({"2.3", "2.3.1", "2.4"})
_SUPPORTED = frozenset({"2.3", "2.3.1", "2.4", "2.5", "2.5.1", "2.6", "2.7", "2.7.1", "2.8",
                        "2.8.1", "2.8.2"})
_LOCATION = re.compile(r"([A-Z][A-Z0-9]{2})(?:-(\d+))?")


class Header(NamedTuple):
    """What an answer echoes from the original MSH (read ASCII-safely, maybe partly)."""

    control_id: str = ""
    sending_app: str = ""
    sending_facility: str = ""
    receiving_app: str = ""
    receiving_facility: str = ""
    trigger: str = ""
    processing_id: str = "P"
    version: str = "2.5"

    @property
    def sender(self) -> str:
        """Who sent it, for duplicate detection: ``MSH-3^MSH-4``."""
        return f"{self.sending_app}^{self.sending_facility}"


def read_header(raw: bytes) -> Header | None:
    """The MSH fields an answer needs, from the bytes (``None`` without an MSH)."""
    start = raw.find(b"MSH")
    if start < 0 or len(raw) < start + 8:
        return None
    sep = raw[start + 3:start + 4]
    comp = raw[start + 4:start + 5]
    if sep.isalnum() or sep in (b"\r", b"\n") or comp in (b"", sep):
        return None
    end = len(raw)
    for term in (b"\r", b"\n"):
        pos = raw.find(term, start)
        if 0 <= pos < end:
            end = pos
    parts = raw[start:end].split(sep)

    def get(n: int, c: int = 1) -> str:  # MSH-n is parts[n - 1]
        if n - 1 >= len(parts):
            return ""
        value = parts[n - 1].split(comp)
        text = value[c - 1] if c <= len(value) else b""
        return _clean(text.decode("ascii", errors="replace"))[:60]

    version = get(12) or "2.5"
    return Header(control_id=get(10), sending_app=get(3), sending_facility=get(4),
                  receiving_app=get(5), receiving_facility=get(6), trigger=get(9, 2),
                  processing_id=get(11) or "P", version=version)


def _clean(text: str) -> str:
    if text.isprintable() and "\ufffd" not in text:
        return text.strip()
    return "".join(ch for ch in text if ch.isprintable() and ch != "\ufffd").strip()


def _text(text: str, limit: int = 200) -> str:
    """ASCII, escaped for the standard delimiters, bounded."""
    safe = text.encode("ascii", errors="backslashreplace").decode("ascii")
    return escape(_clean(safe)[:limit], _ENC)


def build_ack(header: Header | None, code: str, *, now: datetime,
              error: Hl7InputError | None = None, note: str | None = None,
              receiving_app: str = "HOSPITAL-COMPLAINTS") -> bytes:
    """The answer to one message, as ER7 bytes (ASCII, CR-separated, without MLLP framing).

    hl7apy builds each distinct answer once (it takes about 1-3 ms); the per-message values
    (MSH-7 time, MSH-10 id, MSA-2 original control id) are then put into that answer, so a
    busy feed is not slowed down by it."""
    h = header or Header()
    version = h.version if h.version in _SUPPORTED else "2.5"
    err = (error.location, error.problem, error.code) if error else None
    template = _template(h._replace(control_id=_CTRL), version, code, err, note,
                         receiving_app)
    stamp = now.strftime("%Y%m%d%H%M%S") + now.strftime("%z")
    return (template.replace(_TIME, stamp.encode("ascii"))
            .replace(_ID, uuid.uuid4().hex[:20].encode("ascii"))
            .replace(_CTRL.encode("ascii"), _text(h.control_id, 199).encode("ascii")))


_CTRL, _TIME, _ID = "HCXCTRLXHC", b"HCXTIMEXHC", b"HCXMSGIDXHC"


@lru_cache(maxsize=2048)
def _template(h: Header, version: str, code: str, err: tuple[str | None, str, str] | None,
              note: str | None, app: str) -> bytes:
    error = Hl7InputError(err[0], err[1], code=err[2]) if err else None
    try:
        return _with_hl7apy(h, version, code, error, note, app)
    except Exception:  # hl7apy refused something: say so, and still answer the sender
        log.exception("hl7apy could not build the %s answer; sending a plain one", code)
        return _plain(h, version, code, error, note, app)


def _fields(h: Header, version: str, code: str, error: Hl7InputError | None,
            note: str | None, receiving_app: str) -> dict[str, str]:
    text = error.reason if error else (note or "")
    return {
        "msh_3": _text(receiving_app, 20), "msh_5": _text(h.sending_app, 20),
        "msh_6": _text(h.sending_facility, 20), "msh_4": _text(h.receiving_facility, 20),
        "msh_7": _TIME.decode("ascii"),
        "msh_9": "ACK^" + _text(h.trigger, 3) + ("^ACK" if version not in _OLD_ERR else ""),
        "msh_10": _ID.decode("ascii"), "msh_11": _text(h.processing_id, 3) or "P",
        "msh_12": version, "msa_1": code, "msa_2": h.control_id,
        "msa_3": _text(text, 80),
    }


def _err_parts(error: Hl7InputError) -> tuple[str, str, str]:
    m = _LOCATION.fullmatch(error.location or "")
    return (m.group(1), m.group(2) or "", _text(error.reason)) if m else ("", "", _text(
        error.reason))


def _with_hl7apy(h: Header, version: str, code: str, error: Hl7InputError | None,
                 note: str | None, app: str) -> bytes:
    f = _fields(h, version, code, error, note, app)
    msg = ApyMessage("ACK", version=version, validation_level=VALIDATION_LEVEL.TOLERANT)
    for name in ("msh_3", "msh_4", "msh_5", "msh_6", "msh_7", "msh_9", "msh_10", "msh_11",
                 "msh_12"):
        if f[name]:
            setattr(msg.msh, name, f[name])
    msg.msa.msa_1 = f["msa_1"]
    if f["msa_2"]:
        msg.msa.msa_2 = f["msa_2"]
    if f["msa_3"]:
        msg.msa.msa_3 = f["msa_3"]
    if error is not None:
        seg, fld, text = _err_parts(error)
        err = ApySegment("ERR", version=version, validation_level=VALIDATION_LEVEL.TOLERANT)
        if version in _OLD_ERR:
            err.err_1 = f"{seg}^^{fld}^{error.code}&{text}"
        else:
            if seg:
                err.err_2 = f"{seg}^1^{fld}" if fld else f"{seg}^1"
            err.err_3 = f"{error.code}^{_CODE_TEXT.get(error.code, 'Error')}^HL70357"
            err.err_4 = "E"
            err.err_8 = text
        msg.add(err)
    er7: str = msg.to_er7()
    return er7.encode("ascii", errors="replace")


def _plain(h: Header, version: str, code: str, error: Hl7InputError | None,
           note: str | None, app: str) -> bytes:
    f = _fields(h, version, code, error, note, app)
    msh = "|".join(["MSH", "^~\\&", f["msh_3"], f["msh_4"], f["msh_5"], f["msh_6"], f["msh_7"],
                    "", f["msh_9"], f["msh_10"], f["msh_11"], version])
    out = [msh, "|".join(["MSA", code, f["msa_2"], f["msa_3"]]).rstrip("|")]
    if error is not None:
        seg, fld, text = _err_parts(error)
        if version in _OLD_ERR:
            out.append(f"ERR|{seg}^^{fld}^{error.code}&{text}")
        else:
            out.append(f"ERR||{seg}^1^{fld}|{error.code}^"
                       f"{_CODE_TEXT.get(error.code, 'Error')}^HL70357|E||||{text}")
    return "\r".join(out).encode("ascii", errors="replace")


_CODE_TEXT = {"100": "Segment sequence error", "101": "Required field missing",
              "102": "Data type error", "200": "Unsupported message type",
              "203": "Unsupported version id", "207": "Application internal error"}

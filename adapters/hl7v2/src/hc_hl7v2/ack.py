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


def build_ack(header: Header | None, code: str, *, now: datetime,
              error: Hl7InputError | None = None, note: str | None = None,
              receiving_app: str = "HOSPITAL-COMPLAINTS") -> bytes:
    """The answer to one message, as ER7 bytes (ASCII, CR-separated, without MLLP framing).

    hl7apy builds each distinct *shape* of answer once (it takes about 1-3 ms): version,
    code, error code, whether there is an error location and a text. Everything that comes
    from the message or the error (MSH-3 to MSH-6, MSH-9's trigger, MSH-11, MSA-2, MSA-3, the
    ERR location and text) and the per-message values (MSH-7 time, MSH-10 id) are put into
    that answer afterwards, escaped: neither a busy feed nor a flood of different bad messages
    makes hl7apy build an answer per message."""
    h = header or Header()
    version = h.version if h.version in _SUPPORTED else "2.5"
    text = error.reason if error else (note or "")
    seg = fld = ""
    if error is not None:
        m = _LOCATION.fullmatch(error.location or "")
        if m:
            seg, fld = m.group(1), m.group(2) or ""
    shape = (error.code, bool(seg), bool(fld)) if error else None
    template = _template(version, code, shape, bool(text), receiving_app)
    values = {
        _TIME: (now.strftime("%Y%m%d%H%M%S") + now.strftime("%z")).encode("ascii"),
        _ID: uuid.uuid4().hex[:20].encode("ascii"),
        _CTRL: _text(h.control_id, 199), _FAC4: _text(h.receiving_facility, 20),
        _APP5: _text(h.sending_app, 20), _FAC6: _text(h.sending_facility, 20),
        _TRIG: _text(h.trigger, 3), _PROC: _text(h.processing_id, 3) or b"P",
        _MSA3: _text(text, 80), _SEG: seg.encode("ascii"), _FLD: fld.encode("ascii"),
        _ERR: _text(text),
    }
    # one pass: a value that happens to look like a placeholder is never replaced again
    return _PLACEHOLDER.sub(lambda m: values[m.group(0)], template)


def _text(text: str, limit: int = 200) -> bytes:
    """ASCII, escaped for the standard delimiters, bounded."""
    safe = text.encode("ascii", errors="backslashreplace").decode("ascii")
    return escape(_clean(safe)[:limit], _ENC).encode("ascii")


# placeholders in the cached answers (alphanumeric: no delimiter, nothing hl7apy escapes)
_TIME, _ID, _CTRL = b"HCXTIMEXHC", b"HCXMSGIDXHC", b"HCXCTRLXHC"
_FAC4, _APP5, _FAC6 = b"HCXFACFOURXHC", b"HCXAPPFIVEXHC", b"HCXFACSIXXHC"
_TRIG, _PROC, _MSA3 = b"HCXTRIGXHC", b"HCXPROCXHC", b"HCXMSATHREEXHC"
_SEG, _FLD, _ERR = b"HCXSEGXHC", b"HCXFLDXHC", b"HCXERRTEXTXHC"
_PLACEHOLDER = re.compile(rb"HCX[A-Z]+XHC")


@lru_cache(maxsize=256)
def _template(version: str, code: str, shape: tuple[str, bool, bool] | None, has_text: bool,
              app: str) -> bytes:
    """The answer of one shape with placeholders (``shape``: error code, whether the error
    names a segment and a field; ``None`` without an error)."""
    f = _fields(version, code, has_text, app)
    try:
        return _with_hl7apy(f, version, code, shape)
    except Exception:  # hl7apy refused something: say so, and still answer the sender
        log.exception("hl7apy could not build the %s answer; sending a plain one", code)
        return _plain(f, version, code, shape)


def _fields(version: str, code: str, has_text: bool, receiving_app: str) -> dict[str, str]:
    p = {k: v.decode("ascii") for k, v in (("time", _TIME), ("id", _ID), ("ctrl", _CTRL),
                                            ("fac4", _FAC4), ("app5", _APP5), ("fac6", _FAC6),
                                            ("trig", _TRIG), ("proc", _PROC),
                                            ("msa3", _MSA3))}
    return {
        "msh_3": _text(receiving_app, 20).decode("ascii"), "msh_4": p["fac4"],
        "msh_5": p["app5"], "msh_6": p["fac6"], "msh_7": p["time"],
        "msh_9": "ACK^" + p["trig"] + ("^ACK" if version not in _OLD_ERR else ""),
        "msh_10": p["id"], "msh_11": p["proc"], "msh_12": version, "msa_1": code,
        "msa_2": p["ctrl"], "msa_3": p["msa3"] if has_text else "",
    }


def _err_parts(shape: tuple[str, bool, bool]) -> tuple[str, str, str]:
    _, has_seg, has_fld = shape
    return (_SEG.decode("ascii") if has_seg else "", _FLD.decode("ascii") if has_fld else "",
            _ERR.decode("ascii"))


def _with_hl7apy(f: dict[str, str], version: str, code: str,
                 shape: tuple[str, bool, bool] | None) -> bytes:
    msg = ApyMessage("ACK", version=version, validation_level=VALIDATION_LEVEL.TOLERANT)
    for name in ("msh_3", "msh_4", "msh_5", "msh_6", "msh_7", "msh_9", "msh_10", "msh_11",
                 "msh_12"):
        if f[name]:
            setattr(msg.msh, name, f[name])
    msg.msa.msa_1 = f["msa_1"]
    msg.msa.msa_2 = f["msa_2"]
    if f["msa_3"]:
        msg.msa.msa_3 = f["msa_3"]
    if shape is not None:
        err_code = shape[0]
        seg, fld, text = _err_parts(shape)
        err = ApySegment("ERR", version=version, validation_level=VALIDATION_LEVEL.TOLERANT)
        if version in _OLD_ERR:
            err.err_1 = f"{seg}^^{fld}^{err_code}&{text}"
        else:
            if seg:
                err.err_2 = f"{seg}^1^{fld}" if fld else f"{seg}^1"
            err.err_3 = f"{err_code}^{_CODE_TEXT.get(err_code, 'Error')}^HL70357"
            err.err_4 = "E"
            err.err_8 = text
        msg.add(err)
    er7: str = msg.to_er7()
    return er7.encode("ascii", errors="replace")


def _plain(f: dict[str, str], version: str, code: str,
           shape: tuple[str, bool, bool] | None) -> bytes:
    msh = "|".join(["MSH", "^~\\&", f["msh_3"], f["msh_4"], f["msh_5"], f["msh_6"],
                    f["msh_7"], "", f["msh_9"], f["msh_10"], f["msh_11"], version])
    out = [msh, "|".join(["MSA", code, f["msa_2"], f["msa_3"]]).rstrip("|")]
    if shape is not None:
        err_code = shape[0]
        seg, fld, text = _err_parts(shape)
        if version in _OLD_ERR:
            out.append(f"ERR|{seg}^^{fld}^{err_code}&{text}")
        else:
            out.append(f"ERR||{seg}^1^{fld}|{err_code}^"
                       f"{_CODE_TEXT.get(err_code, 'Error')}^HL70357|E||||{text}")
    return "\r".join(out).encode("ascii", errors="replace")


_CODE_TEXT = {"100": "Segment sequence error", "101": "Required field missing",
              "102": "Data type error", "200": "Unsupported message type",
              "203": "Unsupported version id", "207": "Application internal error"}

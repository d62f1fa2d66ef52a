"""MSH-18 character sets: read MSH-18 from the raw bytes (ASCII-safe), then decode.

HL7 table 0211 names are mapped to Python codecs. GB 2312 (``ISO IR58``) and GBK are decoded
as GB18030, their superset. Decoding never guesses: bytes that are not valid in the declared
(or configured default) character set are an error naming the byte offset.
"""

from __future__ import annotations

import codecs

from .errors import UNSUPPORTED_VERSION, Hl7InputError, describe

_CHARSETS: dict[str, str] = {
    "ASCII": "ascii",
    "8859/1": "latin-1",
    "8859/2": "iso8859-2",
    "8859/5": "iso8859-5",
    "8859/7": "iso8859-7",
    "8859/15": "iso8859-15",
    "UNICODE UTF-8": "utf-8",
    "UTF-8": "utf-8",
    "UNICODE": "utf-8",
    "GB 18030-2000": "gb18030",
    "GB18030": "gb18030",
    "GB 18030": "gb18030",
    "ISO IR58": "gb18030",
    "GB2312": "gb18030",
    "GBK": "gb18030",
    "BIG-5": "big5",
    "BIG5": "big5",
    "CNS 11643-1992": "big5",
    "ISO IR87": "iso2022_jp",
    "ISO IR159": "iso2022_jp_2",
    "KS X 1001": "euc_kr",
    "UNICODE UTF-16": "utf-16",
    "UNICODE UTF-32": "utf-32",
}


def codec_for(name: str, location: str = "MSH-18") -> str:
    """The Python codec for an HL7 character-set name (case and spaces tolerant)."""
    key = name.strip().upper()
    codec = _CHARSETS.get(key) or _CHARSETS.get(key.replace("_", " "))
    if codec is None:
        try:
            info = codecs.lookup(key)
        except (LookupError, ValueError):  # ValueError: a NUL in the name
            info = None
        # a text encoding only: "rot13", "base64" or "zlib" are codecs, not character sets
        if info is None or not getattr(info, "_is_text_encoding", True):
            raise Hl7InputError(location, f"unknown character set, {describe(name)}; "
                                "use an HL7 table 0211 name such as UNICODE UTF-8, "
                                "GB 18030-2000 or 8859/1",
                                code=UNSUPPORTED_VERSION, ack_code="AR") from None
        codec = info.name
    return codec


def declared_charset(raw: bytes) -> str | None:
    """MSH-18 (first repetition) read from the bytes of the first MSH segment, or ``None``.

    Only the bytes up to the first segment terminator are looked at, and every byte we compare
    is ASCII, so this works whatever the body's encoding (UTF-8, GB18030 ...) is, as long as
    MSH-3 to MSH-17 are ASCII (they are identifiers).
    """
    start = 0 if raw.startswith(b"MSH") else raw.find(b"MSH")
    if start < 0 or len(raw) < start + 8:
        return None
    sep = raw[start + 3:start + 4]
    end = raw.find(b"\r", start)
    if end < 0:
        end = len(raw)
    lf = raw.find(b"\n", start, end)
    if lf >= 0:
        end = lf
    if raw.count(sep, start, end) < 17:  # no MSH-18: the common case, no split needed
        return None
    parts = raw[start:end].split(sep)
    value = parts[17]
    rep = raw[start + 5:start + 6]  # MSH-2 second character: repetition separator
    if rep and rep != sep:
        value = value.split(rep, 1)[0]
    text = value.decode("ascii", errors="replace").strip()
    return text or None


def decode(raw: bytes, default: str = "utf-8", *, force: bool = False) -> tuple[str, str]:
    """Decode one message's bytes per its MSH-18 (else ``default``): ``(text, codec)``.
    With ``force``, ``default`` is used whatever MSH-18 says (a sender that declares ASCII
    and sends Latin-1: its profile's ``force_charset``)."""
    name = None if force else declared_charset(raw)
    codec = codec_for(name) if name else default
    try:
        return raw.decode(codec), codec
    except UnicodeDecodeError as exc:
        where = "MSH-18" if name else "the character set"
        declared = ("as MSH-18 declares" if name else "forced by the sender's profile"
                    if force else "no MSH-18: the configured default")
        raise Hl7InputError(
            f"byte {exc.start}",
            f"bytes are not valid {codec} ({declared}); fix {where} or the sender's encoding",
            ack_code="AR") from None
    except LookupError:  # a configured default that is no text codec
        raise Hl7InputError("MSH-18", f"the character set {codec} cannot decode text",
                            code=UNSUPPORTED_VERSION, ack_code="AR") from None

"""Errors of the HL7 v2 adapter: every one names where (segment, field) and what was wrong.

Error texts go to the database (``hc_hl7_messages.error``), the ``hl7 import`` summary, logs
and the ACK sent back (MSA-3, ERR-8, ERR-1), so they must never carry message content: a
value from the message may be a patient's name or national id, whatever field it was sent
in. The rule, kept in one place:

- a text names the field (``MSH-18``, ``ORC-9``, ``segment 5``) and the problem;
- a value read from the message is only ever mentioned through :func:`describe` (its length
  and the kinds of characters in it, not one character of it);
- a text is at most :data:`MAX_TEXT` characters (:class:`Hl7InputError` cuts it);
- text from elsewhere that may quote a value (hl7apy's messages, texts stored by older
  versions) goes through :func:`scrub`, which masks every quoted part.
"""

from __future__ import annotations

import re

from hospital_complaints.plugin_api import HospitalComplaintsError

# HL7 table 0357 (message error condition codes) used in ERR-3 / ERR-1.4.
SEGMENT_SEQUENCE_ERROR = "100"
REQUIRED_FIELD_MISSING = "101"
DATA_TYPE_ERROR = "102"
UNSUPPORTED_MESSAGE_TYPE = "200"
UNSUPPORTED_VERSION = "203"
APPLICATION_INTERNAL_ERROR = "207"

#: the longest error or warning text the adapter writes (location included)
MAX_TEXT = 200

# kinds of characters, each searched in C (a value may be megabytes long)
_KINDS = (
    ("letters", re.compile(r"[A-Za-z]")),
    ("digits", re.compile(r"[0-9]")),
    ("spaces", re.compile(r"[ \t]")),
    ("punctuation", re.compile(r"[!-/:-@\[-`{-~]")),
    ("control characters", re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")),
    ("non-ASCII", re.compile(r"[^\x00-\x7f]")),
)
# a quoted part of a text, as Python's repr writes it ('...' or "...", backslash escapes)
_QUOTED = re.compile(r"'(?:[^'\\\n]|\\.)*'|\"(?:[^\"\\\n]|\\.)*\"")


def describe(value: str | bytes) -> str:
    """How an error text mentions a value read from a message: its length and the kinds of
    characters in it, never any character of it.

    >>> describe("ZHANG^SANFENG")
    'a value of 13 characters (letters, punctuation)'
    >>> describe(b"")
    'an empty value'
    """
    if isinstance(value, bytes):
        unit = "bytes"
        text = value.decode("latin-1")
        kinds = [name if name != "non-ASCII" else "non-ASCII bytes"
                 for name, pattern in _KINDS if pattern.search(text)]
    else:
        unit, text = "characters", value
        kinds = [name for name, pattern in _KINDS if pattern.search(text)]
    if not text:
        return "an empty value"
    n = len(text)
    if n == 1:
        unit = unit[:-1]
    return f"a value of {n:,} {unit} ({', '.join(kinds)})"


def cap(text: str, limit: int = MAX_TEXT) -> str:
    """``text`` cut to ``limit`` characters (ending in ``...`` when cut)."""
    return text if len(text) <= limit else text[:limit - 3] + "..."


def scrub(text: str, limit: int = MAX_TEXT) -> str:
    """``text`` with every quoted part (``'...'``, ``"..."``) replaced by :func:`describe`
    of it, then capped: for texts written elsewhere that may quote message content."""

    def masked(m: re.Match[str]) -> str:
        return f"<{describe(m.group(0)[1:-1])}>"  # the repr's length: close enough

    return cap(_QUOTED.sub(masked, text), limit)


class Hl7InputError(HospitalComplaintsError):
    """A message (or what should have been one) cannot be used.

    :ivar location: where, e.g. ``"MSH-18"``, ``"OBR-18"``, ``"byte 312"`` (or ``None``).
    :ivar problem: what was wrong, in words for the interface engineer; never a value of
        the message (see :func:`describe`), and with the location at most
        :data:`MAX_TEXT` characters.
    :ivar code: HL7 table 0357 code for the ERR segment.
    :ivar ack_code: ``"AE"`` (application error: the message is HL7 but unusable) or ``"AR"``
        (rejected: not HL7, unreadable, or of a kind this receiver does not take).
    """

    def __init__(self, location: str | None, problem: str, *,
                 code: str = DATA_TYPE_ERROR, ack_code: str = "AE") -> None:
        location = cap(location, 40) if location else location
        problem = cap(problem, MAX_TEXT - (len(location) + 2 if location else 0))
        self.location = location
        self.problem = problem
        self.code = code
        self.ack_code = ack_code
        where = f"{location}: " if location else ""
        super().__init__(f"{where}{problem}", f"HL7 消息无法使用：{where}{problem}")

    @property
    def reason(self) -> str:
        """One line for logs, ERR-8 and the CLI: at most :data:`MAX_TEXT` characters, never
        a value of the message."""
        return f"{self.location}: {self.problem}" if self.location else self.problem

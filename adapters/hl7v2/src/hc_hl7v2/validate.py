"""Optional structure validation with hl7apy (TOLERANT): slow (~10 ms per message), so it is
never on the receiving path; use it to check a feed while setting it up."""

from __future__ import annotations

from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message as apy_parse

from .errors import scrub
from .tokenise import Message


def validate_structure(msg: Message) -> list[str]:
    """Problems hl7apy finds in the message's structure (empty list: none). hl7apy reads the
    encoding characters from MSH-1/MSH-2 itself. Its texts may quote a value: every quoted
    part is masked (:func:`~hc_hl7v2.errors.scrub`)."""
    try:
        apy_parse("\r".join(msg.segments), validation_level=VALIDATION_LEVEL.TOLERANT,
                  find_groups=True)
    except Exception as exc:  # hl7apy raises many unrelated types; report, never crash
        return [scrub(f"{type(exc).__name__}: {exc}")]
    return []

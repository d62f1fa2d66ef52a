"""Errors of the HL7 v2 adapter: every one names where (segment, field) and what was wrong."""

from __future__ import annotations

from hospital_complaints.errors import HospitalComplaintsError

# HL7 table 0357 (message error condition codes) used in ERR-3 / ERR-1.4.
SEGMENT_SEQUENCE_ERROR = "100"
REQUIRED_FIELD_MISSING = "101"
DATA_TYPE_ERROR = "102"
UNSUPPORTED_MESSAGE_TYPE = "200"
UNSUPPORTED_VERSION = "203"
APPLICATION_INTERNAL_ERROR = "207"


class Hl7InputError(HospitalComplaintsError):
    """A message (or what should have been one) cannot be used.

    :ivar location: where, e.g. ``"MSH-18"``, ``"OBR-18"``, ``"byte 312"`` (or ``None``).
    :ivar problem: what was wrong, in words for the interface engineer.
    :ivar code: HL7 table 0357 code for the ERR segment.
    :ivar ack_code: ``"AE"`` (application error: the message is HL7 but unusable) or ``"AR"``
        (rejected: not HL7, unreadable, or of a kind this receiver does not take).
    """

    def __init__(self, location: str | None, problem: str, *,
                 code: str = DATA_TYPE_ERROR, ack_code: str = "AE") -> None:
        self.location = location
        self.problem = problem
        self.code = code
        self.ack_code = ack_code
        where = f"{location}: " if location else ""
        super().__init__(f"{where}{problem}", f"HL7 消息无法使用：{where}{problem}")

    @property
    def reason(self) -> str:
        """One line for logs, ERR-8 and the CLI (never contains field values of PID)."""
        return f"{self.location}: {self.problem}" if self.location else self.problem

"""The adapter's errors: every one is a core ``HospitalComplaintsError`` with an English and a
Chinese text, so the command line prints it and exits 1, never with a traceback.

Texts name the attribute and the problem. A value from a DICOM object may be personal
(a patient's name in the wrong attribute), so a value is mentioned only through
:func:`describe`: its length and the kinds of characters in it.
"""

from __future__ import annotations

from hospital_complaints.plugin_api import HospitalComplaintsError


class DicomError(HospitalComplaintsError):
    """Something the adapter could not do, in English and Chinese."""


class DicomInputError(DicomError):
    """A DICOM value that cannot be used (a time that is no time, a missing attribute).

    :ivar attribute: the DICOM keyword (``PerformedProcedureStepStartTime``).
    :ivar status: the DIMSE failure status to answer with (``0x0106`` invalid attribute
        value, ``0x0120`` missing attribute, ``0x0121`` missing attribute value).
    """

    def __init__(self, attribute: str, problem_en: str, problem_zh: str,
                 status: int = 0x0106) -> None:
        super().__init__(f"{attribute}: {problem_en}", f"{attribute}：{problem_zh}")
        self.attribute = attribute
        self.status = status


class DicomWebError(DicomError):
    """The DICOMweb server could not be asked or gave an unusable answer; ``status`` is the
    HTTP status when there was one."""

    def __init__(self, en: str, zh: str | None = None, status: int | None = None) -> None:
        super().__init__(en, zh)
        self.status = status


class QueryError(DicomError):
    """A QIDO-RS query that would be sent wrong (and answered with ``[]`` in silence)."""


def describe(value: object) -> str:
    """How an error text may mention a value: its length and the kinds of characters in it
    (``a value of 8 characters (digits, punctuation)``), never a character of it."""
    text = str(value)
    kinds = []
    if any(c.isdigit() for c in text):
        kinds.append("digits")
    if any(c.isalpha() and c.isascii() for c in text):
        kinds.append("letters")
    if any(not c.isascii() and c.isprintable() for c in text):
        kinds.append("non-ASCII")
    if any(c in " \t" for c in text):
        kinds.append("spaces")
    if any(not c.isalnum() and c.isascii() and c.isprintable() and c != " " for c in text):
        kinds.append("punctuation")
    if any(not c.isprintable() for c in text):
        kinds.append("control characters")
    return f"a value of {len(text)} characters ({', '.join(kinds) or 'empty'})"

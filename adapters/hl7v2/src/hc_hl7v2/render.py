"""Render exams as the HL7 v2 messages a RIS sends (IHE Scheduled Workflow), for the demo,
tests and benchmarks: the inverse of the fast path for the milestones it extracts.

One exam becomes, in time order: ``OMI^O23`` new order scheduled (ORC ``NW``/``SC``, TQ1
start, IPC with accession, study UID, modality, station, room), ``SIU^S14`` with SCH-25
``Arrived`` (arrival), ``OMI^O23`` status ``IP`` (started) and ``CM`` (completed), and
``ORU^R01`` preliminary (``P``) and final (``F``) reports; cancellations and no-shows as
``OMI^O23`` ``CA`` and ``SIU^S26``. Times carry their UTC offset, so they read back the same
whatever ``ExtractOptions.zone`` is. Every value is HL7-escaped.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from .tokenise import escape

if TYPE_CHECKING:
    from hospital_complaints.plugin_api import ExamRecord


def hl7_time(t: datetime) -> str:
    """``YYYYMMDDHHMMSS+ZZZZ`` (the offset of the aware datetime ``t``)."""
    return t.strftime("%Y%m%d%H%M%S%z")


def _segment(name: str, fields: Mapping[int, str]) -> str:
    """A segment from ``{field number: value}`` (values already escaped, components joined)."""
    last = max(fields, default=0)
    return "|".join([name, *(fields.get(i, "") for i in range(1, last + 1))])


@dataclass(frozen=True, slots=True)
class RenderedMessage:
    """One message: when the RIS sends it, its MSH-9, and its bytes (UTF-8, CR-separated)."""

    at: datetime
    message_type: str
    raw: bytes


class ExamRenderer:
    """Turns :class:`~hospital_complaints.correlation.records.ExamRecord`s into messages.
    Control ids (MSH-10) are ``<prefix><n>``, unique per renderer.

    :param prefix: MSH-10 prefix, e.g. a run id, so that re-rendering makes new messages.
    :param sending_application: MSH-3; ``sending_facility``: MSH-4.
    """

    def __init__(self, prefix: str = "DEMO", sending_application: str = "RIS",
                 sending_facility: str = "DEMOHOSP") -> None:
        self.prefix = prefix
        self.app = escape(sending_application)
        self.facility = escape(sending_facility)
        self._n = 0

    def _msh(self, at: datetime, message_type: str) -> str:
        self._n += 1
        return (f"MSH|^~\\&|{self.app}|{self.facility}|HOSPITAL-COMPLAINTS|{self.facility}|"
                f"{hl7_time(at)}||{message_type}|{self.prefix}{self._n:07d}|P|2.5.1|||AL|NE||"
                "UNICODE UTF-8")

    @staticmethod
    def _pid(exam: ExamRecord) -> str:
        pid = escape(exam.patient_id) if exam.patient_id else ""
        return _segment("PID", {1: "1", 3: f"{pid}^^^{escape('DEMOHOSP')}^MR" if pid else ""})

    def _message(self, at: datetime, message_type: str, segments: list[str]) -> RenderedMessage:
        text = "\r".join([self._msh(at, message_type), *segments]) + "\r"
        return RenderedMessage(at, message_type.rsplit("^", 1)[0] if message_type.count("^") > 1
                               else message_type, text.encode("utf-8"))

    def _order(self, exam: ExamRecord, at: datetime, control: str,
               status: str) -> RenderedMessage:
        acc = escape(exam.accession_number)
        placer = f"P{acc}"
        segments = [
            self._pid(exam),
            _segment("ORC", {1: control, 2: f"{placer}^HIS", 3: f"{acc}^RIS", 5: status,
                             9: hl7_time(at)}),
        ]
        if exam.scheduled_at is not None:
            segments.append(_segment("TQ1", {1: "1", 7: hl7_time(exam.scheduled_at)}))
        station = escape(exam.station or "")
        segments.append(_segment("IPC", {
            1: acc, 2: f"RP{acc}", 3: exam.study_instance_uid or "", 4: f"SPS{acc}",
            5: escape(exam.modality or ""), 7: station, 8: escape(exam.room or ""),
            9: station}))
        return self._message(at, "OMI^O23^OMI_O23", segments)

    def _appointment(self, exam: ExamRecord, at: datetime, trigger: str,
                     status: str) -> RenderedMessage:
        acc = escape(exam.accession_number)
        start = hl7_time(exam.scheduled_at) if exam.scheduled_at else ""
        segments = [
            _segment("SCH", {1: f"A{acc}^SCHED", 2: f"{acc}^RIS",
                             11: f"^^^{start}" if start else "", 25: status,
                             26: f"P{acc}^HIS", 27: f"{acc}^RIS"}),
            _segment("EVN", {1: trigger, 2: hl7_time(at)}),
            self._pid(exam),
            _segment("RGS", {1: "1"}),
            _segment("AIS", {1: "1", 3: f"{escape(exam.modality or 'EXAM')}^exam^L",
                             4: start}),
        ]
        if exam.station:
            segments.append(_segment("AIG", {1: "1", 3: escape(exam.station)}))
        if exam.room:
            segments.append(_segment("AIL", {1: "1", 3: f"^{escape(exam.room)}"}))
        return self._message(at, f"SIU^{trigger}^SIU_S12", segments)

    def _report(self, exam: ExamRecord, at: datetime, status: str) -> RenderedMessage:
        acc = escape(exam.accession_number)
        segments = [
            self._pid(exam),
            _segment("ORC", {1: "SC", 2: f"P{acc}^HIS", 3: f"{acc}^RIS", 5: "CM"}),
            _segment("OBR", {1: "1", 2: f"P{acc}^HIS", 3: f"{acc}^RIS",
                             4: f"{escape(exam.modality or 'EXAM')}^exam^L",
                             7: hl7_time(exam.started_at) if exam.started_at else "",
                             18: acc, 22: hl7_time(at), 24: escape(exam.modality or ""),
                             25: status}),
        ]
        return self._message(at, "ORU^R01^ORU_R01", segments)

    def messages(self, exam: ExamRecord) -> list[RenderedMessage]:
        """The messages of one exam, in time order."""
        out: list[RenderedMessage] = []
        booked = exam.ordered_at or (exam.scheduled_at or exam.arrived_at or exam.started_at)
        if booked is not None:
            out.append(self._order(exam, booked, "NW", "SC"))
        if exam.arrived_at is not None:
            out.append(self._appointment(exam, exam.arrived_at, "S14", "Arrived"))
        if exam.started_at is not None:
            out.append(self._order(exam, exam.started_at, "SC", "IP"))
        if exam.completed_at is not None:
            out.append(self._order(exam, exam.completed_at, "SC", "CM"))
        for at, status in ((exam.preliminary_at, "P"), (exam.final_at, "F"),
                           (exam.corrected_at, "C")):
            if at is not None:
                out.append(self._report(exam, at, status))
        if exam.cancelled_at is not None:
            out.append(self._order(exam, exam.cancelled_at, "CA", "CA"))
        if exam.no_show_at is not None:
            out.append(self._appointment(exam, exam.no_show_at, "S26", ""))
        return out

    def feed(self, exams: list[ExamRecord]) -> Iterator[RenderedMessage]:
        """Every exam's messages, merged in the order a RIS would send them (by time)."""
        rendered = [m for exam in exams for m in self.messages(exam)]
        rendered.sort(key=lambda m: m.at)
        yield from rendered

"""Durable storage of received MPPS messages, and their milestones in the exam table.

:meth:`MppsStore.accept` stores one N-CREATE or N-SET before the SCP answers: in one
transaction of the core's store (``app.imaging.transaction()``) it

* appends the raw message (encrypted with the key ring, as received: transfer syntax and
  encoded attribute list) to ``dicom_mpps_messages``, hash-chained, with what was done
  (``disposition``) and answered (``answer_status``);
* updates the step's state (``dicom_mpps``);
* merges the milestones whose exam is known into the exam table, with their provenance;
* keeps the others in ``dicom_mpps_pending`` (an MPPS may arrive before the RIS has told
  anyone about the exam, or without accession number at all), to be matched when the exam
  appears (:meth:`MppsStore.match_pending`, run after every sync, worklist query and MPPS).

Dispositions: ``applied`` (every milestone merged), ``held`` (some wait for their exam),
``duplicate`` (the same message again — a sender that lost our answer: answered success,
stored again raw, applied once), ``rejected`` (unusable: answered with a failure status).
Every message that was answered success is applied exactly once: ``applied_key`` (N-CREATE:
the step's SOP Instance UID; N-SET: it and the message's SHA-256) is unique.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import struct
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

import sqlalchemy as sa
from hospital_complaints.plugin_api import ExamEvent
from pydantic import TypeAdapter
from pydicom.dataset import Dataset
from pydicom.errors import BytesLengthException
from pydicom.uid import generate_uid

from .. import provenance
from .._core_gaps import exams_by_accession
from ..chain import Appender
from ..errors import DicomInputError
from ..events import make_event
from ..provenance import Provenance
from ..settings import settings_of
from ..studies import SOURCE_MPPS
from ..tables import HEAD_MPPS, MPPS_HASHED, tables
from .mapping import FINAL, Milestone, Operation, Reading, read_create, read_set

log = logging.getLogger(__name__)
_MILESTONES = TypeAdapter(list[Milestone])

SUCCESS = 0x0000
PROCESSING_FAILURE = 0x0110
DUPLICATE_INSTANCE = 0x0111
NO_SUCH_INSTANCE = 0x0112
ATTRIBUTE_LIST_ERROR = 0x0107
#: PS3.4 F.7.2.2: an N-SET on a step already COMPLETED or DISCONTINUED
NO_LONGER_UPDATABLE = "Performed Procedure Step Object may no longer be updated"
NO_LONGER_UPDATABLE_ID = 0xA710


@dataclass(frozen=True)
class Incoming:
    """One N-CREATE or N-SET as the SCP received it.

    :ivar raw: the encoded attribute (N-CREATE) or modification (N-SET) list, as received.
    :ivar transfer_syntax: the presentation context's transfer syntax UID.
    :ivar dataset: ``raw`` decoded (pydicom reads lazily: an error may show on use), or
        ``None`` when it could not be decoded (``decode_error`` says why).
    """

    operation: Operation
    sop_instance_uid: str | None
    calling_ae: str
    raw: bytes
    transfer_syntax: str
    dataset: Dataset | None
    decode_error: str | None = None


@dataclass(frozen=True)
class Answer:
    """What to answer, and what was done."""

    status: int
    disposition: str
    sop_instance_uid: str | None
    comment: str | None = None
    error_id: int | None = None
    message_id: int | None = None
    milestones: int = 0
    held: int = 0

    @property
    def ok(self) -> bool:
        return self.status == SUCCESS


@dataclass(frozen=True)
class StoredMpps:
    """A stored message, decrypted (:meth:`MppsStore.messages`)."""

    id: int
    received_at: datetime
    calling_ae: str
    operation: str
    sop_instance_uid: str | None
    pps_status: str | None
    disposition: str
    error: str | None
    answer_status: int
    transfer_syntax: str
    raw: bytes
    milestones: list[Milestone]


class MppsStore:
    """The MPPS tables of ``app``'s SQL store. Thread-safe: the SCP calls :meth:`accept`
    from one thread per association; the chain head serialises writers."""

    def __init__(self, app: Any, zone: tzinfo | None = None) -> None:
        self.app = app
        self.store = app.store
        self.t = tables(self.store.prefix, self.store.schema)
        self.zone = zone or settings_of(app).tz(app.settings.timezone)
        self._match_lock = threading.Lock()

    # -- receiving ------------------------------------------------------------------------------

    def accept(self, incoming: Incoming) -> Answer:
        """Store ``incoming`` durably and say what to answer. Raises only when the database
        fails (then nothing is stored, and the caller answers a failure: send it again)."""
        digest = hashlib.sha256(incoming.raw).hexdigest()
        now = self.app.clock.now()
        with self.app.imaging.transaction() as tx:
            conn = tx.connection
            chain = Appender(conn, self.t.head, HEAD_MPPS)
            message_id = chain.next_id()
            answer, reading, key = self._decide(conn, incoming, digest, message_id)
            ready: list[ExamEvent] = []
            waiting: list[Milestone] = []
            rows: list[Provenance] = []
            if reading is not None and answer.ok:
                ready, waiting, rows = self._resolve(reading.milestones, message_id)
                self._save_state(conn, incoming, answer, reading, digest, message_id, now)
                disposition = "held" if waiting else "applied"
                answer = Answer(SUCCESS, disposition, answer.sop_instance_uid,
                                message_id=message_id, milestones=len(reading.milestones),
                                held=len(waiting))
            milestones = reading.milestones if reading is not None and answer.ok else []
            self._insert_message(conn, chain, incoming, answer, reading, key, digest,
                                 milestones, now)
            for m in waiting:
                conn.execute(sa.insert(self.t.pending).values(
                    message_id=message_id, sop_instance_uid=answer.sop_instance_uid,
                    accession=m.accession, study_uid=m.study_uid, since=provenance.iso(now)))
            provenance.write(conn, self.store, rows, now)
            if ready:
                tx.merge(ready)
            chain.finish()
        return Answer(answer.status, answer.disposition, answer.sop_instance_uid,
                      answer.comment, answer.error_id, message_id, answer.milestones,
                      answer.held)

    def _decide(self, conn: sa.Connection, incoming: Incoming, digest: str,
                message_id: int) -> tuple[Answer, Reading | None, str | None]:
        """(answer, reading, applied key) before anything is written."""
        uid = incoming.sop_instance_uid
        if incoming.dataset is None or incoming.decode_error is not None:
            return Answer(ATTRIBUTE_LIST_ERROR, "rejected", uid,
                          f"the attribute list could not be decoded: "
                          f"{incoming.decode_error or 'no data set'}"), None, None
        state = None
        if uid is not None:
            state = conn.execute(sa.select(self.t.mpps).where(
                self.t.mpps.c.sop_instance_uid == uid).with_for_update()).first()
        try:
            if incoming.operation == "N-CREATE":
                uid = uid or generate_uid()
                key = f"C|{uid}"
                if state is not None:
                    if state.create_sha256 == digest:
                        return Answer(SUCCESS, "duplicate", uid,
                                      "duplicate: already received and stored"), None, None
                    return Answer(DUPLICATE_INSTANCE, "rejected", uid,
                                  "a performed procedure step with this SOP Instance UID "
                                  "exists already"), None, None
                reading = read_create(_loaded(incoming.dataset), calling_ae=incoming.calling_ae,
                                      zone=self.zone)
                return Answer(SUCCESS, "applied", uid), reading, key
            if uid is None:
                return Answer(NO_SUCH_INSTANCE, "rejected", None,
                              "an N-SET without Requested SOP Instance UID"), None, None
            key = f"S|{uid}|{digest[:40]}"
            if state is None:
                return Answer(NO_SUCH_INSTANCE, "rejected", uid,
                              "no performed procedure step with this SOP Instance UID was "
                              "created (N-CREATE) before"), None, None
            seen = conn.execute(sa.select(self.t.messages.c.id).where(
                self.t.messages.c.applied_key == key)).first()
            if seen is not None:
                return Answer(SUCCESS, "duplicate", uid,
                              "duplicate: already received and stored"), None, None
            if state.status in FINAL:
                return Answer(PROCESSING_FAILURE, "rejected", uid, NO_LONGER_UPDATABLE,
                              NO_LONGER_UPDATABLE_ID), None, None
            reading = read_set(_loaded(incoming.dataset), state=state, zone=self.zone)
            return Answer(SUCCESS, "applied", uid), reading, key
        except DicomInputError as exc:
            return Answer(exc.status, "rejected", uid, exc.en), None, None
        except (ValueError, TypeError, KeyError, AttributeError, NotImplementedError,
                IndexError, OverflowError, struct.error, BytesLengthException) as exc:
            # pydicom reads lazily: a broken element (a value of the wrong length ...) shows
            # only when it is used; the message is still kept and answered
            return Answer(ATTRIBUTE_LIST_ERROR, "rejected", uid,
                          f"the attribute list could not be read ({type(exc).__name__})"), \
                None, None

    def _resolve(self, milestones: Sequence[Milestone],
                 message_id: int) -> tuple[list[ExamEvent], list[Milestone], list[Provenance]]:
        """Split milestones into events for known exams and milestones that wait."""
        repo = self.app.imaging.repo
        known = exams_by_accession(repo, (m.accession for m in milestones if m.accession))
        ready: list[ExamEvent] = []
        waiting: list[Milestone] = []
        rows: list[Provenance] = []
        for m in milestones:
            exam = None
            if m.accession:
                exam = known.get(m.accession)
            elif m.study_uid:
                exam = repo.exam_by_study(m.study_uid)
            if exam is None:
                waiting.append(m)
                continue
            event = _event(m, exam, message_id)
            if event is None:
                waiting.append(m)
                continue
            ready.append(event)
            rows.append(Provenance(event.accession_number, event.event.value, SOURCE_MPPS,
                                   m.occurred_at))
        return ready, waiting, rows

    def _save_state(self, conn: sa.Connection, incoming: Incoming, answer: Answer,
                    reading: Reading, digest: str, message_id: int, now: datetime) -> None:
        t = self.t.mpps
        stamp = provenance.iso(now)
        if incoming.operation == "N-CREATE":
            conn.execute(sa.insert(t).values(
                sop_instance_uid=answer.sop_instance_uid, status=reading.status,
                station=(reading.station or "")[:64] or None,
                modality=(reading.modality or "")[:16] or None,
                accessions=json.dumps(list(reading.accessions)),
                study_uids=json.dumps(list(reading.study_uids)),
                started_at=reading.started_at.isoformat() if reading.started_at else None,
                ended_at=None, create_sha256=digest, tz_offset=reading.tz_offset,
                last_message_id=message_id, updated_at=stamp))
        else:
            values: dict[str, Any] = {"status": reading.status, "last_message_id": message_id,
                                      "updated_at": stamp}
            if reading.ended_at is not None:
                values["ended_at"] = reading.ended_at.isoformat()
            conn.execute(sa.update(t).where(t.c.sop_instance_uid == answer.sop_instance_uid)
                         .values(**values))

    def _insert_message(self, conn: sa.Connection, chain: Appender, incoming: Incoming,
                        answer: Answer, reading: Reading | None, key: str | None, digest: str,
                        milestones: Sequence[Milestone], now: datetime) -> None:
        ring = self.store.key_ring
        uid = answer.sop_instance_uid
        aad = _aad(incoming.operation, uid)
        envelope = json.dumps({"transfer_syntax": incoming.transfer_syntax,
                               "data": base64.b64encode(incoming.raw).decode("ascii")})
        key_id, raw_enc = ring.encrypt(envelope.encode("utf-8"), aad)
        _, events_enc = ring.encrypt(_MILESTONES.dump_json(list(milestones)), aad)
        applied = answer.ok and answer.disposition in ("applied", "held")
        status = reading.status if reading is not None else _peek_status(incoming.dataset)
        values = {
            "id": chain.next_id(), "received_at": provenance.iso(now),
            "calling_ae": incoming.calling_ae[:64] or "?", "operation": incoming.operation,
            "sop_instance_uid": (uid or "")[:64] or None, "pps_status": status,
            "disposition": answer.disposition,
            "error": None if answer.ok else (answer.comment or "")[:300],
            "answer_status": answer.status, "event_count": len(milestones),
            "applied_key": key if applied else None, "key_id": key_id, "raw": raw_enc,
            "events": events_enc, "raw_sha256": digest,
        }
        prev, digest_row = chain.chain([values[c] for c in MPPS_HASHED])
        conn.execute(sa.insert(self.t.messages).values(**values, prev_hash=prev,
                                                       hash=digest_row))

    # -- matching what waits ------------------------------------------------------------------

    def pending(self) -> list[Any]:
        """The waiting milestones' rows (message id, accession, study UID, since)."""
        with self.store.read() as conn:
            return list(conn.execute(sa.select(self.t.pending).order_by(self.t.pending.c.id)))

    def match_pending(self) -> int:
        """Merge every waiting milestone whose exam is now known (by accession number, or by
        Study Instance UID when the MPPS had none); returns how many were merged."""
        with self._match_lock:
            rows = self.pending()
            if not rows:
                return 0
            repo = self.app.imaging.repo
            known = exams_by_accession(repo, (r.accession for r in rows if r.accession))
            found: dict[int, Any] = {}
            for r in rows:
                exam = (known.get(r.accession) if r.accession
                        else repo.exam_by_study(r.study_uid) if r.study_uid else None)
                if exam is not None:
                    found[r.id] = exam
            if not found:
                return 0
            messages = {m.id: m for m in self.messages(
                ids=sorted({r.message_id for r in rows if r.id in found}))}
            events: list[ExamEvent] = []
            marks: list[Provenance] = []
            done: list[int] = []
            for r in rows:  # in arrival order: a step's start before its end
                exam = found.get(r.id)
                message = messages.get(r.message_id)
                if exam is None or message is None:
                    continue
                for m in message.milestones:
                    if m.accession == r.accession and m.study_uid == r.study_uid:
                        event = _event(m, exam, r.message_id)
                        if event is not None:
                            events.append(event)
                            marks.append(Provenance(event.accession_number, event.event.value,
                                                    SOURCE_MPPS, m.occurred_at))
                done.append(r.id)
            with self.app.imaging.transaction() as tx:
                gone = tx.connection.execute(sa.delete(self.t.pending).where(
                    self.t.pending.c.id.in_(done)))
                if gone.rowcount != len(done):  # another matcher took some: let it
                    raise RuntimeError("pending MPPS matched twice at once; retry")
                provenance.write(tx.connection, self.store, marks, self.app.clock.now())
                if events:
                    tx.merge(events)
            return len(done)

    # -- reading back ---------------------------------------------------------------------------

    def messages(self, ids: Sequence[int] | None = None) -> list[StoredMpps]:
        """Stored messages (all, or those of ``ids``), oldest first, decrypted."""
        t = self.t.messages
        query = sa.select(t).order_by(t.c.id)
        if ids is not None:
            query = query.where(t.c.id.in_(list(ids)))
        ring = self.store.key_ring
        out = []
        with self.store.read() as conn:
            rows = list(conn.execute(query))
        for r in rows:
            aad = _aad(r.operation, r.sop_instance_uid)
            where = f"dicom_mpps_messages row {r.id}"
            envelope = json.loads(ring.decrypt(r.key_id, r.raw, aad, where))
            milestones = _MILESTONES.validate_json(ring.decrypt(r.key_id, r.events, aad, where))
            out.append(StoredMpps(r.id, datetime.fromisoformat(r.received_at), r.calling_ae,
                                  r.operation, r.sop_instance_uid, r.pps_status, r.disposition,
                                  r.error, r.answer_status, envelope["transfer_syntax"],
                                  base64.b64decode(envelope["data"]), milestones))
        return out

    def steps(self) -> list[Any]:
        """Every performed procedure step's state."""
        with self.store.read() as conn:
            return list(conn.execute(sa.select(self.t.mpps).order_by(self.t.mpps.c.updated_at)))


def _event(m: Milestone, exam: Any, message_id: int) -> ExamEvent | None:
    """The exam event of a milestone for a known exam: device and modality only where the
    exam has none (the RIS names devices), the Study Instance UID likewise."""
    return make_event(
        exam.accession_number, m.event, source=SOURCE_MPPS, occurred_at=m.occurred_at,
        study_uid=m.study_uid if exam.study_instance_uid is None else None,
        modality=m.modality if exam.modality is None else None,
        station=m.station if exam.station is None else None,
        patient_id=m.patient_id if exam.patient_hash is None else None,
        message_id=f"mpps:{message_id}")


def _aad(operation: str, uid: str | None) -> bytes:
    return f"mpps:{operation}:{(uid or '')[:64]}".encode()


def _loaded(ds: Dataset) -> Dataset:
    """Every element of ``ds`` read now (pydicom defers), so a broken one fails here."""
    for _elem in ds.iterall():
        pass
    return ds


def _peek_status(ds: Dataset | None) -> str | None:
    if ds is None:
        return None
    try:
        value = ds.get("PerformedProcedureStepStatus")
    except Exception:
        return None
    text = str(value or "").strip().upper()[:20]
    return text if text.replace(" ", "").isalpha() else None


__all__ = ["Answer", "Incoming", "MppsStore", "StoredMpps"]

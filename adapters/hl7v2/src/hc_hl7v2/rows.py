"""What ``hl7 inspect`` prints: one JSON-ready dict per exam event (or per message)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from .errors import Hl7InputError
from .extract import DEFAULT_OPTIONS, Extraction, ExtractOptions, Hl7Event, extract_bytes

KEYS = ("message_control_id", "message_type", "event", "accession_number", "placer_order",
        "filler_order", "patient_id", "modality", "station", "occurred_at", "scheduled_start")


def mask_patient_id(value: str | None) -> str | None:
    """Keep the last two characters: enough to tell records apart, not to identify."""
    if not value:
        return value
    return "*" * max(3, len(value) - 2) + value[-2:] if len(value) > 2 else "***"


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def event_row(ev: Hl7Event, reveal_identity: bool = False) -> dict[str, Any]:
    return {
        "message_control_id": ev.message_control_id,
        "message_type": ev.message_type,
        "event": ev.event.value,
        "accession_number": ev.accession_number,
        "placer_order": ev.placer_order,
        "filler_order": ev.filler_order,
        "patient_id": ev.patient_id if reveal_identity else mask_patient_id(ev.patient_id),
        "modality": ev.modality,
        "station": ev.station,
        "occurred_at": _time(ev.occurred_at),
        "scheduled_start": _time(ev.scheduled_start),
    }


def rows_for(raw: bytes, opts: ExtractOptions = DEFAULT_OPTIONS, *,
             reveal_identity: bool = False) -> Iterator[dict[str, Any]]:
    """One row per event of one message; one row with ``event: null`` (and ``note``) for a
    message without events; one row with ``error`` for an unusable message."""
    from .ack import read_header

    try:
        x: Extraction = extract_bytes(raw, opts)
    except Hl7InputError as exc:
        header = read_header(raw)
        row: dict[str, Any] = dict.fromkeys(KEYS)
        if header is not None:
            row["message_control_id"] = header.control_id or None
        row["error"] = exc.reason
        yield row
        return
    if not x.events:
        row = dict.fromkeys(KEYS)
        row["message_control_id"] = x.message.control_id
        row["message_type"] = x.message.message_type
        row["note"] = x.note
        if x.warnings:
            row["warnings"] = list(x.warnings)
        yield row
        return
    for ev in x.events:
        row = event_row(ev, reveal_identity)
        if ev.warnings:
            row["warnings"] = list(ev.warnings)
        if not ev.accession_number:
            row["note"] = "no accession number: not stored as an exam event"
        yield row

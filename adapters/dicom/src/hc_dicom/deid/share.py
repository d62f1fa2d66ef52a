"""Sharing DICOM files outside the hospital (with the complainant, a hotline platform, an
export): de-identified first, images whose pixels may carry text held back unless a named
person confirms, and every attempt recorded (``dicom_disclosures``, hash-chained, details
encrypted).

The record of one disclosure holds, per file: the SHA-256 of what was read and of what left,
the reasons its pixels may carry text, and what de-identification removed (tags, keywords,
actions — never values); plus who shared, the case, the destination, the purpose, and who
confirmed what and why. A refusal (text risk without confirmation) is recorded too.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from .. import provenance
from ..chain import Appender
from ..errors import DicomError
from ..tables import DISCLOSURE_HASHED, HEAD_DISCLOSURES, tables
from .deidentify import Removal, UidMapper, deidentify, encode, read
from .pixels import text_risks

DESTINATIONS = ("complainant", "hotline", "export")


class ConfirmationNeeded(DicomError):
    """Some images may carry text in their pixels and nobody confirmed sharing them."""

    def __init__(self, held: Sequence[tuple[int, list[str]]], record_id: int) -> None:
        lines = "; ".join(f"file {i + 1}: {' / '.join(r)}" for i, r in held)
        super().__init__(
            f"not shared: {len(held)} image(s) may carry identifying text in their pixels "
            f"({lines}). Look at them, then share again with --confirm-burned-in and "
            f"--reason. This attempt is recorded (disclosure {record_id})",
            f"未共享：{len(held)} 个图像的像素中可能含有可识别的文字或面部特征。请人工查看后，"
            f"使用 --confirm-burned-in 和 --reason 再次共享。本次尝试已记录（第 {record_id} 条）")
        self.held = list(held)
        self.record_id = record_id


@dataclass(frozen=True)
class Confirmation:
    """A person's explicit decision to share images that may show text."""

    actor: str
    reason: str


@dataclass(frozen=True)
class Prepared:
    index: int
    original_sha256: str
    data: bytes
    sha256: str
    risks: list[str]
    removal: Removal


@dataclass(frozen=True)
class Shared:
    record_id: int
    files: list[Path]
    prepared: list[Prepared]


def prepare(inputs: Sequence[tuple[str, bytes]]) -> list[Prepared]:
    """De-identify every input (one UID secret for all, so they still refer to each other)."""
    uids = UidMapper()
    out = []
    for i, (name, data) in enumerate(inputs):
        ds = read(data, name)
        risks = text_risks(ds)
        removal = deidentify(ds, uids)
        encoded = encode(ds)
        out.append(Prepared(i, hashlib.sha256(data).hexdigest(), encoded,
                            hashlib.sha256(encoded).hexdigest(), risks, removal))
    return out


def share(app: Any, case_ref: str, inputs: Sequence[tuple[str, bytes]], *, destination: str,
          out_dir: Path, actor: str, purpose: str,
          confirmation: Confirmation | None = None) -> Shared:
    """De-identify ``inputs`` and write them to ``out_dir`` for ``destination``, recording
    the disclosure. Raises :class:`ConfirmationNeeded` (after recording the refusal) when an
    image may carry text and ``confirmation`` is missing."""
    from hospital_complaints.plugin_api import FieldProblem, InvalidInput

    problems = []
    if destination not in DESTINATIONS:
        problems.append(FieldProblem("destination", destination, " / ".join(DESTINATIONS)))
    if not purpose.strip():
        problems.append(FieldProblem("purpose", purpose, "why the files are shared"))
    if confirmation is not None and not confirmation.reason.strip():
        problems.append(FieldProblem("reason", confirmation.reason,
                                     "why sharing images that may show text is acceptable"))
    if not inputs:
        problems.append(FieldProblem("files", "none", "at least one DICOM file"))
    if problems:
        raise InvalidInput("dicom share", problems,
                           ["  - 请检查共享对象、用途、确认理由和文件"])
    case = app.complaints.get(case_ref)  # NotFound for an unknown case
    reference = case.reference
    prepared = prepare(inputs)
    held = [(p.index, p.risks) for p in prepared if p.risks]
    if held and confirmation is None:
        record_id = _record(app, reference, destination, actor, purpose, prepared, None,
                            outcome="refused: images may carry text; no confirmation")
        raise ConfirmationNeeded(held, record_id)
    out_dir.mkdir(parents=True, exist_ok=True)
    # the files get their names only once the disclosure is recorded: a failed record
    # leaves no shared file behind
    parts = []
    try:
        for p in prepared:
            path = out_dir / f"{reference}-{p.index + 1:03d}-{p.sha256[:12]}.dcm"
            part = path.with_name(path.name + ".part")
            part.write_bytes(p.data)
            parts.append((part, path))
        record_id = _record(app, reference, destination, actor, purpose, prepared,
                            confirmation if held else None, outcome="shared")
    except BaseException:
        for part, _path in parts:
            part.unlink(missing_ok=True)
        raise
    written = [part.replace(path) for part, path in parts]
    return Shared(record_id, written, prepared)


def _record(app: Any, reference: str, destination: str, actor: str, purpose: str,
            prepared: Sequence[Prepared], confirmation: Confirmation | None,
            outcome: str) -> int:
    store = app.store
    t = tables(store.prefix, store.schema)
    details = {
        "outcome": outcome, "purpose": purpose,
        "confirmation": ({"by": confirmation.actor, "reason": confirmation.reason}
                         if confirmation else None),
        "files": [{"original_sha256": p.original_sha256, "shared_sha256": p.sha256,
                   "text_risks": p.risks, "deidentification": p.removal.as_dict()}
                  for p in prepared],
    }
    now = provenance.iso(app.clock.now())
    with store.write() as conn:
        chain = Appender(conn, t.head, HEAD_DISCLOSURES)
        row_id = chain.next_id()
        key_id, enc = store.key_ring.encrypt(json.dumps(details, ensure_ascii=False).encode(),
                                             f"dicom-disclosure:{row_id}".encode())
        values = {"id": row_id, "disclosed_at": now, "actor": actor[:200],
                  "case_ref": reference, "destination": destination,
                  "file_count": len(prepared) if outcome == "shared" else 0,
                  "confirmed": confirmation.actor[:200] if confirmation else None,
                  "key_id": key_id, "details": enc}
        prev, digest = chain.chain([values[c] for c in DISCLOSURE_HASHED])
        conn.execute(sa.insert(t.disclosures).values(**values, prev_hash=prev, hash=digest))
        chain.finish()
    return row_id


def disclosures(app: Any, case_ref: str | None = None) -> list[dict[str, Any]]:
    """The recorded disclosures (of one case), decrypted, oldest first."""
    store = app.store
    t = tables(store.prefix, store.schema).disclosures
    query = sa.select(t).order_by(t.c.id)
    if case_ref is not None:
        query = query.where(t.c.case_ref == case_ref)
    with store.read() as conn:
        rows = list(conn.execute(query))
    out = []
    for r in rows:
        details = json.loads(store.key_ring.decrypt(
            r.key_id, r.details, f"dicom-disclosure:{r.id}".encode(),
            f"dicom_disclosures row {r.id}"))
        out.append({"id": r.id, "disclosed_at": r.disclosed_at, "actor": r.actor,
                    "case": r.case_ref, "destination": r.destination,
                    "file_count": r.file_count, "confirmed_by": r.confirmed, **details})
    return out

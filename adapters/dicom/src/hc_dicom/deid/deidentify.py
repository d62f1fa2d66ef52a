"""De-identification of a DICOM object with pydicom, following the PS3.15 Basic Application
Level Confidentiality Profile (:mod:`hc_dicom.deid.profile`), with a record of what was done.

* every attribute of the table, at any depth (inside sequences too), gets its action:
  removed (X), emptied (Z), replaced by a dummy value of its VR (D), or, for UIDs (U),
  replaced by a new UID derived from the old one with a secret of this disclosure, so that
  the files of one disclosure still refer to each other and those of two disclosures cannot
  be linked;
* private attributes, curves and overlays are removed;
* the file meta information follows (Media Storage SOP Instance UID);
* Patient Identity Removed = YES, De-identification Method (Code Sequence: DCM 113100) and
  Longitudinal Temporal Information Modified = REMOVED are set.

The record (:class:`Removal`) lists each attribute by tag, keyword, action and where it was
(``ScheduledStepAttributesSequence[0]``) — never its value.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from pydicom import dcmread
from pydicom.datadict import keyword_for_tag
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset, FileDataset
from pydicom.errors import InvalidDicomError
from pydicom.sequence import Sequence as DicomSequence
from pydicom.tag import Tag

from ..errors import DicomError
from .profile import RESOLVED, action_for

METHOD = "DICOM PS3.15 E.1 Basic Application Level Confidentiality Profile (hospital-complaints)"
_TEXT_DUMMY = "ANONYMIZED"
_DUMMIES: dict[str, Any] = {
    "PN": "ANONYMIZED", "LO": _TEXT_DUMMY, "SH": _TEXT_DUMMY, "LT": _TEXT_DUMMY,
    "ST": _TEXT_DUMMY, "UT": _TEXT_DUMMY, "UC": _TEXT_DUMMY, "CS": "ANONYMIZED",
    "AE": "ANONYMIZED", "DA": "19000101", "TM": "000000", "DT": "19000101000000",
    "AS": "000Y", "IS": "0", "DS": "0", "UR": "urn:anonymized", "US": 0, "SS": 0, "UL": 0,
    "SL": 0, "FL": 0.0, "FD": 0.0, "SV": 0, "UV": 0, "AT": 0,
    "OB": b"\x00\x00", "OW": b"\x00\x00", "OD": b"\x00" * 8, "OF": b"\x00" * 4,
    "OL": b"\x00" * 4, "OV": b"\x00" * 8, "UN": b"\x00\x00",
}


@dataclass(frozen=True)
class Change:
    tag: str
    keyword: str
    action: str
    done: str
    where: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"tag": self.tag, "keyword": self.keyword, "action": self.action,
                "done": self.done, **({"where": self.where} if self.where else {})}


@dataclass
class Removal:
    """What de-identification did to one object (never a value)."""

    changes: list[Change] = field(default_factory=list)
    private_removed: int = 0

    def counts(self) -> dict[str, int]:
        c = Counter(ch.done for ch in self.changes)
        if self.private_removed:
            c["private removed"] = self.private_removed
        return dict(c)

    def as_dict(self) -> dict[str, Any]:
        return {"method": METHOD, "counts": self.counts(),
                "changes": [c.as_dict() for c in self.changes],
                "private_removed": self.private_removed}


class UidMapper:
    """New UIDs (``2.25.<decimal>``) derived from old ones with a secret of its own: the same
    old UID always gives the same new one within one mapper, and nothing links two mappers."""

    def __init__(self, secret: bytes | None = None) -> None:
        self._secret = secret or os.urandom(32)

    def __call__(self, uid: str) -> str:
        digest = hmac.new(self._secret, uid.strip().encode("ascii", "replace"),
                          hashlib.sha256).digest()
        return f"2.25.{int.from_bytes(digest[:16], 'big')}"


def read(data: bytes, name: str) -> FileDataset:
    """A DICOM file (Part 10) from bytes; :class:`DicomError` naming the file otherwise."""
    try:
        ds = dcmread(io.BytesIO(data))
    except (InvalidDicomError, EOFError, ValueError, KeyError, OSError) as exc:
        raise DicomError(f"{name}: not a DICOM file ({type(exc).__name__})",
                         f"{name}：不是 DICOM 文件") from None
    return ds


def deidentify(ds: Dataset, uids: UidMapper) -> Removal:
    """De-identify ``ds`` in place; returns what was done."""
    removal = Removal()
    _walk(ds, uids, removal, "")
    meta = getattr(ds, "file_meta", None)
    if meta is not None and "MediaStorageSOPInstanceUID" in meta:
        meta.MediaStorageSOPInstanceUID = ds.get("SOPInstanceUID") or uids(
            str(meta.MediaStorageSOPInstanceUID))
        removal.changes.append(Change("(0002,0003)", "MediaStorageSOPInstanceUID", "U",
                                      "uid replaced"))
    ds.PatientIdentityRemoved = "YES"
    ds.DeidentificationMethod = METHOD[:64]
    code = Dataset()
    code.CodeValue = "113100"
    code.CodingSchemeDesignator = "DCM"
    code.CodeMeaning = "Basic Application Confidentiality Profile"
    ds.DeidentificationMethodCodeSequence = DicomSequence([code])
    ds.LongitudinalTemporalInformationModified = "REMOVED"
    return removal


def _walk(ds: Dataset, uids: UidMapper, removal: Removal, where: str) -> None:
    for elem in list(ds):
        tag = int(elem.tag)
        if Tag(tag).is_private:
            del ds[tag]
            removal.private_removed += 1
            continue
        action = action_for(tag)
        if action is None:
            if elem.VR == "SQ" and elem.value:
                for i, item in enumerate(elem.value):
                    _walk(item, uids, removal, f"{where}{_name(elem)}[{i}].")
            continue
        done = _apply(ds, elem, RESOLVED[action], uids, removal, where)
        removal.changes.append(Change(f"({tag >> 16:04X},{tag & 0xFFFF:04X})", _name(elem),
                                      action, done, where.rstrip(".")))


def _apply(ds: Dataset, elem: DataElement, action: str, uids: UidMapper, removal: Removal,
           where: str) -> str:
    tag = elem.tag
    if action == "X":
        del ds[tag]
        return "removed"
    if elem.VR == "SQ":
        if action == "U*":  # keep the references, replace the UIDs inside
            for i, item in enumerate(elem.value or []):
                _walk(item, uids, removal, f"{where}{_name(elem)}[{i}].")
            return "uids replaced inside"
        elem.value = DicomSequence([])
        return "emptied"
    if action == "U" or (action == "U*" and elem.VR == "UI"):
        if elem.VR != "UI" or elem.value in (None, ""):
            elem.value = None
            return "emptied"
        if elem.VM > 1:
            elem.value = [uids(str(v)) for v in elem.value]
        else:
            elem.value = uids(str(elem.value))
        return "uid replaced"
    if action == "Z" or elem.value in (None, "", b""):
        elem.value = None if elem.VR not in ("OB", "OW", "UN") else b""
        return "emptied"
    dummy = _DUMMIES.get(elem.VR)
    if dummy is None:
        elem.value = None
        return "emptied"
    elem.value = dummy
    return "dummy value"


def _name(elem: DataElement) -> str:
    return keyword_for_tag(elem.tag) or f"({int(elem.tag) >> 16:04X},{int(elem.tag) & 0xFFFF:04X})"


def encode(ds: Dataset) -> bytes:
    """``ds`` as a DICOM Part 10 file."""
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()

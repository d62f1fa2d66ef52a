"""Modality codes: what a feed sends -> a DICOM defined term (PS3.3 C.7.3.1.1.1).

Feeds send the modality in OBR-24 (HL7 table 0074, "diagnostic service section": ``NMR``
for MR, ``NMS`` for NM), in IPC-5 (a DICOM term), in an OBX or in a site-specific field,
often with local names (``DR`` for DX, ``MRI``). A value is kept only when it is, or maps
through the aliases to, a DICOM defined term that the core can store (2 to 4 letters).

:data:`DEFAULT_ALIASES` maps the retired DICOM terms to the terms that replaced them and
common non-DICOM names to their DICOM term; a sender's profile adds its own
(``[profile.modality_aliases]``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

#: DICOM defined terms for Modality (0008,0060), current
DICOM_TERMS = frozenset({
    "AR", "ASMT", "AU", "BDUS", "BI", "BMD", "CFM", "CR", "CT", "CTPROTOCOL", "DG", "DMS",
    "DOC", "DX", "ECG", "EEG", "EMG", "EOG", "EPS", "ES", "FID", "GM", "HC", "HD", "IO",
    "IOL", "IVOCT", "IVUS", "KER", "KO", "LEN", "LS", "M3D", "MG", "MR", "NM", "OAM", "OCT",
    "OP", "OPM", "OPT", "OPTBSV", "OPTENF", "OPV", "OSS", "OT", "PA", "PLAN", "POS", "PR",
    "PT", "PX", "REG", "RESP", "RF", "RG", "RTDOSE", "RTIMAGE", "RTINTENT", "RTPLAN",
    "RTRAD", "RTRECORD", "RTSEGANN", "RTSTRUCT", "RWV", "SEG", "SM", "SMR", "SR", "SRF",
    "STAIN", "TEXTUREMAP", "TG", "US", "VA", "XA", "XAPROTOCOL", "XC",
})
#: DICOM defined terms for Modality that are retired
DICOM_RETIRED = frozenset({
    "AS", "CD", "CF", "CP", "CS", "DD", "DF", "DM", "DS", "EC", "FA", "FS", "LP", "MA", "MS",
    "OPR", "ST", "VF",
})

#: built-in aliases: retired terms -> the term that replaced them, and common other names
DEFAULT_ALIASES: Mapping[str, str] = {
    "AS": "ES", "CS": "ES", "CP": "ES", "LP": "ES",  # angio-, cysto-, colpo-, laparoscopy
    "CD": "US", "DD": "US", "EC": "US",  # colour flow / duplex Doppler, echocardiography
    "CF": "RF", "DF": "RF", "VF": "RF",  # cine-, digital, video fluoroscopy
    "DS": "XA",  # digital subtraction angiography
    "FA": "OP", "FS": "OP",  # fluorescein angiography, fundoscopy
    "MA": "MR", "MS": "MR",  # MR angiography, MR spectroscopy
    "ST": "NM",  # SPECT
    "NMR": "MR", "MRI": "MR", "NMS": "NM", "PET": "PT", "DR": "DX",  # table 0074, local
    "VUS": "US", "OUS": "US", "CUS": "US",
}

#: what a modality was checked against, for warnings ("... is none of the {CHECKED}")
CHECKED = ("DICOM defined terms for Modality (PS3.3 C.7.3.1.1.1) of 2-4 letters, "
           "after the built-in and profile aliases")

_STORABLE = re.compile(r"[A-Z]{2,4}\Z")


def is_storable(code: str) -> bool:
    """Whether the core stores ``code`` as a modality (2-4 capital letters)."""
    return _STORABLE.match(code) is not None


def normalise(value: str, aliases: Mapping[str, str]) -> str | None:
    """The DICOM term for ``value`` (case ignored) after ``aliases``, or ``None`` when it is
    no defined term (current or retired) the core can store."""
    up = value.strip().upper()
    term = aliases.get(up, up)
    if (term in DICOM_TERMS or term in DICOM_RETIRED) and is_storable(term):
        return term
    return None

"""Imaging-aware privacy: de-identification (PS3.15 Basic profile), burned-in text checks and
the audited record of every DICOM file that leaves the hospital."""

from .deidentify import Removal, UidMapper, deidentify
from .pixels import text_risks
from .share import Confirmation, ConfirmationNeeded, disclosures, share

__all__ = ["Confirmation", "ConfirmationNeeded", "Removal", "UidMapper", "deidentify",
           "disclosures", "share", "text_risks"]

"""PACS adapter for hospital-complaints (``hospital-complaints-dicom``): exam milestones from
DICOMweb QIDO-RS, the modality worklist and MPPS; viewer links; de-identified sharing.

See docs/dicom.md. Entry point ``dicom = "hc_dicom.plugin"``.
"""

from .links import EvidenceLink, evidence_links, viewer_url
from .qido import QidoClient, build_query
from .settings import DicomSettings
from .studies import SOURCE_LABELS
from .sync import QidoSource, QidoSync, SyncReport

__all__ = ["SOURCE_LABELS", "DicomSettings", "EvidenceLink", "QidoClient", "QidoSource",
           "QidoSync", "SyncReport", "build_query", "evidence_links", "viewer_url"]

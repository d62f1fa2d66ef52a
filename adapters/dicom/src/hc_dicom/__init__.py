"""PACS adapter for hospital-complaints (``hospital-complaints-dicom``): exam milestones from
DICOMweb QIDO-RS, the modality worklist and MPPS; viewer links; de-identified sharing.

See docs/dicom.md. Entry point ``dicom = "hc_dicom.plugin"``.
"""

from typing import TYPE_CHECKING

from hospital_complaints.plugin_api import lazy_exports

if TYPE_CHECKING:
    from .links import EvidenceLink, evidence_links, viewer_url
    from .qido import QidoClient, build_query
    from .settings import DicomSettings
    from .studies import SOURCE_LABELS
    from .sync import QidoSource, QidoSync, SyncReport

#: public name -> (module, attribute): imported on first use, so that loading the plugin
#: (the command line's start) does not import the whole adapter
_WHERE: dict[str, tuple[str, str]] = {
    "EvidenceLink": (".links", "EvidenceLink"),
    "evidence_links": (".links", "evidence_links"),
    "viewer_url": (".links", "viewer_url"),
    "QidoClient": (".qido", "QidoClient"),
    "build_query": (".qido", "build_query"),
    "DicomSettings": (".settings", "DicomSettings"),
    "SOURCE_LABELS": (".studies", "SOURCE_LABELS"),
    "QidoSource": (".sync", "QidoSource"),
    "QidoSync": (".sync", "QidoSync"),
    "SyncReport": (".sync", "SyncReport"),
}


__getattr__, __dir__ = lazy_exports(__name__, _WHERE, globals())


__all__ = ["SOURCE_LABELS", "DicomSettings", "EvidenceLink", "QidoClient", "QidoSource",
           "QidoSync", "SyncReport", "build_query", "evidence_links", "viewer_url"]

"""A link from an evidence pack to the study in the site's image viewer. The images are
never copied: the pack carries a URL, and the viewer checks who may open it.

The site sets a template (``HC_DICOM_VIEWER_URL``) with ``{study_uid}`` and/or
``{accession}``, which are URL-encoded into it:

- Orthanc Explorer 2:
  ``https://pacs.example/ui/app/#/filtered-studies?StudyInstanceUID={study_uid}``
- OHIF: ``https://viewer.example/viewer?StudyInstanceUIDs={study_uid}``
- a vendor viewer: whatever it takes, e.g. ``https://pacs.example/launch?acc={accession}``
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from .settings import settings_of

PLACEHOLDERS = frozenset({"study_uid", "accession"})


@dataclass(frozen=True)
class EvidenceLink:
    """A link for an evidence pack (``hc_evidence_links``, proposed): what it opens, in
    Chinese and English, and the URL."""

    url: str
    label_zh: str
    label_en: str
    kind: str = "viewer"


def check_template(template: str) -> str:
    """``template`` if it is an http(s) URL with only known placeholders (at least one);
    ``ValueError`` naming the problem otherwise (the settings loader reports it)."""
    parts = urlsplit(template.replace("{", "").replace("}", ""))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("an http(s) URL of the viewer, e.g. "
                         "https://viewer.example/viewer?StudyInstanceUIDs={study_uid} "
                         "(须为查看器的 http(s) 地址)")
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(template)
                 if name is not None}
    except ValueError:
        raise ValueError("a URL whose braces are balanced placeholders (占位符括号不匹配)") \
            from None
    unknown = names - PLACEHOLDERS
    if unknown or not names:
        raise ValueError("placeholders {study_uid} and/or {accession}, nothing else "
                         "(只能使用 {study_uid}、{accession} 占位符)")
    return template


def viewer_url(template: str, *, study_uid: str | None, accession: str | None) -> str | None:
    """The URL for one study, or ``None`` when the template needs a value the exam lacks."""
    names = {name for _, name, _, _ in string.Formatter().parse(template) if name}
    values = {"study_uid": study_uid, "accession": accession}
    if any(not values[n] for n in names):
        return None
    return template.format(**{k: quote(v or "", safe="") for k, v in values.items()})


def evidence_links(exam: Any, app: Any) -> list[EvidenceLink]:
    """The links for one exam (an ``ExamRecord``): the proposed core hook
    ``hc_evidence_links(exam, app)`` returns these; none when no viewer is configured."""
    template = settings_of(app).viewer_url
    if template is None or exam is None:
        return []
    url = viewer_url(template, study_uid=getattr(exam, "study_instance_uid", None),
                     accession=getattr(exam, "accession_number", None))
    if url is None:
        return []
    return [EvidenceLink(url, "在影像查看器中打开该检查（图像不随证据导出）",
                         "open the study in the image viewer (images are not copied)")]

"""Built-in intake normalisers for two common raw formats.

``web_form``: the hospital web site's feedback form, flat fields::

    {"submitted_at": "...+08:00", "name": "...", "phone": "...", "anonymous": false,
     "subject": "...", "message": "...", "wants": "...", "accession_number": "..."}

``hotline_platform``: a work order (工单) transferred from a 12320/12345 hotline platform::

    {"ticket_id": "...", "platform": "12320", "accepted_at": "...", "caller_name": "...",
     "caller_phone": "...", "category": "complaint|consultation|report|suggestion|praise",
     "title": "...", "content": "...", "demands": "...", "consent_to_callback": true,
     "accession_number": "..."}

Anything else abstains (returns None), so a hospital's own plugin can take the channel.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import hookimpl


def _web_form(raw: Mapping[str, Any]) -> dict[str, Any]:
    anonymous = bool(raw.get("anonymous"))
    complainant: dict[str, Any] = {"role": "anonymous" if anonymous else "patient"}
    if not anonymous:
        complainant.update({k: raw[k] for k in ("name", "phone", "email") if raw.get(k)})
    if raw.get("phone") or raw.get("email"):
        complainant["consent_to_contact"] = bool(raw.get("contact_ok", True))
        if anonymous and raw.get("phone"):
            complainant["phone"] = raw["phone"]
    draft: dict[str, Any] = {
        "channel": "web_form",
        "received_at": raw.get("submitted_at"),
        "complainant": complainant,
        "subject": raw.get("subject") or str(raw.get("message", ""))[:60],
        "description": raw.get("message"),
    }
    if raw.get("wants"):
        draft["demands"] = raw["wants"]
    if raw.get("accession_number"):
        draft["exam_links"] = [{"accession_number": raw["accession_number"]}]
    return draft


def _hotline(raw: Mapping[str, Any]) -> dict[str, Any]:
    complainant: dict[str, Any] = {"role": "patient"}
    if raw.get("caller_name"):
        complainant["name"] = raw["caller_name"]
    else:
        complainant["role"] = "anonymous"
    if raw.get("caller_phone"):
        complainant["phone"] = raw["caller_phone"]
        complainant["consent_to_contact"] = bool(raw.get("consent_to_callback", True))
    draft: dict[str, Any] = {
        "kind": raw.get("category", "complaint"),
        "channel": "hotline_platform",
        "transferred_from": str(raw.get("platform") or "hotline platform"),
        "external_id": raw.get("ticket_id"),
        "received_at": raw.get("accepted_at"),
        "complainant": complainant,
        "subject": raw.get("title") or str(raw.get("content", ""))[:60],
        "description": raw.get("content"),
    }
    if raw.get("demands"):
        draft["demands"] = raw["demands"]
    if raw.get("accession_number"):
        draft["exam_links"] = [{"accession_number": raw["accession_number"]}]
    return draft


@hookimpl(trylast=True)
def hc_normalize_intake(channel: str, raw: Mapping[str, Any]) -> dict[str, Any] | None:
    if channel == "web_form":
        return _web_form(raw)
    if channel == "hotline_platform":
        return _hotline(raw)
    return None

"""A survey response as a FHIR R4 ``QuestionnaireResponse`` (plain JSON; the FHIR adapter's
tests validate it with the FHIR models and a FHIR server).

- ``questionnaire``: the canonical ``urn:hospital-complaints:questionnaire:<id>|<version>``;
- an exam's response is ``basedOn`` the order, identified by its accession number (the v2-0203
  identifier type ``ACSN``); a case's follow-up names the complaint reference in an extension;
- a choice answer is a ``valueCoding`` (system per questionnaire item), a scale a
  ``valueInteger`` 1-5, free text a ``valueString``.

No patient or complainant identity is in it: the survey never had it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from .model import Questionnaire
from .records import SurveyResponse

BASE = "urn:hospital-complaints"
COMPLAINT_EXTENSION = "urn:hospital-complaints:fhir:extension:complaint-reference"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"


def questionnaire_response(r: SurveyResponse, q: Questionnaire,
                           tz: ZoneInfo) -> dict[str, Any]:
    language = "en" if r.language.startswith("en") else "zh"
    items = []
    for item in q.items:
        value = r.answers.get(item.link_id)
        if value is None:
            continue
        if item.kind == "text":
            answer: dict[str, Any] = {"valueString": str(value)}
        elif item.kind == "scale":
            answer = {"valueInteger": int(value)}
        else:
            option = next(o for o in item.choices() if o.code == str(value))
            answer = {"valueCoding": {"system": f"{BASE}:questionnaire:{q.id}:{item.link_id}",
                                      "code": option.code, "display": option.label(language)}}
        items.append({"linkId": item.link_id, "text": item.text.get(language),
                      "answer": [answer]})
    resource: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "id": r.invitation_id.removeprefix("inv-")[:64],
        "identifier": {"system": f"{BASE}:survey-response", "value": r.invitation_id},
        "questionnaire": f"{BASE}:questionnaire:{q.id}|{q.version}",
        "status": "completed",
        "authored": datetime.fromtimestamp(r.answered_s, tz).isoformat(),
        "language": "en" if language == "en" else "zh-CN",
        "item": items,
    }
    if r.subject_kind == "exam":
        resource["basedOn"] = [{"identifier": {
            "type": {"coding": [{"system": V2_0203, "code": "ACSN"}]},
            "value": r.subject}}]
    else:
        resource["extension"] = [{"url": COMPLAINT_EXTENSION, "valueString": r.subject}]
    return resource

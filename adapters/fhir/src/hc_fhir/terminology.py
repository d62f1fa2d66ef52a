"""Our CodeSystems and ValueSets, generated from the core taxonomy, and the follow-up
Questionnaire. ``python -m hc_fhir terminology schemas/fhir`` rewrites the committed files;
a test fails when they are stale.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from hospital_complaints.plugin_api import COMMAND_BY_EVENT
from hospital_complaints.plugin_api import taxonomy as tx

from .urls import QUESTIONNAIRE_FOLLOW_UP, cs, vs

VERSION = "0.1.0"


@dataclass(frozen=True)
class Terms:
    name: str  # url segment, e.g. "complaint-category"
    title: str
    enum: type[Enum]
    description: str


#: every coded element of the mapping, by CodeSystem name
TERMS: tuple[Terms, ...] = (
    Terms("complaint-kind", "Complaint kind", tx.ComplaintKind,
          "What was submitted: a complaint, suggestion, consultation, report (举报) or praise."),
    Terms("complaint-category", "Complaint category", tx.Category,
          "What the complaint is about (投诉分类)."),
    Terms("complaint-channel", "Complaint channel", tx.Channel,
          "How the complaint reached the hospital (投诉渠道)."),
    Terms("complaint-outcome", "Complaint outcome", tx.OutcomeKind,
          "How the complaint ended (处理结果)."),
    Terms("case-state", "Complaint case workflow state", tx.CaseState,
          "Workflow state of a complaint case (流程状态); Task.businessStatus."),
    Terms("complainant-role", "Complainant role", tx.ComplainantRole,
          "Who complained, relative to the patient."),
    Terms("contact-method", "Contact method", tx.ContactMethod, "How a person was contacted."),
    Terms("complaint-severity", "Complaint severity (HCAT)", tx.Severity, "HCAT severity 0-3."),
    Terms("complaint-harm", "Harm (HCAT)", tx.Harm, "HCAT harm scale 0-5."),
    Terms("complaint-complexity", "Complaint complexity", tx.Complexity,
          "Simple, complex or several departments (NHC 2019 deadlines differ)."),
    Terms("action-type", "Rectification action type", tx.ActionType, "整改措施类型."),
    Terms("action-status", "Rectification action status", tx.ActionStatus, "整改措施状态."),
    Terms("team-role", "Investigation team role", tx.TeamRole, "调查组成员角色."),
)


class TaskCode(Enum):
    COMPLAINT_HANDLING = "complaint-handling"
    INVESTIGATION = "investigation"
    RECTIFICATION = "rectification"


_TASK_LABELS = {
    "complaint-handling": ("投诉处理", "complaint handling"),
    "investigation": ("投诉调查", "complaint investigation"),
    "rectification": ("整改措施", "rectification action"),
}


def _code(member: Enum) -> str:
    return str(member.value)


def _concepts(terms: Terms) -> list[dict[str, Any]]:
    out = []
    for member in terms.enum:
        lab = tx.label(member)
        out.append({
            "code": _code(member),
            "display": lab.en,
            "designation": [
                {"language": "zh", "value": lab.zh},
                {"language": "en", "value": lab.en},
            ],
        })
    return out


def _code_system(name: str, title: str, description: str,
                 concepts: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "CodeSystem",
        "id": name,
        "url": cs(name),
        "version": VERSION,
        "name": "".join(p.capitalize() for p in name.split("-")),
        "title": title,
        "status": "active",
        "experimental": False,
        "publisher": "hospital-complaints",
        "description": description,
        "caseSensitive": True,
        "valueSet": vs(name),
        "content": "complete",
        "count": len(concepts),
        "concept": concepts,
    }


def _value_set(name: str, title: str) -> dict[str, Any]:
    return {
        "resourceType": "ValueSet",
        "id": name,
        "url": vs(name),
        "version": VERSION,
        "name": "".join(p.capitalize() for p in name.split("-")),
        "title": title,
        "status": "active",
        "experimental": False,
        "publisher": "hospital-complaints",
        "description": f"All codes of {cs(name)}.",
        "compose": {"include": [{"system": cs(name)}]},
    }


def code_systems() -> list[dict[str, Any]]:
    out = [_code_system(t.name, t.title, t.description, _concepts(t)) for t in TERMS]
    task_concepts = [{"code": c, "display": en, "designation": [
        {"language": "zh", "value": zh}, {"language": "en", "value": en}]}
        for c, (zh, en) in _TASK_LABELS.items()]
    out.append(_code_system("complaint-task", "Complaint task code",
                            "What a Task of complaint handling does.", task_concepts))
    from .codes import TASK_PARAMETERS

    out.append(_code_system(
        "complaint-task-parameter", "Complaint task input/output type",
        "Task.input and Task.output types of complaint handling tasks.",
        [{"code": c, "display": en, "designation": [{"language": "zh", "value": zh},
                                                    {"language": "en", "value": en}]}
         for c, (zh, en) in TASK_PARAMETERS.items()]))
    out.append(_code_system(
        "case-event", "Complaint case event type",
        "Provenance.activity: the event a command recorded (the core's event types).",
        [{"code": e, "display": e.replace("_", " ")} for e in sorted(COMMAND_BY_EVENT)]))
    return out


def value_sets() -> list[dict[str, Any]]:
    return [_value_set(str(c["id"]), str(c["title"])) for c in code_systems()]


def follow_up_questionnaire(version: str = "R4") -> dict[str, Any]:
    """回访问卷: the satisfaction follow-up. R4 calls a coded question 'choice', R5 'coding'."""
    coded = "coding" if version == "R5" else "choice"
    return {
        "resourceType": "Questionnaire",
        "id": "complaint-follow-up",
        "url": QUESTIONNAIRE_FOLLOW_UP,
        "version": VERSION,
        "name": "ComplaintFollowUp",
        "title": "Complaint follow-up (投诉回访)",
        "status": "active",
        "subjectType": ["Patient"],
        "item": [
            {"linkId": "method", "text": "How the complainant was contacted (回访方式)",
             "type": coded, "required": True, "answerValueSet": vs("contact-method")},
            {"linkId": "unreachable", "text": "Could not be reached (无法联系)",
             "type": "boolean", "required": True},
            {"linkId": "satisfaction", "text": "Satisfaction 1-5 (满意度 1-5)",
             "type": "integer", "required": False},
            {"linkId": "comments", "text": "Comments (意见)", "type": "text", "required": False},
        ],
    }


def terminology_files() -> dict[str, dict[str, Any]]:
    """File name -> resource, as committed in ``schemas/fhir/``."""
    files: dict[str, dict[str, Any]] = {}
    for res in code_systems() + value_sets():
        files[f"{res['resourceType']}-{res['id']}.json"] = res
    files["Questionnaire-complaint-follow-up.json"] = follow_up_questionnaire("R4")
    files["Questionnaire-complaint-follow-up.R5.json"] = follow_up_questionnaire("R5")
    return files


def render(resource: dict[str, Any]) -> str:
    return json.dumps(resource, ensure_ascii=False, indent=2) + "\n"


def write_terminology(folder: Path) -> list[Path]:
    """Write every terminology file into ``folder``; returns the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, res in terminology_files().items():
        path = folder / name
        path.write_text(render(res), encoding="utf-8")
        paths.append(path)
    return paths

"""Errors of the FHIR adapter: every problem with its FHIR path, OperationOutcome-shaped."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hospital_complaints.plugin_api import FieldProblem, HospitalComplaintsError, InvalidInput


@dataclass(frozen=True)
class Issue:
    """One problem: where (a FHIRPath-like location), and what is wrong."""

    path: str
    message: str
    severity: str = "error"
    code: str = "invalid"

    def to_fhir(self) -> dict[str, Any]:
        return {"severity": self.severity, "code": self.code,
                "details": {"text": self.message}, "expression": [self.path]}


class FhirValidationError(InvalidInput):
    """FHIR input is invalid. ``issues`` lists every problem with its path; nothing was stored."""

    def __init__(self, what: str, issues: Sequence[Issue]) -> None:
        self.issues = list(issues)
        super().__init__(what, [FieldProblem(i.path, None, i.message) for i in self.issues],
                         [f"FHIR 数据「{what}」有 {len(self.issues)} 处错误，未保存任何内容："]
                         + [f"  - {i.path}：{i.message}" for i in self.issues])
        # InvalidInput's text shows "got None"; list the FHIR problems plainly instead
        lines = [f"invalid {what} ({len(self.issues)} problem(s); nothing was stored):"]
        lines += [f"  - {i.path}: {i.message}" for i in self.issues]
        self.en = "\n".join(lines)
        self.args = (f"{self.en}\n{self.zh}",)

    def operation_outcome(self) -> dict[str, Any]:
        return {"resourceType": "OperationOutcome", "issue": [i.to_fhir() for i in self.issues]}


class FhirServerError(HospitalComplaintsError):
    """A FHIR server refused a request or could not be reached. ``outcome`` is the server's
    OperationOutcome when it sent one."""

    def __init__(self, en: str, *, status: int | None = None,
                 outcome: dict[str, Any] | None = None) -> None:
        self.status = status
        self.outcome = outcome
        super().__init__(en, f"FHIR 服务器错误：{en}")


def outcome_text(outcome: dict[str, Any] | None) -> str:
    """The issues of an OperationOutcome as one readable line each."""
    if not outcome or outcome.get("resourceType") != "OperationOutcome":
        return ""
    lines = []
    for issue in outcome.get("issue", []):
        text = (issue.get("details") or {}).get("text") or issue.get("diagnostics") \
            or issue.get("code", "")
        where = ", ".join(issue.get("expression") or issue.get("location") or [])
        at = f" at {where}" if where else ""
        lines.append(f"{issue.get('severity', 'error')}: {text}{at}")
    return "; ".join(lines)

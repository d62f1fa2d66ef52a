"""Validation with fhir.resources (R4B models for R4 JSON, the R5 models for R5)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError

from .errors import Issue
from .export import Version


def _model_class(version: Version, resource_type: str) -> Any:
    if version == "R5":
        from fhir.resources import get_fhir_model_class
    else:
        from fhir.resources.R4B import get_fhir_model_class
    return get_fhir_model_class(resource_type)


def _path(root: str, loc: Iterable[Any]) -> str:
    out = root
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}"
    return out


def resource_issues(resource: Any, version: Version = "R4", where: str = "") -> list[Issue]:
    """Every problem fhir.resources finds in one resource (JSON dict), with its path."""
    if not isinstance(resource, dict):
        return [Issue(where or "(root)", f"expected a JSON object, got {type(resource).__name__}",
                      code="structure")]
    rtype = resource.get("resourceType")
    root = where or str(rtype or "(resource)")
    if not isinstance(rtype, str):
        return [Issue(root, "resourceType is missing", code="required")]
    try:
        cls = _model_class(version, rtype)
    except (KeyError, ValueError, AttributeError, ImportError):
        return [Issue(root, f"unknown resourceType {rtype!r} in FHIR {version}", code="structure")]
    try:
        cls.model_validate(resource)
    except ValidationError as exc:
        issues = []
        for err in exc.errors(include_url=False):
            loc = [p for p in err["loc"] if p != "__root__"]
            msg = str(err["msg"])
            if err["type"] == "extra_forbidden":
                msg = "unknown element (not in FHIR " + version + ")"
            issues.append(Issue(_path(root, loc), msg,
                                code="structure" if err["type"] == "extra_forbidden"
                                else "invalid"))
        return issues
    return []


def validate_resource(resource: Any, version: Version = "R4") -> None:
    """Raise :class:`~hc_fhir.errors.FhirValidationError` listing every problem."""
    from .errors import FhirValidationError

    issues = resource_issues(resource, version)
    if issues:
        raise FhirValidationError("FHIR resource", issues)

"""hospital-complaints-fhir: FHIR R4/R5 mapping, import, validation and server exchange.

>>> from hc_fhir import ExportOptions, case_resources
>>> resources = case_resources(case, ExportOptions(version="R5"))  # identity masked

The mapping reference is ``docs/fhir.md``. Public names are re-exported here.
"""

from typing import TYPE_CHECKING

from hospital_complaints.plugin_api import lazy_exports

if TYPE_CHECKING:
    from .bundle import collection_bundle, read_json_or_ndjson, transaction_bundle, write_ndjson
    from .client import FhirClient
    from .errors import FhirServerError, FhirValidationError, Issue
    from .exams import FhirExamSource, exam_events
    from .export import (
        DeadlineResolver,
        ExportOptions,
        Version,
        case_resources,
        iter_resources,
        resource_id,
        sla_deadlines,
    )
    from .read import CaseImage, draft_from_fhir, project, read_case
    from .service import export_cases, import_complaint, push_cases
    from .settings import FhirSettings
    from .terminology import terminology_files, write_terminology
    from .validate import resource_issues, validate_resource

#: public name -> (module, attribute): imported on first use, so that loading the plugin
#: (the command line's start) does not import the whole adapter
_WHERE: dict[str, tuple[str, str]] = {
    "collection_bundle": (".bundle", "collection_bundle"),
    "read_json_or_ndjson": (".bundle", "read_json_or_ndjson"),
    "transaction_bundle": (".bundle", "transaction_bundle"),
    "write_ndjson": (".bundle", "write_ndjson"),
    "FhirClient": (".client", "FhirClient"),
    "FhirServerError": (".errors", "FhirServerError"),
    "FhirValidationError": (".errors", "FhirValidationError"),
    "Issue": (".errors", "Issue"),
    "FhirExamSource": (".exams", "FhirExamSource"),
    "exam_events": (".exams", "exam_events"),
    "DeadlineResolver": (".export", "DeadlineResolver"),
    "ExportOptions": (".export", "ExportOptions"),
    "Version": (".export", "Version"),
    "case_resources": (".export", "case_resources"),
    "iter_resources": (".export", "iter_resources"),
    "resource_id": (".export", "resource_id"),
    "sla_deadlines": (".export", "sla_deadlines"),
    "CaseImage": (".read", "CaseImage"),
    "draft_from_fhir": (".read", "draft_from_fhir"),
    "project": (".read", "project"),
    "read_case": (".read", "read_case"),
    "export_cases": (".service", "export_cases"),
    "import_complaint": (".service", "import_complaint"),
    "push_cases": (".service", "push_cases"),
    "FhirSettings": (".settings", "FhirSettings"),
    "terminology_files": (".terminology", "terminology_files"),
    "write_terminology": (".terminology", "write_terminology"),
    "resource_issues": (".validate", "resource_issues"),
    "validate_resource": (".validate", "validate_resource"),
}


__getattr__, __dir__ = lazy_exports(__name__, _WHERE, globals())


__all__ = [
    "CaseImage",
    "DeadlineResolver",
    "ExportOptions",
    "FhirClient",
    "FhirExamSource",
    "FhirServerError",
    "FhirSettings",
    "FhirValidationError",
    "Issue",
    "Version",
    "case_resources",
    "collection_bundle",
    "draft_from_fhir",
    "exam_events",
    "export_cases",
    "import_complaint",
    "iter_resources",
    "project",
    "push_cases",
    "read_case",
    "read_json_or_ndjson",
    "resource_id",
    "resource_issues",
    "sla_deadlines",
    "terminology_files",
    "transaction_bundle",
    "validate_resource",
    "write_ndjson",
    "write_terminology",
]

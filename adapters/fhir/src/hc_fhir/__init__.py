"""hospital-complaints-fhir: FHIR R4/R5 mapping, import, validation and server exchange.

>>> from hc_fhir import ExportOptions, case_resources
>>> resources = case_resources(case, ExportOptions(version="R5"))  # identity masked

The mapping reference is ``docs/fhir.md``. Public names are re-exported here.
"""

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

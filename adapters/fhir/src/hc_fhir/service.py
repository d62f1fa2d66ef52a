"""The adapter's operations on a ``ComplaintService``: export, push, import."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import IO, Any, Literal

from hospital_complaints.plugin_api import Case, ComplaintService

from .bundle import collection_bundle, transaction_bundle, write_ndjson
from .client import FhirClient
from .errors import FhirValidationError, Issue
from .export import ExportOptions, case_resources, iter_resources
from .read import draft_from_fhir

Format = Literal["bundle", "ndjson"]


def export_cases(cases: Iterable[Case], out: IO[str], options: ExportOptions,
                 fmt: Format = "ndjson", *, now: datetime | None = None) -> int:
    """Write cases as NDJSON or one collection Bundle; returns how many resources."""
    if fmt == "ndjson":
        return write_ndjson(iter_resources(cases, options), out)
    resources = list(iter_resources(cases, options))
    bundle = collection_bundle(resources, now or datetime.now().astimezone())
    out.write(json.dumps(bundle, ensure_ascii=False, indent=1))
    out.write("\n")
    return len(resources)


def push_cases(client: FhirClient, cases: Iterable[Case], options: ExportOptions) -> list[str]:
    """Push each case as one transaction Bundle; returns the locations the server reports."""
    locations: list[str] = []
    for case in cases:
        response = client.transaction(transaction_bundle(case_resources(case, options)))
        for entry in response.get("entry") or ():
            loc = (entry.get("response") or {}).get("location")
            if loc:
                locations.append(str(loc))
    return locations


def complaint_parts(data: Any) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The Communication (and an optional QuestionnaireResponse) in a resource or Bundle."""
    if isinstance(data, Mapping) and data.get("resourceType") == "Bundle":
        found = [e.get("resource") for e in data.get("entry") or () if e.get("resource")]
        comms = [r for r in found if r.get("resourceType") == "Communication"]
        qrs = [r for r in found if r.get("resourceType") == "QuestionnaireResponse"]
        if len(comms) != 1:
            raise FhirValidationError("FHIR complaint", [Issue(
                "Bundle.entry", f"expected exactly one Communication, found {len(comms)}",
                code="structure")])
        return comms[0], (qrs[0] if qrs else None)
    if isinstance(data, Mapping):
        return dict(data), None
    raise FhirValidationError("FHIR complaint", [Issue(
        "(root)", "expected a JSON object (a Communication or a Bundle)", code="structure")])


def import_complaint(service: ComplaintService, data: Any, *, actor: str,
                     version: Literal["R4", "R5"] = "R4") -> Case:
    """:func:`import_complaint_once`, returning only the case."""
    return import_complaint_once(service, data, actor=actor, version=version)[0]


def import_complaint_once(service: ComplaintService, data: Any, *, actor: str,
                          version: Literal["R4", "R5"] = "R4") -> tuple[Case, bool]:
    """Register a complaint a portal sent as a Communication (or a Bundle holding one); says
    whether this call created the case (``False``: it was imported before).

    Invalid input raises :class:`FhirValidationError` listing every problem; nothing is
    stored. The Communication's identifier (or id) is the idempotency key, so a resent
    submission returns the case the first one created.
    """
    comm, qr = complaint_parts(data)
    draft = draft_from_fhir(comm, version, qr)
    key = None
    for ident in comm.get("identifier") or ():
        if ident.get("value"):
            key = f"fhir:{ident.get('system', '')}|{ident['value']}"
            break
    if key is None and comm.get("id"):
        key = f"fhir:Communication/{comm['id']}"
    return service.register_once(draft, actor=actor, idempotency_key=key)

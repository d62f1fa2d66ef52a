"""What the route modules share: documented problem responses and parameter types."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Header, Path, Query

from ..problems import MEDIA_TYPE, TYPES

PROBLEM_REF = {"$ref": "#/components/schemas/ProblemDetails"}

#: what an authenticated operation may answer besides its success
AUTHENTICATED = (400, 401, 403, 404, 413, 422, 429, 500, 503)


def problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` documenting problem details for ``codes`` (and any other error)."""
    out: dict[int | str, dict[str, Any]] = {}
    for code in sorted(set(codes)):
        title = next((t[1] for t in TYPES.values() if t[0] == code), "Error")
        out[code] = {"description": f"{title} (problem details)",
                     "content": {MEDIA_TYPE: {"schema": PROBLEM_REF}}}
    out["default"] = {"description": "Any other error (problem details)",
                      "content": {MEDIA_TYPE: {"schema": PROBLEM_REF}}}
    return out


def page_problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a patient's HTML page: its errors are short pages too."""
    page = {"content": {"text/html": {"schema": {"type": "string"}}}}
    out: dict[int | str, dict[str, Any]] = {}
    for code in sorted(set(codes)):
        title = next((t[1] for t in TYPES.values() if t[0] == code), "Error")
        out[code] = {"description": f"{title} (a page)", **page}
    out["default"] = {"description": "Any other error (a page)", **page}
    return out


def with_etag(responses: dict[int | str, dict[str, Any]], status: int = 200,
              description: str = "OK") -> dict[int | str, dict[str, Any]]:
    out = dict(responses)
    out[status] = {"description": description, "headers": {"ETag": {
        "description": 'the case\'s version, e.g. "7": send it back as If-Match',
        "schema": {"type": "string"}}}}
    return out


Reference = Annotated[str, Path(
    min_length=3, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9-]{2,63}$",
    description="the case's reference number, e.g. HC-20261120-0001 (case-insensitive)")]
IfMatch = Annotated[str | None, Header(
    alias="If-Match", max_length=200,
    description='the ETag of the case as last read ("7"); a stale one is refused with 412 '
                "and nothing is stored")]
Reason = Annotated[str | None, Query(
    max_length=2000, description="why (recorded with the event)")]
IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key", min_length=1, max_length=200,
    description="a key of the submission (a ticket id, a form id): a retry with the same key "
                "returns the first call's case instead of a second one")]

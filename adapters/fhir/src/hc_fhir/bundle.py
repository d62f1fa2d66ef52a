"""Writing resources out: a collection Bundle, NDJSON, or a transaction Bundle for a server."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import IO, Any

_REF = re.compile(r'"reference": "([A-Za-z]+)/([0-9a-f\-]{36})"')


def collection_bundle(resources: Iterable[dict[str, Any]], timestamp: datetime) -> dict[str, Any]:
    """A ``collection`` Bundle; each entry's fullUrl is ``urn:uuid:<id>``."""
    return {"resourceType": "Bundle", "type": "collection", "timestamp": timestamp.isoformat(),
            "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in resources]}


def transaction_bundle(resources: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """A ``transaction`` Bundle that PUTs every resource at its deterministic id, so pushing
    the same case twice updates it instead of duplicating it."""
    return {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": f"urn:uuid:{r['id']}", "resource": r,
         "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}}
        for r in resources]}


def write_ndjson(resources: Iterable[dict[str, Any]], out: IO[str]) -> int:
    """One resource per line (FHIR Bulk Data NDJSON). Returns how many were written."""
    n = 0
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    for r in resources:
        out.write(dumps(r))
        out.write("\n")
        n += 1
    return n


def read_json_or_ndjson(text: str) -> Iterator[Any]:
    """Resources from a JSON document (a resource or Bundle) or NDJSON lines."""
    stripped = text.strip()
    if not stripped:
        return
    try:
        yield json.loads(stripped)
        return
    except json.JSONDecodeError:
        pass
    for line in stripped.splitlines():
        if line.strip():
            yield json.loads(line)

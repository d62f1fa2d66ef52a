"""Talking to a FHIR server with ``requests``: transaction push, read, search (paged), with
timeouts, retries with backoff on 429/5xx and connection errors, TLS verification on, and
auth headers. A refusal is raised with the server's OperationOutcome text."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import urljoin

import requests

from .errors import FhirServerError, outcome_text

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class FhirClient:
    """A small FHIR REST client.

    - ``base_url``: the server's FHIR base, e.g. ``https://fhir.example.org/fhir/R4/``.
    - ``token``: sent as ``Authorization: Bearer <token>``; ``headers`` adds any others.
    - ``timeout``: (connect, read) seconds. ``retries``: extra attempts on 429/5xx or a
      connection error, waiting ``backoff * 2**attempt`` seconds (or ``Retry-After``).
    - ``verify``: TLS verification (a CA bundle path, or True); never disable it in production.
    """

    def __init__(self, base_url: str, *, token: str | None = None,
                 headers: Mapping[str, str] | None = None,
                 timeout: tuple[float, float] = (5.0, 60.0), retries: int = 3,
                 backoff: float = 0.5, verify: bool | str = True,
                 session: requests.Session | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.session = session or requests.Session()
        self.session.headers.update({"Accept": "application/fhir+json",
                                     "Content-Type": "application/fhir+json"})
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"
        self.session.headers.update(dict(headers or {}))
        self.session.verify = verify
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self._sleep = sleep

    def request(self, method: str, path: str, *, json: Any = None,
                params: Mapping[str, str] | None = None) -> dict[str, Any]:
        url = path if path.startswith(("http://", "https://")) else urljoin(self.base_url, path)
        attempt = 0
        while True:
            resp: requests.Response | None = None
            try:
                resp = self.session.request(method, url, json=json, params=params,
                                            timeout=self.timeout)
            except (requests.ConnectionError, requests.Timeout) as exc:
                if attempt >= self.retries:
                    raise FhirServerError(f"{method} {url}: {type(exc).__name__}: {exc} "
                                          f"(after {attempt + 1} attempts)") from exc
            else:
                if resp.status_code not in RETRY_STATUSES or attempt >= self.retries:
                    return self._result(method, url, resp)
            self._sleep(self._delay(attempt, resp))
            attempt += 1

    def _delay(self, attempt: int, resp: requests.Response | None) -> float:
        if resp is not None:
            after = resp.headers.get("Retry-After", "")
            if after.isdigit():
                return min(float(after), 60.0)
        return float(self.backoff * (2 ** attempt))

    @staticmethod
    def _result(method: str, url: str, resp: requests.Response) -> dict[str, Any]:
        try:
            body = resp.json() if resp.content else {}
        except ValueError:
            body = {}
        if resp.status_code >= 400:
            detail = outcome_text(body) or resp.text[:500] or resp.reason
            raise FhirServerError(f"{method} {url} -> HTTP {resp.status_code}: {detail}",
                                  status=resp.status_code,
                                  outcome=body if isinstance(body, dict) else None)
        return body if isinstance(body, dict) else {}

    # -- interactions ----------------------------------------------------------------------

    def transaction(self, bundle: Mapping[str, Any]) -> dict[str, Any]:
        """POST a transaction Bundle to the base; returns the transaction-response Bundle."""
        return self.request("POST", "", json=dict(bundle))

    def read(self, resource_type: str, resource_id: str) -> dict[str, Any]:
        return self.request("GET", f"{resource_type}/{resource_id}")

    def search(self, resource_type: str,
               params: Mapping[str, str] | None = None) -> Iterator[dict[str, Any]]:
        """Every matching resource, following the Bundle's ``next`` links."""
        page: dict[str, Any] | None = self.request("GET", resource_type, params=params)
        while page is not None:
            for entry in page.get("entry") or ():
                if "resource" in entry:
                    yield entry["resource"]
            nxt = next((link["url"] for link in page.get("link") or ()
                        if link.get("relation") == "next"), None)
            page = self.request("GET", nxt) if nxt else None

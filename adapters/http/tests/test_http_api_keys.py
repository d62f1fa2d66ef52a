"""API keys for systems: issued with the CLI, stored hashed, scoped, revocable."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hospital_complaints.testing import complaint_draft, run_cli


def _issue(app: Any, *args: str) -> str:
    result = run_cli(app, "http", "keys", "issue", *args)
    assert result.exit_code == 0, result.output
    key: str = result.stdout.strip().splitlines()[0]
    return key


def test_a_key_issued_with_the_cli_works_once_shown_and_is_stored_hashed(
        core: Callable[..., Any], serve: Callable[..., Any]) -> None:
    app = core()
    key = _issue(app, "his-outpatient", "--scope", "intake", "--scope", "cases:read",
                 "--role", "complaint_officer")
    assert key.startswith("hck_")
    served = serve(app)
    r = served.client.post("/v1/cases", json=complaint_draft(), headers={"X-API-Key": key})
    assert r.status_code == 201
    assert r.json()["case"]["summary"]["reference"]
    history = served.client.get(f"/v1/cases/{r.json()['case']['reference']}/history",
                                headers={"X-API-Key": key}).json()
    assert history["events"][0]["actor"] == "apikey:his-outpatient"
    database = Path(str(app.store.url.database))
    secret = key.split("_", 2)[2]  # hck_<16 hex digits>_<secret> (which may hold a "_")
    assert len(secret) == 43
    with sqlite3.connect(database) as db:
        dumped = "\n".join(db.iterdump())
    assert secret not in dumped and key not in dumped
    listed = run_cli(app, "http", "keys", "list", "--json")
    row = json.loads(listed.stdout.strip())
    assert row["name"] == "his-outpatient" and row["revoked_at"] is None
    assert secret not in listed.stdout


def test_scopes_limit_what_a_key_may_do(core: Callable[..., Any],
                                        serve: Callable[..., Any]) -> None:
    app = core()
    intake_only = {"X-API-Key": _issue(app, "hotline-gateway", "--scope", "intake",
                                       "--role", "complaint_officer")}
    served = serve(app)
    assert served.client.post("/v1/cases", json=complaint_draft(),
                              headers=intake_only).status_code == 201
    listing = served.client.get("/v1/cases", headers={**intake_only, "Accept-Language": "en"})
    assert listing.status_code == 403 and "cases:read" in listing.json()["detail"]
    assert served.client.get("/v1/exports/csv", headers=intake_only).status_code == 403


def test_a_revoked_key_is_refused_from_the_next_request(core: Callable[..., Any],
                                                       serve: Callable[..., Any]) -> None:
    app = core()
    key = {"X-API-Key": _issue(app, "old-his", "--scope", "cases:read", "--role",
                               "complaint_officer")}
    served = serve(app)
    assert served.client.get("/v1/cases", headers=key).status_code == 200
    revoked = run_cli(app, "http", "keys", "revoke", "old-his")
    assert revoked.exit_code == 0 and "revoked old-his" in revoked.stdout
    refused = served.client.get("/v1/cases", headers=key)
    assert refused.status_code == 401
    assert 'error="invalid_token"' in refused.headers["www-authenticate"]
    assert "revoked" in run_cli(app, "http", "keys", "list").stdout


def test_wrong_keys_and_bad_issue_requests(core: Callable[..., Any],
                                           serve: Callable[..., Any]) -> None:
    app = core()
    key = _issue(app, "lab", "--scope", "cases:read", "--role", "complaint_officer")
    served = serve(app)
    forged = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    for wrong in (forged, "hck_nothing", "", "x" * 500):
        assert served.client.get("/v1/cases", headers={"X-API-Key": wrong}).status_code == 401
    duplicate = run_cli(app, "http", "keys", "issue", "lab", "--scope", "intake")
    assert duplicate.exit_code == 1 and "name" in duplicate.output
    bad_scope = run_cli(app, "http", "keys", "issue", "x", "--scope", "everything")
    assert bad_scope.exit_code == 2
    unknown = run_cli(app, "http", "keys", "revoke", "nobody")
    assert unknown.exit_code == 1 and "nobody" in unknown.output


def test_the_openapi_document_is_written_without_a_database(tmp_path: Path) -> None:
    from hospital_complaints.testing import make_app

    import hc_http.plugin as http_plugin

    app = make_app(http_plugin)  # in memory: no SQL store is opened
    out = tmp_path / "openapi.json"
    result = run_cli(app, "http", "openapi", "--out", str(out))
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["openapi"].startswith("3.1")
    assert "/v1/cases/{reference}/commands/acknowledge" in doc["paths"]
    assert {"oidc", "apiKey"} == set(doc["components"]["securitySchemes"])
    assert "In_ComplaintDraft" in doc["components"]["schemas"]

"""The HTTP service on PostgreSQL (a fresh schema per test, dropped afterwards): the adapter's
tables migrate with the core's, keys and status links work, and concurrent commands carrying
the same ETag store exactly one change."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from hospital_complaints.plugin_api import App, FixedClock, KeyRing, Settings, bootstrap
from hospital_complaints.testing import NOW, builtin_plugins, complaint_draft
from support import require_peer

import hc_http.plugin as http_plugin

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

pytestmark = pytest.mark.peer("postgresql")


@pytest.fixture
def pg_app(tmp_path: Any) -> Iterator[App]:
    try:
        engine = sa.create_engine(PG_URL)
        with engine.connect():
            pass
        engine.dispose()
    except Exception as exc:
        require_peer("postgresql", str(exc).splitlines()[0])
    schema = f"hc_http_{uuid.uuid4().hex[:10]}"
    plugins = builtin_plugins()
    plugins.register(http_plugin, name="http")
    settings = Settings.model_validate({
        "database": {"url": PG_URL, "schema_name": schema,
                     "encryption_keys": KeyRing.generate_key()},
        "attachments": {"blob_dir": str(tmp_path / "blobs")}})
    app = bootstrap(settings, clock=FixedClock(NOW), plugins=plugins)
    try:
        yield app
    finally:
        app.close()
        admin = sa.create_engine(PG_URL)
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def test_the_service_on_postgresql(pg_app: App, serve: Callable[..., Any],
                                   key: Callable[..., Any]) -> None:
    served = serve(pg_app)
    headers = key(pg_app)
    c = served.client
    assert c.get("/readyz").json()["status"] == "ready"
    first = c.post("/v1/cases", json=complaint_draft(),
                   headers={**headers, "Idempotency-Key": "pg-1"})
    again = c.post("/v1/cases", json=complaint_draft(),
                   headers={**headers, "Idempotency-Key": "pg-1"})
    assert (first.status_code, again.status_code) == (201, 200)
    for n in range(3):
        c.post("/v1/cases", json=complaint_draft(subject=f"第 {n} 件"), headers=headers)
    page = c.get("/v1/cases", params={"limit": 2}, headers=headers).json()
    rest = c.get("/v1/cases", params={"limit": 2, "cursor": page["next_cursor"]},
                 headers=headers).json()
    assert len(page["items"]) + len(rest["items"]) == 4 and rest["next_cursor"] is None
    receipt = c.post("/v1/public/complaints", json={"subject": "s", "message": "m"}).json()
    status = c.get(f"/v1/public/status/{receipt['status_token']}").json()
    assert status["reference"] == receipt["reference"]
    with c.stream("GET", "/v1/exports/csv", headers=headers) as r:
        assert len([line for line in r.iter_lines() if line]) == 6  # header + 5 cases


def test_concurrent_commands_with_one_etag_store_one_change(pg_app: App,
                                                            serve: Callable[..., Any],
                                                            key: Callable[..., Any]) -> None:
    served = serve(pg_app)
    headers = key(pg_app)
    ref = served.client.post("/v1/cases", json=complaint_draft(), headers=headers).json()[
        "case"]["reference"]
    etag = served.client.get(f"/v1/cases/{ref}", headers=headers).headers["etag"]
    start = threading.Barrier(6)
    codes: list[int] = []

    def classify(n: int) -> None:
        start.wait()
        r = served.client.post(f"/v1/cases/{ref}/commands/log_communication", json={
            "direction": "from_complainant", "method": "phone", "summary": f"来电 {n}"},
            headers={**headers, "If-Match": etag})
        codes.append(r.status_code)

    workers = [threading.Thread(target=classify, args=(n,)) for n in range(6)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=60)
    assert sorted(codes) == [200] + [412] * 5, codes
    events = served.client.get(f"/v1/cases/{ref}/history", headers=headers).json()["events"]
    assert [e["type"] for e in events].count("communication_logged") == 1

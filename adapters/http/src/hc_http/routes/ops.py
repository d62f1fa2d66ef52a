"""Operations: liveness, readiness (database reachable, migrations current) and ``/v1/me``."""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from starlette.responses import JSONResponse, Response

from ..auth import Principal
from ..context import HttpContext
from ..deps import context, principal
from ..migrations import HEAD
from ..schemas import Health, Me, Readiness
from .common import AUTHENTICATED, problems


def build() -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", response_model=Health, operation_id="healthz",
                summary="Liveness: the process answers")
    def healthz() -> Health:
        return Health(status="ok")

    @router.get("/readyz", response_model=Readiness, operation_id="readyz",
                summary="Readiness: the database answers and its schema is current",
                responses={503: {"description": "Not ready", "model": Readiness}})
    def readyz(request: Request) -> Response:
        ready = readiness(context(request))
        return JSONResponse(ready.model_dump(), status_code=200 if ready.status == "ready"
                            else 503)

    @router.get("/v1/me", response_model=Me, operation_id="me",
                summary="Who the API takes the caller for", responses=problems(*AUTHENTICATED))
    def me(request: Request, caller: Annotated[Principal, Depends(principal)]) -> Me:
        return Me(kind=caller.kind, user=caller.viewer.user, roles=sorted(caller.viewer.roles),
                  department=caller.viewer.department, department_id=caller.department_id,
                  hospital_wide=caller.hospital_wide, scopes=sorted(caller.scopes))

    return router


def readiness(ctx: HttpContext) -> Readiness:
    """The database answers, and its Alembic version rows are those this process found (or
    brought it to) at start-up, with this adapter's branch at its head."""
    store = ctx.app.store
    try:
        with store.read() as conn:
            conn.execute(sa.text("SELECT 1"))
            now = version_rows(store, conn)
    except Exception as exc:  # any failure means "not ready"; the type says enough
        return Readiness(status="not_ready", database=f"unreachable ({type(exc).__name__})",
                         migrations="unknown")
    expected = ctx.migrations_at_start
    if HEAD not in now:
        return Readiness(status="not_ready", database="ok",
                         migrations=f"the http branch is not at {HEAD}")
    if expected is not None and now != expected:
        return Readiness(status="not_ready", database="ok",
                         migrations="the schema changed since start-up (restart the server "
                                    "after migrating)")
    return Readiness(status="ready", database="ok", migrations="current")


def version_rows(store: object, conn: sa.Connection) -> frozenset[str]:
    prefix = getattr(store, "prefix", "hc_")
    schema = getattr(store, "schema", None)
    table = sa.Table(f"{prefix}alembic_version", sa.MetaData(),
                     sa.Column("version_num", sa.String(32)), schema=schema)
    return frozenset(r[0] for r in conn.execute(sa.select(table.c.version_num)))

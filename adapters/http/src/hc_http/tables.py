"""The adapter's tables as SQLAlchemy Core objects, named with the store's prefix and schema
(created by the Alembic branch in :mod:`hc_http.migrations`)."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from hospital_complaints.plugin_api import SqlStore


@dataclass(frozen=True)
class HttpTables:
    api_keys: sa.Table
    status_tokens: sa.Table


def tables_for(store: SqlStore) -> HttpTables:
    meta = sa.MetaData(schema=store.schema)
    p = store.prefix
    api_keys = sa.Table(
        f"{p}http_api_keys", meta,
        sa.Column("key_id", sa.String(32), primary_key=True),
        sa.Column("secret_sha256", sa.String(64), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("scopes", sa.String(500), nullable=False),
        sa.Column("roles", sa.String(500), nullable=False),
        sa.Column("department", sa.String(200)),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("revoked_at", sa.String(40)),
    )
    status_tokens = sa.Table(
        f"{p}http_status_tokens", meta,
        sa.Column("token_sha256", sa.String(64), primary_key=True),
        sa.Column("reference", sa.String(64), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
    )
    return HttpTables(api_keys, status_tokens)

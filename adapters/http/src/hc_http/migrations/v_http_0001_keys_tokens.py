"""HTTP adapter: API keys and patients' status links.

The adapter's own Alembic branch (label ``http``), a base of its own without ``depends_on``
(docs/hooks.md). Neither table has a foreign key into the core's tables.

- ``<prefix>http_api_keys``: one row per issued key. The secret part of a key is never
  stored, only its SHA-256 (a key is 256 random bits, so a fast hash is enough); ``key_id``
  is the public part used to find the row. Revoked keys keep their row (``revoked_at``).
- ``<prefix>http_status_tokens``: the "where is my complaint" links given at public intake.
  Only the token's SHA-256 is stored, with the case reference and the expiry (Unix seconds).

Revision ID: http_0001
Revises: (none: the base of branch http)
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import context, op

revision = "http_0001"
down_revision: str | None = None
branch_labels = ("http",)
depends_on: str | None = None

_MYSQL: dict[str, Any] = {"mysql_charset": "utf8mb4", "mariadb_charset": "utf8mb4",
                          "mysql_engine": "InnoDB", "mariadb_engine": "InnoDB"}


def _names() -> tuple[str, str | None]:
    attrs = context.config.attributes
    return attrs.get("hc_prefix", "hc_"), attrs.get("hc_schema")


def upgrade() -> None:
    p, schema = _names()
    op.create_table(
        f"{p}http_api_keys",
        sa.Column("key_id", sa.String(32), primary_key=True),
        sa.Column("secret_sha256", sa.String(64), nullable=False),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("scopes", sa.String(500), nullable=False),
        sa.Column("roles", sa.String(500), nullable=False),
        sa.Column("department", sa.String(200), nullable=True),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("revoked_at", sa.String(40), nullable=True),
        schema=schema, **_MYSQL,
    )
    op.create_table(
        f"{p}http_status_tokens",
        sa.Column("token_sha256", sa.String(64), primary_key=True),
        sa.Column("reference", sa.String(64), nullable=False, index=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
        schema=schema, **_MYSQL,
    )


def downgrade() -> None:
    p, schema = _names()
    op.drop_table(f"{p}http_status_tokens", schema=schema)
    op.drop_table(f"{p}http_api_keys", schema=schema)

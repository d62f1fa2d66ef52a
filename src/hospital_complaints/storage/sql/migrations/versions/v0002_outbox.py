"""Transactional outbox: one row per committed event until its notifications are dispatched.

Events stored before this revision count as already notified (no backfill).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import context, op

revision = "0002"
down_revision: str | None = "0001"
branch_labels = None
depends_on = None

_MYSQL: dict[str, Any] = {"mysql_charset": "utf8mb4", "mariadb_charset": "utf8mb4",
                          "mysql_engine": "InnoDB", "mariadb_engine": "InnoDB"}


def _names() -> tuple[str, str | None]:
    attrs = context.config.attributes
    return attrs.get("hc_prefix", "hc_"), attrs.get("hc_schema")


def upgrade() -> None:
    p, schema = _names()
    op.create_table(
        f"{p}outbox",
        sa.Column("global_seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("event_id", sa.String(200), nullable=False),
        sa.Column("complaint_ref", sa.String(200), nullable=False),
        sa.UniqueConstraint("event_id", name=f"{p}outbox_event_id"),
        schema=schema, **_MYSQL,
    )


def downgrade() -> None:
    p, schema = _names()
    op.drop_table(f"{p}outbox", schema=schema)

"""Initial schema: events (hash-chained), cases, idempotency keys, counters, failures.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects import mysql

revision = "0001"
down_revision: str | None = None
branch_labels = None
depends_on = None

_LONG = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")
_MYSQL: dict[str, Any] = {"mysql_charset": "utf8mb4", "mariadb_charset": "utf8mb4",
          "mysql_engine": "InnoDB", "mariadb_engine": "InnoDB"}


def _names() -> tuple[str, str | None]:
    attrs = context.config.attributes
    return attrs.get("hc_prefix", "hc_"), attrs.get("hc_schema")


def upgrade() -> None:
    p, schema = _names()
    op.create_table(
        f"{p}events",
        sa.Column("global_seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("complaint_ref", sa.String(200), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("event_id", sa.String(200), nullable=False),
        sa.Column("type", sa.String(200), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("reason", _LONG),
        sa.Column("payload", _LONG, nullable=False),
        sa.Column("personal", _LONG),
        sa.Column("key_id", sa.String(16)),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("global_hash", sa.String(64), nullable=False),
        sa.UniqueConstraint("complaint_ref", "seq", name=f"{p}events_ref_seq"),
        sa.UniqueConstraint("event_id", name=f"{p}events_event_id"),
        schema=schema, **_MYSQL,
    )
    op.create_table(
        f"{p}cases",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("reference", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("state", sa.String(40), nullable=False),
        sa.Column("department", sa.String(200)),
        sa.Column("owner", sa.String(200)),
        sa.Column("received_at", sa.String(40), nullable=False),
        sa.Column("updated_at", sa.String(40), nullable=False),
        sa.Column("head_hash", sa.String(64), nullable=False),
        sa.UniqueConstraint("reference", name=f"{p}cases_reference"),
        schema=schema, **_MYSQL,
    )
    op.create_index(f"{p}cases_state", f"{p}cases", ["state"], schema=schema)
    op.create_table(
        f"{p}idempotency",
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("reference", sa.String(200), nullable=False),
        schema=schema, **_MYSQL,
    )
    op.create_table(
        f"{p}ref_counters",
        sa.Column("prefix", sa.String(20), primary_key=True),
        sa.Column("day", sa.String(8), primary_key=True),
        sa.Column("n", sa.Integer, nullable=False),
        schema=schema, **_MYSQL,
    )
    op.create_table(
        f"{p}notification_failures",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("complaint_ref", sa.String(200), nullable=False),
        sa.Column("event_id", sa.String(200), nullable=False),
        sa.Column("event_type", sa.String(200), nullable=False),
        sa.Column("plugin", sa.String(200), nullable=False),
        sa.Column("error", _LONG, nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
        schema=schema, **_MYSQL,
    )
    op.create_index(f"{p}failures_ref", f"{p}notification_failures", ["complaint_ref"],
                    schema=schema)
    head = op.create_table(
        f"{p}chain_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("global_seq", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        schema=schema, **_MYSQL,
    )
    op.bulk_insert(head, [{"id": 1, "global_seq": 0, "hash": "0" * 64}])


def downgrade() -> None:
    p, schema = _names()
    for name in ("chain_head", "notification_failures", "ref_counters", "idempotency", "cases",
                 "events"):
        op.drop_table(f"{p}{name}", schema=schema)

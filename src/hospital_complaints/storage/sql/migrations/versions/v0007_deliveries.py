"""Durable notifications: one delivery per (event, notifier), written in the event's
transaction, handed out by the worker's dispatcher with retries, leases and dead letters; the
worker's locks and the exam sources' sync watermarks.

- ``deliveries``: ``status`` is ``pending``, ``delivered`` or ``dead``; a pending row is
  due at ``next_attempt_s`` and, while a worker holds it, leased until ``leased_until_s`` by
  ``lease_owner`` (an expired lease is taken again: a worker that died loses nothing).
- ``worker_locks``: named locks with an expiry (one SQLite worker at a time; scheduled jobs
  run by one worker of many).
- ``sync_watermarks``: per exam source, how far it has been read.

Events stored before this revision have no deliveries (notifiers added later start from
new events).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects import mysql

revision = "0007"
down_revision: str | None = "0006"
branch_labels = None
depends_on = None

_MYSQL: dict[str, Any] = {"mysql_charset": "utf8mb4", "mariadb_charset": "utf8mb4",
                          "mysql_engine": "InnoDB", "mariadb_engine": "InnoDB"}
LONG = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")


def _names() -> tuple[str, str | None]:
    attrs = context.config.attributes
    return attrs.get("hc_prefix", "hc_"), attrs.get("hc_schema")


def upgrade() -> None:
    p, schema = _names()
    op.create_table(
        f"{p}deliveries",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True,
                  autoincrement=True),
        sa.Column("global_seq", sa.BigInteger, nullable=False),
        sa.Column("event_id", sa.String(200), nullable=False),
        sa.Column("complaint_ref", sa.String(200), nullable=False),
        sa.Column("notifier", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("type", sa.String(100), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_s", sa.Double, nullable=False),
        sa.Column("leased_until_s", sa.Double, nullable=True),
        sa.Column("lease_owner", sa.String(200), nullable=True),
        sa.Column("created_s", sa.Double, nullable=False),
        sa.Column("delivered_s", sa.Double, nullable=True),
        sa.Column("last_error", LONG, nullable=True),
        sa.Column("payload", LONG, nullable=True),
        sa.Column("key_id", sa.String(16), nullable=True),
        sa.UniqueConstraint("event_id", "notifier", name=f"{p}deliveries_event_notifier"),
        schema=schema, **_MYSQL,
    )
    op.create_index(f"{p}deliveries_due", f"{p}deliveries",
                    ["status", "next_attempt_s", "global_seq"], schema=schema)
    op.create_index(f"{p}deliveries_order", f"{p}deliveries",
                    ["complaint_ref", "notifier", "global_seq"], schema=schema)
    op.create_table(
        f"{p}worker_locks",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("expires_s", sa.Double, nullable=False),
        schema=schema, **_MYSQL,
    )
    op.create_table(
        f"{p}sync_watermarks",
        sa.Column("source", sa.String(200), primary_key=True),
        sa.Column("watermark", sa.String(200), nullable=False),
        sa.Column("updated_s", sa.Double, nullable=False),
        schema=schema, **_MYSQL,
    )


def downgrade() -> None:
    p, schema = _names()
    op.drop_table(f"{p}sync_watermarks", schema=schema)
    op.drop_table(f"{p}worker_locks", schema=schema)
    op.drop_index(f"{p}deliveries_order", table_name=f"{p}deliveries", schema=schema)
    op.drop_index(f"{p}deliveries_due", table_name=f"{p}deliveries", schema=schema)
    op.drop_table(f"{p}deliveries", schema=schema)

"""HL7 v2 adapter: what ``hl7 replay`` applied (``<prefix>hl7_replays``).

A received message's row is never changed (the rows are hash-chained); when a replay reads
a stored raw message again (a sender profile was fixed) and it gives other exam events than
those applied before, one row here records the message's id, what it gives now and when.
The newest row of a message is what is applied for it; a replay that finds the same events
writes nothing, so nothing is applied twice.

Revision ID: hl7v2_0004
Revises: hl7v2_0003
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects import mysql

revision = "hl7v2_0004"
down_revision: str | None = "hl7v2_0003"
branch_labels: tuple[str, ...] | None = None
depends_on: str | None = None

_LONG = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")
_MYSQL: dict[str, Any] = {"mysql_charset": "utf8mb4", "mariadb_charset": "utf8mb4",
                          "mysql_engine": "InnoDB", "mariadb_engine": "InnoDB"}


def upgrade() -> None:
    attrs = context.config.attributes
    prefix, schema = attrs.get("hc_prefix", "hc_"), attrs.get("hc_schema")
    op.create_table(
        f"{prefix}hl7_replays",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("message_id", sa.BigInteger, nullable=False, index=True),
        sa.Column("replayed_at", sa.String(40), nullable=False),
        sa.Column("disposition", sa.String(12), nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("event_count", sa.Integer, nullable=False),
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.Column("events", _LONG, nullable=False),  # encrypted JSON list of ExamEvent
        schema=schema, **_MYSQL,
    )


def downgrade() -> None:
    attrs = context.config.attributes
    prefix, schema = attrs.get("hc_prefix", "hc_"), attrs.get("hc_schema")
    op.drop_table(f"{prefix}hl7_replays", schema=schema)

"""HL7 v2 adapter: the table of received messages (``<prefix>hl7_messages``).

The adapter's own Alembic branch (label ``hl7v2``): a base of its own, without
``depends_on``. The table has no foreign key into the core's tables, and ``SqlStore.upgrade``
always upgrades the core's chain and every registered branch together (``heads``). A
dependency on a core revision would make Alembic record only this branch's head in the
version table, and a core without the adapter installed could then no longer find its own
revision there.
Databases made by version 0.1.0 of the adapter already have this table (it was created with
``metadata.create_all``): it is then kept as it is, and on MySQL/MariaDB its ``raw`` and
``events`` columns are widened to LONGTEXT (a message can be larger than TEXT's 64 KiB).

Revision ID: hl7v2_0001
Revises: (none: the base of branch hl7v2)
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects import mysql

revision = "hl7v2_0001"
down_revision: str | None = None
branch_labels = ("hl7v2",)
depends_on: str | None = None

_LONG = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")
_MYSQL: dict[str, Any] = {"mysql_charset": "utf8mb4", "mariadb_charset": "utf8mb4",
                          "mysql_engine": "InnoDB", "mariadb_engine": "InnoDB"}


def _names() -> tuple[str, str | None]:
    attrs = context.config.attributes
    return attrs.get("hc_prefix", "hc_"), attrs.get("hc_schema")


def upgrade() -> None:
    p, schema = _names()
    name = f"{p}hl7_messages"
    bind = op.get_bind()
    if sa.inspect(bind).has_table(name, schema=schema):
        if bind.dialect.name in ("mysql", "mariadb"):
            for column in ("raw", "events"):
                op.alter_column(name, column, type_=mysql.LONGTEXT(), existing_nullable=False,
                                schema=schema)
        return
    op.create_table(
        name,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("received_at", sa.String(40), nullable=False),
        sa.Column("sender", sa.String(200), nullable=False),
        sa.Column("control_id", sa.String(200), nullable=True),
        sa.Column("message_type", sa.String(20), nullable=True),
        sa.Column("disposition", sa.String(12), nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("event_count", sa.Integer, nullable=False),
        # sender + US + control id, set only on applied messages: the duplicate guard
        sa.Column("applied_key", sa.String(450), nullable=True, unique=True),
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.Column("raw", _LONG, nullable=False),  # encrypted bytes (base64)
        sa.Column("events", _LONG, nullable=False),  # encrypted JSON list of ExamEvent
        schema=schema, **_MYSQL,
    )


def downgrade() -> None:
    p, schema = _names()
    op.drop_table(f"{p}hl7_messages", schema=schema)

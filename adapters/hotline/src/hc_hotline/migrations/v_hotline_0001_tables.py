"""Hotline connector: tickets, applied results, unusable records.

The connector's own Alembic branch (label ``hotline``): a base of its own, no
``depends_on`` and no foreign key into the core's tables (docs/hooks.md,
``hc_register_migrations``).

Revision ID: hotline_0001
Revises: (none: the base of branch hotline)
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects import mysql

revision = "hotline_0001"
down_revision: str | None = None
branch_labels = ("hotline",)
depends_on: str | None = None

_LONG = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")
_MYSQL: dict[str, Any] = {"mysql_charset": "utf8mb4", "mariadb_charset": "utf8mb4",
                          "mysql_engine": "InnoDB", "mariadb_engine": "InnoDB"}


def _names() -> tuple[str, str | None]:
    attrs = context.config.attributes
    return attrs.get("hc_prefix", "hc_"), attrs.get("hc_schema")


def upgrade() -> None:
    p, schema = _names()
    op.create_table(
        f"{p}hotline_tickets",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("connector", sa.String(64), nullable=False),
        sa.Column("ticket", sa.String(120), nullable=False),
        sa.Column("reference", sa.String(40), nullable=False),
        sa.Column("due", sa.String(40), nullable=True),
        sa.Column("time_limit_class", sa.String(40), nullable=True),
        sa.Column("registered_at", sa.String(40), nullable=False),
        sa.UniqueConstraint("connector", "ticket", name=f"{p}hotline_tickets_key"),
        schema=schema, **_MYSQL,
    )
    op.create_index(f"{p}hotline_tickets_ref", f"{p}hotline_tickets", ["reference"],
                    schema=schema)
    op.create_table(
        f"{p}hotline_results",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("connector", sa.String(64), nullable=False),
        sa.Column("result_key", sa.String(300), nullable=False),
        sa.Column("reference", sa.String(40), nullable=False),
        sa.Column("outcome", sa.String(40), nullable=False),
        sa.Column("applied_at", sa.String(40), nullable=False),
        sa.UniqueConstraint("connector", "result_key", name=f"{p}hotline_results_key"),
        schema=schema, **_MYSQL,
    )
    op.create_table(
        f"{p}hotline_rejects",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("uid", sa.String(32), nullable=False, unique=True),
        sa.Column("connector", sa.String(64), nullable=False),
        sa.Column("source", sa.String(300), nullable=False),
        sa.Column("ticket", sa.String(120), nullable=True),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("error_en", sa.Text, nullable=False),
        sa.Column("error_zh", sa.Text, nullable=False),
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.Column("raw", _LONG, nullable=False),  # encrypted JSON of the record as received
        sa.Column("resolved_at", sa.String(40), nullable=True),
        schema=schema, **_MYSQL,
    )


def downgrade() -> None:
    p, schema = _names()
    op.drop_table(f"{p}hotline_rejects", schema=schema)
    op.drop_table(f"{p}hotline_results", schema=schema)
    op.drop_index(f"{p}hotline_tickets_ref", f"{p}hotline_tickets", schema=schema)
    op.drop_table(f"{p}hotline_tickets", schema=schema)

"""Seals on imaging evidence rows: exams, equipment faults and roster shifts.

A seal is ``<key id>:<HMAC-SHA256 hex>`` over the row's stored values, keyed by a sub-key of
the encryption key ring, so an edit made with SQL alone (without the key) is detected by
``audit verify``. Rows written before this revision have no seal; ``audit verify`` counts
them and ``hospital-complaints keys rotate`` seals them.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

revision = "0005"
down_revision: str | None = "0004"
branch_labels = None
depends_on = None

TABLES = ("exams", "equipment_faults", "roster_shifts")


def _names() -> tuple[str, str | None]:
    attrs = context.config.attributes
    return attrs.get("hc_prefix", "hc_"), attrs.get("hc_schema")


def upgrade() -> None:
    p, schema = _names()
    for table in TABLES:
        op.add_column(f"{p}{table}", sa.Column("seal", sa.String(80), nullable=True),
                      schema=schema)


def downgrade() -> None:
    p, schema = _names()
    for table in TABLES:
        op.drop_column(f"{p}{table}", "seal", schema=schema)

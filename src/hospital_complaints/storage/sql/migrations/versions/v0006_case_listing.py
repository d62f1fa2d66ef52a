"""The cases table becomes the read side: every column a listing filters or sorts on, and the
masked summary a listing shows, so ``list`` and ``export`` select in SQL and page through
results instead of replaying every case.

New columns: ``kind``, ``channel``, ``categories`` (``,a,b,``), ``department_key`` (the
department text normalised: NFKC, case folded, spaces collapsed), ``received_s`` (UTC epoch
seconds, the sort key) and ``summary`` (the masked ``CaseSummary`` as JSON: no personal data in
clear). Rows written before this revision get their values from their events when the store
next opens with its key ring (``SqlStore.upgrade``); the migration itself needs no key.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects import mysql

revision = "0006"
down_revision: str | None = "0005"
branch_labels = None
depends_on = None

LONG = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")


def _names() -> tuple[str, str | None]:
    attrs = context.config.attributes
    return attrs.get("hc_prefix", "hc_"), attrs.get("hc_schema")


def upgrade() -> None:
    p, schema = _names()
    cases = f"{p}cases"
    for column in (sa.Column("kind", sa.String(40)), sa.Column("channel", sa.String(40)),
                   sa.Column("categories", sa.String(1000)),
                   sa.Column("department_key", sa.String(200)),
                   sa.Column("received_s", sa.BigInteger), sa.Column("summary", LONG)):
        op.add_column(cases, column, schema=schema)
    op.create_index(f"{p}cases_received", cases, ["received_s", "id"], schema=schema)
    op.create_index(f"{p}cases_state_received", cases, ["state", "received_s"], schema=schema)
    op.create_index(f"{p}cases_department", cases, ["department_key", "received_s"],
                    schema=schema)


def downgrade() -> None:
    p, schema = _names()
    cases = f"{p}cases"
    for index in ("cases_department", "cases_state_received", "cases_received"):
        op.drop_index(f"{p}{index}", table_name=cases, schema=schema)
    for name in ("summary", "received_s", "department_key", "categories", "channel", "kind"):
        op.drop_column(cases, name, schema=schema)

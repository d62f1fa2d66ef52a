"""Patient surveys: invitations (one per questionnaire and exam or case, with the hash of
their one-time link) and responses (answers encrypted with the key ring; the 1-5 score and
the exam's modality / the case's department in the clear for the reports). Indexes for the
survey job's incremental scans of final reports and exam starts.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects import mysql

revision = "0008"
down_revision: str | None = "0007"
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
        f"{p}survey_invitations",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("questionnaire", sa.String(40), nullable=False),
        sa.Column("subject_kind", sa.String(8), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("trigger", sa.String(40), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("modality", sa.String(8), nullable=True),
        sa.Column("department", sa.String(200), nullable=True),
        sa.Column("created_s", sa.Double, nullable=False),
        sa.Column("send_after_s", sa.Double, nullable=False),
        sa.Column("expires_s", sa.Double, nullable=False),
        sa.Column("answered_s", sa.Double, nullable=True),
        sa.UniqueConstraint("token_hash", name=f"{p}survey_invitations_token"),
        sa.UniqueConstraint("questionnaire", "subject_kind", "subject",
                            name=f"{p}survey_invitations_once"),
        schema=schema, **_MYSQL,
    )
    op.create_index(f"{p}survey_invitations_created", f"{p}survey_invitations",
                    ["created_s"], schema=schema)
    op.create_table(
        f"{p}survey_responses",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True,
                  autoincrement=True),
        sa.Column("invitation_id", sa.String(64), nullable=False),
        sa.Column("questionnaire", sa.String(40), nullable=False),
        sa.Column("questionnaire_version", sa.String(20), nullable=False),
        sa.Column("subject_kind", sa.String(8), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("modality", sa.String(8), nullable=True),
        sa.Column("department", sa.String(200), nullable=True),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("answered_s", sa.Double, nullable=False),
        sa.Column("satisfaction", sa.Integer, nullable=True),
        sa.Column("answers", LONG, nullable=False),
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.UniqueConstraint("invitation_id", name=f"{p}survey_responses_invitation"),
        schema=schema, **_MYSQL,
    )
    op.create_index(f"{p}survey_responses_answered", f"{p}survey_responses",
                    ["answered_s"], schema=schema)
    op.create_index(f"{p}exams_final", f"{p}exams", ["final_s"], schema=schema)
    op.create_index(f"{p}exams_started", f"{p}exams", ["started_s"], schema=schema)


def downgrade() -> None:
    p, schema = _names()
    op.drop_index(f"{p}exams_started", table_name=f"{p}exams", schema=schema)
    op.drop_index(f"{p}exams_final", table_name=f"{p}exams", schema=schema)
    op.drop_table(f"{p}survey_responses", schema=schema)
    op.drop_table(f"{p}survey_invitations", schema=schema)

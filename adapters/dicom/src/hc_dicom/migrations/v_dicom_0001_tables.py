"""PACS adapter: its tables (see ``hc_dicom.tables``).

The adapter's own Alembic branch (label ``dicom``): a base of its own, without ``depends_on``
(the tables have no foreign key into the core's; the core upgrades every registered branch
together), as the HL7 adapter's branch.

Revision ID: dicom_0001
Revises: (none: the base of branch dicom)
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects import mysql

revision = "dicom_0001"
down_revision: str | None = None
branch_labels = ("dicom",)
depends_on: str | None = None

_LONG = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")
_MYSQL: dict[str, Any] = {"mysql_charset": "utf8mb4", "mariadb_charset": "utf8mb4",
                          "mysql_engine": "InnoDB", "mariadb_engine": "InnoDB"}
_GENESIS = "0" * 64


def upgrade() -> None:
    attrs = context.config.attributes
    p, schema = attrs.get("hc_prefix", "hc_"), attrs.get("hc_schema")
    op.create_table(
        f"{p}dicom_mpps_messages",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("received_at", sa.String(40), nullable=False),
        sa.Column("calling_ae", sa.String(64), nullable=False),
        sa.Column("operation", sa.String(10), nullable=False),
        sa.Column("sop_instance_uid", sa.String(64), nullable=True),
        sa.Column("pps_status", sa.String(20), nullable=True),
        sa.Column("disposition", sa.String(12), nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("answer_status", sa.Integer, nullable=False),
        sa.Column("event_count", sa.Integer, nullable=False),
        sa.Column("applied_key", sa.String(200), nullable=True, unique=True),
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.Column("raw", _LONG, nullable=False),
        sa.Column("events", _LONG, nullable=False),
        sa.Column("raw_sha256", sa.String(64), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        schema=schema, **_MYSQL)
    op.create_table(
        f"{p}dicom_mpps",
        sa.Column("sop_instance_uid", sa.String(64), primary_key=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("station", sa.String(64), nullable=True),
        sa.Column("modality", sa.String(16), nullable=True),
        sa.Column("accessions", sa.Text, nullable=False),
        sa.Column("study_uids", sa.Text, nullable=False),
        sa.Column("started_at", sa.String(40), nullable=True),
        sa.Column("ended_at", sa.String(40), nullable=True),
        sa.Column("create_sha256", sa.String(64), nullable=False),
        sa.Column("tz_offset", sa.String(5), nullable=True),
        sa.Column("last_message_id", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.String(40), nullable=False),
        schema=schema, **_MYSQL)
    op.create_table(
        f"{p}dicom_mpps_pending",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("message_id", sa.Integer, nullable=False),
        sa.Column("sop_instance_uid", sa.String(64), nullable=True),
        sa.Column("accession", sa.String(200), nullable=True),
        sa.Column("study_uid", sa.String(64), nullable=True),
        sa.Column("since", sa.String(40), nullable=False),
        schema=schema, **_MYSQL)
    op.create_index(f"ix_{p}dicom_mpps_pending_accession", f"{p}dicom_mpps_pending",
                    ["accession"], schema=schema)
    op.create_index(f"ix_{p}dicom_mpps_pending_study_uid", f"{p}dicom_mpps_pending",
                    ["study_uid"], schema=schema)
    op.create_table(
        f"{p}dicom_milestones",
        sa.Column("accession", sa.String(200), primary_key=True),
        sa.Column("milestone", sa.String(20), primary_key=True),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("updated_at", sa.String(40), nullable=False),
        schema=schema, **_MYSQL)
    op.create_table(
        f"{p}dicom_sync_state",
        sa.Column("source_id", sa.String(200), primary_key=True),
        sa.Column("watermark", sa.String(10), nullable=False),
        sa.Column("last_run_at", sa.String(40), nullable=False),
        sa.Column("last_window", sa.String(40), nullable=False),
        sa.Column("studies", sa.Integer, nullable=False),
        sa.Column("events", sa.Integer, nullable=False),
        schema=schema, **_MYSQL)
    op.create_table(
        f"{p}dicom_disclosures",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("disclosed_at", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("case_ref", sa.String(40), nullable=False),
        sa.Column("destination", sa.String(40), nullable=False),
        sa.Column("file_count", sa.Integer, nullable=False),
        sa.Column("confirmed", sa.String(200), nullable=True),
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.Column("details", _LONG, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        schema=schema, **_MYSQL)
    op.create_index(f"ix_{p}dicom_disclosures_case_ref", f"{p}dicom_disclosures",
                    ["case_ref"], schema=schema)
    head = op.create_table(
        f"{p}dicom_chain_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("last_id", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        schema=schema, **_MYSQL)
    op.bulk_insert(head, [{"id": 1, "last_id": 0, "hash": _GENESIS},
                          {"id": 2, "last_id": 0, "hash": _GENESIS}])


def downgrade() -> None:
    attrs = context.config.attributes
    p, schema = attrs.get("hc_prefix", "hc_"), attrs.get("hc_schema")
    for name in ("dicom_chain_head", "dicom_disclosures", "dicom_sync_state",
                 "dicom_milestones", "dicom_mpps_pending", "dicom_mpps",
                 "dicom_mpps_messages"):
        op.drop_table(f"{p}{name}", schema=schema)

"""The adapter's tables (Alembic branch ``dicom``, :mod:`hc_dicom.migrations`), as SQLAlchemy
Core objects for the code that reads and writes them. Every name takes the store's prefix
(``hc_`` by default) and schema.

- ``dicom_mpps_messages``: every N-CREATE / N-SET received, raw (encrypted), with what was
  done and answered; hash-chained;
- ``dicom_mpps``: the state of each performed procedure step (status, accessions, times);
- ``dicom_mpps_pending``: milestones of MPPS messages whose exam is not known yet;
- ``dicom_milestones``: which DICOM source gave each milestone the adapter wrote;
- ``dicom_sync_state``: the QIDO sync's watermark per server;
- ``dicom_disclosures``: every DICOM file that left: what was removed, who confirmed what;
  hash-chained;
- ``dicom_chain_head``: the end of each hash chain (row 1: MPPS messages, 2: disclosures).
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

LONG = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")

#: the columns each chained table's row hash covers, in this order (stored format: never change)
MPPS_HASHED = ("id", "received_at", "calling_ae", "operation", "sop_instance_uid",
               "pps_status", "disposition", "error", "answer_status", "event_count",
               "applied_key", "key_id", "raw", "events", "raw_sha256")
DISCLOSURE_HASHED = ("id", "disclosed_at", "actor", "case_ref", "destination", "file_count",
                     "confirmed", "key_id", "details")
HEAD_MPPS = 1
HEAD_DISCLOSURES = 2


@dataclass(frozen=True)
class Tables:
    messages: sa.Table
    mpps: sa.Table
    pending: sa.Table
    milestones: sa.Table
    sync_state: sa.Table
    disclosures: sa.Table
    head: sa.Table


_CACHE: dict[tuple[str, str | None], Tables] = {}


def tables(prefix: str, schema: str | None) -> Tables:
    """The tables for a store's prefix and schema (built once per pair)."""
    key = (prefix, schema)
    found = _CACHE.get(key)
    if found is not None:
        return found
    md = sa.MetaData()
    p = prefix
    made = Tables(
        messages=sa.Table(
            f"{p}dicom_mpps_messages", md,
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
            sa.Column("raw", LONG, nullable=False),
            sa.Column("events", LONG, nullable=False),
            sa.Column("raw_sha256", sa.String(64), nullable=False),
            sa.Column("prev_hash", sa.String(64), nullable=False),
            sa.Column("hash", sa.String(64), nullable=False),
            schema=schema),
        mpps=sa.Table(
            f"{p}dicom_mpps", md,
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
            schema=schema),
        pending=sa.Table(
            f"{p}dicom_mpps_pending", md,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("message_id", sa.Integer, nullable=False),
            sa.Column("sop_instance_uid", sa.String(64), nullable=True),
            sa.Column("accession", sa.String(200), nullable=True, index=True),
            sa.Column("study_uid", sa.String(64), nullable=True, index=True),
            sa.Column("since", sa.String(40), nullable=False),
            schema=schema),
        milestones=sa.Table(
            f"{p}dicom_milestones", md,
            sa.Column("accession", sa.String(200), primary_key=True),
            sa.Column("milestone", sa.String(20), primary_key=True),
            sa.Column("source", sa.String(40), nullable=False),
            sa.Column("at", sa.String(40), nullable=False),
            sa.Column("updated_at", sa.String(40), nullable=False),
            schema=schema),
        sync_state=sa.Table(
            f"{p}dicom_sync_state", md,
            sa.Column("source_id", sa.String(200), primary_key=True),
            sa.Column("watermark", sa.String(10), nullable=False),
            sa.Column("last_run_at", sa.String(40), nullable=False),
            sa.Column("last_window", sa.String(40), nullable=False),
            sa.Column("studies", sa.Integer, nullable=False),
            sa.Column("events", sa.Integer, nullable=False),
            schema=schema),
        disclosures=sa.Table(
            f"{p}dicom_disclosures", md,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
            sa.Column("disclosed_at", sa.String(40), nullable=False),
            sa.Column("actor", sa.String(200), nullable=False),
            sa.Column("case_ref", sa.String(40), nullable=False, index=True),
            sa.Column("destination", sa.String(40), nullable=False),
            sa.Column("file_count", sa.Integer, nullable=False),
            sa.Column("confirmed", sa.String(200), nullable=True),
            sa.Column("key_id", sa.String(16), nullable=False),
            sa.Column("details", LONG, nullable=False),
            sa.Column("prev_hash", sa.String(64), nullable=False),
            sa.Column("hash", sa.String(64), nullable=False),
            schema=schema),
        head=sa.Table(
            f"{p}dicom_chain_head", md,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
            sa.Column("last_id", sa.BigInteger, nullable=False),
            sa.Column("hash", sa.String(64), nullable=False),
            schema=schema),
    )
    _CACHE[key] = made
    return made

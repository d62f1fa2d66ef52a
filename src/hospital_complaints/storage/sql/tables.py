"""The tables, under a schema and/or name prefix of the host's choosing.

This describes the current schema for queries; the schema itself is created and changed only by
the Alembic migrations in ``migrations/versions`` (which keep their own frozen copy).
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

#: Long text: TEXT everywhere, LONGTEXT on MariaDB/MySQL (TEXT there stops at 64 KB).
LongText = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")
GENESIS = "0" * 64


@dataclass(frozen=True)
class Tables:
    metadata: sa.MetaData
    events: sa.Table
    cases: sa.Table
    idempotency: sa.Table
    counters: sa.Table
    failures: sa.Table
    chain_head: sa.Table
    outbox: sa.Table


def make_tables(prefix: str = "hc_", schema: str | None = None) -> Tables:
    md = sa.MetaData(schema=schema)
    events = sa.Table(
        f"{prefix}events", md,
        sa.Column("global_seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("complaint_ref", sa.String(200), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("event_id", sa.String(200), nullable=False, unique=True),
        sa.Column("type", sa.String(200), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("reason", LongText),
        sa.Column("payload", LongText, nullable=False),
        sa.Column("personal", LongText),
        sa.Column("key_id", sa.String(16)),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("global_hash", sa.String(64), nullable=False),
        sa.UniqueConstraint("complaint_ref", "seq", name=f"{prefix}events_ref_seq"),
    )
    cases = sa.Table(
        f"{prefix}cases", md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("reference", sa.String(200), nullable=False, unique=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("state", sa.String(40), nullable=False),
        sa.Column("department", sa.String(200)),
        sa.Column("owner", sa.String(200)),
        sa.Column("received_at", sa.String(40), nullable=False),
        sa.Column("updated_at", sa.String(40), nullable=False),
        sa.Column("head_hash", sa.String(64), nullable=False),
    )
    idempotency = sa.Table(
        f"{prefix}idempotency", md,
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("reference", sa.String(200), nullable=False),
    )
    counters = sa.Table(
        f"{prefix}ref_counters", md,
        sa.Column("prefix", sa.String(20), primary_key=True),
        sa.Column("day", sa.String(8), primary_key=True),
        sa.Column("n", sa.Integer, nullable=False),
    )
    failures = sa.Table(
        f"{prefix}notification_failures", md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("complaint_ref", sa.String(200), nullable=False, index=True),
        sa.Column("event_id", sa.String(200), nullable=False),
        sa.Column("event_type", sa.String(200), nullable=False),
        sa.Column("plugin", sa.String(200), nullable=False),
        sa.Column("error", LongText, nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
    )
    chain_head = sa.Table(
        f"{prefix}chain_head", md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("global_seq", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    outbox = sa.Table(
        f"{prefix}outbox", md,
        sa.Column("global_seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("event_id", sa.String(200), nullable=False, unique=True),
        sa.Column("complaint_ref", sa.String(200), nullable=False),
    )
    return Tables(md, events, cases, idempotency, counters, failures, chain_head, outbox)

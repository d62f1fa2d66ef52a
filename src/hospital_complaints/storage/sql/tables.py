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
    deliveries: sa.Table | None = None
    worker_locks: sa.Table | None = None
    sync_watermarks: sa.Table | None = None
    survey_invitations: sa.Table | None = None
    survey_responses: sa.Table | None = None
    exams: sa.Table | None = None
    faults: sa.Table | None = None
    shifts: sa.Table | None = None
    complaint_exams: sa.Table | None = None


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
        # migration 0006: the read side (filters, sort key, the masked summary)
        sa.Column("kind", sa.String(40)),
        sa.Column("channel", sa.String(40)),
        sa.Column("categories", sa.String(1000)),
        sa.Column("department_key", sa.String(200)),
        sa.Column("received_s", sa.BigInteger),
        sa.Column("summary", LongText),
        sa.Index(f"{prefix}cases_received", "received_s", "id"),
        sa.Index(f"{prefix}cases_state_received", "state", "received_s"),
        sa.Index(f"{prefix}cases_department", "department_key", "received_s"),
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
    deliveries = sa.Table(  # migration 0007
        f"{prefix}deliveries", md,
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
        sa.Column("last_error", LongText, nullable=True),
        sa.Column("payload", LongText, nullable=True),
        sa.Column("key_id", sa.String(16), nullable=True),
        sa.UniqueConstraint("event_id", "notifier"),
    )
    worker_locks = sa.Table(
        f"{prefix}worker_locks", md,
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("expires_s", sa.Double, nullable=False),
    )
    sync_watermarks = sa.Table(
        f"{prefix}sync_watermarks", md,
        sa.Column("source", sa.String(200), primary_key=True),
        sa.Column("watermark", sa.String(200), nullable=False),
        sa.Column("updated_s", sa.Double, nullable=False),
    )
    survey_invitations = sa.Table(  # migration 0008
        f"{prefix}survey_invitations", md,
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("questionnaire", sa.String(40), nullable=False),
        sa.Column("subject_kind", sa.String(8), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("trigger", sa.String(40), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("modality", sa.String(8), nullable=True),
        sa.Column("department", sa.String(200), nullable=True),
        sa.Column("created_s", sa.Double, nullable=False),
        sa.Column("send_after_s", sa.Double, nullable=False),
        sa.Column("expires_s", sa.Double, nullable=False),
        sa.Column("answered_s", sa.Double, nullable=True),
        sa.UniqueConstraint("questionnaire", "subject_kind", "subject"),
    )
    survey_responses = sa.Table(
        f"{prefix}survey_responses", md,
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True,
                  autoincrement=True),
        sa.Column("invitation_id", sa.String(64), nullable=False, unique=True),
        sa.Column("questionnaire", sa.String(40), nullable=False),
        sa.Column("questionnaire_version", sa.String(20), nullable=False),
        sa.Column("subject_kind", sa.String(8), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("modality", sa.String(8), nullable=True),
        sa.Column("department", sa.String(200), nullable=True),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("answered_s", sa.Double, nullable=False),
        sa.Column("satisfaction", sa.Integer, nullable=True),
        sa.Column("answers", LongText, nullable=False),
        sa.Column("key_id", sa.String(16), nullable=False),
    )
    exams, faults, shifts, complaint_exams = imaging_tables(md, prefix)
    return Tables(md, events, cases, idempotency, counters, failures, chain_head, outbox,
                  deliveries, worker_locks, sync_watermarks, survey_invitations,
                  survey_responses, exams, faults, shifts, complaint_exams)


def imaging_tables(md: sa.MetaData, prefix: str) -> tuple[sa.Table, sa.Table, sa.Table,
                                                          sa.Table]:
    """Exams (one row per accession, times as UTC epoch seconds), faults, roster shifts and
    the complaint->exam projection used by analytics (migrations 0003, 0004)."""
    t = sa.BigInteger
    exams = sa.Table(
        f"{prefix}exams", md,
        sa.Column("accession_number", sa.String(200), primary_key=True),
        sa.Column("study_uid", sa.String(64), index=True),
        sa.Column("modality", sa.String(8)),
        sa.Column("station", sa.String(200)),
        sa.Column("room", sa.String(200)),
        sa.Column("patient_hash", sa.String(64)),
        *(sa.Column(f"{m}_s", t) for m in (
            "ordered", "scheduled", "arrived", "started", "completed", "preliminary", "final",
            "corrected", "cancelled", "no_show", "window_start", "window_end")),
        sa.Column("local_day", sa.String(10)),
        sa.Column("local_hour", sa.Integer),
        sa.Column("local_weekday", sa.Integer),
        sa.Column("local_month", sa.String(7)),
        sa.Column("wait_min", sa.Double),
        sa.Column("slip_min", sa.Double),
        sa.Column("report_min", sa.Double),
        sa.Column("flags", sa.String(400)),
        sa.Column("source", sa.String(200)),
        sa.Column("seal", sa.String(80)),  # migration 0005
        sa.Index(f"{prefix}exams_mod_day", "modality", "local_day"),
        sa.Index(f"{prefix}exams_station_window", "station", "window_start_s",
                 "window_end_s", "modality"),  # migration 0004 added the last two
        sa.Index(f"{prefix}exams_station_day", "station", "local_day"),
        sa.Index(f"{prefix}exams_patient", "patient_hash", "window_start_s"),
        sa.Index(f"{prefix}exams_mod_window", "modality", "window_start_s", "window_end_s",
                 "station"),  # migration 0004 added the last two
        # migration 0004: covering index of the correlation scans (evidence, summary)
        sa.Index(f"{prefix}exams_day_cells", "local_day", "modality", "station", "local_hour",
                 "wait_min", "slip_min", "report_min"),
        # migration 0008: the survey job's incremental scans
        sa.Index(f"{prefix}exams_final", "final_s"),
        sa.Index(f"{prefix}exams_started", "started_s"),
    )
    faults = sa.Table(
        f"{prefix}equipment_faults", md,
        sa.Column("fault_id", sa.String(200), primary_key=True),
        sa.Column("device", sa.String(200), nullable=False, index=True),
        sa.Column("modality", sa.String(8)),
        sa.Column("reported_s", t, nullable=False, index=True),
        sa.Column("on_site_s", t),
        sa.Column("restored_s", t),
        sa.Column("urgent", sa.Boolean, nullable=False),
        sa.Column("cause", LongText),
        sa.Column("action", LongText),
        sa.Column("acceptance", LongText),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("seal", sa.String(80)),  # migration 0005
        # migration 0004 made these two cover the overlap joins
        sa.Index(f"{prefix}faults_mod_reported", "modality", "reported_s", "restored_s",
                 "fault_id"),
        sa.Index(f"{prefix}faults_device_reported", "device", "reported_s", "restored_s",
                 "fault_id"),
    )
    shifts = sa.Table(
        f"{prefix}roster_shifts", md,
        sa.Column("shift_key", sa.String(64), primary_key=True),
        sa.Column("staff", sa.String(200), nullable=False),
        sa.Column("role", sa.String(200), nullable=False),
        sa.Column("start_s", t, nullable=False, index=True),
        sa.Column("end_s", t, nullable=False),
        sa.Column("device", sa.String(200)),
        sa.Column("extra", LongText),
        sa.Column("seal", sa.String(80)),  # migration 0005
    )
    links = sa.Table(
        f"{prefix}complaint_exams", md,
        sa.Column("complaint_ref", sa.String(200), primary_key=True),
        sa.Column("accession_number", sa.String(200), primary_key=True),
        sa.Column("received_s", t, nullable=False),
        sa.Index(f"{prefix}complaint_exams_acc", "accession_number"),
    )
    return exams, faults, shifts, links

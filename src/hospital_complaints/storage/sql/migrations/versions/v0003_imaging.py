"""Imaging records beside complaints: exams, equipment faults, roster shifts, and the
complaint->exam projection that department analytics join on.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects import mysql

revision = "0003"
down_revision: str | None = "0002"
branch_labels = None
depends_on = None

_LONG = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")
_MYSQL: dict[str, Any] = {"mysql_charset": "utf8mb4", "mariadb_charset": "utf8mb4",
                          "mysql_engine": "InnoDB", "mariadb_engine": "InnoDB"}
_TIMES = ("ordered", "scheduled", "arrived", "started", "completed", "preliminary", "final",
          "corrected", "cancelled", "no_show", "window_start", "window_end")


def _names() -> tuple[str, str | None]:
    attrs = context.config.attributes
    return attrs.get("hc_prefix", "hc_"), attrs.get("hc_schema")


def upgrade() -> None:
    p, schema = _names()
    op.create_table(
        f"{p}exams",
        sa.Column("accession_number", sa.String(200), primary_key=True),
        sa.Column("study_uid", sa.String(64)),
        sa.Column("modality", sa.String(8)),
        sa.Column("station", sa.String(200)),
        sa.Column("room", sa.String(200)),
        sa.Column("patient_hash", sa.String(64)),
        *(sa.Column(f"{m}_s", sa.BigInteger) for m in _TIMES),
        sa.Column("local_day", sa.String(10)),
        sa.Column("local_hour", sa.Integer),
        sa.Column("local_weekday", sa.Integer),
        sa.Column("local_month", sa.String(7)),
        sa.Column("wait_min", sa.Double),
        sa.Column("slip_min", sa.Double),
        sa.Column("report_min", sa.Double),
        sa.Column("flags", sa.String(400)),
        sa.Column("source", sa.String(200)),
        schema=schema, **_MYSQL,
    )
    op.create_index(f"ix_{p}exams_study_uid", f"{p}exams", ["study_uid"], schema=schema)
    op.create_index(f"{p}exams_mod_day", f"{p}exams", ["modality", "local_day"], schema=schema)
    op.create_index(f"{p}exams_station_window", f"{p}exams", ["station", "window_start_s"],
                    schema=schema)
    op.create_index(f"{p}exams_station_day", f"{p}exams", ["station", "local_day"],
                    schema=schema)
    op.create_index(f"{p}exams_patient", f"{p}exams", ["patient_hash", "window_start_s"],
                    schema=schema)
    op.create_index(f"{p}exams_mod_window", f"{p}exams", ["modality", "window_start_s"],
                    schema=schema)
    op.create_table(
        f"{p}equipment_faults",
        sa.Column("fault_id", sa.String(200), primary_key=True),
        sa.Column("device", sa.String(200), nullable=False),
        sa.Column("modality", sa.String(8)),
        sa.Column("reported_s", sa.BigInteger, nullable=False),
        sa.Column("on_site_s", sa.BigInteger),
        sa.Column("restored_s", sa.BigInteger),
        sa.Column("urgent", sa.Boolean, nullable=False),
        sa.Column("cause", _LONG),
        sa.Column("action", _LONG),
        sa.Column("acceptance", _LONG),
        sa.Column("source", sa.String(200), nullable=False),
        schema=schema, **_MYSQL,
    )
    op.create_index(f"ix_{p}equipment_faults_device", f"{p}equipment_faults", ["device"],
                    schema=schema)
    op.create_index(f"ix_{p}equipment_faults_reported_s", f"{p}equipment_faults",
                    ["reported_s"], schema=schema)
    op.create_index(f"{p}faults_mod_reported", f"{p}equipment_faults",
                    ["modality", "reported_s"], schema=schema)
    op.create_table(
        f"{p}roster_shifts",
        sa.Column("shift_key", sa.String(64), primary_key=True),
        sa.Column("staff", sa.String(200), nullable=False),
        sa.Column("role", sa.String(200), nullable=False),
        sa.Column("start_s", sa.BigInteger, nullable=False),
        sa.Column("end_s", sa.BigInteger, nullable=False),
        sa.Column("device", sa.String(200)),
        sa.Column("extra", _LONG),
        schema=schema, **_MYSQL,
    )
    op.create_index(f"ix_{p}roster_shifts_start_s", f"{p}roster_shifts", ["start_s"],
                    schema=schema)
    op.create_table(
        f"{p}complaint_exams",
        sa.Column("complaint_ref", sa.String(200), primary_key=True),
        sa.Column("accession_number", sa.String(200), primary_key=True),
        sa.Column("received_s", sa.BigInteger, nullable=False),
        schema=schema, **_MYSQL,
    )
    op.create_index(f"{p}complaint_exams_acc", f"{p}complaint_exams", ["accession_number"],
                    schema=schema)


def downgrade() -> None:
    p, schema = _names()
    for name in ("complaint_exams", "roster_shifts", "equipment_faults", "exams"):
        op.drop_table(f"{p}{name}", schema=schema)

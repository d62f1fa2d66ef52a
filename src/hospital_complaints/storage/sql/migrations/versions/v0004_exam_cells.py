"""Imaging analytics indexes, so that the correlation scans read indexes only, in order.

- ``exams_day_cells`` (local day, modality, station, hour, the three delays): the evidence
  percentiles read each (day, modality, station) cell's delays and the department summary
  counts exams per (day, modality, station, hour) and delay band; in this order the
  database groups while it reads, without sorting the exams or visiting the table rows.
- ``exams_station_window`` and ``exams_mod_window`` are replaced by covering versions (the
  visit's end and the other of station/modality added): the fault-impact counts read them
  without visiting the table rows.
- ``faults_device_reported`` (device, reported, restored, id) is added and
  ``faults_mod_reported`` gets the restored time and id: the faults overlapping the
  complaints' visits, on the device or the modality, are read from these indexes alone.

Every key stays inside MariaDB's 3072-byte index limit under utf8mb4 (the longest holds
200 + 8 characters and a few numbers).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from alembic import context, op

revision = "0004"
down_revision: str | None = "0003"
branch_labels = None
depends_on = None

DAY_CELLS = ["local_day", "modality", "station", "local_hour", "wait_min", "slip_min",
             "report_min"]
STATION_WINDOW = ["station", "window_start_s", "window_end_s", "modality"]
MOD_WINDOW = ["modality", "window_start_s", "window_end_s", "station"]
FAULTS_DEVICE = ["device", "reported_s", "restored_s", "fault_id"]
FAULTS_MOD = ["modality", "reported_s", "restored_s", "fault_id"]


def _names() -> tuple[str, str | None]:
    attrs = context.config.attributes
    return attrs.get("hc_prefix", "hc_"), attrs.get("hc_schema")


def upgrade() -> None:
    p, schema = _names()
    exams, faults = f"{p}exams", f"{p}equipment_faults"
    op.create_index(f"{p}exams_day_cells", exams, DAY_CELLS, schema=schema)
    for name, columns in (("station_window", STATION_WINDOW), ("mod_window", MOD_WINDOW)):
        op.drop_index(f"{p}exams_{name}", table_name=exams, schema=schema)
        op.create_index(f"{p}exams_{name}", exams, columns, schema=schema)
    op.create_index(f"{p}faults_device_reported", faults, FAULTS_DEVICE, schema=schema)
    op.drop_index(f"{p}faults_mod_reported", table_name=faults, schema=schema)
    op.create_index(f"{p}faults_mod_reported", faults, FAULTS_MOD, schema=schema)


def downgrade() -> None:
    p, schema = _names()
    exams, faults = f"{p}exams", f"{p}equipment_faults"
    op.drop_index(f"{p}faults_device_reported", table_name=faults, schema=schema)
    op.drop_index(f"{p}faults_mod_reported", table_name=faults, schema=schema)
    op.create_index(f"{p}faults_mod_reported", faults, ["modality", "reported_s"],
                    schema=schema)
    for name, column in (("station_window", "station"), ("mod_window", "modality")):
        op.drop_index(f"{p}exams_{name}", table_name=exams, schema=schema)
        op.create_index(f"{p}exams_{name}", exams, [column, "window_start_s"], schema=schema)
    op.drop_index(f"{p}exams_day_cells", table_name=exams, schema=schema)

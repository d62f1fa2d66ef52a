"""The installed plugin: discovered, its tables migrated, its times read as DICOM says."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hospital_complaints.testing import run_cli

from hc_dicom.errors import DicomInputError
from hc_dicom.times import combine, parse_dt, parse_offset

TZ = ZoneInfo("Asia/Shanghai")


def test_the_installed_plugin_is_discovered_with_its_commands(tmp_path: Any,
                                                              app_for: Any) -> None:
    from hospital_complaints.plugin_api import bootstrap

    assert bootstrap().plugins.is_loaded("dicom")
    app = app_for(tmp_path)
    assert run_cli(app, "plugins").exit_code == 0
    assert run_cli(app, "keys", "status").exit_code == 0
    assert run_cli(app, "dicom", "mpps", "list").exit_code == 0


@pytest.mark.parametrize("day,clock,offset,expected", [
    ("20261021", "083000", None, datetime(2026, 10, 21, 8, 30, tzinfo=TZ)),
    ("20261021", "0830", None, datetime(2026, 10, 21, 8, 30, tzinfo=TZ)),
    ("20261021", "08", None, datetime(2026, 10, 21, 8, tzinfo=TZ)),
    ("20261021", "083000.5", None, datetime(2026, 10, 21, 8, 30, 0, 500000, tzinfo=TZ)),
    ("2026.10.21", "08:30:00", None, datetime(2026, 10, 21, 8, 30, tzinfo=TZ)),
    ("20261021", "", None, datetime(2026, 10, 21, tzinfo=TZ)),
    ("20261021", "003000", "+0000", datetime(2026, 10, 21, 0, 30, tzinfo=UTC)),
    ("20261021", "083000", "-0530", datetime(2026, 10, 21, 8, 30,
                                             tzinfo=timezone(-timedelta(hours=5, minutes=30)))),
])
def test_dicom_times_are_read_in_the_zone_they_say(day: str, clock: str, offset: str | None,
                                                   expected: datetime) -> None:
    at = combine(day, clock, zone=TZ, offset=parse_offset(offset), date_attribute="D",
                 time_attribute="T")
    assert at == expected and at.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize("day,clock,attribute", [
    ("2026-10-21", "083000", "D"), ("20261321", "083000", "D"), ("20261021", "2530", "T"),
    ("20261021", "8h30", "T"), (None, "083000", "D"),
])
def test_a_value_that_is_no_time_names_the_attribute_never_the_value(
        day: str | None, clock: str, attribute: str) -> None:
    with pytest.raises(DicomInputError) as info:
        combine(day, clock, zone=TZ, offset=None, date_attribute="D", time_attribute="T")
    assert info.value.attribute == attribute and info.value.zh
    assert (day or "@") not in info.value.en and clock not in info.value.en


def test_date_times_and_offsets() -> None:
    assert parse_dt("20261021083000+0100", "DT", zone=TZ, offset=None) == datetime(
        2026, 10, 21, 7, 30, tzinfo=UTC)
    assert parse_dt("202610210830", "DT", zone=TZ, offset=None) == datetime(
        2026, 10, 21, 8, 30, tzinfo=TZ)
    for bad in ("+08", "0800", "+2500"):
        with pytest.raises(DicomInputError):
            parse_offset(bad)

"""Report months: parsing with zh/en errors, shifting across years, local boundaries."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from hospital_complaints import InvalidInput
from hospital_complaints.reports.build import Month

TZ = ZoneInfo("Asia/Shanghai")


def test_parse_and_shift_across_years() -> None:
    m = Month.parse("2026-1")
    assert str(m) == "2026-01"
    assert str(m.previous) == "2025-12"
    assert [str(x) for x in Month.parse("2026-11").trend(12)][:2] == ["2025-12", "2026-01"]
    assert str(Month.parse("2026-11").shift(-12)) == "2025-11"


@pytest.mark.parametrize("bad", ["2026-13", "2026-00", "11/2026", "2026", "", "2026-11-01"])
def test_a_bad_month_names_the_field_value_and_format(bad: str) -> None:
    with pytest.raises(InvalidInput) as err:
        Month.parse(bad, "--month")
    text = str(err.value)
    assert "--month" in text and "YYYY-MM" in text and "月份" in text


def test_months_are_local_midnights() -> None:
    m = Month.parse("2026-11")
    assert m.start(TZ) == datetime(2026, 11, 1, tzinfo=TZ)
    assert m.end(TZ) == datetime(2026, 12, 1, tzinfo=TZ)
    assert m.contains(datetime(2026, 11, 30, 23, 59, tzinfo=TZ), TZ)
    assert not m.contains(datetime(2026, 11, 30, 16, 0, tzinfo=ZoneInfo("UTC")), TZ)

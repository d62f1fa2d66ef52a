"""Working-day calendars: official days from the libraries, provisional years, site files."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from unit.sla.sla_support import EXAMPLE_2027

from hospital_complaints.errors import ConfigError
from hospital_complaints.sla import Calendars, read_calendar_file


def test_china_2026_national_day_and_make_up_saturday(calendars: Calendars) -> None:
    cn = calendars.get("CN")
    assert cn.is_rest_day(date(2026, 10, 1))  # National Day (Thursday)
    assert cn.is_rest_day(date(2026, 10, 7))  # still the Golden Week
    assert cn.is_working_day(date(2026, 10, 8))
    assert cn.is_working_day(date(2026, 10, 10))  # Saturday, make-up working day (调休)
    assert cn.is_working_day(date(2026, 9, 20))  # Sunday, make-up working day
    assert cn.is_rest_day(date(2026, 9, 19))  # an ordinary Saturday
    assert not cn.is_provisional(date(2026, 10, 1))
    info = cn.info(date(2026, 10, 1))
    assert info.name == "National Day"
    assert "chinese_calendar" in info.basis


def test_year_without_official_data_is_provisional_with_fixed_holidays_only(
        calendars: Calendars) -> None:
    cn = calendars.get("CN")
    for fixed in (date(2027, 1, 1), date(2027, 5, 1), date(2027, 10, 1), date(2027, 10, 3)):
        assert cn.is_rest_day(fixed)
        assert cn.is_provisional(fixed)
    # lunar holidays cannot be guessed: Spring Festival 2027 (6 February) is not assumed
    assert cn.is_working_day(date(2027, 2, 8))
    assert cn.is_provisional(date(2027, 2, 8))
    assert "provisional" in cn.basis(2027)


def test_official_site_file_replaces_the_provisional_year(calendars: Calendars,
                                                          official_2027: Path) -> None:
    cn = calendars.get("CN")
    before = calendars.version
    calendars.load_file(official_2027)
    assert calendars.version != before
    assert cn.is_rest_day(date(2027, 2, 8))  # the file's Spring Festival
    assert cn.is_working_day(date(2027, 2, 20))  # the file's make-up Saturday
    assert not cn.is_provisional(date(2027, 2, 8))
    assert not cn.is_provisional(date(2027, 7, 14))  # plain days of a loaded year are known
    assert "site calendar file" in cn.basis(2027)


def test_illustrative_file_is_used_but_stays_provisional(calendars: Calendars) -> None:
    calendars.load_file(EXAMPLE_2027)
    cn = calendars.get("CN")
    assert cn.is_rest_day(date(2027, 2, 8))
    assert cn.is_provisional(date(2027, 2, 8))
    assert "illustrative" in cn.basis(2027)


def test_calendar_dir_environment_variable(tmp_path: Path, official_2027: Path) -> None:
    folder = tmp_path / "cals"
    folder.mkdir()
    (folder / "cn-2027.json").write_text(official_2027.read_text(encoding="utf-8"),
                                        encoding="utf-8")
    cals = Calendars.from_env({"HC_CALENDAR_DIR": str(folder)})
    assert not cals.get("CN").is_provisional(date(2027, 3, 1))
    with pytest.raises(ConfigError, match="not a directory"):
        Calendars.from_env({"HC_CALENDAR_DIR": str(tmp_path / "missing")})


def test_england_and_wales_bank_holidays(calendars: Calendars) -> None:
    gb = calendars.get("GB-EAW")
    assert gb.is_rest_day(date(2026, 4, 3))  # Good Friday
    assert gb.is_rest_day(date(2026, 4, 6))  # Easter Monday
    assert gb.is_rest_day(date(2026, 12, 28))  # Boxing Day (substitute day)
    assert gb.is_working_day(date(2026, 4, 7))
    assert not gb.is_provisional(date(2030, 5, 6))


def test_unknown_calendar_lists_the_known_ones(calendars: Calendars) -> None:
    with pytest.raises(ConfigError) as err:
        calendars.get("FR")
    assert "CN" in str(err.value) and "GB-EAW" in str(err.value)
    assert err.value.zh is not None and "未知" in err.value.zh


def _write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def test_site_file_problems_are_all_listed(tmp_path: Path) -> None:
    bad = {
        "calendar": "CN", "year": 2027, "status": "maybe", "source": "",
        "holidays": [{"name": "春节", "from": "2027-02-12", "to": "2027-02-05"},
                     {"name": "x", "from": "2027-13-01"}],
        "workdays": [{"name": "调休", "date": "2027-02-22"}],
        "colour": "red",
    }
    with pytest.raises(ConfigError) as err:
        read_calendar_file(_write(tmp_path, bad))
    text = str(err.value)
    for expected in ("status", "source", "2027-02-12", "2027-13-01", "Monday", "colour"):
        assert expected in text
    assert err.value.zh is not None and "日历文件" in err.value.zh


def test_site_file_day_listed_twice_is_rejected(tmp_path: Path) -> None:
    clash = {"calendar": "CN", "year": 2027, "status": "official", "source": "notice",
             "holidays": [{"name": "a", "from": "2027-02-06"}],
             "workdays": [{"name": "b", "date": "2027-02-06"}]}
    with pytest.raises(ConfigError, match="both as a holiday"):
        read_calendar_file(_write(tmp_path, clash))


def test_site_file_not_json(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid JSON"):
        read_calendar_file(path)


def test_site_file_for_unknown_calendar(tmp_path: Path, calendars: Calendars) -> None:
    data = {"calendar": "XX", "year": 2027, "status": "official", "source": "n",
            "holidays": [], "workdays": []}
    with pytest.raises(ConfigError, match="unknown working-day calendar"):
        calendars.load_file(_write(tmp_path, data))


def test_labour_day_is_two_fixed_days_from_2025(calendars: Calendars) -> None:
    cn = calendars.get("CN")
    assert cn.is_rest_day(date(2027, 5, 3)) is False  # a Monday: nothing known yet
    assert cn.is_rest_day(date(2028, 5, 2))  # a Tuesday: 2 May is statutory since 2025
    assert cn.is_provisional(date(2028, 5, 2))

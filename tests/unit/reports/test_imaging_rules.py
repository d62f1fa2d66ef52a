"""The report's fault table counts a linked exam against an outage by the correlation
summary's half-open rule: a visit that begins the minute the device is restored, or ends the
minute the fault is reported, was not affected."""

from __future__ import annotations

from hospital_complaints.reports.readers import _affected

REPORTED, RESTORED = 36_000, 43_200  # 10:00 and 12:00 as epoch seconds


def _row(station: str, scheduled: int | None, arrived: int | None, started: int | None,
         completed: int | None, modality: str = "CT") -> tuple[object, ...]:
    return ("ACC1", "2026-11-16", modality, station, None, None, scheduled, arrived, started,
            completed)


def test_boundaries_are_half_open() -> None:
    inside = _row("CT1", None, 40_000, 40_600, 41_200)
    begins_at_restore = _row("CT1", None, RESTORED, RESTORED + 600, RESTORED + 1_200)
    ends_at_report = _row("CT1", None, REPORTED - 1_200, REPORTED - 600, REPORTED)
    assert _affected(inside, "CT1", "CT", REPORTED, RESTORED)
    assert not _affected(begins_at_restore, "CT1", "CT", REPORTED, RESTORED)
    assert not _affected(ends_at_report, "CT1", "CT", REPORTED, RESTORED)


def test_same_modality_counts_another_device_does_not() -> None:
    other_ct = _row("CT2", None, 40_000, 40_600, 41_200)
    mr = _row("MR1", None, 40_000, 40_600, 41_200, modality="MR")
    assert _affected(other_ct, "CT1", "CT", REPORTED, RESTORED)
    assert not _affected(mr, "CT1", "CT", REPORTED, RESTORED)
    assert not _affected(other_ct, "CT1", None, REPORTED, RESTORED)


def test_an_open_fault_counts_for_the_maximum_outage_only() -> None:
    soon = _row("CT1", None, REPORTED + 600, REPORTED + 900, REPORTED + 1_500)
    days_later = _row("CT1", None, REPORTED + 30 * 86_400, None, None)
    assert _affected(soon, "CT1", "CT", REPORTED, None)
    assert not _affected(days_later, "CT1", "CT", REPORTED, None)

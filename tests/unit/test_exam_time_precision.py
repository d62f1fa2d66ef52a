"""A date-only time (``20251029``, read as midnight) never replaces a stored time of the same
milestone on the same day, whichever source sends it and in whichever order; a precise time
always replaces a date-only one; a date-only time of another day is a correction and wins.
The same in memory and on SQLite."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from hospital_complaints.domain.imaging import ExamEvent
from hospital_complaints.testing import make_app

TZ = ZoneInfo("Asia/Shanghai")
ACC = "MR-25-0012044"


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def _ev(event: str, at: str, date_only: bool = False, source: str = "ris") -> ExamEvent:
    return ExamEvent(accession_number=ACC, event=event, occurred_at=_at(at),  # type: ignore[arg-type]
                     occurred_at_date_only=date_only, source=source, modality="MR")


@pytest.fixture(params=["memory", "sqlite"])
def app(request: pytest.FixtureRequest, tmp_path: Path):
    made = make_app(sql=tmp_path if request.param == "sqlite" else None)
    yield made
    made.close()


def test_a_later_date_only_message_keeps_the_time_of_that_day(app) -> None:
    app.imaging.ingest([_ev("completed", "2025-10-29T09:15")])
    app.imaging.ingest([_ev("completed", "2025-10-29T00:00", date_only=True, source="pacs")])
    assert app.imaging.exam(ACC).completed_at == _at("2025-10-29T09:15")


def test_in_one_batch_too_and_a_precise_time_replaces_a_date(app) -> None:
    app.imaging.ingest([_ev("started", "2025-10-29T08:40"),
                        _ev("started", "2025-10-29T00:00", date_only=True)])
    assert app.imaging.exam(ACC).started_at == _at("2025-10-29T08:40")
    app.imaging.ingest([_ev("final_report", "2025-10-30T00:00", date_only=True)])
    app.imaging.ingest([_ev("final_report", "2025-10-30T11:05")])
    assert app.imaging.exam(ACC).final_at == _at("2025-10-30T11:05")


def test_a_date_only_time_of_another_day_is_a_correction(app) -> None:
    app.imaging.ingest([_ev("completed", "2025-10-29T09:15")])
    app.imaging.ingest([_ev("completed", "2025-10-31T00:00", date_only=True)])
    assert app.imaging.exam(ACC).completed_at == _at("2025-10-31T00:00")

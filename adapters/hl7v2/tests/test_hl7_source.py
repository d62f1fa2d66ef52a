"""The adapter as an ``ExamSource`` (hook ``hc_register_exam_sources``): HL7 v2 files read
through the core's generic interface."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hospital_complaints.plugin_api import (
    ConfigError,
    ExamSource,
    ImagingRepository,
    SqlStore,
    bootstrap,
)

from hc_hl7v2.settings import FILES_VAR
from hc_hl7v2.source import SOURCE_ID, Hl7FileSource

FIXTURES = Path(__file__).parent / "fixtures"


def _sources() -> dict[str, ExamSource]:
    """The exam sources of an application built from the environment, as the CLI builds it."""
    return bootstrap().imaging.sources()


@pytest.fixture(autouse=True)
def _in_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HC_DATABASE_URL", "memory://")


def test_not_registered_without_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(FILES_VAR, raising=False)
    assert SOURCE_ID not in _sources()


def test_registered_source_reads_exam_events_from_files(
        monkeypatch: pytest.MonkeyPatch, sql_store: SqlStore) -> None:
    monkeypatch.setenv(FILES_VAR, os.pathsep.join(
        [str(FIXTURES / "orm_o01_*.hl7"), str(FIXTURES / "oru_r01_final.hl7"),
         str(FIXTURES / "bad_time.hl7")]))
    source = _sources()[SOURCE_ID]
    assert isinstance(source, ExamSource) and source.id == SOURCE_ID
    events = list(source.read_exam_events())
    assert len(events) == 6 and {e.source for e in events} == {"hl7v2"}
    assert {e.event.value for e in events} >= {"scheduled", "started", "completed",
                                               "final_report", "cancelled"}
    assert isinstance(source, Hl7FileSource)
    assert [reason.split(":")[0] for _, reason in source.skipped] == ["MSH-7"]
    sql_store.upgrade()
    repo = ImagingRepository(sql_store)
    assert repo.add_exam_events(source.read_exam_events()) == 6
    assert [e.event.value for e in repo.timeline("ACC20261120001")][-1] == "final_report"


def test_a_pattern_matching_nothing_is_named(tmp_path: Path) -> None:
    source = Hl7FileSource([tmp_path / "missing-*.hl7"])
    with pytest.raises(ConfigError, match="missing-"):
        list(source.read_exam_events())


def test_times_without_an_offset_are_read_in_hc_timezone(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The cancel order sends ORC-9 20261120095500 without an offset: the deployment's zone."""
    monkeypatch.setenv(FILES_VAR, str(FIXTURES / "orm_o01_cancel.hl7"))
    monkeypatch.setenv("HC_TIMEZONE", "Europe/London")
    source = _sources()[SOURCE_ID]
    [event] = list(source.read_exam_events())
    assert event.occurred_at is not None
    assert event.occurred_at.isoformat() == "2026-11-20T09:55:00+00:00"
    monkeypatch.setenv("HC_TIMEZONE", "Mars/Olympus")
    with pytest.raises(ConfigError, match="HC_TIMEZONE"):
        _sources()


def test_the_files_can_come_from_the_settings_file(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(FILES_VAR, raising=False)
    settings = tmp_path / "hc.toml"
    settings.write_text(f'[plugins.hl7v2]\nexam_files = "{FIXTURES / "oru_r01_final.hl7"}"\n',
                        encoding="utf-8")
    monkeypatch.setenv("HC_SETTINGS_FILE", str(settings))
    assert [e.event.value for e in _sources()[SOURCE_ID].read_exam_events()] == [
        "final_report"]

"""The plugin as a hospital runs it: loaded into an application built by the core's test
helpers (``hospital_complaints.testing``), configured through its settings section."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hospital_complaints.plugin_api import Category, ConfigError
from hospital_complaints.testing import RecordingNotifier, complaint_draft, make_app

from hc_keyword_classifier import plugin


def test_suggestions_are_stored_on_the_case_and_never_applied() -> None:
    notifier = RecordingNotifier()
    app = make_app(plugin, notifier)
    case = app.complaints.register(complaint_draft(
        subject="报告出得太慢", description="等了三天，报告还没出"), actor="desk")
    assert Category.PROCESS_MANAGEMENT in {s.category for s in case.suggestions}
    assert case.complaint.categories == []  # a clerk's classify command applies them
    assert [e.type for e in notifier.events][:1] == ["complaint_registered"]


def test_the_site_keyword_file_comes_from_the_plugin_settings(tmp_path: Path) -> None:
    words = tmp_path / "keywords.json"
    words.write_text(json.dumps({"extend": {"other": ["停车难"]}}), encoding="utf-8")
    app = make_app(plugin, plugin_settings={"keyword_classifier": {
        "keywords_file": str(words)}})
    draft = complaint_draft(subject="停车", description="医院停车难")
    case = app.complaints.register(draft, actor="desk")
    assert [s.category for s in case.suggestions] == [Category.OTHER]
    plain = make_app(plugin).complaints.register(draft, actor="desk")
    assert plain.suggestions == []


def test_a_wrong_setting_stops_start_up_with_its_name() -> None:
    with pytest.raises(ConfigError, match="colour"):
        make_app(plugin, plugin_settings={"keyword_classifier": {"colour": "red"}})

"""Message templates as a site sees them: zh/en per event type with a default, a site folder
that overrides one type or the default, outside text that is only ever a value (never
template source) and is escaped for HTML, markdown and plain text; the sandbox holds even for
a site's own template."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hospital_complaints.plugin_api import Delivery, DeliveryRefused

from hc_notify.templates import Templates, markdown_escape, normalise_language

AT = datetime(2026, 11, 20, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def delivery(type_: str = "complaint_registered", **case: Any) -> Delivery:
    summary = {"reference": "HC-20261120-0001", "state": "registered",
               "subject": "CT 等待太久", "department": "影像科", **case}
    return Delivery(id="e1", type=type_, subject="HC-20261120-0001", at=AT,
                    data={"to_state": "registered", "payload": {}}, case=summary)


def test_each_language_has_its_wording_and_unknown_types_fall_back_to_the_default() -> None:
    t = Templates()
    zh = t.render_part("text", delivery("finding_recorded"), "zh")
    en = t.render_part("text", delivery("finding_recorded"), "en")
    assert zh.startswith("已记录调查结论") and "投诉编号：HC-20261120-0001" in zh
    assert en.startswith("Finding recorded") and "Case: HC-20261120-0001" in en
    odd = t.render_part("subject", delivery("some_plugin_event"), "en")
    assert odd == "[HC-20261120-0001] some plugin event: CT 等待太久"


def test_a_site_folder_overrides_one_type_and_keeps_the_others(tmp_path: Path) -> None:
    (tmp_path / "zh").mkdir()
    (tmp_path / "zh" / "complaint_registered.j2").write_text(
        '{% extends "zh/base.j2" %}{% block subject %}【本院】新投诉 {{ reference }}'
        "{% endblock %}", encoding="utf-8")
    t = Templates(tmp_path)
    assert t.render_part("subject", delivery(), "zh") == "【本院】新投诉 HC-20261120-0001"
    assert t.render_part("subject", delivery("closed"), "zh").startswith("[HC-")


def test_outside_text_is_a_value_never_template_source() -> None:
    d = delivery(subject="{{ 7*7 }} {% for x in range(3) %}x{% endfor %}")
    for part in ("text", "html", "markdown", "sms", "subject"):
        out = Templates().render_part(part, d, "en")
        assert "49" not in out and "xxx" not in out


def test_outside_text_is_escaped_for_each_part() -> None:
    d = delivery(subject='<script>alert(1)</script> **b** [l](http://x) \u202eevil\x07')
    t = Templates()
    html = t.render_part("html", d, "zh")
    assert "<script>" not in html and "&lt;script&gt;" in html
    md = t.render_part("markdown", d, "zh")
    assert "<script>" not in md and "\\*\\*b\\*\\*" in md and "\\[l\\]" in md
    text = t.render_part("text", d, "zh")
    assert "\u202e" not in text and "\x07" not in text and "<script>" in text


def test_the_sandbox_holds_for_a_sites_template(tmp_path: Path) -> None:
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "default.j2").write_text(
        "{{ data.__class__.__mro__[1].__subclasses__() }}", encoding="utf-8")
    out = Templates(tmp_path).render_part("text", delivery("closed"), "en")
    assert "class" not in out and "subprocess" not in out


def test_a_broken_site_template_is_a_refusal_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "zh").mkdir()
    (tmp_path / "zh" / "closed.j2").write_text("{% if %}", encoding="utf-8")
    with pytest.raises(DeliveryRefused, match=r"zh/closed\.j2"):
        Templates(tmp_path).render_part("text", delivery("closed"), "zh")


def test_deadline_alerts_say_reminder_or_escalation() -> None:
    d = Delivery(id="e2", type="deadline_alert", subject="HC-1", at=AT,
                 data={"payload": {"kind": "overdue", "milestone": "respond",
                                   "due": "2026-11-21T17:00:00+08:00", "policy": "p"}},
                 case={"reference": "HC-1", "state": "investigating"})
    assert (Templates().render_part("subject", d, "zh")
            == "[HC-1] 督办：已超时（respond，截止 2026-11-21 17:00）")
    assert "Escalation: overdue" in Templates().render_part("sms", d, "en")


def test_languages_and_escaping_helpers() -> None:
    assert normalise_language("zh-CN") == "zh" and normalise_language("en_GB") == "en"
    assert normalise_language("fr") == "zh" and normalise_language(None) == "zh"
    assert markdown_escape("<a>&_*`#") == "&lt;a&gt;&amp;\\_\\*\\`\\#"

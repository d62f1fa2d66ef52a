"""The survey pages a patient opens from an invitation: the questionnaire in zh and en, no
sign-in, answers checked with the form shown again, one answer per link, expiry, and the
JSON twin for mini-programs; in a real browser, accessible and making no outside request."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hospital_complaints.plugin_api import ExamContact, FixedClock, Recipient, hookimpl
from hospital_complaints.settings import Settings, SurveySettings
from hospital_complaints.testing import NOW, exam_event
from support import require_peer

JS = Path(__file__).resolve().parents[1] / "js"


class His:
    @hookimpl
    def hc_exam_contact(self, accession_number: str) -> ExamContact:
        return ExamContact(Recipient(phone="13900001111"), True)


def invited(core: Any, accession: str = "CT1") -> tuple[Any, str]:
    clock = FixedClock(NOW)
    app = core(plugins=(His(),), clock=clock, settings=Settings(surveys=SurveySettings(
        base_url="https://his.example.org/complaints", quiet_hours="")))
    start = NOW - timedelta(hours=2)
    app.imaging.ingest([exam_event(accession, "started", start, modality="CT"),
                        exam_event(accession, "final_report", start + timedelta(hours=1))])
    link = app.surveys.invite_for_exam(accession, "report_final", "CT").link or ""
    return app, link.rsplit("/", 1)[1]


def test_the_questionnaire_page_in_both_languages_and_a_good_answer(core: Any,
                                                                    serve: Any) -> None:
    app, token = invited(core)
    c = serve(app).client
    zh = c.get(f"/s/{token}")
    assert zh.status_code == 200 and "总体而言，您对我们的服务体验如何？" in zh.text
    assert 'type="radio"' in zh.text and "<script" not in zh.text
    en = c.get(f"/s/{token}?lang=en")
    assert "Overall, how was your experience of our service?" in en.text
    done = c.post(f"/s/{token}", data={"overall": "good", "waiting": "2",
                                       "comments": "<b>等太久</b>"})
    assert done.status_code == 200 and "感谢您的反馈" in done.text
    [response] = app.surveys.responses()
    assert response.answers["comments"] == "<b>等太久</b>" and response.satisfaction == 4
    again = c.get(f"/s/{token}")
    assert again.status_code == 409 and "已提交" in again.text


def test_a_bad_answer_shows_the_form_again_naming_it(core: Any, serve: Any) -> None:
    app, token = invited(core)
    c = serve(app).client
    bad = c.post(f"/s/{token}?lang=en", data={"waiting": "9"})
    assert bad.status_code == 422
    assert "Overall, how was your experience of our service?: an answer (required)" in bad.text
    assert "one of: 5, 4, 3, 2, 1" in bad.text
    assert app.surveys.responses() == []
    assert c.post(f"/s/{token}", data={"overall": "very-good"}).status_code == 200


def test_unknown_and_expired_links(core: Any, serve: Any) -> None:
    app, token = invited(core)
    c = serve(app).client
    unknown = c.get("/s/" + "A" * 32)
    assert unknown.status_code == 404 and "问卷链接无效" in unknown.text
    app.clock.advance(timedelta(days=15))
    expired = c.get(f"/s/{token}?lang=en")
    assert expired.status_code == 404 and "has expired" in expired.text


def test_the_json_twin(core: Any, serve: Any) -> None:
    app, token = invited(core)
    c = serve(app).client
    form = c.get(f"/v1/public/surveys/{token}?lang=en").json()
    assert form["questionnaire"] == "post-exam"
    assert form["items"][0]["options"][0]["label"] == "Very good"
    bad = c.post(f"/v1/public/surveys/{token}", json={"overall": "meh"},
                 headers={"Accept-Language": "en"})
    assert bad.status_code == 422 and bad.headers["content-type"].startswith(
        "application/problem+json")
    assert bad.json()["errors"][0]["field"] == "overall"
    ok = c.post(f"/v1/public/surveys/{token}", json={"overall": "poor", "privacy": 5})
    assert ok.status_code == 200 and ok.json() == {"answered": True, "satisfaction": 2}
    assert c.post(f"/v1/public/surveys/{token}", json={"overall": "good"}).status_code == 404


@pytest.mark.peer("chromium")
@pytest.mark.slow
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_survey_in_a_real_browser(core: Any, serve: Any, tmp_path: Path,
                                      lang: str) -> None:
    if not Path("/usr/bin/chromium").exists():
        require_peer("chromium", "/usr/bin/chromium is missing (apt-get install -y chromium)")
    if shutil.which("node") is None or not (JS / "node_modules" / "playwright-core").is_dir():
        require_peer("playwright-core", f"npm packages missing: run `npm ci --prefix {JS}`")
    app, token = invited(core)
    served = serve(app)
    done = subprocess.run(
        ["node", str(JS / "survey.mjs"), json.dumps({
            "url": f"{served.url}/s/{token}", "lang": lang,
            "comment": "<script>alert(1)</script> 谢谢"})],
        capture_output=True, text=True, timeout=120, env={**os.environ, "HOME": str(tmp_path)})
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    for name, violations in result["pages"].items():
        serious = [v for v in violations if v["impact"] in ("serious", "critical")]
        assert serious == [], (name, serious)
    assert result["external"] == [] and result["dialogs"] == []
    assert not any(result["overflow"].values())
    assert result["headings"]["thanks"] in ("感谢您的反馈", "Thank you for your answers")
    [response] = app.surveys.responses()
    assert response.answers == {"overall": "good", "waiting": 2,
                                "comments": "<script>alert(1)</script> 谢谢"}

"""Patient surveys as a patient, a patient-relations clerk and a quality manager see them:
an invitation only with consent and only once, a link that works once and expires, answers
checked with clear zh/en errors, the follow-up recorded on the case, quiet hours respected,
results per modality, and a FHIR QuestionnaireResponse export."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from hospital_complaints.clock import FixedClock
from hospital_complaints.domain.notifications import ExamContact, Recipient
from hospital_complaints.errors import ConfigError, InvalidInput
from hospital_complaints.plugins import hookimpl
from hospital_complaints.services.surveys import SurveyLinkError
from hospital_complaints.settings import Settings, SurveySettings
from hospital_complaints.surveys import load_questionnaires
from hospital_complaints.testing import (
    NOW,
    TZ,
    RecordingTransport,
    complaint_draft,
    exam_event,
    make_app,
    run_cli,
)

BASE = "https://his.example.org/complaints"


class Sms(RecordingTransport):
    """The SMS gateway: it takes survey invitations (messages to people)."""

    def __init__(self) -> None:
        super().__init__("sms", event_types=frozenset({"survey_invitation"}))


class His:
    """The HIS: who had which exam, and whether they agreed to be contacted."""

    def __init__(self, consent: bool = True) -> None:
        self.consent = consent

    @hookimpl
    def hc_exam_contact(self, accession_number: str) -> ExamContact | None:
        if not accession_number.startswith("CT"):
            return None
        return ExamContact(Recipient(name="李四", phone="13900001111"), self.consent)


def _app(*plugins: object, tmp_path: Path | None = None, at: datetime = NOW,
         **survey: Any) -> Any:
    settings = Settings(surveys=SurveySettings(base_url=BASE, **survey))
    return make_app(*plugins, sql=tmp_path, clock=FixedClock(at), settings=settings)


def deliver(app: Any) -> Any:
    return app.worker(jobs={"deliver"}).run(once=True)


def responded_case(app: Any, **draft: Any) -> str:
    ref: str = app.complaints.register(complaint_draft(**draft), actor="clerk").reference
    app.complaints.execute(ref, ("acknowledge", {"method": "phone", "message": "已收到"}),
                           actor="clerk")
    app.complaints.execute(ref, ("respond", {
        "method": "phone", "text": "已调整排班，向您致歉",
        "outcome": {"kind": "resolved_by_explanation", "reason": "已解释排队规则"}}),
                           actor="clerk")
    return ref


def token_of(link: str) -> str:
    assert link.startswith(f"{BASE}/s/")
    return link.rsplit("/", 1)[1]


@pytest.fixture(params=["memory", "sqlite"])
def where(request: pytest.FixtureRequest, tmp_path: Path) -> Path | None:
    return tmp_path if request.param == "sqlite" else None


# -- questionnaires ----------------------------------------------------------------------------


def test_the_post_exam_questionnaire_asks_the_friends_and_family_question() -> None:
    q = load_questionnaires()["post-exam"]
    overall = q.items[0]
    assert overall.text.en == "Overall, how was your experience of our service?"
    assert [o.en for o in overall.options] == [
        "Very good", "Good", "Neither good nor poor", "Poor", "Very poor"]
    assert {i.link_id for i in q.items} >= {"waiting", "explanation", "courtesy", "privacy"}
    follow_up = load_questionnaires()["follow-up"]
    assert [o.score for o in follow_up.items[0].choices()] == [5, 4, 3, 2, 1]


def test_a_site_adds_its_own_questionnaire_and_a_bad_file_is_named(tmp_path: Path) -> None:
    own = json.loads((Path(__file__).parents[2] / "src/hospital_complaints/surveys/"
                      "questionnaires/follow-up.json").read_text(encoding="utf-8"))
    own["id"] = "mri-follow-up"
    (tmp_path / "mri.json").write_text(json.dumps(own, ensure_ascii=False), encoding="utf-8")
    assert "mri-follow-up" in load_questionnaires(tmp_path)
    (tmp_path / "broken.json").write_text('{"id": "x", "items": []}', encoding="utf-8")
    with pytest.raises(ConfigError) as bad:
        load_questionnaires(tmp_path)
    assert "broken.json" in bad.value.en and "broken.json" in bad.value.zh


# -- case follow-up ----------------------------------------------------------------------------


def test_an_answered_case_invites_its_complainant_once(where: Path | None) -> None:
    sms = Sms()
    app = _app(sms, tmp_path=where, quiet_hours="")
    ref = responded_case(app)
    deliver(app)  # the case's events reach the surveys trigger ...
    deliver(app)  # ... whose invitation message then reaches the SMS gateway
    assert len(sms.deliveries) == 1
    invitation = sms.deliveries[0]
    assert invitation.type == "survey_invitation" and invitation.subject == ref
    assert invitation.recipient is not None and invitation.recipient.phone == "13812345678"
    token = token_of(invitation.data["link"])
    assert len(token) >= 32  # 192 random bits, URL-safe
    # closing the case later does not invite again
    app.complaints.execute(ref, ("waive_follow_up", {"reason": "已电话回访"}), actor="clerk")
    app.complaints.execute(ref, ("close", {}), actor="clerk")
    deliver(app)
    deliver(app)
    assert len(sms.deliveries) == 1


def test_no_consent_no_invitation_and_a_whistle_blower_is_never_contacted(
        where: Path | None) -> None:
    app = _app(tmp_path=where)
    ref = responded_case(app, complainant={"role": "patient", "name": "王五",
                                           "phone": "13700000000",
                                           "consent_to_contact": False})
    assert app.surveys.invite_for_case(ref, "responded").skipped == "no consent to contact"
    report = app.complaints.register(complaint_draft(kind="report", subject="收受红包"),
                                     actor="clerk").reference
    result = app.surveys.invite_for_case(report, "responded")
    assert result.invitation is None and "never contacted" in (result.skipped or "")


def test_answering_once_records_the_follow_up_on_the_case(where: Path | None) -> None:
    sms = Sms()
    app = _app(sms, tmp_path=where, quiet_hours="")
    ref = responded_case(app)
    deliver(app)
    deliver(app)
    token = token_of(sms.deliveries[0].data["link"])
    invitation, q = app.surveys.open(token)
    assert q.id == "follow-up" and invitation.subject == ref
    response = app.surveys.answer(token, {"satisfaction": "4", "resolved": "yes",
                                          "comments": "处理及时"})
    assert response.satisfaction == 4
    case = app.complaints.get(ref)
    assert case.follow_up is not None and case.follow_up.satisfaction == 4
    assert case.events[-1].actor == "patient:survey"
    with pytest.raises(SurveyLinkError) as again:
        app.surveys.answer(token, {"satisfaction": "5"})
    assert again.value.reason == "answered" and "已提交" in again.value.zh


def test_bad_answers_are_named_in_zh_and_en_and_nothing_is_stored(where: Path | None) -> None:
    app = _app(tmp_path=where, quiet_hours="")
    ref = responded_case(app)
    link = app.surveys.invite_for_case(ref, "responded").link
    token = token_of(link)
    with pytest.raises(InvalidInput) as bad:
        app.surveys.answer(token, {"resolved": "maybe", "age": "40",
                                   "comments": "x" * 1001})
    en, zh = bad.value.en, bad.value.zh
    assert "satisfaction" in en and "required" in en
    assert "'maybe'" in en and "one of: yes, partly, no" in en
    assert "age" in en and "at most 1000 characters" in en
    assert "此题必答" in zh and "不是有效选项" in zh
    assert app.surveys.responses() == []
    app.surveys.answer(token, {"satisfaction": 3})  # the link still works


def test_links_expire_and_unknown_links_say_so(where: Path | None) -> None:
    app = _app(tmp_path=where, quiet_hours="", link_days=14)
    ref = responded_case(app)
    token = token_of(app.surveys.invite_for_case(ref, "responded").link or "")
    with pytest.raises(SurveyLinkError) as unknown:
        app.surveys.open("A" * 32)
    assert unknown.value.reason == "unknown"
    with pytest.raises(SurveyLinkError):
        app.surveys.open("<script>alert(1)</script>")
    app.clock.advance(timedelta(days=14, seconds=1))
    with pytest.raises(SurveyLinkError) as expired:
        app.surveys.open(token)
    assert expired.value.reason == "expired" and "过期" in expired.value.zh


# -- exams -------------------------------------------------------------------------------------


def reported_exam(app: Any, accession: str, final: datetime, *, wait_min: int = 10) -> None:
    arrived = final - timedelta(hours=3)
    app.imaging.ingest([
        exam_event(accession, "arrived", arrived, modality="CT"),
        exam_event(accession, "started", arrived + timedelta(minutes=wait_min)),
        exam_event(accession, "completed", arrived + timedelta(minutes=wait_min + 20)),
        exam_event(accession, "final_report", final)])


def test_a_reported_exam_invites_its_patient_once_with_consent(where: Path | None) -> None:
    sms = Sms()
    app = _app(sms, His(), tmp_path=where, quiet_hours="")
    reported_exam(app, "CT900", NOW - timedelta(hours=1))
    reported_exam(app, "MR901", NOW - timedelta(hours=1))  # the HIS does not know this one
    report = app.worker(jobs={"surveys", "deliver"}).run(once=True)
    assert report.jobs["surveys"][0].startswith("surveys: exam invitations made: ")
    deliver(app)
    assert [d.subject for d in sms.deliveries] == ["exam:CT900"]
    assert sms.deliveries[0].recipient == Recipient(name="李四", phone="13900001111")
    # the next run starts after the watermark: nobody is invited twice
    assert app.surveys.run_exam_triggers() == {"long_wait": 0, "report_final": 0}
    assert app.surveys.invite_for_exam("CT900", "report_final").skipped == \
        "already invited for this exam"


def test_a_batch_that_ends_within_one_second_resumes_there(where: Path | None) -> None:
    """Five reports signed in the same second, read two at a time: every one is invited
    (the watermark keeps the accession, not only the second)."""
    app = _app(His(), tmp_path=where, quiet_hours="", exam_triggers=frozenset({"report_final"}))
    for i in range(5):
        reported_exam(app, f"CT80{i}", NOW - timedelta(hours=1))
    made = [app.surveys.run_exam_triggers(limit=2)["report_final"] for _ in range(4)]
    assert made == [2, 2, 1, 0]


def test_a_long_wait_invites_even_before_the_report_and_consent_is_required(
        where: Path | None) -> None:
    app = _app(His(consent=False), tmp_path=where, quiet_hours="",
               exam_triggers=frozenset({"long_wait"}))
    arrived = NOW - timedelta(hours=2)
    app.imaging.ingest([exam_event("CT950", "arrived", arrived, modality="CT"),
                        exam_event("CT950", "started", arrived + timedelta(minutes=50))])
    assert app.surveys.run_exam_triggers() == {"long_wait": 0}
    assert app.surveys.invite_for_exam("CT950", "long_wait").skipped == "no consent to contact"
    consenting = _app(His(), tmp_path=None, quiet_hours="",
                      exam_triggers=frozenset({"long_wait"}))
    consenting.imaging.ingest([
        exam_event("CT951", "arrived", arrived, modality="CT"),
        exam_event("CT951", "started", arrived + timedelta(minutes=50)),
        exam_event("CT952", "arrived", arrived, modality="CT"),
        exam_event("CT952", "started", arrived + timedelta(minutes=5))])  # within the target
    assert consenting.surveys.run_exam_triggers() == {"long_wait": 1}


def test_quiet_hours_hold_the_invitation_until_morning(where: Path | None) -> None:
    late = datetime(2026, 11, 20, 22, 30, tzinfo=TZ)
    sms = Sms()
    app = _app(sms, His(), tmp_path=where, at=late, quiet_hours="21:00-08:00")
    reported_exam(app, "CT700", late - timedelta(minutes=5))
    app.surveys.run_exam_triggers()
    deliver(app)
    assert sms.deliveries == []  # not at night
    app.clock.set(datetime(2026, 11, 21, 8, 0, tzinfo=TZ))
    deliver(app)
    assert len(sms.deliveries) == 1
    assert app.surveys.send_after(datetime(2026, 11, 21, 3, 0, tzinfo=TZ)) == \
        datetime(2026, 11, 21, 8, 0, tzinfo=TZ)
    noon = datetime(2026, 11, 21, 12, 0, tzinfo=TZ)
    assert app.surveys.send_after(noon) == noon


def test_results_per_modality_and_the_fhir_export(where: Path | None) -> None:
    app = _app(His(), tmp_path=where, quiet_hours="")
    for i, answer in enumerate(["very-good", "good", "poor"]):
        acc = f"CT80{i}"
        reported_exam(app, acc, NOW - timedelta(hours=1))
        link = app.surveys.invite_for_exam(acc, "report_final", "CT").link
        app.surveys.answer(token_of(link or ""), {"overall": answer, "waiting": "2",
                                                 "comments": "<b>等太久</b>"})
    reported_exam(app, "CT899", NOW - timedelta(hours=1))
    app.surveys.invite_for_exam("CT899", "report_final", "CT")  # invited, not answered
    [ct] = app.surveys.stats("modality")
    assert ct["modality"] == "CT" and ct["invited"] == 4 and ct["responses"] == 3
    assert ct["response_rate"] == 0.75 and ct["scores"] == {"1": 0, "2": 1, "3": 0, "4": 1,
                                                             "5": 1}
    assert ct["positive_share"] == round(2 / 3, 4)
    [fhir, *_] = list(app.surveys.fhir_responses())
    assert fhir["resourceType"] == "QuestionnaireResponse" and fhir["status"] == "completed"
    assert fhir["questionnaire"] == "urn:hospital-complaints:questionnaire:post-exam|1"
    assert fhir["basedOn"][0]["identifier"]["value"] == "CT800"
    items = {i["linkId"]: i["answer"][0] for i in fhir["item"]}
    assert items["overall"]["valueCoding"]["code"] == "very-good"
    assert items["waiting"] == {"valueInteger": 2}
    assert items["comments"] == {"valueString": "<b>等太久</b>"}  # data, stored as given


def test_survey_commands(tmp_path: Path) -> None:
    app = _app(His(), tmp_path=tmp_path, quiet_hours="")
    reported_exam(app, "CT600", NOW - timedelta(hours=1))
    link = app.surveys.invite_for_exam("CT600", "report_final", "CT").link
    app.surveys.answer(token_of(link or ""), {"overall": "good"})
    listed = run_cli(app, "survey", "questionnaires")
    assert listed.exit_code == 0 and "post-exam" in listed.stdout
    shown = run_cli(app, "survey", "show", "post-exam", "--language", "en")
    assert "Overall, how was your experience of our service?" in shown.stdout
    results = run_cli(app, "survey", "results", "--format", "json")
    assert json.loads(results.stdout)[0]["responses"] == 1
    out = tmp_path / "qr.ndjson"
    exported = run_cli(app, "survey", "export", "--format", "fhir", str(out))
    assert exported.exit_code == 0 and "exported 1 responses" in exported.stderr
    assert json.loads(out.read_text(encoding="utf-8"))["resourceType"] == \
        "QuestionnaireResponse"
    missing = run_cli(app, "survey", "show", "nope")
    assert missing.exit_code == 1 and "post-exam" in missing.output
    assert "Traceback" not in missing.output
    invite = run_cli(app, "survey", "invite", "--exam", "CT600")
    assert "already invited" in invite.stdout and link not in invite.stdout


def test_survey_answers_reach_the_monthly_report(where: Path | None) -> None:
    app = _app(His(), tmp_path=where, quiet_hours="")
    for i, answer in enumerate(["very-good", "poor"]):
        acc = f"CT70{i}"
        reported_exam(app, acc, NOW - timedelta(hours=1))
        link = app.surveys.invite_for_exam(acc, "report_final", "CT").link or ""
        app.surveys.answer(token_of(link), {"overall": answer})
    reported_exam(app, "CT799", NOW - timedelta(hours=1))
    app.surveys.invite_for_exam("CT799", "report_final", "CT")
    report = app.reports.monthly("2026-11")
    table = report.table("survey_surveys")
    rows = {r[0]: r[1] for r in table.rows}
    invited = next(v for k, v in rows.items() if "invited" in str(k))
    answered = next(v for k, v in rows.items() if "answered" in str(k))
    assert (invited, answered) == (3, 2)

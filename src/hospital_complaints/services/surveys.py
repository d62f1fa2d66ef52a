"""Patient surveys (``app.surveys``): who is invited when, the one-time links, the answers.

Triggers (``HC_SURVEY_EXAM_TRIGGERS``, ``HC_SURVEY_CASE_TRIGGERS``):

- an exam's final report (``report_final``), or an exam whose wait exceeded the target
  (``long_wait``): found by the worker's ``surveys`` job, which scans the exam table from a
  stored watermark; the patient's contact and consent come from the HIS (``hc_exam_contact``);
- a case answered (``responded``) or closed (``closed``): delivered to the built-in ``surveys``
  notifier through the durable queue; the contact is the complainant's own, used only if they
  consented to contact (``consent_to_contact``), never for a report (举报).

Never twice: one invitation per questionnaire and exam or case. An invitation made in quiet
hours (``HC_SURVEY_QUIET_HOURS``, local time) is sent when they end. The link carries a
random token of 192 bits, kept only as its SHA-256; it expires after ``HC_SURVEY_LINK_DAYS``
and can be answered once, without a login (the HTTP adapter's public page calls
:meth:`SurveyService.open` and :meth:`SurveyService.answer`).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from ..clock import zone
from ..domain.commands import RecordFollowUp
from ..domain.notifications import Recipient
from ..domain.taxonomy import CaseState, ComplaintKind, ContactMethod
from ..errors import ConfigError, FieldProblem, HospitalComplaintsError, InvalidInput, NotFound
from ..storage.base import SurveyStore
from ..surveys import Questionnaire, check_answers, load_questionnaires
from ..surveys.fhir import questionnaire_response
from ..surveys.records import SurveyInvitation, SurveyResponse

if TYPE_CHECKING:
    from ..app import App

INVITATION = "survey_invitation"
NOTIFIER_ID = "surveys"
EXAM_WATERMARKS = {"report_final": ("final", "surveys:exam-final"),
                   "long_wait": ("started", "surveys:exam-started")}


class SurveyLinkError(NotFound):
    """A link that is unknown, expired or already answered (the page says which, in zh/en)."""

    def __init__(self, reason: str, en: str, zh: str) -> None:
        self.reason = reason
        super().__init__(en, zh)


@dataclass(frozen=True)
class Invited:
    """The outcome of one trigger: the invitation made, or why none was."""

    invitation: SurveyInvitation | None
    skipped: str | None = None
    link: str | None = None


class SurveyService:
    def __init__(self, app: App) -> None:
        self.app = app
        self.settings = app.settings.surveys

    # -- configuration -----------------------------------------------------------------------

    @property
    def enabled(self) -> bool:
        return self.settings.base_url is not None

    @cached_property
    def questionnaires(self) -> dict[str, Questionnaire]:
        found = load_questionnaires(self.settings.dir)
        for name in (self.settings.exam_questionnaire, self.settings.case_questionnaire):
            if name not in found:
                raise ConfigError(
                    f"surveys: questionnaire {name!r} is not defined; known: "
                    f"{', '.join(sorted(found))}",
                    f"问卷配置错误：未定义问卷 {name!r}（已有：{'、'.join(sorted(found))}）")
        return found

    def questionnaire(self, qid: str) -> Questionnaire:
        q = self.questionnaires.get(qid)
        if q is None:
            raise NotFound(f"no questionnaire {qid!r}; known: "
                           f"{', '.join(sorted(self.questionnaires))}",
                           f"没有问卷 {qid!r}（已有：{'、'.join(sorted(self.questionnaires))}）")
        return q

    @property
    def store(self) -> SurveyStore:
        return self.app.survey_store

    def _now(self) -> datetime:
        return self.app.clock.now()

    # -- invitations -------------------------------------------------------------------------

    def invite_for_case(self, reference: str, trigger: str) -> Invited:
        """Invite the complainant to the follow-up questionnaire (once per case)."""
        if trigger not in self.settings.case_triggers:
            return Invited(None, f"trigger {trigger} is not enabled")
        with self.app.unit_of_work() as uow:
            case = uow.cases.get(reference)
        c = case.complaint
        if c.kind is ComplaintKind.REPORT or c.is_whistleblowing:
            return Invited(None, "a report's complainant is never contacted by a survey")
        person = c.complainant
        if not person.consent_to_contact:
            return Invited(None, "no consent to contact")
        if not (person.phone or person.email):
            return Invited(None, "no phone or e-mail")
        recipient = Recipient(name=person.name, phone=person.phone, email=person.email,
                              language="zh")
        q = self.questionnaire(self.settings.case_questionnaire)
        return self._invite(q, "case", reference, trigger, recipient,
                            department=c.department, modality=None)

    def invite_for_exam(self, accession_number: str, trigger: str,
                        modality: str | None = None) -> Invited:
        """Invite the patient of an exam to the post-exam questionnaire (once per exam),
        if the HIS gives a contact with consent."""
        q = self.questionnaire(self.settings.exam_questionnaire)
        if self.store.invitation(subject=(q.id, "exam", accession_number)) is not None:
            return Invited(None, "already invited for this exam")
        contact = self.app.plugins.exam_contact(accession_number, self.app)
        if contact is None:
            return Invited(None, "no contact for this exam (hc_exam_contact)")
        if not contact.consented:
            return Invited(None, "no consent to contact")
        if not (contact.recipient.phone or contact.recipient.email):
            return Invited(None, "no phone or e-mail")
        return self._invite(q, "exam", accession_number, trigger, contact.recipient,
                            department=None, modality=modality)

    def _invite(self, q: Questionnaire, kind: str, subject: str, trigger: str,
                recipient: Recipient, *, department: str | None,
                modality: str | None) -> Invited:
        now = self._now()
        token = secrets.token_urlsafe(24)  # 192 random bits
        send_after = self.send_after(now)
        invitation = SurveyInvitation(
            id=f"inv-{uuid.uuid4().hex}", questionnaire=q.id, subject_kind=kind,
            subject=subject, trigger=trigger, token_hash=_hash(token),
            language=recipient.language, created_s=now.timestamp(),
            send_after_s=send_after.timestamp(),
            expires_s=(send_after + timedelta(days=self.settings.link_days)).timestamp(),
            modality=modality, department=department)
        if not self.store.add_invitation(invitation):
            return Invited(None, f"already invited for this {kind}")
        link = self.link(token)
        expires = datetime.fromtimestamp(invitation.expires_s, now.tzinfo)
        self.app.notifications.send_message(
            INVITATION, subject if kind == "case" else f"exam:{subject}",
            {"questionnaire": q.id, "title": {"zh": q.title.zh, "en": q.title.en},
             "link": link, "expires_at": expires.isoformat(), "trigger": trigger},
            recipient=recipient, message_id=f"survey-{invitation.id}", due=send_after)
        return Invited(invitation, None, link)

    def link(self, token: str) -> str:
        base = (self.settings.base_url or "").rstrip("/")
        return f"{base}/s/{token}"

    def send_after(self, at: datetime) -> datetime:
        """``at``, or the end of the quiet hours it falls in (local time)."""
        window = self.settings.quiet_hours
        if not window:
            return at
        tz = zone(self.app.settings.timezone)
        local = at.astimezone(tz)
        start_s, end_s = window.split("-")
        start, end = time.fromisoformat(start_s), time.fromisoformat(end_s)
        now = local.time()
        quiet = (start <= now or now < end) if start > end else (start <= now < end)
        if not quiet:
            return at
        day: date = local.date()
        if start > end and now >= start:
            day = day + timedelta(days=1)
        return datetime.combine(day, end, tz)

    # -- the survey job (worker) -------------------------------------------------------------

    def run_exam_triggers(self, limit: int = 1000) -> dict[str, int]:
        """Invite for exams reported or started since the last run (each trigger has its
        own watermark, stored after the batch). Returns invitations made per trigger."""
        made: dict[str, int] = {}
        target = self.app.settings.imaging.target_wait_min
        for trigger in sorted(self.settings.exam_triggers):
            milestone, key = EXAM_WATERMARKS[trigger]
            # the watermark is "seconds accession" of the last exam scanned (an older one
            # holds the seconds only), so a batch that stops within one second resumes there
            mark = (self.app.locks.watermark(key) or "").split(" ", 1)
            since = int(mark[0]) if mark[0] else int(self._now().timestamp()) - 86_400
            after = mark[1] if len(mark) > 1 else ""
            exams = self.app.imaging.repo.exams_since(milestone, since, limit, after)
            n = 0
            top = (since, after)
            for exam in exams:
                at = getattr(exam, f"{milestone}_at")
                top = max(top, (int(at.timestamp()), exam.accession_number))
                if trigger == "long_wait":
                    wait = exam.minutes("wait")
                    if wait is None or wait <= target:
                        continue
                if exam.cancelled_at is not None:
                    continue
                if self.invite_for_exam(exam.accession_number, trigger,
                                        exam.modality).invitation is not None:
                    n += 1
            self.app.locks.set_watermark(key, f"{top[0]} {top[1]}".rstrip(),
                                         self._now().timestamp())
            made[trigger] = n
        return made

    # -- answering (the public page) ---------------------------------------------------------

    def open(self, token: str) -> tuple[SurveyInvitation, Questionnaire]:
        """The invitation and questionnaire a link shows; :class:`SurveyLinkError` when it
        is unknown, expired or already answered."""
        invitation = self.store.invitation(token_hash=_hash(token)) if _plausible(token) \
            else None
        if invitation is None:
            raise SurveyLinkError("unknown", "this survey link is not valid",
                                  "该问卷链接无效")
        if invitation.answered_s is not None:
            raise SurveyLinkError("answered", "this survey has already been answered - "
                                  "thank you", "该问卷已提交，感谢您的参与")
        if self._now().timestamp() >= invitation.expires_s:
            raise SurveyLinkError("expired", "this survey link has expired",
                                  "该问卷链接已过期")
        return invitation, self.questionnaire(invitation.questionnaire)

    def answer(self, token: str, answers: dict[str, Any], *,
               language: str | None = None) -> SurveyResponse:
        """Check and store the answers (once). A follow-up answer on a case still awaiting
        its follow-up (答复后) is also recorded on the case (``record_follow_up``)."""
        invitation, q = self.open(token)
        checked = check_answers(q, answers)
        now = self._now()
        response = SurveyResponse(
            invitation_id=invitation.id, questionnaire=q.id, questionnaire_version=q.version,
            subject_kind=invitation.subject_kind, subject=invitation.subject,
            language=(language or invitation.language)[:8], answered_s=now.timestamp(),
            answers=dict(checked), satisfaction=q.satisfaction(checked),
            modality=invitation.modality, department=invitation.department)
        if not self.store.answer(invitation, response):
            raise SurveyLinkError("answered", "this survey has already been answered - "
                                  "thank you", "该问卷已提交，感谢您的参与")
        if invitation.subject_kind == "case" and response.satisfaction is not None:
            self._record_on_case(invitation.subject, response.satisfaction)
        return response

    def _record_on_case(self, reference: str, satisfaction: int) -> None:
        try:
            case = self.app.complaints.get(reference)
            if case.state is CaseState.RESPONDED and case.follow_up is None:
                self.app.complaints.execute(
                    reference, RecordFollowUp(method=ContactMethod.ONLINE,
                                              satisfaction=satisfaction),
                    actor="patient:survey", reason="answered the follow-up survey online")
        except HospitalComplaintsError:
            pass  # the answer is stored; the case moved on (closed, reopened) meanwhile

    # -- results -----------------------------------------------------------------------------

    def responses(self, start: date | None = None, end: date | None = None,
                  questionnaire: str | None = None) -> list[SurveyResponse]:
        a, b = self._bounds(start, end)
        return self.store.responses(a, b, questionnaire)

    def stats(self, by: str = "modality", start: date | None = None,
              end: date | None = None, questionnaire: str | None = None
              ) -> list[dict[str, Any]]:
        """Per modality or department: invitations, responses, response rate, the 1-5
        distribution, the mean and the share positive (4-5, the Friends and Family Test's
        "good" or "very good")."""
        if by not in ("modality", "department", "questionnaire"):
            raise InvalidInput("survey stats", [FieldProblem(
                "by", by, "one of: modality, department, questionnaire")],
                [f"  - 分组方式 {by!r} 无效（modality、department、questionnaire）"])
        a, b = self._bounds(start, end)
        groups: dict[str, dict[str, Any]] = {}
        for inv in self.store.invitations(a, b, questionnaire):
            g = groups.setdefault(getattr(inv, by) or "-", _empty())
            g["invited"] += 1
        for resp in self.store.responses(a, b, questionnaire):
            g = groups.setdefault(getattr(resp, by) or "-", _empty())
            g["responses"] += 1
            if resp.satisfaction is not None:
                g["scores"][str(resp.satisfaction)] += 1
        out = []
        for key, g in sorted(groups.items()):
            scored = sum(g["scores"].values())
            total = sum(int(k) * n for k, n in g["scores"].items())
            out.append({by: key, **g,
                        "response_rate": round(g["responses"] / g["invited"], 4)
                        if g["invited"] else None,
                        "mean": round(total / scored, 2) if scored else None,
                        "positive_share": round((g["scores"]["4"] + g["scores"]["5"]) / scored,
                                                4) if scored else None})
        return out

    def fhir_responses(self, start: date | None = None, end: date | None = None,
                       questionnaire: str | None = None) -> Iterator[dict[str, Any]]:
        """The responses as FHIR R4 QuestionnaireResponse resources (JSON)."""
        tz = zone(self.app.settings.timezone)
        for r in self.responses(start, end, questionnaire):
            yield questionnaire_response(r, self.questionnaire(r.questionnaire), tz)

    def _bounds(self, start: date | None, end: date | None) -> tuple[float | None,
                                                                     float | None]:
        tz = zone(self.app.settings.timezone)
        a = datetime.combine(start, time(0), tz).timestamp() if start else None
        b = datetime.combine(end + timedelta(days=1), time(0), tz).timestamp() if end else None
        return a, b


def _empty() -> dict[str, Any]:
    return {"invited": 0, "responses": 0, "scores": {str(n): 0 for n in range(1, 6)}}


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _plausible(token: str) -> bool:
    return 16 <= len(token) <= 64 and all(c.isalnum() or c in "-_" for c in token)

"""Built-in: invites complainants to the follow-up survey (回访) when their case is answered
or closed, through the durable queue like any notifier, so an invitation is never lost and
never made twice; and hands the survey results to the reports (a follow-up source: invited,
answered, the 1-5 score, per department or modality). Registers nothing until surveys are
switched on (``HC_SURVEY_BASE_URL``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .. import hookimpl

if TYPE_CHECKING:
    from ...app import App
    from ...domain.notifications import Delivery
    from ...reports.build import Bi, FollowUpResult


class CaseSurveyTrigger:
    """A notifier that turns ``responded`` / ``closed`` events into survey invitations."""

    id = "surveys"
    description = "follow-up survey invitations when a case is answered or closed 回访问卷邀请"

    def __init__(self, app: App) -> None:
        self.app = app
        self.event_types = frozenset(app.settings.surveys.case_triggers)

    def deliver(self, delivery: Delivery) -> None:
        self.app.surveys.invite_for_case(delivery.subject, delivery.type)


@hookimpl
def hc_register_notifiers(register: Callable[[Any], None], app: App) -> None:
    if app.settings.surveys.base_url is not None and app.settings.surveys.case_triggers:
        register(CaseSurveyTrigger(app))


class SurveyResults:
    """Survey invitations and answers, for the monthly report's follow-up section."""

    id = "surveys"

    def __init__(self, app: App) -> None:
        from ...reports.build import Bi

        self.app = app
        self.title: Bi = Bi(zh="患者问卷（检查后体验、投诉回访）",
                            en="patient surveys (after exams, follow-up)")

    def results(self, start: datetime, end: datetime) -> Iterator[FollowUpResult]:
        from ...reports.build import FollowUpResult

        surveys = self.app.surveys
        a, b = start.timestamp(), end.timestamp()
        scores = {r.invitation_id: r.satisfaction
                  for r in surveys.store.responses(a, None)}
        for inv in surveys.store.invitations(a, b):
            yield FollowUpResult(
                at=datetime.fromtimestamp(inv.created_s, start.tzinfo),
                department=inv.department, answered=inv.answered_s is not None,
                satisfaction=scores.get(inv.id), modality=inv.modality)


@hookimpl
def hc_register_follow_up_sources(register: Callable[[Any], None], app: App) -> None:
    if app.settings.surveys.base_url is not None:
        register(SurveyResults(app))

"""Built-in: invites complainants to the follow-up survey (回访) when their case is answered
or closed, through the durable queue like any notifier, so an invitation is never lost and
never made twice. Registers nothing until surveys are switched on (``HC_SURVEY_BASE_URL``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ...domain.notifications import Delivery
from .. import hookimpl

if TYPE_CHECKING:
    from ...app import App


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

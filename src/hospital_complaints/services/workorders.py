"""Hotline work orders (``app.workorders``): regional profiles, time limits, supervision tiers,
the three rates, and merging duplicates (并单) and undoing it (拆单). docs/workorders.md.

The work-order commands themselves (sign, return, re-route, dispute, extension, decision,
reply, call-back, redo) go through ``app.complaints.execute`` like any command, from every
door; :meth:`WorkOrderService.before` checks the profile's limits first.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from ..clock import zone
from ..domain import workflow
from ..domain.case import Case
from ..domain.commands import Command
from ..domain.taxonomy import CaseState, Channel
from ..domain.workorder_commands import (
    AbsorbCase,
    MergeInto,
    RecordSupervision,
    RedoWorkOrder,
    RequestExtension,
    ReturnWorkOrder,
    UndoMerge,
)
from ..domain.workorders import is_work_order, work_order_of
from ..errors import ConcurrencyConflict, ConfigError, FieldProblem, GuardFailed, InvalidInput
from ..sla.workorders import (
    RateDefinitions,
    Span,
    UnitRates,
    WorkOrderDeadlines,
    WorkOrderProfile,
    after,
    extension_granted_total,
    load_profiles,
    rates_by_unit,
    work_order_deadlines,
)

if TYPE_CHECKING:
    from ..app import App

log = logging.getLogger(__name__)
SYSTEM = "system:workorders"


@dataclass(frozen=True)
class DuplicateSuggestion:
    """A probable duplicate of a case: how likely (0-1) and why (zh/en)."""

    reference: str
    score: float
    reasons: list[tuple[str, str]] = field(default_factory=list)
    subject: str = ""
    state: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"reference": self.reference, "score": round(self.score, 3),
                "subject": self.subject, "state": self.state,
                "reasons": [{"zh": zh, "en": en} for zh, en in self.reasons]}


class WorkOrderService:
    def __init__(self, app: App) -> None:
        self.app = app
        self.settings = app.settings.workorders
        self._secret = secrets.token_bytes(32)

    # -- profiles and limits -----------------------------------------------------------------

    @cached_property
    def profiles(self) -> dict[str, WorkOrderProfile]:
        found = load_profiles(self.settings.profiles_dir)
        wanted = {self.settings.default_profile, *self.settings.platform_profiles.values()}
        unknown = sorted(p for p in wanted if p not in found)
        if unknown:
            raise ConfigError(
                f"work-order profiles {', '.join(unknown)} are not defined; known: "
                f"{', '.join(sorted(found))} (HC_WORKORDER_PLATFORM_PROFILES, "
                "HC_WORKORDER_DEFAULT_PROFILE, HC_WORKORDER_PROFILES_DIR)",
                f"未定义的工单时限配置：{'、'.join(unknown)}（已有：{'、'.join(sorted(found))}）")
        return found

    @cached_property
    def definitions(self) -> RateDefinitions:
        s = self.settings
        return RateDefinitions(default_sign_within=Span.parse(s.default_sign_within,
                                                              "HC_WORKORDER_SIGN_WITHIN"),
                               basically_weight=s.basically_weight, weights=s.weights)

    def profile_for(self, case: Case) -> WorkOrderProfile:
        platform = work_order_of(case).platform if is_work_order(case) else ""
        pid = self.settings.platform_profiles.get(platform, self.settings.default_profile)
        return self.profiles[pid]

    def deadlines(self, case: Case | str) -> WorkOrderDeadlines:
        if isinstance(case, str):
            case = self.app.complaints.get(case)
        self._require(case)
        return work_order_deadlines(self.profile_for(case), work_order_of(case),
                                    self.app.deadlines.calendars)

    def _require(self, case: Case) -> None:
        if not is_work_order(case):
            raise InvalidInput("work order", [FieldProblem(
                "reference", case.reference,
                "a case that came from a hotline platform (channel hotline_platform)")],
                [f"  - {case.reference} 不是热线平台转办的工单"])

    def before(self, case: Case, command: Command, now: datetime) -> Command:
        """The profile's limits on a work-order command; fills a redo's deadline."""
        if not is_work_order(case):
            return command  # the command's guard says so, in zh and en
        profile = self.profile_for(case)
        wo = work_order_of(case)
        dl = work_order_deadlines(profile, wo, self.app.deadlines.calendars)
        cal = self.app.deadlines.calendars.get(profile.calendar)

        def refuse(en: str, zh: str) -> GuardFailed:
            return GuardFailed(case.state.value, command.name, en, zh)

        if isinstance(command, ReturnWorkOrder) and dl.return_by is not None \
                and now > dl.return_by:
            assert profile.return_within is not None
            raise refuse(
                f"the return limit of {profile.id} ({profile.return_within.describe()} after "
                f"dispatch, until {dl.return_by:%Y-%m-%d %H:%M}) has passed; ask the platform "
                "to re-route it (request_reroute) or dispute the dispatch (dispute_dispatch)",
                f"已超过退回时限（派单后{profile.return_within.describe('zh')}，截至 "
                f"{dl.return_by:%Y-%m-%d %H:%M}）；请申请改派或提出派单异议")
        if isinstance(command, RequestExtension):
            if now > dl.due:
                raise refuse(
                    f"an extension must be asked before the deadline ({dl.due:%Y-%m-%d %H:%M})"
                    ", which has passed", f"延期须在办理时限（{dl.due:%Y-%m-%d %H:%M}）前申请，"
                    "现已超期")
            if profile.extension_max is not None:
                granted = extension_granted_total(wo)
                cap = profile.extension_max.amount
                if granted + command.days > cap:
                    raise refuse(
                        f"{profile.id} allows at most {profile.extension_max.describe()} of "
                        f"extension; {granted} granted already, {command.days} asked",
                        f"该时限配置最多延期{profile.extension_max.describe('zh')}；已批准 "
                        f"{granted}，本次申请 {command.days}")
            if profile.extension_consent and not command.consent:
                raise refuse(
                    f"{profile.id} extends only with the caller's consent: record consent=true "
                    "once the caller agreed", "该时限配置延期须经诉求人同意：取得同意后请填写 "
                    "consent=true")
        if isinstance(command, RedoWorkOrder) and command.due is None:
            _key, span = profile.finish_span(wo)
            due = after(profile.redo_within or span, now, profile, cal)
            return command.model_copy(update={"due": due})
        return command

    # -- supervision (催办 / 督办 / 通报) ---------------------------------------------------

    def supervise(self, now: datetime | None = None) -> int:
        """Record every supervision tier that has come due, once per tier and round, on
        open work orders not yet replied. Returns how many were recorded."""
        now = now or self.app.clock.now()
        recorded = 0
        from .service import CaseFilter

        hotline = CaseFilter(channel=Channel.HOTLINE_PLATFORM.value)  # selected in the store
        for case in self.app.complaints.iter_cases(open_only=True, filters=hotline):
            if not is_work_order(case) or case.merged_into is not None:
                continue
            wo = work_order_of(case)
            if wo.replied_at is not None:
                continue
            profile = self.profile_for(case)
            dl = work_order_deadlines(profile, wo, self.app.deadlines.calendars)
            due_tiers = [(t, at) for t, at in dl.tiers
                         if at <= now and (t.value, dl.round) not in wo.supervision]
            for tier, _at in due_tiers:
                try:
                    self.app.complaints._execute(case.reference, RecordSupervision(
                        tier=tier, due=dl.due, profile=profile.id, round=dl.round),
                        actor=SYSTEM)
                except (GuardFailed, ConcurrencyConflict):
                    continue  # recorded meanwhile, or changed: the next sweep sees it
                recorded += 1
        return recorded

    # -- the three rates ---------------------------------------------------------------------

    def rates(self, start: date, end: date) -> list[UnitRates]:
        """Per unit, for work orders dispatched from ``start`` to ``end`` (inclusive)."""
        tz = zone(self.app.settings.timezone)
        a = datetime.combine(start, time(0), tz)
        b = datetime.combine(end + timedelta(days=1), time(0), tz)
        from .service import CaseFilter

        # the store selects the hotline's cases of those days (a day's margin either side for
        # the listing's date column); rates_by_unit keeps the exact instants
        window = CaseFilter(channel=Channel.HOTLINE_PLATFORM.value,
                            received_from=start - timedelta(days=1),
                            received_to=end + timedelta(days=1))
        return rates_by_unit(self.app.complaints.iter_cases(filters=window), self.profile_for,
                             self.app.deadlines.calendars, a, b, self.definitions,
                             self.app.clock.now())

    # -- duplicates (并单) ---------------------------------------------------------------------

    def duplicates(self, reference: str, *, limit: int = 10,
                   threshold: float = 0.3) -> list[DuplicateSuggestion]:
        """Probable duplicates of a case, best first; never merged automatically.

        Compared: the complainant (keyed hashes of phone and ID number, never plaintext),
        the patient, the exams linked, the department, and the text (jieba tokens), among
        cases received within ``HC_WORKORDER_DUPLICATE_DAYS`` days before or after."""
        case = self.app.complaints.get(reference)
        mine = self._features(case)
        window = timedelta(days=self.settings.duplicate_window_days)
        received = case.complaint.received_at
        from .service import CaseFilter

        listing = self.app.complaints.listing_query(CaseFilter(
            received_from=(received - window).astimezone(zone(self.app.settings.timezone))
            .date(), received_to=(received + window).astimezone(
                zone(self.app.settings.timezone)).date()))
        with self.app.unit_of_work() as uow:
            refs = [r for r in uow.cases.references(listing) if r != case.reference]
            others = uow.cases.get_many(refs[-2000:])
        found = []
        for other in others:
            if other.state is CaseState.MERGED:
                continue
            score, reasons = _similarity(mine, self._features(other))
            if score >= threshold:
                found.append(DuplicateSuggestion(other.reference, score, reasons,
                                                 other.complaint.subject, other.state.value))
        found.sort(key=lambda d: -d.score)
        return found[:limit]

    def _keyed(self, value: str) -> str:
        return hmac.new(self._secret, value.encode("utf-8"), hashlib.sha256).hexdigest()

    def _features(self, case: Case) -> dict[str, Any]:
        c = case.complaint
        who = set()
        if c.complainant.phone:
            who.add(self._keyed("phone:" + re.sub(r"\D", "", c.complainant.phone)))
        if c.complainant.id_number:
            who.add(self._keyed("id:" + c.complainant.id_number.strip().upper()))
        patient = self._keyed("patient:" + c.patient.patient_id) if c.patient else None
        exams = {x.accession_number for x in c.exam_links if x.accession_number}
        return {"who": who, "patient": patient, "exams": exams,
                "department": (c.department or "").strip().casefold(),
                "tokens": _tokens(f"{c.subject} {c.description}")}

    def merge(self, survivor: str, other: str, *, reason: str, actor: str) -> list[Any]:
        """并单: ``other`` goes on in ``survivor``; both histories stay, no event is deleted,
        and the reply answers every ticket id. One transaction for both cases."""
        if survivor == other:
            raise InvalidInput("merge", [FieldProblem("other", other,
                                                      "a different case than the survivor")],
                               ["  - 不能与自身并单"])
        now = self.app.clock.now()
        with self.app.unit_of_work() as uow:
            s, o = uow.cases.get(survivor), uow.cases.get(other)
            tickets = list(work_order_of(o).tickets) if is_work_order(o) else []
            e1 = workflow.handle(o, MergeInto(survivor=s.reference, reason=reason), actor, now)
            e2 = workflow.handle(s, AbsorbCase(merged=o.reference, tickets=tickets,
                                               reason=reason), actor, now)
            uow.commit()
        self.app.complaints._notify(o, [e1])
        self.app.complaints._notify(s, [e2])
        return [e1, e2]

    def split(self, merged: str, *, reason: str, actor: str) -> list[Any]:
        """拆单: undo a wrong merge; the merged case gets back the state it had."""
        now = self.app.clock.now()
        with self.app.unit_of_work() as uow:
            o = uow.cases.get(merged)
            if o.merged_into is None:
                raise InvalidInput("split", [FieldProblem(
                    "reference", o.reference, "a case that was merged into another")],
                    [f"  - {o.reference} 未被并单"])
            s = uow.cases.get(o.merged_into)
            tickets = list(work_order_of(o).tickets) if is_work_order(o) else []
            e1 = workflow.handle(o, UndoMerge(other=s.reference, tickets=tickets,
                                              reason=reason), actor, now)
            e2 = workflow.handle(s, UndoMerge(other=o.reference, tickets=tickets,
                                              reason=reason), actor, now)
            uow.commit()
        self.app.complaints._notify(o, [e1])
        self.app.complaints._notify(s, [e2])
        return [e1, e2]


_STOP = set("的了是在我他她它们和与及或也就都而但还很吗呢吧啊呀，。！？、；：,.!?;: ")


def _tokens(text: str) -> set[str]:
    import jieba

    jieba.setLogLevel(logging.WARNING)
    return {t.strip().casefold() for t in jieba.cut_for_search(text)
            if t.strip() and t.strip() not in _STOP}


def _similarity(a: dict[str, Any], b: dict[str, Any]) -> tuple[float, list[tuple[str, str]]]:
    score = 0.0
    reasons: list[tuple[str, str]] = []
    if a["who"] & b["who"]:
        score += 0.35
        reasons.append(("同一投诉人（按加密摘要比对）", "same complainant (keyed hash)"))
    if a["patient"] and a["patient"] == b["patient"]:
        score += 0.2
        reasons.append(("同一患者", "same patient"))
    shared = a["exams"] & b["exams"]
    if shared:
        score += 0.2
        reasons.append((f"同一检查 {', '.join(sorted(shared))}",
                        f"same exam {', '.join(sorted(shared))}"))
    if a["department"] and a["department"] == b["department"]:
        score += 0.05
        reasons.append(("同一科室", "same department"))
    union = a["tokens"] | b["tokens"]
    if union:
        jaccard = len(a["tokens"] & b["tokens"]) / len(union)
        if jaccard >= 0.2:
            score += 0.2 * min(1.0, jaccard / 0.6)
            reasons.append((f"内容相似（{jaccard:.0%}）", f"similar text ({jaccard:.0%})"))
    return min(score, 1.0), reasons


__all__ = ["DuplicateSuggestion", "WorkOrderService"]

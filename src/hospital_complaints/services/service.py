"""``ComplaintService``: the one facade through which a host system performs every command.

Each call opens a unit of work, loads the case, lets the domain decide (transition table and
guards), and commits the new events atomically. Only after the commit are notification
plugins called; their failures are stored, never raised into the caller.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from ..clock import Clock, SystemClock, zone
from ..config import Settings
from ..domain import workflow
from ..domain.case import Case
from ..domain.commands import (
    COMMAND_BY_NAME,
    AddAttachment,
    Assign,
    Command,
    ExtendDeadline,
    RecordDeadlineAlert,
    RegisterComplaint,
    RevealIdentity,
)
from ..domain.complaint import Attachment, Complaint, ComplaintDraft
from ..domain.events import Event
from ..domain.taxonomy import AlertKind
from ..domain.validation import parse
from ..errors import AccessDenied, ConcurrencyConflict, FieldProblem, InvalidInput
from ..plugins.manager import HCPluginManager
from ..plugins.types import NotificationFailure, Viewer
from ..storage.base import DuplicateIntake, UnitOfWork
from ..storage.blobs import DEFAULT_MAX_BYTES, BlobStore, MemoryBlobStore, check
from ..storage.memory import InMemoryStore, InMemoryUnitOfWork
from .views import CaseSummary, masked_event, summarize

if TYPE_CHECKING:
    from ..sla.policy import SlaPolicy

log = logging.getLogger("hospital_complaints")


class DeadlineAlert(Protocol):
    """What the SLA sweep hands over for recording (``hospital_complaints.sla.Alert``)."""

    @property
    def reference(self) -> str: ...
    @property
    def milestone(self) -> str: ...
    @property
    def kind(self) -> AlertKind: ...
    @property
    def due(self) -> datetime: ...
    @property
    def policy(self) -> str: ...


#: Commands with their own service method (they need checks or side effects of their own).
SERVICE_ONLY = {
    RegisterComplaint.name: "register",
    RevealIdentity.name: "reveal_identity",
}

#: Received times this far in the future are accepted (clock skew between systems).
CLOCK_SKEW = timedelta(minutes=5)


class ComplaintService:
    def __init__(self, uow_factory: Callable[[], UnitOfWork], plugins: HCPluginManager,
                 clock: Clock, settings: Settings | None = None,
                 blobs: BlobStore | None = None, max_attachment_bytes: int = DEFAULT_MAX_BYTES,
                 ) -> None:
        self._uow_factory = uow_factory
        self._sla_policy: SlaPolicy | None = None
        self.blobs: BlobStore = blobs or MemoryBlobStore()
        self.max_attachment_bytes = max_attachment_bytes
        self.plugins = plugins
        self.clock = clock
        self.settings = settings or Settings()
        self.tz = zone(self.settings.timezone)

    # -- intake ----------------------------------------------------------------------------

    def intake(self, channel: str, raw: Mapping[str, Any], *, actor: str,
               idempotency_key: str | None = None) -> Case:
        """Register a raw channel submission, normalised by a ``hc_normalize_intake`` plugin."""
        fields = self.plugins.normalize_intake(channel, raw)
        if fields is None:
            raise InvalidInput("intake", [FieldProblem(
                "channel", channel,
                "no installed plugin normalises this channel; register a ComplaintDraft "
                "directly or install the channel's intake plugin")],
                [f"没有插件能处理渠道 {channel!r}"])
        return self.register(fields, actor=actor, idempotency_key=idempotency_key)

    def register(self, draft: ComplaintDraft | Mapping[str, Any] | str, *, actor: str,
                 idempotency_key: str | None = None) -> Case:
        """Register a complaint. With an idempotency key (a hotline ticket id, a web-form
        submission id) a retry returns the case the first call created instead of a new one."""
        draft = parse(ComplaintDraft, draft, "complaint")
        now = self.clock.now()
        _check_received(draft, now, "complaint")
        with self._uow_factory() as uow:
            if idempotency_key is not None:
                existing = uow.cases.find_by_idempotency_key(idempotency_key)
                if existing is not None:
                    return uow.cases.get(existing)
            day = draft.received_at.astimezone(self.tz).date()
            reference = uow.cases.next_reference(self.settings.reference_prefix, day)
            case = self._new_case(reference, draft, actor, now)
            uow.cases.add(case, idempotency_key=idempotency_key)
            try:
                uow.commit()
            except DuplicateIntake as dup:  # a concurrent retry won the race
                return self.get(dup.reference)
        self._notify(case, case.events)
        return case

    def register_many(self, drafts: Iterable[ComplaintDraft | Mapping[str, Any]], *,
                      actor: str, batch_size: int = 1000) -> list[str]:
        """Register many complaints (backfill, bulk import), ``batch_size`` per transaction.

        A batch is validated completely before anything of it is stored; an invalid draft
        raises :class:`InvalidInput` naming its position, and its batch stores nothing
        (earlier batches stay stored). Returns the references in input order.
        """
        refs: list[str] = []
        batch: list[ComplaintDraft] = []
        for i, raw in enumerate(drafts):
            batch.append(parse(ComplaintDraft, raw, f"complaint #{i + 1}"))
            if len(batch) == batch_size:
                refs += self._register_batch(batch, actor)
                batch = []
        if batch:
            refs += self._register_batch(batch, actor)
        return refs

    def _register_batch(self, drafts: list[ComplaintDraft], actor: str) -> list[str]:
        now = self.clock.now()
        for i, draft in enumerate(drafts):
            _check_received(draft, now, f"complaint #{i + 1} of the batch")
        with self._uow_factory() as uow:
            by_day: dict[date, list[int]] = {}
            for i, d in enumerate(drafts):
                by_day.setdefault(d.received_at.astimezone(self.tz).date(), []).append(i)
            refs = [""] * len(drafts)
            for day, positions in by_day.items():
                reserved = uow.cases.reserve_references(self.settings.reference_prefix, day,
                                                        len(positions))
                for pos, ref in zip(positions, reserved, strict=True):
                    refs[pos] = ref
            cases = [self._new_case(ref, d, actor, now) for ref, d in zip(refs, drafts,
                                                                         strict=True)]
            for case in cases:
                uow.cases.add(case)
            uow.commit()
        self._dispatch([e for c in cases for e in c.events], known={c.reference: c for c in cases})
        return refs

    def _new_case(self, reference: str, draft: ComplaintDraft, actor: str,
                  now: datetime) -> Case:
        probe = Complaint(reference=reference, **dict(draft))
        suggestions = self.plugins.suggest_categories(probe)
        case = workflow.start(reference, RegisterComplaint(complaint=draft,
                              suggestions=suggestions), actor, now)
        if draft.department is None:
            routing = self.plugins.route(case.complaint)
            if routing is not None:
                workflow.handle(case, Assign(department=routing.department,
                                             owner=routing.owner),
                                "system:routing", now, routing.reason)
        return case

    # -- commands --------------------------------------------------------------------------

    def execute(self, reference: str, command: Command | tuple[str, Mapping[str, Any]], *,
                actor: str, reason: str | None = None,
                expected_version: int | None = None) -> Event:
        """Carry out one command on one case and return the event it recorded.

        ``command`` is a Command object, or ``(name, fields)`` as a CLI or API would send it.
        With ``expected_version`` (the version the clerk's screen showed) a concurrent change
        raises :class:`ConcurrencyConflict` instead of being silently overwritten.
        """
        cmd = self.parse_command(command) if isinstance(command, tuple) else command
        if cmd.name in SERVICE_ONLY:
            raise InvalidInput("command", [FieldProblem(
                "command", cmd.name, f"use service.{SERVICE_ONLY[cmd.name]}() instead")],
                [f"「{cmd.name}」须通过专用接口执行"])
        with self._uow_factory() as uow:
            case = uow.cases.get(reference)
            if expected_version is not None and case.version != expected_version:
                raise ConcurrencyConflict(
                    f"complaint {reference} is at version {case.version}, but your screen "
                    f"showed version {expected_version}: someone else changed it. Reload and "
                    "try again - nothing was saved",
                    f"投诉 {reference} 当前版本为 {case.version}，您看到的是 {expected_version}；"
                    "已被他人修改，请刷新后重试，本次未保存",
                )
            self.before_command(case, cmd)
            event = workflow.handle(case, cmd, actor, self.clock.now(), reason)
            uow.commit()
        self._notify(case, [event])
        return event

    def before_command(self, case: Case, command: Command) -> None:
        """Checks that need more than the case: an extension must fit the SLA policy."""
        if isinstance(command, ExtendDeadline):
            from ..sla import check_extension

            check_extension(self.sla_policy(), case, command.milestone, command.days,
                            command.consent)

    def sla_policy(self) -> SlaPolicy:
        """The deadline policy applied to cases (``HC_SLA_POLICY``; combinations allowed)."""
        if self._sla_policy is None:
            from ..sla import PolicyRegistry

            registry = PolicyRegistry.from_plugins(self.plugins)
            self._sla_policy = registry.resolve(self.settings.sla_policy)
        return self._sla_policy

    def record_deadline_alerts(self, alerts: Iterable[DeadlineAlert]) -> int:
        """Record the sweep's new alerts as ``deadline_alert`` events (actor ``system:sla``),
        each (case, milestone, kind) at most once, and notify through ``hc_after_event``.

        A case that a clerk changes at the same moment is skipped with a warning; the next
        sweep raises its alert. Returns how many alerts were recorded.
        """
        by_ref: dict[str, list[DeadlineAlert]] = {}
        for alert in alerts:
            by_ref.setdefault(alert.reference, []).append(alert)
        recorded = 0
        for ref, group in by_ref.items():
            try:
                with self._uow_factory() as uow:
                    case = uow.cases.get(ref)
                    now = self.clock.now()
                    events = [
                        workflow.handle(case, RecordDeadlineAlert(
                            milestone=a.milestone, kind=a.kind, due=a.due, policy=a.policy),
                            "system:sla", now)
                        for a in group
                        if case.is_open and (a.milestone, str(a.kind)) not in case.deadline_alerts
                    ]
                    uow.commit()
            except ConcurrencyConflict:
                log.warning("deadline alerts for %s skipped: changed concurrently", ref)
                continue
            recorded += len(events)
            self._notify(case, events)
        return recorded

    @staticmethod
    def parse_command(command: tuple[str, Mapping[str, Any]]) -> Command:
        name, fields = command
        cls = COMMAND_BY_NAME.get(name)
        if cls is None or name in SERVICE_ONLY:
            names = ", ".join(n for n in COMMAND_BY_NAME if n not in SERVICE_ONLY)
            raise InvalidInput("command", [FieldProblem("command", name, f"one of: {names}")],
                               [f"未知操作 {name!r}"])
        return parse(cls, fields, f"command '{name}'")

    # -- attachments -------------------------------------------------------------------------

    def attach(self, reference: str, data: bytes, filename: str, *, actor: str) -> Event:
        """Store a file in the blob store (size and type checked) and record it on the case."""
        media_type = check(data, filename, self.max_attachment_bytes)
        self.get(reference)  # an unknown reference fails before anything is stored
        key = self.blobs.put(data)
        attachment = Attachment(reference=key, sha256=key.removeprefix("sha256:"),
                                filename=filename, media_type=media_type, size_bytes=len(data))
        with self._uow_factory() as uow:
            case = uow.cases.get(reference)
            event = workflow.handle(case, AddAttachment(attachment=attachment), actor,
                                    self.clock.now())
            uow.commit()
        self._notify(case, [event])
        return event

    # -- identity ----------------------------------------------------------------------------

    def reveal_identity(self, reference: str, viewer: Viewer, purpose: str) -> dict[str, Any]:
        """The complainant's and patient's identity, unmasked, if the access decision allows;
        the reveal is recorded as an ``identity_revealed`` event. Raises :class:`AccessDenied`.
        """
        if not purpose.strip():
            raise InvalidInput("reveal", [FieldProblem("purpose", purpose, "say why you need "
                                                       "to see the identity")],
                               ["  - purpose：请说明查看身份信息的理由"])
        with self._uow_factory() as uow:
            case = uow.cases.get(reference)
            c = case.complaint
            if c.is_whistleblowing and viewer.department and c.concerns_department and \
                    viewer.department.casefold() == c.concerns_department.casefold():
                raise AccessDenied(
                    f"{reference} is a report (举报) about {c.concerns_department}; its "
                    "complainant is never revealed to that department",
                    f"{reference} 为针对「{c.concerns_department}」的举报，"
                    "举报人身份不得向该科室披露",
                )
            allowed, decided_by = self.plugins.can_reveal_identity(viewer, c, purpose)
            if not allowed:
                raise AccessDenied(
                    f"{viewer.user} may not see the identity in {reference} (decided by "
                    f"{decided_by})",
                    f"{viewer.user} 无权查看 {reference} 的身份信息（{decided_by}）",
                )
            event = workflow.handle(case, RevealIdentity(
                viewer=viewer.user, roles=sorted(viewer.roles),
                viewer_department=viewer.department, purpose=purpose, decided_by=decided_by),
                viewer.user, self.clock.now(), purpose)
            uow.commit()
        self._notify(case, [event])
        return {
            "reference": reference,
            "complainant": c.complainant.model_dump(mode="json", exclude_none=True),
            "patient": c.patient.model_dump(mode="json") if c.patient else None,
        }

    # -- queries ---------------------------------------------------------------------------

    def get(self, reference: str) -> Case:
        with self._uow_factory() as uow:
            return uow.cases.get(reference)

    def history(self, reference: str) -> list[Event]:
        """The case's events, personal data masked."""
        return [masked_event(e) for e in self.get(reference).events]

    def iter_cases(self, *, open_only: bool = False) -> Iterator[Case]:
        with self._uow_factory() as uow:
            yield from uow.cases.iter_cases(open_only=open_only)

    def list_cases(self, *, state: str | None = None, department: str | None = None,
             open_only: bool = False) -> list[CaseSummary]:
        """Masked summaries, oldest first."""
        return [
            summarize(c) for c in self.iter_cases(open_only=open_only)
            if (state is None or c.state.value == state)
            and (department is None or c.complaint.department == department)
        ]

    def notification_failures(self, reference: str | None = None) -> list[NotificationFailure]:
        with self._uow_factory() as uow:
            return uow.notification_failures(reference)

    # -- notifications ---------------------------------------------------------------------

    def _notify(self, case: Case, events: list[Event]) -> None:
        """Dispatch the outbox rows this commit wrote (the events are known to be committed)."""
        self._dispatch(events, known={case.reference: case})

    def dispatch_pending(self, *, limit: int = 500) -> int:
        """Deliver notifications left in the outbox, e.g. by a crash between commit and
        dispatch. Delivery is at least once: a crash during dispatch repeats it. Returns how
        many events were dispatched."""
        return self._dispatch(None, known={}, limit=limit)

    def _dispatch(self, committed: list[Event] | None, known: dict[str, Case],
                  limit: int = 500) -> int:
        """Notify about ``committed`` events (just written by this service), or about what
        the outbox holds (``None``: recovery), and clear their outbox rows."""
        with self._uow_factory() as uow:
            pending = (committed if committed is not None
                       else uow.pending_notifications(limit=limit))
            summaries: dict[str, CaseSummary] = {}
            failures: list[NotificationFailure] = []
            for event in pending if self.plugins.has_notifiers() else ():
                ref = event.complaint_ref
                if ref not in summaries:
                    summaries[ref] = summarize(known.get(ref) or uow.cases.get(ref))
                failures += self.plugins.notify_after_event(masked_event(event), summaries[ref],
                                                            self.clock.now)
            for failure in failures:
                uow.record_notification_failure(failure)
                # the exception text may quote personal data: log only its type
                log.warning("notification plugin %s failed on %s %s (%s); stored as a "
                            "notification failure", failure.plugin, failure.complaint_ref,
                            failure.event_type, failure.error.split(":", 1)[0])
            uow.mark_notified([e.event_id for e in pending])
        return len(pending)


def _check_received(draft: ComplaintDraft, now: datetime, what: str) -> None:
    if draft.received_at > now + CLOCK_SKEW:
        raise InvalidInput(what, [FieldProblem(
            "received_at", draft.received_at.isoformat(),
            f"must not be in the future (now is {now.isoformat()})")],
            ["  - received_at：接收时间不能晚于当前时间"])


def build_service(settings: Settings | None = None, *, clock: Clock | None = None,
                  uow_factory: Callable[[], UnitOfWork] | None = None,
                  plugins: HCPluginManager | None = None,
                  load_entrypoints: bool = True,
                  blobs: BlobStore | None = None) -> ComplaintService:
    """A ready service: plugins loaded from entry points, in-memory storage unless given."""
    settings = settings or Settings.from_env()
    if plugins is None:
        plugins = HCPluginManager(blocked=settings.disabled_plugins,
                                  trace=settings.trace_hooks)
        if load_entrypoints:
            plugins.load_entrypoints()
    if uow_factory is None:
        store = InMemoryStore()

        def uow_factory() -> UnitOfWork:
            return InMemoryUnitOfWork(store)

    return ComplaintService(uow_factory, plugins, clock or SystemClock(settings.timezone),
                            settings, blobs=blobs)

"""``ComplaintService``: the one facade through which a host system performs every command.

Each call opens a unit of work, loads the case, lets the domain decide (transition table and
guards), and commits the new events atomically. Only after the commit are notification
plugins called; their failures are stored, never raised into the caller.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol

from ..clock import Clock, SystemClock, zone
from ..config import Settings
from ..domain import workflow
from ..domain.case import Case
from ..domain.commands import (
    COMMAND_BY_NAME,
    PUBLIC_COMMANDS,
    SERVICE_ONLY_COMMANDS,
    AddAttachment,
    Assign,
    Command,
    ExtendDeadline,
    RecordClusterAlert,
    RecordDeadlineAlert,
    RefuseAttachment,
    RefuseIdentity,
    RegisterComplaint,
    RevealIdentity,
    ViewAttachment,
)
from ..domain.complaint import Attachment, Complaint, ComplaintDraft
from ..domain.departments import DepartmentRegistry, normalise
from ..domain.events import Event
from ..domain.taxonomy import (
    OPEN_STATES,
    AlertKind,
    CaseState,
    Category,
    Channel,
    ComplaintKind,
)
from ..domain.validation import parse
from ..domain.views import CaseSummary, masked_event, summarize
from ..domain.workorder_commands import WORK_ORDER_TIMED
from ..errors import (
    AccessDenied,
    ConcurrencyConflict,
    FieldProblem,
    GuardFailed,
    InvalidInput,
    NotFound,
)
from ..gc_pause import paused_gc
from ..plugins.manager import HCPluginManager
from ..plugins.types import NotificationFailure, Viewer
from ..storage.base import DuplicateIntake, ListingQuery, UnitOfWork
from ..storage.blobs import DEFAULT_MAX_BYTES, BlobStore, MemoryBlobStore, check_head
from ..storage.memory import InMemoryStore, InMemoryUnitOfWork
from .access import AccessPolicy, RevealGrant

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


#: Received times this far in the future are accepted (clock skew between systems).
CLOCK_SKEW = timedelta(minutes=5)


class ComplaintService:
    def __init__(self, uow_factory: Callable[[], UnitOfWork], plugins: HCPluginManager,
                 clock: Clock, settings: Settings | None = None,
                 blobs: BlobStore | None = None, max_attachment_bytes: int = DEFAULT_MAX_BYTES,
                 departments: DepartmentRegistry | None = None, app: Any = None) -> None:
        self._uow_factory = uow_factory
        self._sla_policy: SlaPolicy | None = None
        self.blobs: BlobStore = blobs or MemoryBlobStore()
        self.max_attachment_bytes = max_attachment_bytes
        self.plugins = plugins
        self.clock = clock
        self.settings = settings or Settings()
        self.tz = zone(self.settings.timezone)
        self.departments = departments or DepartmentRegistry.builtin()
        #: the application this service belongs to, handed to plugins' hooks (may be None)
        self.app = app
        self.access = AccessPolicy(plugins, self.departments, app)

    # -- intake ----------------------------------------------------------------------------

    def intake(self, channel: str, raw: Mapping[str, Any], *, actor: str,
               idempotency_key: str | None = None) -> Case:
        """Register a raw channel submission, normalised by a ``hc_normalize_intake`` plugin."""
        fields = self.plugins.normalize_intake(channel, raw, self.app)
        if fields is None:
            raise InvalidInput("intake", [FieldProblem(
                "channel", channel,
                "no installed plugin normalises this channel; register a ComplaintDraft "
                "directly or install the channel's intake plugin")],
                [f"没有插件能处理渠道 {channel!r}"])
        return self.register(fields, actor=actor, idempotency_key=idempotency_key)

    def intake_once(self, channel: str, raw: Mapping[str, Any], *, actor: str,
                    idempotency_key: str | None = None) -> tuple[Case, bool]:
        """:meth:`intake`, also saying whether this call created the case."""
        fields = self.plugins.normalize_intake(channel, raw, self.app)
        if fields is None:
            return self.intake(channel, raw, actor=actor, idempotency_key=idempotency_key), True
        return self.register_once(fields, actor=actor, idempotency_key=idempotency_key)

    def register(self, draft: ComplaintDraft | Mapping[str, Any] | str, *, actor: str,
                 idempotency_key: str | None = None) -> Case:
        """Register a complaint. With an idempotency key (a hotline ticket id, a web-form
        submission id) a retry returns the case the first call created instead of a new one."""
        return self.register_once(draft, actor=actor, idempotency_key=idempotency_key)[0]

    def register_once(self, draft: ComplaintDraft | Mapping[str, Any] | str, *, actor: str,
                      idempotency_key: str | None = None) -> tuple[Case, bool]:
        """:meth:`register`, also saying whether this call created the case (``False``: the
        idempotency key was used before, and the first call's case is returned)."""
        draft = parse(ComplaintDraft, draft, "complaint")
        now = self.clock.now()
        _check_received(draft, now, "complaint")
        with self._uow_factory() as uow:
            if idempotency_key is not None:
                existing = uow.cases.find_by_idempotency_key(idempotency_key)
                if existing is not None:
                    return uow.cases.get(existing), False
            day = draft.received_at.astimezone(self.tz).date()
            reference = uow.cases.next_reference(self.settings.reference_prefix, day)
            case = self._new_case(reference, draft, actor, now)
            uow.cases.add(case, idempotency_key=idempotency_key)
            try:
                uow.commit()
            except DuplicateIntake as dup:  # a concurrent retry won the race
                return self.get(dup.reference), False
        self._notify(case, case.events)
        return case, True

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

    def register_bulk(self, rows: Iterable[BulkRow], *, actor: str, batch_size: int = 1000,
                      on_progress: Callable[[int], None] | None = None) -> BulkResult:
        """Register complaints from a file (``register --many``): each row is validated on
        its own, and a bad row is reported (its line, the field, what is allowed) and
        skipped, while the good rows of each ``batch_size`` rows read are stored in one
        transaction. A row whose idempotency key an earlier intake (or an earlier row) used
        is not stored again: the result names the case it made. Received times may be in
        the past, not the future. ``on_progress(rows read)`` is called after each batch.

        A batch runs with the cyclic garbage collector paused
        (:mod:`hospital_complaints.gc_pause`)."""
        result = BulkResult()
        seen: dict[str, int] = {}
        read = 0
        rows = iter(rows)
        now = self.clock.now()
        while True:
            with paused_gc():
                chunk = list(itertools.islice(rows, batch_size))
                if not chunk:
                    break
                read += len(chunk)
                pending = [(row, draft) for row in chunk
                           if (draft := self._bulk_draft(row, now, seen, result)) is not None]
                chunk.clear()
                self._store_bulk(pending, actor, result)
                pending.clear()  # the batch is freed before the collector runs again
            if on_progress is not None:
                on_progress(read)
        if on_progress is not None and read == 0:
            on_progress(0)
        return result

    @staticmethod
    def _bulk_draft(row: BulkRow, now: datetime, seen: dict[str, int],
                    result: BulkResult) -> ComplaintDraft | None:
        """The draft of one bulk row, or ``None`` with the row's error in ``result``."""
        if row.error is not None:
            result.refused.append((row.line, row.error))
            return None
        try:
            draft = parse(ComplaintDraft, row.data, f"line {row.line}")
            _check_received(draft, now, f"line {row.line}")
        except InvalidInput as exc:
            result.refused.append((row.line, exc))
            return None
        if row.key:
            if row.key in seen:
                result.refused.append((row.line, InvalidInput(f"line {row.line}", [
                    FieldProblem("idempotency_key", row.key,
                                 f"a key not used before in the file (line {seen[row.key]} "
                                 "has it)")], [f"  - idempotency_key：与第 {seen[row.key]} 行"
                                              "重复"])))
                return None
            seen[row.key] = row.line
        return draft

    def _store_bulk(self, pending: list[tuple[BulkRow, ComplaintDraft]], actor: str,
                    result: BulkResult) -> None:
        """Store one batch of good bulk rows, skipping those whose key is already taken."""
        if not pending:
            return
        keys = [r.key for r, _ in pending if r.key]
        with self._uow_factory() as uow:
            taken = uow.cases.find_by_idempotency_keys(keys) if keys else {}
        fresh = []
        for row, draft in pending:
            if row.key and row.key in taken:
                result.existing.append((row.line, taken[row.key]))
            else:
                fresh.append((row, draft))
        if fresh:
            refs = self._register_batch([d for _, d in fresh], actor,
                                        keys=[r.key for r, _ in fresh])
            result.registered += [(r.line, ref) for (r, _), ref in zip(fresh, refs,
                                                                       strict=True)]

    def _register_batch(self, drafts: list[ComplaintDraft], actor: str,
                        keys: Sequence[str | None] | None = None) -> list[str]:
        now = self.clock.now()
        for i, draft in enumerate(drafts):
            _check_received(draft, now, f"complaint #{i + 1} of the batch")
        with paused_gc():  # the batch's cases live until they are dispatched
            with self._uow_factory() as uow:
                by_day: dict[date, list[int]] = {}
                for i, d in enumerate(drafts):
                    by_day.setdefault(d.received_at.astimezone(self.tz).date(), []).append(i)
                refs = [""] * len(drafts)
                reserved = uow.cases.reserve_for_days(
                    self.settings.reference_prefix, {d: len(p) for d, p in by_day.items()})
                for day, positions in by_day.items():
                    for pos, ref in zip(positions, reserved[day], strict=True):
                        refs[pos] = ref
                cases = [self._new_case(ref, d, actor, now)
                         for ref, d in zip(refs, drafts, strict=True)]
                for i, case in enumerate(cases):
                    uow.cases.add(case, keys[i] if keys else None)
                uow.commit()
            # after the unit of work, as for one complaint: dispatch opens its own
            self._dispatch([e for c in cases for e in c.events],
                           known={c.reference: c for c in cases})
        return refs

    def _new_case(self, reference: str, draft: ComplaintDraft, actor: str,
                  now: datetime) -> Case:
        # what the classifiers see: the validated draft with its reference (built without
        # validating the draft a second time)
        probe = Complaint.model_construct(reference=reference, **dict(draft))
        suggestions = self.plugins.suggest_categories(probe, self.app)
        case = workflow.start(reference, RegisterComplaint(complaint=draft,
                              suggestions=suggestions), actor, now)
        if draft.department is None:
            routing = self.plugins.route(case.complaint, self.app)
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
        reference = normalise_reference(reference)
        cmd = self.parse_command(command) if isinstance(command, tuple) else command
        if cmd.name in SERVICE_ONLY_COMMANDS:
            raise InvalidInput("command", [FieldProblem(
                "command", cmd.name, "only the service issues this command, through "
                f"{SERVICE_ONLY_COMMANDS[cmd.name]}; a caller may submit: "
                + ", ".join(PUBLIC_COMMANDS))],
                [f"  - command：「{cmd.name}」只能由系统通过 {SERVICE_ONLY_COMMANDS[cmd.name]} "
                 f"执行；可提交的操作：{', '.join(PUBLIC_COMMANDS)}"])
        return self._execute(reference, cmd, actor=actor, reason=reason,
                             expected_version=expected_version)

    def _execute(self, reference: str, cmd: Command, *, actor: str, reason: str | None = None,
                 expected_version: int | None = None) -> Event:
        """Carry out any command, service-only ones included (callers inside the service)."""
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
            cmd = self.before_command(case, cmd)
            event = workflow.handle(case, cmd, actor, self.clock.now(), reason)
            uow.commit()
        self._notify(case, [event])
        return event

    def execute_all(self, reference: str, commands: Sequence[Command], *, actor: str,
                    reason: str | None = None) -> list[Event]:
        """Carry out several public commands on one case in one transaction: every event
        is stored, or none (e.g. accepting an evidence pack)."""
        reference = normalise_reference(reference)
        for cmd in commands:
            if cmd.name in SERVICE_ONLY_COMMANDS:
                raise InvalidInput("command", [FieldProblem(
                    "command", cmd.name, "only the service issues this command")],
                    [f"  - command：「{cmd.name}」只能由系统执行"])
        with self._uow_factory() as uow:
            case = uow.cases.get(reference)
            now = self.clock.now()
            events = []
            for cmd in commands:
                cmd = self.before_command(case, cmd)
                events.append(workflow.handle(case, cmd, actor, now, reason))
            uow.commit()
        self._notify(case, events)
        return events

    def record_cluster_alerts(self, clusters: Iterable[Any], window_days: int) -> int:
        """Record each cluster of complaints (correlation summary) once, as a
        ``cluster_alert`` event on its latest complaint (actor ``system:correlation``).
        Notifiers receive it through the outbox like any event. Returns how many were new."""
        recorded = 0
        for cl in clusters:
            ref = cl.complaint_refs[-1]
            try:
                with self._uow_factory() as uow:
                    case = uow.cases.get(ref)
                    event = workflow.handle(case, RecordClusterAlert(
                        kind=cl.kind, key=cl.key, complaint_refs=list(cl.complaint_refs),
                        first=cl.first, last=cl.last, window_days=window_days),
                        "system:correlation", self.clock.now())
                    uow.commit()
            except GuardFailed:  # raised before: each cluster is recorded once
                continue
            except ConcurrencyConflict:
                log.warning("cluster alert on %s skipped: changed concurrently", ref)
                continue
            recorded += 1
            self._notify(case, [event])
        return recorded

    def before_command(self, case: Case, command: Command) -> Command:
        """Checks that need more than the case: an extension must fit the SLA policy; a work
        order's time limits are its regional profile's (``app.workorders``), which may also
        fill what the profile decides (a redo's deadline). Returns the command to handle."""
        if isinstance(command, ExtendDeadline):
            from ..sla import check_extension

            check_extension(self.sla_policy(), case, command.milestone, command.days,
                            command.consent)
        if self.app is not None and command.name in WORK_ORDER_TIMED:
            checked: Command = self.app.workorders.before(case, command, self.clock.now())
            return checked
        return command

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
    def parse_command(command: tuple[str, Any]) -> Command:
        """A command a caller submitted by name, with its fields as a JSON object."""
        name, fields = command
        cls = COMMAND_BY_NAME.get(name)
        if cls is None or name in SERVICE_ONLY_COMMANDS:
            names = ", ".join(PUBLIC_COMMANDS)
            raise InvalidInput("command", [FieldProblem("command", name, f"one of: {names}")],
                               [f"  - command：未知或不可提交的操作 {name!r}；可提交：{names}"])
        if not isinstance(fields, Mapping):
            raise InvalidInput(f"command '{name}'", [FieldProblem(
                "(fields)", _kind_of(fields),
                "a JSON object of the command's fields, e.g. {\"method\": \"phone\"}")],
                [f"  - 「{name}」的字段须为 JSON 对象（{{...}}），收到的是 {_kind_of(fields)}"])
        return parse(cls, fields, f"command '{name}'")

    # -- attachments -------------------------------------------------------------------------

    def attach(self, reference: str, data: bytes | BinaryIO, filename: str, *,
               actor: str) -> Event:
        """Store a file (streamed; size and type checked; encrypted by the file store) and
        record it on the case.

        The case is checked first (it exists, and its state takes attachments), so a refused
        attachment reads nothing it does not need and writes no blob; the blob becomes
        visible only together with the ``attachment_added`` event.
        """
        name = _attachment_name(filename)
        reference = normalise_reference(reference)
        with self._uow_factory() as uow:
            workflow.next_state(uow.cases.get(reference).state, AddAttachment.name)
        staged = self.blobs.stage(data, name, self.max_attachment_bytes)
        try:
            media_type = check_head(staged.head, staged.size, name, self.max_attachment_bytes)
            attachment = Attachment(reference=staged.key, sha256=staged.sha256, filename=name,
                                    media_type=media_type, size_bytes=staged.size)
            with self._uow_factory() as uow:
                case = uow.cases.get(reference)
                event = workflow.handle(case, AddAttachment(attachment=attachment), actor,
                                        self.clock.now())
                staged.commit()
                try:
                    uow.commit()
                except BaseException:
                    if staged.created:
                        self.blobs.delete(staged.key)
                    raise
        except BaseException:
            staged.discard()
            raise
        self._notify(case, [event])
        return event

    # -- identity ----------------------------------------------------------------------------

    def reveal_identity(self, reference: str, viewer: Viewer, purpose: str) -> dict[str, Any]:
        """The complainant's and patient's identity, unmasked, if the access decision allows.

        The decision (:class:`AccessPolicy`) is recorded on the case either way: an
        ``identity_revealed`` event, or an ``identity_reveal_refused`` event followed by
        :class:`AccessDenied`.
        """
        reference = normalise_reference(reference)
        grants = self.reveal_many([reference], viewer, purpose)
        if reference not in grants:
            raise self._denied(reference, viewer)
        c = self.get(reference).complaint
        return {
            "reference": reference,
            "complainant": c.complainant.model_dump(mode="json", exclude_none=True),
            "patient": c.patient.model_dump(mode="json") if c.patient else None,
        }

    def reveal_many(self, references: Iterable[str], viewer: Viewer,
                    purpose: str) -> dict[str, RevealGrant]:
        """Decide, for each case, whether ``viewer`` may see its identity (an export with
        identity, a batch of call-backs). Every decision is recorded on its case, allowed or
        refused, in one transaction; returns the grants of the allowed ones. Exporters
        reveal a case only when they hold its grant."""
        if not purpose.strip():
            raise InvalidInput("reveal", [FieldProblem("purpose", purpose, "say why you need "
                                                       "to see the identity")],
                               ["  - purpose：请说明查看身份信息的理由"])
        now = self.clock.now()
        grants: dict[str, RevealGrant] = {}
        touched: list[tuple[Case, Event]] = []
        department = self.access.viewer_department_id(viewer) or viewer.department
        with self._uow_factory() as uow:
            for reference in dict.fromkeys(normalise_reference(r) for r in references):
                case = uow.cases.get(reference)
                decision = self.access.decide(viewer, case.complaint, purpose)
                fields: dict[str, Any] = {
                    "viewer": viewer.user, "roles": sorted(viewer.roles),
                    "viewer_department": department, "purpose": purpose,
                    "decided_by": decision.decided_by, "decision_reason": decision.reason}
                command: Command = (RevealIdentity(**fields) if decision.allowed
                                    else RefuseIdentity(**fields))
                event = workflow.handle(case, command, viewer.user, now, purpose)
                touched.append((case, event))
                if decision.allowed:
                    grants[reference] = RevealGrant(reference, viewer.user, decision.decided_by,
                                                    event.event_id)
            uow.commit()
        for case, event in touched:
            self._notify(case, [event])
        return grants

    def read_attachment(self, reference: str, sha256: str, viewer: Viewer,
                        purpose: str) -> tuple[Attachment, Iterator[bytes]]:
        """Open an attachment of a case: decided like identity (an attachment may show
        who complained), recorded either way (``attachment_viewed`` or
        ``attachment_view_refused``), then streamed decrypted. Raises :class:`AccessDenied`
        when refused, :class:`NotFound` for an unknown attachment."""
        reference = normalise_reference(reference)
        if not purpose.strip():
            raise InvalidInput("attachment", [FieldProblem("purpose", purpose, "say why you "
                                                           "need to open the attachment")],
                               ["  - purpose：请说明查看附件的理由"])
        digest = sha256.removeprefix("sha256:").lower()
        case = self.get(reference)
        attachment = next((a for a in case.complaint.attachments if a.sha256 == digest), None)
        if attachment is None:
            raise NotFound(f"{reference} has no attachment with SHA-256 {digest[:12]}...",
                           f"{reference} 没有 SHA-256 为 {digest[:12]}... 的附件")
        department = self.access.viewer_department_id(viewer) or viewer.department
        with self._uow_factory() as uow:
            case = uow.cases.get(reference)
            decision = self.access.decide(viewer, case.complaint, purpose)
            fields: dict[str, Any] = {
                "sha256": digest, "viewer": viewer.user, "roles": sorted(viewer.roles),
                "viewer_department": department, "purpose": purpose,
                "decided_by": decision.decided_by, "decision_reason": decision.reason}
            command: Command = (ViewAttachment(**fields) if decision.allowed
                                else RefuseAttachment(**fields))
            event = workflow.handle(case, command, viewer.user, self.clock.now(), purpose)
            uow.commit()
        self._notify(case, [event])
        if not decision.allowed:
            raise AccessDenied(
                f"{viewer.user} may not open attachments of {reference} (decided by "
                f"{decision.decided_by}: {decision.reason or 'not allowed'}); the attempt is "
                "recorded",
                f"{viewer.user} 无权查看 {reference} 的附件（{decision.decided_by}）；"
                "本次尝试已记录")
        reader = getattr(self.blobs, "read_chunks", None)
        chunks: Iterator[bytes] = reader(attachment.reference) if reader is not None \
            else iter([self.blobs.get(attachment.reference)])
        return attachment, chunks

    def _denied(self, reference: str, viewer: Viewer) -> AccessDenied:
        event = self.get(reference).events[-1]
        by = event.payload.get("decided_by", "?")
        why = event.payload.get("decision_reason") or "not allowed"
        return AccessDenied(
            f"{viewer.user} may not see the identity in {reference} (decided by {by}: {why}); "
            "the attempt is recorded",
            f"{viewer.user} 无权查看 {reference} 的身份信息（{by}：{why}）；本次尝试已记录",
        )

    # -- queries ---------------------------------------------------------------------------

    def get(self, reference: str) -> Case:
        with self._uow_factory() as uow:
            return uow.cases.get(normalise_reference(reference))

    def history(self, reference: str) -> list[Event]:
        """The case's events, personal data masked."""
        return [masked_event(e) for e in self.get(reference).events]

    def iter_cases(self, *, open_only: bool = False,
                   filters: CaseFilter | None = None, batch: int = 500) -> Iterator[Case]:
        """Cases in listing order (time received); ``filters`` selects in the store (state,
        department and its units, channel, kind, category, received dates). Cases are read
        ``batch`` at a time, so an export or a sweep never holds them all."""
        query = self.listing_query(filters or CaseFilter(), open_only=open_only)
        with self._uow_factory() as uow:
            refs = uow.cases.references(query)
            for i in range(0, len(refs), batch):
                yield from uow.cases.get_many(refs[i:i + batch])

    def list_cases(self, *, state: str | None = None, department: str | None = None,
                   open_only: bool = False, filters: CaseFilter | None = None,
                   limit: int | None = None, after: str | None = None) -> list[CaseSummary]:
        """Masked summaries in listing order (time received), selected and paged by the store
        (``limit``, and ``after``: the last reference of the previous page). ``department`` is
        matched on the department registry: a name, alias or id finds the cases of that
        department and of its units."""
        f = filters or CaseFilter()
        if state is not None or department is not None:
            f = replace(f, states=(state,) if state else f.states,
                        department=department or f.department)
        query = replace(self.listing_query(f, open_only=open_only), limit=limit,
                        after=normalise_reference(after) if after else None)
        with self._uow_factory() as uow:
            return [CaseSummary.model_validate(row) for row in uow.cases.list_summaries(query)]

    def listing_query(self, f: CaseFilter, *, open_only: bool = False) -> ListingQuery:
        """A person's filter as the store's query (checked: a bad value lists the allowed)."""
        f.check()
        states = f.states
        if open_only or f.open_only:
            open_values = tuple(s.value for s in OPEN_STATES)
            states = tuple(s for s in states if s in open_values) if states else open_values
            if f.states and not states:
                states = ("(none)",)
        keys: frozenset[str] | None = None
        if f.department is not None:
            found = self.departments.resolve(f.department)
            keys = self.departments.names_within(found.id) if found is not None \
                else frozenset({normalise(f.department)})
        start = end = None
        if f.received_from is not None:
            start = int(datetime.combine(f.received_from, time(0), self.tz).timestamp())
        if f.received_to is not None:
            end = int(datetime.combine(f.received_to + timedelta(days=1), time(0),
                                       self.tz).timestamp())
        return ListingQuery(states=states, channel=f.channel, kind=f.kind, category=f.category,
                            department_keys=keys, received_from_s=start,
                            received_before_s=end)

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
                                                            self.clock.now, self.app)
            for failure in failures:
                uow.record_notification_failure(failure)
                # the exception text may quote personal data: log only its type
                log.warning("notification plugin %s failed on %s %s (%s); stored as a "
                            "notification failure", failure.plugin, failure.complaint_ref,
                            failure.event_type, failure.error.split(":", 1)[0])
            uow.mark_notified([e.event_id for e in pending])
        return len(pending)


@dataclass(frozen=True)
class BulkRow:
    """One complaint of a bulk file: its line, the fields (or why they could not be read),
    and its idempotency key."""

    line: int
    data: Mapping[str, Any] | None
    key: str | None = None
    error: InvalidInput | None = None


@dataclass
class BulkResult:
    """What ``register_bulk`` did, by line: registered (line, reference), already there
    (line, the reference an earlier intake made), refused (line, the error)."""

    registered: list[tuple[int, str]] = field(default_factory=list)
    existing: list[tuple[int, str]] = field(default_factory=list)
    refused: list[tuple[int, InvalidInput]] = field(default_factory=list)


@dataclass(frozen=True)
class CaseFilter:
    """Which cases a listing or export shows. Empty fields do not filter."""

    states: tuple[str, ...] = ()
    open_only: bool = False
    department: str | None = None
    channel: str | None = None
    kind: str | None = None
    category: str | None = None
    received_from: date | None = None
    received_to: date | None = None

    def check(self) -> None:
        """Every value must be a known state, channel, kind or category."""
        problems = []
        for name, values, enum in (("state", self.states, CaseState),
                                   ("channel", (self.channel,), Channel),
                                   ("kind", (self.kind,), ComplaintKind),
                                   ("category", (self.category,), Category)):
            allowed = [m.value for m in enum]
            for v in values:
                if v is not None and v not in allowed:
                    problems.append(FieldProblem(name, v, f"one of: {', '.join(allowed)}"))
        if self.received_from and self.received_to and self.received_from > self.received_to:
            problems.append(FieldProblem("received_from", self.received_from.isoformat(),
                                         f"a day on or before received_to "
                                         f"({self.received_to.isoformat()})"))
        if problems:
            raise InvalidInput("filter", problems,
                               [f"  - {p.field}：取值无效（{p.allowed}）" for p in problems])


def normalise_reference(reference: str) -> str:
    """References are upper case (``HC-20261116-0001``); ``hc-20261116-0001`` finds it."""
    return reference.strip().upper()


def _attachment_name(filename: str) -> str:
    """The file's own name (no folders), at most 255 characters."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1].strip()
    if not name or len(name) > 255 or any(ord(c) < 32 for c in name):
        raise InvalidInput("attachment", [FieldProblem(
            "filename", name[:40], "a file name of 1-255 printable characters")],
            ["  - filename：文件名须为 1-255 个可打印字符"])
    return name


def _kind_of(value: Any) -> str:
    """What a JSON value is, without quoting it (it may hold personal data)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


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

"""Every hook of hospital-complaints, in one module.

Conventions (see docs/hooks.md, which a test keeps complete):

- Hooks are prefixed ``hc_`` and called with keyword arguments. An implementation may accept
  fewer arguments than the spec lists.
- ``firstresult`` hooks are decisions: the first non-``None`` answer wins, and an
  implementation that cannot decide returns ``None`` to abstain.
- ``hc_register_*`` hooks hand the plugin a ``register`` callback; the core owns the registry
  and validates what is registered (unique ids, right type).
- Notification hooks (``hc_after_event``) never change or roll back a case: an exception in one
  implementation is recorded as a notification failure and the others still run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import hookspec

if TYPE_CHECKING:
    import click

    from ..app import App
    from ..correlation.records import ExamRecord
    from ..domain.complaint import CategorySuggestion, Complaint
    from ..domain.events import Event
    from ..domain.imaging import ExamSource, FaultSource
    from ..domain.notifications import ExamContact, Notifier
    from ..domain.views import CaseSummary
    from ..reports.build import FollowUpSource, ReportDefinition
    from ..settings import PluginSettings
    from ..sla.policy import SlaPolicy
    from .types import (
        AccessDecision,
        DemoFeed,
        EncryptedData,
        Exporter,
        IntegrityCheck,
        Job,
        Routing,
        Viewer,
    )


@hookspec(firstresult=True)
def hc_normalize_intake(channel: str, raw: Mapping[str, Any],
                        app: App) -> dict[str, Any] | None:
    """Turn one channel's raw submission into the fields of a ``ComplaintDraft``.

    :param channel: the channel name the host used, e.g. ``"hotline_platform"`` or a plugin's
        own name such as ``"12320-ticket"``.
    :param raw: the submission as the channel delivered it (parsed JSON, form fields ...).
    :return: a dict that validates as ``ComplaintDraft``, or ``None`` to abstain (this plugin
        does not know the channel). First non-``None`` result wins.
    :param app: the application (``app.plugin_config("<plugin>")`` is this plugin's
        settings section). Accept it only if needed.
    """


@hookspec
def hc_suggest_categories(complaint: Complaint, app: App) -> list[CategorySuggestion] | None:
    """Suggest categories for a newly registered complaint.

    :param complaint: the complaint as registered (identity fields are present; do not log
        them).
    :return: suggestions with a confidence and the words that matched, or ``None``. All
        plugins' suggestions are merged (highest confidence per category). They are stored on
        the case and shown to the clerk; a clerk's ``classify`` command applies them.
    :param app: the application (``app.plugin_config("<plugin>")`` is this plugin's
        settings section). Accept it only if needed.
    """


@hookspec(firstresult=True)
def hc_route(complaint: Complaint, app: App) -> Routing | None:
    """Decide which department (and owner) a new case goes to.

    :param complaint: the complaint as registered.
    :return: a ``Routing``, or ``None`` to abstain. First non-``None`` result wins. The
        decision is recorded as an ``assigned`` event by ``system:routing``.
    :param app: the application (``app.plugin_config("<plugin>")`` is this plugin's
        settings section). Accept it only if needed.
    """


@hookspec
def hc_register_sla_policies(register: Callable[[SlaPolicy], None], app: App) -> None:
    """Provide deadline policies (SLA profiles).

    :param register: call it once per ``SlaPolicy``. Ids must be unique across plugins.
    :param app: the application (``app.plugin_config("<plugin>")`` is this plugin's
        settings section; ``app.settings`` the whole tree). Accept it only if needed.
    """


@hookspec
def hc_after_event(event: Event, case: CaseSummary, app: App) -> None:
    """Notify after an event is committed (e-mail, webhook, message bus ...).

    :param event: the committed event, with personal data in its payload masked.
    :param case: a masked summary of the case after the event.
    :param app: the application (``app.plugin_config("<plugin>")`` is this plugin's
        settings section). Accept it only if needed.

    Runs after the commit: raising here never rolls back or loses the case; the failure is
    stored as a ``NotificationFailure`` naming the plugin, and the other plugins still run.
    """


@hookspec
def hc_register_notifiers(register: Callable[[Notifier], None], app: App) -> None:
    """Provide transports for durable delivery (webhook, e-mail, AMQP, NATS, WeCom, SMS).

    :param register: call it once per ``Notifier`` (``id``, ``description``,
        ``deliver(delivery)``; optionally ``event_types`` and ``max_attempts``). Ids must be
        unique and stable: each committed event gets one outbox row per notifier that wants
        its type, written in the event's transaction, and the worker delivers it at least
        once, in order per case, retrying with backoff (docs/notifications.md).
    :param app: the application (``app.plugin_config("<plugin>")`` is this plugin's
        settings section). Accept it only if needed.

    A notifier receives personal data masked unless the site lists its id in
    ``HC_NOTIFY_TRUSTED``; a report's (举报) complainant never.
    """


@hookspec
def hc_register_jobs(register: Callable[[Job], None], app: App) -> None:
    """Provide scheduled jobs for ``hospital-complaints worker`` (a platform poller, a
    nightly export).

    :param register: call it once per ``Job(name, every_s, run)``; ``run()`` returns a short
        line for the log. Names must be unique; the worker runs each job in one worker at a
        time (a named lock), every ``every_s`` seconds, and keeps going if it raises.
    :param app: the application. Accept it only if needed.
    """


@hookspec(firstresult=True)
def hc_exam_contact(accession_number: str, app: App) -> ExamContact | None:
    """How to reach the patient of an exam for a survey invitation, and whether they agreed.

    :param accession_number: the exam (the exam table keeps no patient identity; the HIS or
        RIS knows who it was).
    :param app: the application. Accept it only if needed.
    :returns: an ``ExamContact`` (recipient, consented), or ``None`` when this plugin cannot
        tell. Without an answer, or without consent, no invitation is made.
    """


@hookspec
def hc_register_exam_sources(register: Callable[[ExamSource], None], app: App) -> None:
    """Provide sources of imaging exam events (RIS/PACS feeds, FHIR servers, files).

    :param register: call it once per ``ExamSource`` (an object with ``id`` and
        ``read_exam_events()``).
    :param app: the application (``app.plugin_config("<plugin>")`` is this plugin's
        settings section; ``app.settings`` the whole tree). Accept it only if needed.
    """


@hookspec
def hc_register_fault_sources(register: Callable[[FaultSource], None], app: App) -> None:
    """Provide sources of equipment faults and repair work orders (CMMS, files).

    :param register: call it once per ``FaultSource`` (an object with ``id`` and
        ``read_faults()``).
    :param app: the application (``app.plugin_config("<plugin>")`` is this plugin's
        settings section; ``app.settings`` the whole tree). Accept it only if needed.
    """


@hookspec
def hc_register_exporters(register: Callable[[Exporter], None], app: App) -> None:
    """Provide export mappers (CSV, JSON lines, FHIR bundles, reports).

    :param register: call it once per ``Exporter`` (``id``, ``description``, ``export()``).
    :param app: the application (``app.plugin_config("<plugin>")`` is this plugin's
        settings section; ``app.settings`` the whole tree). Accept it only if needed.
    """


@hookspec(firstresult=True)
def hc_can_reveal_identity(viewer: Viewer, complaint: Complaint, purpose: str,
                           app: App) -> AccessDecision | bool | None:
    """Decide whether ``viewer`` may see the complainant's and patient's identity unmasked.

    :param viewer: who asks (user, roles, department id).
    :param complaint: the complaint concerned.
    :param purpose: why, as the viewer stated it (recorded on the audit event).
    :return: an ``AccessDecision`` naming your plugin (``AccessDecision.allow("my_plugin",
        reason)`` / ``.refuse(...)``), or ``None`` to abstain. A bare ``True``/``False`` is
        accepted but recorded as unattributed; any other value is an error and refuses.
        First non-``None`` answer wins; when every plugin abstains the answer is no.
        Whatever plugins say, a report's (举报) complainant is never revealed to anyone of
        the department it concerns, nor to a viewer whose department is unknown. Every
        decision, allowed or refused, is recorded on the case as an audit event.
    :param app: the application (``app.plugin_config("<plugin>")`` is this plugin's
        settings section). Accept it only if needed.
    """


@hookspec
def hc_register_integrity_checks(register: Callable[[IntegrityCheck], None], app: App) -> None:
    """Provide tamper checks of a plugin's own tables, run by ``audit verify``.

    :param register: call it once per ``IntegrityCheck`` (``id``, ``description``,
        ``check(store) -> list[str]``). Ids must be unique across plugins.
    :param app: the application (``app.plugin_config("<plugin>")`` is this plugin's
        settings section; ``app.settings`` the whole tree). Accept it only if needed.
    """


@hookspec
def hc_register_encrypted_data(register: Callable[[EncryptedData], None], app: App) -> None:
    """Declare a plugin's tables that are encrypted with the key ring, for key rotation.

    :param register: call it once per ``EncryptedData`` (``id``, ``description``,
        ``key_ids(store)``, ``rotate(store)``). ``keys status`` lists their key ids and
        ``keys rotate`` re-encrypts them under the current key.
    :param app: the application (``app.plugin_config("<plugin>")`` is this plugin's
        settings section; ``app.settings`` the whole tree). Accept it only if needed.
    """


@hookspec
def hc_register_settings(register: Callable[[PluginSettings], None]) -> None:
    """Declare the plugin's settings section: a pydantic model and the environment variables
    that may set its keys.

    :param register: call it once with ``PluginSettings(id="myplugin", model=MySettings,
        env={"server": "HC_MYPLUGIN_SERVER"})``. The core reads those variables (and the
        settings file's ``[plugins.myplugin]`` table) in its one settings loader, checks the
        section at start-up with zh/en errors, and hands it out as
        ``app.plugin_config("myplugin")``. Plugins never read the environment themselves.
    """


@hookspec(firstresult=True)
def hc_demo_exam_feed(app: App, exams: Sequence[ExamRecord]) -> DemoFeed | None:
    """Show the demo's exams arriving through this plugin, as its source system would send
    them (the HL7 v2 adapter renders them as a RIS's messages and receives them through its
    listener's path).

    :param app: the demo's application (its store holds the demo's database).
    :param exams: the week's exam records.
    :return: a ``DemoFeed`` (lines to print, whether every exam was stored), or ``None`` to
        abstain; when every plugin abstains the demo stores the exams directly.
    """


@hookspec
def hc_register_cli_commands(cli: click.Group) -> None:
    """Add sub-commands to the ``hospital-complaints`` command line (``hl7``, ``fhir`` ...).

    :param cli: the top-level click group; call ``cli.add_command(...)``.
    """


@hookspec
def hc_register_migrations(register: Callable[[str | Path], None], app: App) -> None:
    """Provide Alembic version directories for a plugin's own tables (an Alembic branch).

    :param register: call it once per directory holding the plugin's revision files. Each
        plugin's chain is its own branch (``branch_labels=("myplugin",)``,
        ``down_revision=None``, no ``depends_on`` on a core revision: see docs/hooks.md);
        the core upgrades every registered branch together with its own chain to ``heads``
        (:meth:`HCPluginManager.migration_locations` collects them).
    :param app: the application (``app.plugin_config("<plugin>")`` is this plugin's
        settings section). Accept it only if needed.
    """


@hookspec
def hc_register_reports(register: Callable[[ReportDefinition], None], app: App) -> None:
    """Provide reports (the monthly report, returns, a hospital's own).

    :param register: call it once per ``ReportDefinition`` (``id``, zh/en ``title`` and
        ``description``, ``build(data, request) -> Report``). Ids must be unique across
        plugins. ``build`` reads through ``data`` (case facts without identity, units, the
        SLA policy, follow-up results, imaging figures), never the store directly.
    :param app: the application (``app.plugin_config("<plugin>")`` is this plugin's
        settings section; ``app.settings`` the whole tree). Accept it only if needed.
    """


@hookspec
def hc_register_follow_up_sources(register: Callable[[FollowUpSource], None],
                                  app: App) -> None:
    """Provide follow-up results for reports besides the cases' own follow-ups (patient
    surveys after an exam or after closing).

    :param register: call it once per ``FollowUpSource`` (``id``, zh/en ``title``,
        ``results(start, end)`` yielding ``FollowUpResult``). Ids must be unique.
    :param app: the application (``app.plugin_config("<plugin>")`` is this plugin's
        settings section). Accept it only if needed.
    """

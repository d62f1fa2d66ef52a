"""What a plugin or adapter may use of the core: this module, and nothing else.

Everything here keeps working across releases (a removal goes through a deprecation first);
everything not here is private to the core and may change without notice. The adapters in this
repository (HL7 v2, FHIR, DICOM, HTTP) and the keyword classifier use only this module, and a
test fails when one imports a private core module. Test a plugin with
:mod:`hospital_complaints.testing`.

A plugin is handed the :class:`App` in its hooks (``hc_register_*(register, app)``) and reads
its settings with ``app.plugin_config("<its id>")`` (declared with ``hc_register_settings``);
it never reads the environment. See docs/hooks.md and docs/plugin-template.md.
"""

from __future__ import annotations

from .app import App, bootstrap
from .cli.context import get_app as cli_app
from .cli.context import get_service as cli_service
from .cli.errors import ErrorBoundaryGroup
from .cli.output import console, styled
from .clock import Clock, FixedClock, SystemClock, zone
from .correlation.evidence import EvidencePack
from .correlation.records import ExamRecord
from .correlation.summary import DepartmentSummary
from .domain import taxonomy, workflow
from .domain.case import Case
from .domain.commands import (
    COMMAND_BY_EVENT,
    COMMAND_BY_NAME,
    PUBLIC_COMMANDS,
    Acknowledge,
    AddEvidence,
    AddTeamMember,
    Assign,
    Classify,
    Close,
    Command,
    Decline,
    ExtendDeadline,
    LinkExam,
    LogCommunication,
    PlanAction,
    RecordFinding,
    RecordFollowUp,
    RecordProgress,
    Refer,
    RegisterComplaint,
    Reopen,
    Respond,
    StartInvestigation,
    VerifyAction,
    WaiveFollowUp,
    Withdraw,
)
from .domain.complaint import (
    Attachment,
    CategorySuggestion,
    CommunicationEntry,
    Complainant,
    Complaint,
    ComplaintDraft,
    EvidenceItem,
    ExamLink,
    Finding,
    FollowUp,
    Outcome,
    PatientRef,
    ProgressCheck,
    RectificationAction,
    Response,
    StaffRef,
    TeamMember,
    Verification,
)
from .domain.events import Event
from .domain.imaging import (
    EquipmentFault,
    ExamEvent,
    ExamSource,
    FaultSource,
    IncrementalExamSource,
    RosterShift,
)
from .domain.notifications import Delivery, DeliveryRefused, ExamContact, Notifier, Recipient
from .domain.personal import Personal, mask_dump, mask_value
from .domain.taxonomy import (
    ActionStatus,
    ActionType,
    CaseState,
    Category,
    Channel,
    ComplainantRole,
    ComplaintKind,
    Complexity,
    ContactMethod,
    Direction,
    EvidenceType,
    ExamEventType,
    Harm,
    OutcomeKind,
    Severity,
    TeamRole,
    allowed,
    label,
)
from .domain.validation import parse, to_invalid_input
from .domain.views import CaseSummary, masked_event, summarize
from .errors import (
    AccessDenied,
    ConcurrencyConflict,
    ConfigError,
    FieldProblem,
    GuardFailed,
    HospitalComplaintsError,
    IllegalTransition,
    InvalidInput,
    NotFound,
    PluginError,
    WorkflowError,
)
from .files import decode, load_json, read_text
from .plugins import hookimpl
from .plugins.types import (
    AccessDecision,
    DemoFeed,
    EncryptedData,
    Exporter,
    IntegrityCheck,
    Job,
    NotificationFailure,
    Routing,
    Viewer,
)
from .services.access import RevealGrant
from .services.imaging import ExamTransaction
from .services.service import CaseFilter, ComplaintService
from .services.surveys import SurveyLinkError
from .settings import PluginSettings, Settings
from .sla import case_deadlines
from .storage.keys import EncryptionKeyError, KeyRing
from .storage.sql import SqlStore
from .storage.sql.exams import ImagingRepository

__all__ = [
    "COMMAND_BY_EVENT",
    "COMMAND_BY_NAME",
    "PUBLIC_COMMANDS",
    "AccessDecision",
    "AccessDenied",
    "Acknowledge",
    "ActionStatus",
    "ActionType",
    "AddEvidence",
    "AddTeamMember",
    "App",
    "Assign",
    "Attachment",
    "Case",
    "CaseFilter",
    "CaseState",
    "CaseSummary",
    "Category",
    "CategorySuggestion",
    "Channel",
    "Classify",
    "Clock",
    "Close",
    "Command",
    "CommunicationEntry",
    "Complainant",
    "ComplainantRole",
    "Complaint",
    "ComplaintDraft",
    "ComplaintKind",
    "ComplaintService",
    "Complexity",
    "ConcurrencyConflict",
    "ConfigError",
    "ContactMethod",
    "Decline",
    "Delivery",
    "DeliveryRefused",
    "DemoFeed",
    "DepartmentSummary",
    "Direction",
    "EncryptedData",
    "EncryptionKeyError",
    "EquipmentFault",
    "ErrorBoundaryGroup",
    "Event",
    "EvidenceItem",
    "EvidencePack",
    "EvidenceType",
    "ExamContact",
    "ExamEvent",
    "ExamEventType",
    "ExamLink",
    "ExamRecord",
    "ExamSource",
    "ExamTransaction",
    "Exporter",
    "ExtendDeadline",
    "FaultSource",
    "FieldProblem",
    "Finding",
    "FixedClock",
    "FollowUp",
    "GuardFailed",
    "Harm",
    "HospitalComplaintsError",
    "IllegalTransition",
    "ImagingRepository",
    "IncrementalExamSource",
    "IntegrityCheck",
    "InvalidInput",
    "Job",
    "KeyRing",
    "LinkExam",
    "LogCommunication",
    "NotFound",
    "NotificationFailure",
    "Notifier",
    "Outcome",
    "OutcomeKind",
    "PatientRef",
    "Personal",
    "PlanAction",
    "PluginError",
    "PluginSettings",
    "ProgressCheck",
    "Recipient",
    "RecordFinding",
    "RecordFollowUp",
    "RecordProgress",
    "RectificationAction",
    "Refer",
    "RegisterComplaint",
    "Reopen",
    "Respond",
    "Response",
    "RevealGrant",
    "RosterShift",
    "Routing",
    "Settings",
    "Severity",
    "SqlStore",
    "StaffRef",
    "StartInvestigation",
    "SurveyLinkError",
    "SystemClock",
    "TeamMember",
    "TeamRole",
    "Verification",
    "VerifyAction",
    "Viewer",
    "WaiveFollowUp",
    "Withdraw",
    "WorkflowError",
    "allowed",
    "bootstrap",
    "case_deadlines",
    "cli_app",
    "cli_service",
    "console",
    "decode",
    "hookimpl",
    "label",
    "load_json",
    "mask_dump",
    "mask_value",
    "masked_event",
    "parse",
    "read_text",
    "styled",
    "summarize",
    "taxonomy",
    "to_invalid_input",
    "workflow",
    "zone",
]

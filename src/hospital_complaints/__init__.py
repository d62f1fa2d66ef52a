"""hospital-complaints: complaint handling for hospital information systems.

The public API is re-exported here; everything else is private by convention.

>>> from hospital_complaints import build_service, FixedClock
>>> service = build_service()
"""

from importlib.metadata import PackageNotFoundError, version

from .clock import Clock, FixedClock, SystemClock
from .config import Settings
from .domain.case import Case
from .domain.commands import (
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
    RecordDeadlineAlert,
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
    Complainant,
    Complaint,
    ComplaintDraft,
    ExamLink,
    Outcome,
    PatientRef,
    StaffRef,
    TeamMember,
)
from .domain.events import Event
from .domain.imaging import EquipmentFault, ExamEvent, ExamSource, FaultSource, RosterShift
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
    Label,
    OutcomeKind,
    Severity,
    TeamRole,
    label,
)
from .errors import (
    ConcurrencyConflict,
    ConfigError,
    GuardFailed,
    HospitalComplaintsError,
    IllegalTransition,
    InvalidInput,
    NotFound,
    PluginError,
    WorkflowError,
)
from .plugins import hookimpl
from .plugins.manager import HCPluginManager
from .plugins.types import Exporter, NotificationFailure, Routing
from .services import CaseSummary, ComplaintService, build_service

try:
    __version__ = version("hospital-complaints")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

__all__ = [
    "Acknowledge",
    "ActionStatus",
    "ActionType",
    "AddEvidence",
    "AddTeamMember",
    "Assign",
    "Attachment",
    "Case",
    "CaseState",
    "CaseSummary",
    "Category",
    "CategorySuggestion",
    "Channel",
    "Classify",
    "Clock",
    "Close",
    "Command",
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
    "Direction",
    "EquipmentFault",
    "Event",
    "EvidenceType",
    "ExamEvent",
    "ExamEventType",
    "ExamLink",
    "ExamSource",
    "Exporter",
    "ExtendDeadline",
    "FaultSource",
    "FixedClock",
    "GuardFailed",
    "HCPluginManager",
    "Harm",
    "HospitalComplaintsError",
    "IllegalTransition",
    "InvalidInput",
    "Label",
    "LinkExam",
    "LogCommunication",
    "NotFound",
    "NotificationFailure",
    "Outcome",
    "OutcomeKind",
    "PatientRef",
    "PlanAction",
    "PluginError",
    "RecordDeadlineAlert",
    "RecordFinding",
    "RecordFollowUp",
    "RecordProgress",
    "Refer",
    "RegisterComplaint",
    "Reopen",
    "Respond",
    "RosterShift",
    "Routing",
    "Settings",
    "Severity",
    "StaffRef",
    "StartInvestigation",
    "SystemClock",
    "TeamMember",
    "TeamRole",
    "VerifyAction",
    "WaiveFollowUp",
    "Withdraw",
    "WorkflowError",
    "__version__",
    "build_service",
    "hookimpl",
    "label",
]

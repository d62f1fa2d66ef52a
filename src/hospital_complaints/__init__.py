"""hospital-complaints: complaint handling for hospital information systems.

The public API is re-exported here; everything else is private by convention.

>>> from hospital_complaints import bootstrap, Settings
>>> app = bootstrap(Settings.load())      # the settings file and HC_* variables
>>> app.complaints.list_cases()           # doctest: +SKIP
"""

from typing import TYPE_CHECKING, Any

from .lazy import lazy_exports

if TYPE_CHECKING:
    from .app import App, bootstrap
    from .clock import Clock, FixedClock, SystemClock
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
        RecordClusterAlert,
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
        AccessDenied,
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
    from .plugins.types import AccessDecision, Exporter, NotificationFailure, Routing, Viewer
    from .services import CaseSummary, ComplaintService, build_service
    from .settings import (
        AttachmentSettings,
        DatabaseSettings,
        ImagingSettings,
        PluginSettings,
        Settings,
        SlaSettings,
    )
    from .storage.keys import KeyRing

#: public name -> (module, attribute): imported on first use, so that ``import
#: hospital_complaints`` (and the command line's start) does not load every layer
_WHERE: dict[str, tuple[str, str]] = {
    "App": (".app", "App"),
    "bootstrap": (".app", "bootstrap"),
    "Clock": (".clock", "Clock"),
    "FixedClock": (".clock", "FixedClock"),
    "SystemClock": (".clock", "SystemClock"),
    "Case": (".domain.case", "Case"),
    "Acknowledge": (".domain.commands", "Acknowledge"),
    "AddEvidence": (".domain.commands", "AddEvidence"),
    "AddTeamMember": (".domain.commands", "AddTeamMember"),
    "Assign": (".domain.commands", "Assign"),
    "Classify": (".domain.commands", "Classify"),
    "Close": (".domain.commands", "Close"),
    "Command": (".domain.commands", "Command"),
    "Decline": (".domain.commands", "Decline"),
    "ExtendDeadline": (".domain.commands", "ExtendDeadline"),
    "LinkExam": (".domain.commands", "LinkExam"),
    "LogCommunication": (".domain.commands", "LogCommunication"),
    "PlanAction": (".domain.commands", "PlanAction"),
    "RecordClusterAlert": (".domain.commands", "RecordClusterAlert"),
    "RecordDeadlineAlert": (".domain.commands", "RecordDeadlineAlert"),
    "RecordFinding": (".domain.commands", "RecordFinding"),
    "RecordFollowUp": (".domain.commands", "RecordFollowUp"),
    "RecordProgress": (".domain.commands", "RecordProgress"),
    "Refer": (".domain.commands", "Refer"),
    "RegisterComplaint": (".domain.commands", "RegisterComplaint"),
    "Reopen": (".domain.commands", "Reopen"),
    "Respond": (".domain.commands", "Respond"),
    "StartInvestigation": (".domain.commands", "StartInvestigation"),
    "VerifyAction": (".domain.commands", "VerifyAction"),
    "WaiveFollowUp": (".domain.commands", "WaiveFollowUp"),
    "Withdraw": (".domain.commands", "Withdraw"),
    "Attachment": (".domain.complaint", "Attachment"),
    "CategorySuggestion": (".domain.complaint", "CategorySuggestion"),
    "Complainant": (".domain.complaint", "Complainant"),
    "Complaint": (".domain.complaint", "Complaint"),
    "ComplaintDraft": (".domain.complaint", "ComplaintDraft"),
    "ExamLink": (".domain.complaint", "ExamLink"),
    "Outcome": (".domain.complaint", "Outcome"),
    "PatientRef": (".domain.complaint", "PatientRef"),
    "StaffRef": (".domain.complaint", "StaffRef"),
    "TeamMember": (".domain.complaint", "TeamMember"),
    "Event": (".domain.events", "Event"),
    "EquipmentFault": (".domain.imaging", "EquipmentFault"),
    "ExamEvent": (".domain.imaging", "ExamEvent"),
    "ExamSource": (".domain.imaging", "ExamSource"),
    "FaultSource": (".domain.imaging", "FaultSource"),
    "RosterShift": (".domain.imaging", "RosterShift"),
    "ActionStatus": (".domain.taxonomy", "ActionStatus"),
    "ActionType": (".domain.taxonomy", "ActionType"),
    "CaseState": (".domain.taxonomy", "CaseState"),
    "Category": (".domain.taxonomy", "Category"),
    "Channel": (".domain.taxonomy", "Channel"),
    "ComplainantRole": (".domain.taxonomy", "ComplainantRole"),
    "ComplaintKind": (".domain.taxonomy", "ComplaintKind"),
    "Complexity": (".domain.taxonomy", "Complexity"),
    "ContactMethod": (".domain.taxonomy", "ContactMethod"),
    "Direction": (".domain.taxonomy", "Direction"),
    "EvidenceType": (".domain.taxonomy", "EvidenceType"),
    "ExamEventType": (".domain.taxonomy", "ExamEventType"),
    "Harm": (".domain.taxonomy", "Harm"),
    "Label": (".domain.taxonomy", "Label"),
    "OutcomeKind": (".domain.taxonomy", "OutcomeKind"),
    "Severity": (".domain.taxonomy", "Severity"),
    "TeamRole": (".domain.taxonomy", "TeamRole"),
    "label": (".domain.taxonomy", "label"),
    "AccessDenied": (".errors", "AccessDenied"),
    "ConcurrencyConflict": (".errors", "ConcurrencyConflict"),
    "ConfigError": (".errors", "ConfigError"),
    "GuardFailed": (".errors", "GuardFailed"),
    "HospitalComplaintsError": (".errors", "HospitalComplaintsError"),
    "IllegalTransition": (".errors", "IllegalTransition"),
    "InvalidInput": (".errors", "InvalidInput"),
    "NotFound": (".errors", "NotFound"),
    "PluginError": (".errors", "PluginError"),
    "WorkflowError": (".errors", "WorkflowError"),
    "hookimpl": (".plugins", "hookimpl"),
    "HCPluginManager": (".plugins.manager", "HCPluginManager"),
    "AccessDecision": (".plugins.types", "AccessDecision"),
    "Exporter": (".plugins.types", "Exporter"),
    "NotificationFailure": (".plugins.types", "NotificationFailure"),
    "Routing": (".plugins.types", "Routing"),
    "Viewer": (".plugins.types", "Viewer"),
    "CaseSummary": (".services", "CaseSummary"),
    "ComplaintService": (".services", "ComplaintService"),
    "build_service": (".services", "build_service"),
    "AttachmentSettings": (".settings", "AttachmentSettings"),
    "DatabaseSettings": (".settings", "DatabaseSettings"),
    "ImagingSettings": (".settings", "ImagingSettings"),
    "PluginSettings": (".settings", "PluginSettings"),
    "Settings": (".settings", "Settings"),
    "SlaSettings": (".settings", "SlaSettings"),
    "KeyRing": (".storage.keys", "KeyRing"),
}


_exported, __dir__ = lazy_exports(__name__, _WHERE, globals())


def __getattr__(name: str) -> Any:
    if name == "__version__":
        return _version()
    return _exported(name)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("hospital-complaints")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        found = "0+unknown"
    globals()["__version__"] = found
    return found



__all__ = [
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
    "AttachmentSettings",
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
    "DatabaseSettings",
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
    "ImagingSettings",
    "InvalidInput",
    "KeyRing",
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
    "PluginSettings",
    "RecordClusterAlert",
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
    "SlaSettings",
    "StaffRef",
    "StartInvestigation",
    "SystemClock",
    "TeamMember",
    "TeamRole",
    "VerifyAction",
    "Viewer",
    "WaiveFollowUp",
    "Withdraw",
    "WorkflowError",
    "__version__",
    "bootstrap",
    "build_service",
    "hookimpl",
    "label",
]

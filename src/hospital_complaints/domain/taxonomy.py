"""Every enumeration of the domain, with its Chinese and English labels, in one module.

Values (``"front_desk"``) are what is stored and exchanged; labels are what clerks read.
``label(member)`` gives both; ``allowed(EnumClass)`` gives the text used in error messages.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum
from typing import NamedTuple


class Label(NamedTuple):
    zh: str
    en: str

    def __str__(self) -> str:
        return f"{self.zh} {self.en}"


# keyed by (enum class, value): StrEnum members of different enums with the same value
# compare and hash equal, so the member alone is not a safe key
_LABELS: dict[tuple[type, object], Label] = {}


def _labels(cls: type, table: dict[str, tuple[str, str]] | dict[int, tuple[str, str]]) -> None:
    members = list(cls)  # type: ignore[call-overload]
    missing = [m for m in members if m.value not in table]
    extra = [k for k in table if k not in {m.value for m in members}]
    if missing or extra:  # a programming error, caught at import and by the tests
        raise RuntimeError(f"{cls.__name__}: labels missing {missing} / unknown {extra}")
    for m in members:
        zh, en = table[m.value]
        _LABELS[(cls, m.value)] = Label(zh, en)


def label(member: object) -> Label:
    """The zh/en label of any taxonomy member."""
    return _LABELS[(type(member), member.value)]  # type: ignore[attr-defined]


def allowed(cls: type) -> str:
    """'one of: a (甲 A), b (乙 B)': for error messages."""
    parts = [f"{m.value} ({label(m).zh} {label(m).en})" for m in cls]  # type: ignore[attr-defined]
    return "one of: " + ", ".join(parts)


class ComplaintKind(StrEnum):
    COMPLAINT = "complaint"
    SUGGESTION = "suggestion"
    CONSULTATION = "consultation"
    REPORT = "report"
    PRAISE = "praise"


_labels(ComplaintKind, {
    "complaint": ("投诉", "complaint"),
    "suggestion": ("建议", "suggestion"),
    "consultation": ("咨询", "consultation"),
    "report": ("举报", "report / whistle-blowing"),
    "praise": ("表扬", "praise"),
})


class Channel(StrEnum):
    FRONT_DESK = "front_desk"
    HOTLINE = "hotline"
    LETTER = "letter"
    EMAIL = "email"
    WEB_FORM = "web_form"
    VOICEMAIL = "voicemail"
    SMS = "sms"
    HOTLINE_PLATFORM = "hotline_platform"
    TRANSFERRED = "transferred"
    OTHER = "other"


_labels(Channel, {
    "front_desk": ("前台窗口", "front desk"),
    "hotline": ("投诉电话", "complaint hotline"),
    "letter": ("信件/意见箱", "letter / suggestion box"),
    "email": ("电子邮件", "e-mail"),
    "web_form": ("网站在线反馈", "web form"),
    "voicemail": ("非工作时间语音留言", "after-hours voicemail"),
    "sms": ("短信", "SMS"),
    "hotline_platform": ("热线平台转办(12320/12345)", "hotline platform transfer (12320/12345)"),
    "transferred": ("其他机构转来", "transferred from another body"),
    "other": ("其他", "other"),
})


class ComplainantRole(StrEnum):
    PATIENT = "patient"
    RELATIVE = "relative"
    PROXY = "proxy"
    ANONYMOUS = "anonymous"


_labels(ComplainantRole, {
    "patient": ("患者本人", "patient"),
    "relative": ("家属", "relative"),
    "proxy": ("委托代理人", "proxy"),
    "anonymous": ("匿名", "anonymous"),
})


class HCATDomain(StrEnum):
    """Healthcare Complaints Analysis Tool domains (Gillespie & Reader, BMJ Qual Saf 2016)."""

    CLINICAL = "clinical"
    MANAGEMENT = "management"
    RELATIONSHIPS = "relationships"


_labels(HCATDomain, {
    "clinical": ("临床", "clinical"),
    "management": ("管理", "management"),
    "relationships": ("医患关系", "relationships"),
})


class HCATCategory(StrEnum):
    QUALITY = "quality"
    SAFETY = "safety"
    ENVIRONMENT = "environment"
    INSTITUTIONAL_PROCESSES = "institutional_processes"
    LISTENING = "listening"
    COMMUNICATION = "communication"
    RESPECT_AND_PATIENT_RIGHTS = "respect_and_patient_rights"


_labels(HCATCategory, {
    "quality": ("质量", "quality"),
    "safety": ("安全", "safety"),
    "environment": ("环境", "environment"),
    "institutional_processes": ("机构流程", "institutional processes"),
    "listening": ("倾听", "listening"),
    "communication": ("沟通", "communication"),
    "respect_and_patient_rights": ("尊重与患者权利", "respect and patient rights"),
})

HCAT_DOMAIN_OF: dict[HCATCategory, HCATDomain] = {
    HCATCategory.QUALITY: HCATDomain.CLINICAL,
    HCATCategory.SAFETY: HCATDomain.CLINICAL,
    HCATCategory.ENVIRONMENT: HCATDomain.MANAGEMENT,
    HCATCategory.INSTITUTIONAL_PROCESSES: HCATDomain.MANAGEMENT,
    HCATCategory.LISTENING: HCATDomain.RELATIONSHIPS,
    HCATCategory.COMMUNICATION: HCATDomain.RELATIONSHIPS,
    HCATCategory.RESPECT_AND_PATIENT_RIGHTS: HCATDomain.RELATIONSHIPS,
}


class Category(StrEnum):
    """Complaint categories. The first four are the seed imaging department's own."""

    SERVICE_ATTITUDE = "service_attitude"
    TECHNICAL_QUALITY = "technical_quality"
    PROCESS_MANAGEMENT = "process_management"
    EQUIPMENT_FAULT = "equipment_fault"
    COMMUNICATION = "communication"
    PATIENT_SAFETY = "patient_safety"
    PRIVACY = "privacy"
    OTHER = "other"


_labels(Category, {
    "service_attitude": ("服务态度", "service attitude"),
    "technical_quality": ("技术质量", "technical quality"),
    "process_management": ("流程管理", "process management"),
    "equipment_fault": ("设备故障", "equipment fault"),
    "communication": ("沟通解释", "communication"),
    "patient_safety": ("医疗安全", "patient safety"),
    "privacy": ("隐私保护", "privacy"),
    "other": ("其他", "other"),
})

#: Where each category sits in HCAT. Used by reports that compare with HCAT-coded data.
HCAT_CATEGORY_OF: dict[Category, HCATCategory] = {
    Category.SERVICE_ATTITUDE: HCATCategory.RESPECT_AND_PATIENT_RIGHTS,
    Category.TECHNICAL_QUALITY: HCATCategory.QUALITY,
    Category.PROCESS_MANAGEMENT: HCATCategory.INSTITUTIONAL_PROCESSES,
    Category.EQUIPMENT_FAULT: HCATCategory.ENVIRONMENT,
    Category.COMMUNICATION: HCATCategory.COMMUNICATION,
    Category.PATIENT_SAFETY: HCATCategory.SAFETY,
    Category.PRIVACY: HCATCategory.RESPECT_AND_PATIENT_RIGHTS,
    Category.OTHER: HCATCategory.INSTITUTIONAL_PROCESSES,
}

SEED_CATEGORIES: tuple[Category, ...] = (
    Category.SERVICE_ATTITUDE,
    Category.TECHNICAL_QUALITY,
    Category.PROCESS_MANAGEMENT,
    Category.EQUIPMENT_FAULT,
)


def hcat_domain(category: Category) -> HCATDomain:
    return HCAT_DOMAIN_OF[HCAT_CATEGORY_OF[category]]


class Severity(IntEnum):
    """HCAT severity of a complaint category, 0-3."""

    NOT_ASSESSED = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3


_labels(Severity, {
    0: ("未评估", "not assessed"),
    1: ("低", "low"),
    2: ("中", "medium"),
    3: ("高", "high"),
})


class Harm(IntEnum):
    """HCAT harm scale, 0-5."""

    NONE = 0
    MINIMAL = 1
    MINOR = 2
    MODERATE = 3
    MAJOR = 4
    CATASTROPHIC = 5


_labels(Harm, {
    0: ("无伤害", "none"),
    1: ("极轻微", "minimal"),
    2: ("轻微", "minor"),
    3: ("中度", "moderate"),
    4: ("严重", "major"),
    5: ("灾难性", "catastrophic"),
})


class TeamRole(StrEnum):
    RADIOLOGIST = "radiologist"
    TECHNOLOGIST = "technologist"
    QC = "qc"
    PATIENT_SERVICE = "patient_service"
    OTHER = "other"


_labels(TeamRole, {
    "radiologist": ("诊断医师", "radiologist"),
    "technologist": ("技师", "technologist"),
    "qc": ("质控人员", "quality control"),
    "patient_service": ("患者服务代表", "patient-service representative"),
    "other": ("其他", "other"),
})


class EvidenceType(StrEnum):
    EXAM_RECORD = "exam_record"
    EQUIPMENT_LOG = "equipment_log"
    DUTY_ROSTER = "duty_roster"
    VIDEO = "video"
    INTERVIEW = "interview"
    EQUIPMENT_TEST = "equipment_test"
    DOCUMENT = "document"


_labels(EvidenceType, {
    "exam_record": ("检查记录", "exam record"),
    "equipment_log": ("设备使用及故障记录", "equipment log"),
    "duty_roster": ("值班表", "duty roster"),
    "video": ("监控录像", "video"),
    "interview": ("访谈记录", "interview"),
    "equipment_test": ("设备现场测试", "on-site equipment test"),
    "document": ("文件资料", "document"),
})


class ActionType(StrEnum):
    PROCESS_CHANGE = "process_change"
    TRAINING = "training"
    EQUIPMENT = "equipment"
    STAFFING = "staffing"
    COMMUNICATION = "communication"
    OTHER = "other"


_labels(ActionType, {
    "process_change": ("流程改进", "process change"),
    "training": ("培训", "training"),
    "equipment": ("设备维修/升级", "equipment repair / upgrade"),
    "staffing": ("人员调配", "staffing"),
    "communication": ("沟通改进", "communication"),
    "other": ("其他", "other"),
})


class ActionStatus(StrEnum):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    VERIFIED = "verified"
    CANCELLED = "cancelled"


_labels(ActionStatus, {
    "planned": ("已计划", "planned"),
    "in_progress": ("进行中", "in progress"),
    "done": ("已完成", "done"),
    "verified": ("已验证效果", "verified"),
    "cancelled": ("已取消", "cancelled"),
})

FINISHED_ACTION_STATUSES = frozenset(
    {ActionStatus.DONE, ActionStatus.VERIFIED, ActionStatus.CANCELLED}
)


class Direction(StrEnum):
    TO_COMPLAINANT = "to_complainant"
    FROM_COMPLAINANT = "from_complainant"
    INTERNAL = "internal"


_labels(Direction, {
    "to_complainant": ("致投诉人", "to the complainant"),
    "from_complainant": ("来自投诉人", "from the complainant"),
    "internal": ("内部沟通", "internal"),
})


class ContactMethod(StrEnum):
    PHONE = "phone"
    SMS = "sms"
    IN_PERSON = "in_person"
    LETTER = "letter"
    EMAIL = "email"
    ONLINE = "online"


_labels(ContactMethod, {
    "phone": ("电话", "phone"),
    "sms": ("短信", "SMS"),
    "in_person": ("面谈", "in person"),
    "letter": ("信函", "letter"),
    "email": ("电子邮件", "e-mail"),
    "online": ("在线", "online"),
})


class OutcomeKind(StrEnum):
    UPHELD = "upheld"
    PARTLY_UPHELD = "partly_upheld"
    NOT_UPHELD = "not_upheld"
    RESOLVED_BY_EXPLANATION = "resolved_by_explanation"
    REFERRED = "referred"
    NOT_ACCEPTED = "not_accepted"
    WITHDRAWN = "withdrawn"


_labels(OutcomeKind, {
    "upheld": ("投诉成立", "upheld"),
    "partly_upheld": ("部分成立", "partly upheld"),
    "not_upheld": ("投诉不成立", "not upheld"),
    "resolved_by_explanation": ("解释后化解（转为建议）", "resolved by explanation (suggestion)"),
    "referred": ("转交其他机构", "referred to another body"),
    "not_accepted": ("不予受理", "not accepted"),
    "withdrawn": ("投诉人撤回", "withdrawn by the complainant"),
})


class CaseState(StrEnum):
    REGISTERED = "registered"
    ACKNOWLEDGED = "acknowledged"
    INVESTIGATING = "investigating"
    RECTIFYING = "rectifying"
    RESPONDED = "responded"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"
    REFERRED = "referred"
    #: 并单: merged into another case, which carries on; ``split`` undoes it
    MERGED = "merged"


_labels(CaseState, {
    "registered": ("已登记", "registered"),
    "acknowledged": ("已受理告知", "acknowledged"),
    "investigating": ("调查中", "investigating"),
    "rectifying": ("整改中", "rectifying"),
    "responded": ("已答复", "responded"),
    "closed": ("已办结", "closed"),
    "withdrawn": ("已撤回", "withdrawn"),
    "referred": ("已转办", "referred"),
    "merged": ("已并单", "merged into another case"),
})

OPEN_STATES = frozenset(
    {
        CaseState.REGISTERED,
        CaseState.ACKNOWLEDGED,
        CaseState.INVESTIGATING,
        CaseState.RECTIFYING,
        CaseState.RESPONDED,
    }
)


class ExamEventType(StrEnum):
    """Milestones of an imaging exam, as RIS/PACS feeds report them."""

    ORDERED = "ordered"
    SCHEDULED = "scheduled"
    RESCHEDULED = "rescheduled"
    CANCELLED = "cancelled"
    ARRIVED = "arrived"
    STARTED = "started"
    COMPLETED = "completed"
    PRELIMINARY_REPORT = "preliminary_report"
    FINAL_REPORT = "final_report"
    CORRECTED_REPORT = "corrected_report"
    NO_SHOW = "no_show"
    OTHER = "other"


_labels(ExamEventType, {
    "ordered": ("已开单", "ordered"),
    "scheduled": ("已预约", "scheduled"),
    "rescheduled": ("改约", "rescheduled"),
    "cancelled": ("已取消", "cancelled"),
    "arrived": ("已签到", "arrived"),
    "started": ("开始检查", "started"),
    "completed": ("检查完成", "completed"),
    "preliminary_report": ("初步报告", "preliminary report"),
    "final_report": ("正式报告", "final report"),
    "corrected_report": ("更正报告", "corrected report"),
    "no_show": ("爽约", "no-show"),
    "other": ("其他", "other"),
})


class Complexity(StrEnum):
    """How a complaint is handled; NHC 2019 sets different response deadlines for each."""

    SIMPLE = "simple"
    COMPLEX = "complex"
    MULTI_DEPARTMENT = "multi_department"


_labels(Complexity, {
    "simple": ("简单投诉", "simple"),
    "complex": ("复杂投诉", "complex"),
    "multi_department": ("涉及多部门", "several departments"),
})


class Milestone(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    RESPOND = "respond"
    CLOSE = "close"
    FOLLOW_UP = "follow_up"
    ACTION = "action"


_labels(Milestone, {
    "acknowledge": ("首次反馈", "acknowledge"),
    "respond": ("答复", "respond"),
    "close": ("办结", "close"),
    "follow_up": ("回访", "follow-up"),
    "action": ("整改措施", "rectification action"),
})


class AlertKind(StrEnum):
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"


_labels(AlertKind, {
    "due_soon": ("即将到期（催办）", "due soon (reminder)"),
    "overdue": ("已超期（督办）", "overdue (escalation)"),
})


# -- work orders from hotline platforms (12345 / 12320): docs/workorders.md ----------------------


class WorkOrderStatus(StrEnum):
    """Where a work order (工单) stands with the platform."""

    DISPATCHED = "dispatched"
    SIGNED = "signed"
    RETURNED = "returned"
    REROUTE_REQUESTED = "reroute_requested"
    DISPUTED = "disputed"
    EXTENSION_REQUESTED = "extension_requested"
    REPLIED = "replied"
    CALLED_BACK = "called_back"
    REDO = "redo"


_labels(WorkOrderStatus, {
    "dispatched": ("已派单待签收", "dispatched, not signed for"),
    "signed": ("已签收", "signed for"),
    "returned": ("已退回", "returned to the platform"),
    "reroute_requested": ("改派申请中", "re-route requested"),
    "disputed": ("派单异议中", "dispatch disputed"),
    "extension_requested": ("延期申请中", "extension requested"),
    "replied": ("已办结答复", "replied"),
    "called_back": ("已回访", "called back"),
    "redo": ("重办中", "being redone"),
})


class RequestType(StrEnum):
    """What the caller asked for (诉求类型); profiles may give each its own time limit."""

    CONSULTATION = "consultation"
    HELP = "help"
    SUGGESTION = "suggestion"
    COMPLAINT = "complaint"
    REPORT = "report"


_labels(RequestType, {
    "consultation": ("咨询", "consultation"),
    "help": ("求助", "request for help"),
    "suggestion": ("建议", "suggestion"),
    "complaint": ("投诉", "complaint"),
    "report": ("举报", "report"),
})


class ReturnReason(StrEnum):
    """Why a work order goes back to the platform (退回理由)."""

    NOT_OUR_REMIT = "not_our_remit"
    WRONG_UNIT = "wrong_unit"
    INSUFFICIENT_INFORMATION = "insufficient_information"
    DUPLICATE = "duplicate"
    OUTSIDE_JURISDICTION = "outside_jurisdiction"
    OTHER = "other"


_labels(ReturnReason, {
    "not_our_remit": ("不属于本单位职责", "not within this unit's remit"),
    "wrong_unit": ("派单单位错误", "dispatched to the wrong unit"),
    "insufficient_information": ("诉求信息不全无法办理", "not enough information to act on"),
    "duplicate": ("重复工单", "duplicate of another work order"),
    "outside_jurisdiction": ("不属于本辖区", "outside this unit's area"),
    "other": ("其他", "other"),
})


class PlatformRequest(StrEnum):
    """What the platform decides on (审核)."""

    EXTENSION = "extension"
    REROUTE = "reroute"
    DISPUTE = "dispute"


_labels(PlatformRequest, {
    "extension": ("延期申请", "extension request"),
    "reroute": ("改派申请", "re-route request"),
    "dispute": ("派单异议", "dispatch dispute"),
})


class Resolution(StrEnum):
    """How the matter ended, as replied (办理结果)."""

    RESOLVED = "resolved"
    PARTLY_RESOLVED = "partly_resolved"
    UNRESOLVED = "unresolved"
    EXPLAINED = "explained"


_labels(Resolution, {
    "resolved": ("已解决", "resolved"),
    "partly_resolved": ("部分解决", "partly resolved"),
    "unresolved": ("未解决", "not resolved"),
    "explained": ("已解释说明", "explained"),
})


class CallbackSatisfaction(StrEnum):
    """The caller's answer to the platform's call-back (回访满意度)."""

    SATISFIED = "satisfied"
    BASICALLY_SATISFIED = "basically_satisfied"
    DISSATISFIED = "dissatisfied"


_labels(CallbackSatisfaction, {
    "satisfied": ("满意", "satisfied"),
    "basically_satisfied": ("基本满意", "basically satisfied"),
    "dissatisfied": ("不满意", "dissatisfied"),
})


class SupervisionTier(StrEnum):
    """The platform's escalation ladder, each recorded once per deadline (督办层级)."""

    REMINDER = "reminder"
    SUPERVISION = "supervision"
    NAMING = "naming"


_labels(SupervisionTier, {
    "reminder": ("催办", "reminder"),
    "supervision": ("督办", "supervision"),
    "naming": ("通报", "public naming"),
})


class NotAcceptedReason(StrEnum):
    """Why a complaint or request is not accepted (不予受理)."""

    LITIGATION_OR_PETITION = "litigation_or_petition"
    ANOTHER_BODY = "another_body"
    REPEAT_WITHOUT_NEW_FACTS = "repeat_without_new_facts"
    SECRETS_OR_PRIVACY = "secrets_or_privacy"
    MALICIOUS = "malicious"
    OTHER = "other"


_labels(NotAcceptedReason, {
    "litigation_or_petition": ("已进入诉讼、仲裁或信访程序", "litigation, arbitration or petition "
                               "in progress"),
    "another_body": ("属于其他机关职责", "within another body's remit"),
    "repeat_without_new_facts": ("重复诉求且无新事实、新理由", "a repeat without new facts"),
    "secrets_or_privacy": ("涉及国家秘密、商业秘密或他人隐私", "concerns secrets or other "
                           "people's privacy"),
    "malicious": ("恶意诉求", "malicious"),
    "other": ("其他", "other"),
})

"""zh/en names of the event and message types, for the human-readable transports (e-mail,
WeCom, SMS). A type not listed here is shown by its own name."""

from __future__ import annotations

EVENT_LABELS: dict[str, tuple[str, str]] = {
    "complaint_registered": ("新投诉已登记", "complaint registered"),
    "classified": ("投诉已分类", "complaint classified"),
    "assigned": ("投诉已分派", "complaint assigned"),
    "acknowledged": ("已告知受理", "receipt acknowledged"),
    "investigation_started": ("调查已开始", "investigation started"),
    "team_member_added": ("调查组成员已添加", "team member added"),
    "evidence_added": ("已添加证据", "evidence added"),
    "exam_linked": ("已关联检查", "exam linked"),
    "finding_recorded": ("已记录调查结论", "finding recorded"),
    "action_planned": ("已制定整改措施", "rectification action planned"),
    "action_progress_recorded": ("整改进展已记录", "rectification progress recorded"),
    "action_verified": ("整改已验证", "rectification verified"),
    "communication_logged": ("已记录沟通", "communication logged"),
    "responded": ("已答复投诉人", "complainant answered"),
    "closed": ("投诉已办结", "complaint closed"),
    "withdrawn": ("投诉已撤回", "complaint withdrawn"),
    "referred": ("投诉已转办", "complaint referred"),
    "declined": ("投诉不予受理", "complaint declined"),
    "reopened": ("投诉已重新打开", "complaint reopened"),
    "deadline_extended": ("办理时限已延长", "deadline extended"),
    "deadline_alert": ("办理时限提醒", "deadline alert"),
    "follow_up_recorded": ("回访已记录", "follow-up recorded"),
    "follow_up_waived": ("回访已免除", "follow-up waived"),
    "attachment_added": ("已添加附件", "attachment added"),
    "attachment_viewed": ("附件已被查看", "attachment viewed"),
    "attachment_view_refused": ("附件查看被拒绝", "attachment view refused"),
    "identity_revealed": ("身份信息已被查看", "identity revealed"),
    "identity_reveal_refused": ("身份信息查看被拒绝", "identity reveal refused"),
    "cluster_alert": ("同类投诉聚集预警", "complaint cluster alert"),
    "survey_invitation": ("满意度调查邀请", "survey invitation"),
}

#: deadline alert kinds: a reminder before (催办), an escalation after (督办)
ALERT_LABELS: dict[str, tuple[str, str]] = {
    "due_soon": ("催办：即将到期", "reminder: due soon"),
    "overdue": ("督办：已超时", "escalation: overdue"),
}


def event_label(event_type: str, lang: str) -> str:
    zh, en = EVENT_LABELS.get(event_type, (event_type, event_type.replace("_", " ")))
    return zh if lang == "zh" else en


def alert_label(kind: str, lang: str) -> str:
    zh, en = ALERT_LABELS.get(kind, (kind, kind))
    return zh if lang == "zh" else en

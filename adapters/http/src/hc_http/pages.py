"""The public pages for patients and relatives: server-rendered HTML, zh/en, mobile first.

Templates are Jinja2 with autoescaping on for every template, so stored text (a subject such
as ``<script>alert(1)</script>`` or ``[/bold]``) always shows as the characters typed. The
pages load nothing but their own style sheet (no script, no font, no CDN: hospital intranets
often have no way out), and the Content-Security-Policy says so.
"""

from __future__ import annotations

from typing import Any, Literal

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

Lang = Literal["zh", "en"]

TEXT: dict[str, tuple[str, str]] = {
    "site": ("医院投诉与意见反馈", "Hospital complaints and feedback"),
    "form_title": ("提交投诉或意见", "Send a complaint or feedback"),
    "form_intro": ("请告诉我们发生了什么。我们会在规定时限内答复。请勿在此填写身份证号等敏感信息。",
                   "Tell us what happened. We answer within the set time limits. Please do not "
                   "write ID numbers or other sensitive details here."),
    "required": ("必填", "required"),
    "subject": ("标题", "Subject"),
    "subject_hint": ("一句话概括，例如“CT 检查等待时间过长”",
                     "One line, e.g. “long wait for a CT scan”"),
    "message": ("详细经过", "What happened"),
    "message_hint": ("时间、地点、经过", "When, where, what happened"),
    "wants": ("希望我们怎么做", "What would you like us to do"),
    "accession": ("检查单号（如有）", "Exam number on your slip (if any)"),
    "about_you": ("您的联系方式", "How to reach you"),
    "name": ("姓名", "Name"),
    "phone": ("手机号码", "Mobile phone"),
    "email": ("电子邮箱", "E-mail"),
    "anonymous": ("匿名提交（不留姓名）", "Send anonymously (no name)"),
    "consent": ("我同意医院就本次投诉与我联系", "I agree that the hospital contacts me about this"),
    "consent_hint": ("勾选时请至少填写手机号码或电子邮箱",
                     "If ticked, give a phone number or an e-mail"),
    "submit": ("提交", "Send"),
    "errors_title": ("请修改以下内容：", "Please correct the following:"),
    "receipt_title": ("已收到您的投诉", "We have received your complaint"),
    "receipt_ref": ("受理编号", "Reference"),
    "receipt_keep": ("请保存下面的查询链接，凭此链接可查看处理进度。该链接只显示这一次。",
                     "Keep the link below: it shows how your complaint is progressing. It is "
                     "shown only this once."),
    "receipt_link": ("查看处理进度", "See the progress"),
    "receipt_expires": ("链接有效期至", "The link works until"),
    "status_title": ("投诉处理进度", "Progress of your complaint"),
    "status_state": ("当前状态", "Status"),
    "status_subject": ("标题", "Subject"),
    "status_received": ("收到时间", "Received"),
    "status_next": ("下一个节点", "Next step"),
    "status_due": ("预计最迟于", "At the latest by"),
    "status_finished": ("本投诉已处理完毕。", "This complaint has been dealt with."),
    "status_none": ("暂无待办节点。", "No step is due now."),
    "not_found_title": ("链接无效或已过期", "This link is not valid or has expired"),
    "not_found_text": ("请检查链接是否完整，或与医院患者服务中心联系。",
                       "Check that the whole link was copied, or contact the hospital's patient "
                       "services."),
    "busy_title": ("请求过于频繁", "Too many requests"),
    "busy_text": ("请稍后再试。", "Please try again in a minute."),
    "error_title": ("出现错误", "Something went wrong"),
    "error_text": ("请稍后再试，或与医院患者服务中心联系。",
                   "Please try again later, or contact the hospital's patient services."),
    "other_language": ("English", "中文"),
    "new_complaint": ("提交新的投诉", "Send a new complaint"),
    "bad_subject": ("请填写标题（不超过 200 字）", "Enter a subject (at most 200 characters)"),
    "bad_message": ("请填写详细经过", "Describe what happened"),
    "bad_phone": ("手机号码格式不正确", "This phone number does not look right"),
    "bad_email": ("电子邮箱格式不正确", "This e-mail address does not look right"),
    "bad_contact": ("同意联系时请填写手机号码或电子邮箱",
                    "To be contacted, give a phone number or an e-mail"),
    "bad_anonymous": ("匿名提交时请不要填写姓名", "Leave the name empty to send anonymously"),
    "bad_other": ("部分内容填写有误，请检查后重新提交",
                  "Some details are not right; please check them"),
    "survey_submit": ("提交问卷", "Send my answers"),
    "survey_privacy": ("问卷不会收集您的姓名或电话；回答仅用于改进服务。",
                       "The survey does not ask for your name or phone; answers are used only "
                       "to improve our service."),
    "survey_thanks_title": ("感谢您的反馈", "Thank you for your answers"),
    "survey_thanks_text": ("您的回答已提交。", "Your answers have been received."),
    "survey_answered_title": ("该问卷已提交", "This survey has already been answered"),
    "survey_expired_title": ("问卷链接已过期", "This survey link has expired"),
    "survey_invalid_title": ("问卷链接无效", "This survey link is not valid"),
    "survey_contact": ("如有问题，请与医院患者服务中心联系。",
                       "For any question, contact the hospital's patient services."),
    "milestone_acknowledge": ("受理告知", "We confirm we have it"),
    "milestone_respond": ("答复处理结果", "We answer you"),
    "milestone_close": ("办结", "The case is closed"),
    "milestone_follow_up": ("回访", "Follow-up call"),
}


class Pages:
    def __init__(self) -> None:
        self.env = Environment(loader=PackageLoader("hc_http", "templates"),
                               autoescape=select_autoescape(default=True,
                                                            default_for_string=True),
                               undefined=StrictUndefined, trim_blocks=True,
                               lstrip_blocks=True)

    def render(self, template: str, lang: Lang, **values: Any) -> str:
        def t(key: str) -> str:
            zh, en = TEXT[key]
            return zh if lang == "zh" else en

        return self.env.get_template(template).render(
            t=t, lang=lang, html_lang="zh-CN" if lang == "zh" else "en",
            other_lang="en" if lang == "zh" else "zh", **values)

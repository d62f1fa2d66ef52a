"""A week in an imaging department, as a sequence of clerk actions."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from ..clock import FixedClock
from ..correlation.records import ExamRecord
from ..domain.commands import (
    Acknowledge,
    AddEvidence,
    Classify,
    Close,
    Command,
    LinkExam,
    LogCommunication,
    PlanAction,
    RecordFinding,
    RecordFollowUp,
    RecordProgress,
    Refer,
    Respond,
    StartInvestigation,
    VerifyAction,
    WaiveFollowUp,
    Withdraw,
)
from ..domain.complaint import ExamLink, Outcome, TeamMember
from ..domain.events import Event
from ..domain.imaging import EquipmentFault, RosterShift
from ..domain.taxonomy import (
    ActionStatus,
    ActionType,
    CallbackSatisfaction,
    Category,
    ComplaintKind,
    ContactMethod,
    Direction,
    EvidenceType,
    OutcomeKind,
    PlatformRequest,
    Resolution,
    TeamRole,
)
from ..domain.views import CaseSummary
from ..domain.workorder_commands import (
    RecordCallback,
    RecordPlatformDecision,
    RedoWorkOrder,
    ReplyWorkOrder,
    RequestExtension,
    SignWorkOrder,
)
from ..plugins import hookimpl
from ..services.service import ComplaintService

TZ = ZoneInfo("Asia/Shanghai")
WEEK_START = datetime(2026, 11, 16, 8, 0, tzinfo=TZ)  # a Monday


def at(day: int, hh: int, mm: int = 0) -> datetime:
    """Day 0 is Monday 16 November 2026, Beijing time."""
    return (WEEK_START + timedelta(days=day)).replace(hour=hh, minute=mm)


class EventCounter:
    """A tiny notification plugin: counts what ``hc_after_event`` delivers."""

    def __init__(self) -> None:
        self.by_type: Counter[str] = Counter()

    @hookimpl
    def hc_after_event(self, event: Event, case: CaseSummary) -> None:
        self.by_type[event.type] += 1


@dataclass
class DemoResult:
    references: dict[str, str] = field(default_factory=dict)
    notifications: Counter[str] = field(default_factory=Counter)
    #: the duplicates suggested for the 12345 call about the CT delay: (reference, score)
    duplicates: list[tuple[str, float]] = field(default_factory=list)


Step = tuple[str, Callable[[], None]]


def run_scenario(service: ComplaintService, clock: FixedClock,
                 on_step: Callable[[str, int], None] = lambda _t, _n: None,
                 run_id: str = "") -> DemoResult:
    """Play the week. ``on_step(description, number_of_steps)`` runs before each step.

    ``run_id`` is added to the idempotency keys, so that playing the week again on the same
    database registers new cases instead of returning the first run's.
    """
    counter = EventCounter()
    service.plugins.register(counter, name="demo_event_counter")
    result = DemoResult()
    refs = result.references
    clerk, lead, qc = "前台 王敏 clerk:wangmin", "科主任 李强 lead:liqiang", "质控 赵静 qc:zhaojing"

    def ex(key: str, command: Command, actor: str, when: datetime) -> None:
        clock.set(when)
        service.execute(refs[key], command, actor=actor)

    def ct_wait() -> None:
        clock.set(at(0, 11, 5))
        case = service.register({
            "channel": "front_desk", "received_at": at(0, 11, 0).isoformat(),
            "complainant": {"role": "relative", "name": "陈建国", "phone": "13912345678",
                            "relationship_to_patient": "儿子 son", "consent_to_contact": True},
            "patient": {"patient_id": "P0012345", "name": "陈秀英"},
            "subject": "CT 检查等待两个多小时，技师态度差",
            "description": "母亲预约 8:30 做胸部 CT，排队等了两个多小时才做上，问技师原因，"
                           "技师很不耐烦，也没有人解释为什么机器停了。",
            "demands": "要求科室解释延误原因并道歉",
            "staff_involved": [{"name": "技师 T07", "role": "technologist"}],
            "exam_links": [{"accession_number": "CT20261116-0042", "modality": "CT",
                            "station": "CT2"}],
        }, actor=clerk)
        refs["ct"] = case.reference

    def ct_ack() -> None:
        ex("ct", Acknowledge(method=ContactMethod.PHONE, message="已收到投诉，科室将在 5 个工作日内"
           "调查并答复。We have received your complaint and will reply within 5 working days.",
           expected_response_by=date(2026, 11, 23)), clerk, at(0, 15, 30))
        suggested = [s.category for s in service.get(refs["ct"]).suggestions]
        ex("ct", Classify(categories=suggested or [Category.PROCESS_MANAGEMENT]), clerk,
           at(0, 15, 35))

    def ct_investigate() -> None:
        ex("ct", StartInvestigation(team=[
            TeamMember(name="李强", role=TeamRole.RADIOLOGIST),
            TeamMember(name="孙磊", role=TeamRole.TECHNOLOGIST),
            TeamMember(name="赵静", role=TeamRole.QC),
            TeamMember(name="周琳", role=TeamRole.PATIENT_SERVICE)]), lead, at(1, 9, 0))
        for etype, text in [
            (EvidenceType.EXAM_RECORD, "RIS: arrived 08:21, started 10:33, completed 10:41"),
            (EvidenceType.EQUIPMENT_LOG, "CT2 fault F-17: tube arcing 08:10, restored 09:40"),
            (EvidenceType.DUTY_ROSTER, "08:00-12:00: 2 technologists for CT1+CT2, 1 on leave"),
            (EvidenceType.VIDEO, "waiting-hall camera 08:20-10:35: no staff announcement"),
        ]:
            ex("ct", AddEvidence(type=etype, description=text), qc, at(1, 10, 0))
        ex("ct", RecordFinding(
            text="CT2 was down 08:10-09:40; its patients were moved to CT1, where emergency "
                 "cases had priority. Waiting patients were not told why.",
            root_causes=["no downtime communication procedure 停机无告知流程",
                         "single technologist on CT1 during the backlog"]), lead, at(1, 16, 0))

    def ct_rectify() -> None:
        ex("ct", PlanAction(type=ActionType.EQUIPMENT, description="更换 CT2 球管并复测 "
           "replace CT2 tube and re-test", owner="设备科 张工", due=date(2026, 11, 19)),
           lead, at(1, 16, 30))
        ex("ct", PlanAction(type=ActionType.PROCESS_CHANGE, description="停机时在候诊区广播并"
           "更新叫号屏 announce downtime in the waiting hall", owner="技师长 孙磊",
           due=date(2026, 11, 20)), lead, at(1, 16, 35))
        ex("ct", PlanAction(type=ActionType.TRAINING, description="技师沟通礼仪培训 "
           "communication training for technologists", owner="护士长 周琳",
           due=date(2026, 11, 27)), lead, at(1, 16, 40))

    def ct_respond() -> None:
        ex("ct", Respond(method=ContactMethod.PHONE, text="经调查，当日 CT2 故障导致延误，技师解释"
           "不到位，投诉部分属实。已安排设备维修、停机告知流程和培训。",
           outcome=Outcome(kind=OutcomeKind.PARTLY_UPHELD)), lead, at(2, 10, 0))

    def ct_track() -> None:
        for aid, when in (("A1", at(3, 17, 0)), ("A2", at(4, 11, 0)), ("A3", at(4, 16, 0))):
            ex("ct", RecordProgress(action_id=aid, status=ActionStatus.DONE, note="完成 done"),
               qc, when)
        ex("ct", VerifyAction(action_id="A1", effective=True, note="QC phantom test passed"),
           qc, at(4, 17, 0))
        ex("ct", VerifyAction(action_id="A2", effective=True, note="announcement heard on "
           "drill 演练广播正常"), qc, at(4, 17, 10))
        ex("ct", VerifyAction(action_id="A3", effective=True, note="12 of 12 technologists "
           "attended"), qc, at(4, 17, 20))

    def ct_close() -> None:
        ex("ct", RecordFollowUp(method=ContactMethod.PHONE, satisfaction=4,
           comments="满意处理，希望以后及时告知"), clerk, at(4, 17, 30))
        ex("ct", Close(summary="partly upheld; three actions verified"), lead, at(4, 17, 40))

    def hotline_report_delay() -> None:
        clock.set(at(1, 9, 30))
        case = service.intake("hotline_platform", {
            "ticket_id": "12320-20261117-0815", "platform": "12320",
            "accepted_at": at(1, 9, 12).isoformat(), "caller_name": "刘芳",
            "caller_phone": "13600001111", "category": "complaint",
            "title": "MR 报告三天还拿不到", "content": "周五做的腰椎磁共振，到现在报告出得慢，"
            "一直拿不到报告，门诊医生没法看。", "demands": "尽快出报告"}, actor="12320 工单接口",
            idempotency_key=f"12320-20261117-0815{run_id}")
        refs["mr"] = case.reference
        # the platform retries the same work order: idempotent, no second case
        service.intake("hotline_platform", {
            "ticket_id": "12320-20261117-0815", "platform": "12320",
            "accepted_at": at(1, 9, 12).isoformat(), "caller_name": "刘芳",
            "title": "MR 报告三天还拿不到", "content": "重复推送 retry"},
            actor="12320 工单接口", idempotency_key=f"12320-20261117-0815{run_id}")

    def mr_handle() -> None:
        platform = "12320 平台 platform:12320"
        ex("mr", SignWorkOrder(note="已签收，今天内核实报告进度"), clerk, at(1, 9, 40))
        ex("mr", LinkExam(link=ExamLink(accession_number="MR20261113-0107", modality="MR")),
           clerk, at(1, 10, 5))
        ex("mr", Classify(categories=[Category.PROCESS_MANAGEMENT]), clerk, at(1, 10, 6))
        ex("mr", StartInvestigation(team=[TeamMember(name="李强", role=TeamRole.RADIOLOGIST),
           TeamMember(name="赵静", role=TeamRole.QC)]), lead, at(1, 11, 0))
        ex("mr", AddEvidence(type=EvidenceType.EXAM_RECORD, description="completed Fri 16:02; "
           "preliminary Sat 09:10; final not signed (queue of 38 MR reports)"), qc, at(1, 11, 30))
        ex("mr", RecordFinding(text="final report waited 3 days for sign-off",
           root_causes=["one senior reviewer for all MR sign-off 审核医师不足"]), lead,
           at(1, 14, 0))
        ex("mr", PlanAction(type=ActionType.STAFFING, description="增加一名 MR 审核医师并启用结构化"
           "模板 add a second MR reviewer and a structured template", owner="科主任 李强",
           due=date(2026, 11, 30)), lead, at(1, 14, 10))
        ex("mr", RequestExtension(days=5, reason="等待第二名审核医师到岗后复核流程 "
           "waiting for the second reviewer", consent=True), clerk, at(1, 14, 20))
        ex("mr", RecordPlatformDecision(kind=PlatformRequest.EXTENSION, approved=True,
           note="同意延期5个工作日"), platform, at(1, 15, 0))
        ex("mr", ReplyWorkOrder(method=ContactMethod.PHONE, text="报告已于今日签发，延误原因是"
           "审核积压，已增加审核医师。", resolution=Resolution.RESOLVED,
           outcome=Outcome(kind=OutcomeKind.UPHELD)), lead, at(1, 16, 0))
        ex("mr", RecordCallback(satisfaction=CallbackSatisfaction.DISSATISFIED, resolved=False,
           note="报告拿到了，但认为没人主动告知延误 no one told her about the delay"), platform,
           at(2, 10, 0))
        ex("mr", RedoWorkOrder(reason="回访不满意，平台重派 caller not satisfied: redo"),
           platform, at(2, 10, 30))
        ex("mr", SignWorkOrder(note="重办已签收"), clerk, at(2, 11, 0))
        ex("mr", ReplyWorkOrder(method=ContactMethod.PHONE, text="科主任致电说明：已设报告延迟"
           "短信提醒，今后超过48小时未出报告会主动告知。", resolution=Resolution.RESOLVED,
           outcome=Outcome(kind=OutcomeKind.UPHELD)), lead, at(3, 16, 0))
        ex("mr", RecordProgress(action_id="A1", status=ActionStatus.DONE,
           note="second reviewer rostered from 11-20"), qc, at(3, 16, 30))
        ex("mr", RecordCallback(satisfaction=CallbackSatisfaction.SATISFIED, resolved=True),
           platform, at(4, 10, 0))
        ex("mr", Close(), lead, at(4, 10, 30))

    def ct_duplicate_call() -> None:
        clock.set(at(1, 13, 20))
        case = service.intake("hotline_platform", {
            "ticket_id": "12345-20261117-2231", "platform": "12345",
            "accepted_at": at(1, 13, 5).isoformat(), "caller_name": "陈建国",
            "caller_phone": "13912345678", "category": "complaint",
            "accession_number": "CT20261116-0042",
            "title": "母亲做 CT 等了两个多小时", "content": "昨天上午母亲在影像科做胸部 CT，"
            "等了两个多小时，机器停了也没人解释，技师态度不好。"}, actor="12345 工单接口",
            idempotency_key=f"12345-20261117-2231{run_id}")
        refs["ct-call"] = case.reference
        found = service.app.workorders.duplicates(case.reference) if service.app else []
        result.duplicates = [(d.reference, d.score) for d in found]
        if found and found[0].reference == refs["ct"]:
            service.app.workorders.merge(refs["ct"], case.reference,
                                         reason="同一诉求：前台投诉后又拨打12345 the same "
                                                "complaint, also called in to 12345",
                                         actor=clerk)

    def consultation() -> None:
        clock.set(at(2, 8, 20))
        case = service.intake("web_form", {
            "submitted_at": at(2, 7, 55).isoformat(), "anonymous": True,
            "subject": "增强 CT 前需要空腹吗",
            "message": "明天做增强 CT，需要空腹吗？能吃降压药吗？"},
            actor="web-form", idempotency_key=f"web-88213{run_id}")
        refs["consult"] = case.reference
        ex("consult", Classify(kind=ComplaintKind.CONSULTATION,
                               categories=[Category.COMMUNICATION]), clerk, at(2, 8, 25))
        ex("consult", Acknowledge(method=ContactMethod.ONLINE, message="已收到"), clerk,
           at(2, 8, 30))
        ex("consult", Respond(method=ContactMethod.ONLINE, text="检查前 4 小时禁食，降压药可照常"
           "服用。", outcome=Outcome(kind=OutcomeKind.RESOLVED_BY_EXPLANATION)), clerk,
           at(2, 8, 40))
        ex("consult", WaiveFollowUp(reason="anonymous consultation answered online "
           "匿名咨询已在线答复"), clerk, at(2, 8, 41))
        ex("consult", Close(), clerk, at(2, 8, 42))

    def withdrawn() -> None:
        clock.set(at(2, 14, 0))
        case = service.register({
            "channel": "letter", "received_at": at(2, 13, 30).isoformat(),
            "complainant": {"role": "patient", "name": "黄伟", "address": "海淀区某小区 3-2-101",
                            "consent_to_contact": True},
            "subject": "DR 检查收费有疑问", "description": "胸片收了两次费，怀疑重复收费。"},
            actor=clerk)
        refs["letter"] = case.reference
        ex("letter", Acknowledge(method=ContactMethod.LETTER, message="已收到来信"), clerk,
           at(2, 15, 0))
        ex("letter", LogCommunication(direction=Direction.INTERNAL, summary="收费处核实：一次为"
           "退费冲正 billing: the second line is a reversal"), clerk, at(3, 9, 0))
        ex("letter", Withdraw(reason="经解释为退费冲正记录，患者撤回投诉 "
           "complainant withdrew after explanation"), clerk, at(3, 10, 0))

    def referred() -> None:
        clock.set(at(3, 8, 5))
        case = service.register({
            "channel": "voicemail", "received_at": at(2, 22, 40).isoformat(),
            "complainant": {"role": "anonymous", "phone": "13700002222",
                            "consent_to_contact": True},
            "subject": "医院食堂饭菜变质",
            "description": "晚上在医院食堂买的盒饭有异味，吃完腹泻。"},
            actor=clerk)
        refs["voicemail"] = case.reference
        ex("voicemail", Refer(referred_to="区卫生健康监督所 district health inspection office",
           reason="food safety is outside the imaging department 食品安全不属本科室"), clerk,
           at(3, 8, 30))

    def whistleblower() -> None:
        clock.set(at(4, 9, 0))
        case = service.register({
            "kind": "report", "channel": "email", "received_at": at(4, 8, 47).isoformat(),
            "complainant": {"role": "patient", "name": "王海涛", "email": "wb@example.org",
                            "consent_to_contact": True},
            "subject": "有人收取插队费", "description": "超声室有人收钱帮人插队检查。"},
            actor=clerk)
        refs["report"] = case.reference
        ex("report", Acknowledge(method=ContactMethod.EMAIL, message="已受理，将严格保密"),
           "纪检 discipline:zhou", at(4, 10, 0))

    steps: list[Step] = [
        ("Mon 11:00  front desk: CT waited 2 h, rude technologist", ct_wait),
        ("Mon 15:30  first feedback within 24 h, classify", ct_ack),
        ("Tue        investigation team, evidence, finding", ct_investigate),
        ("Tue        rectification plan: owners and due dates", ct_rectify),
        ("Tue        12320 work order: MR report delay (retried once)", hotline_report_delay),
        ("Tue 13:05  12345 call about the same CT delay: duplicate suggested, merged",
         ct_duplicate_call),
        ("Tue-Fri    MR work order: sign, extension, reply, dissatisfied, redo, close",
         mr_handle),
        ("Wed 07:55  web form consultation answered", consultation),
        ("Wed        CT complaint answered: partly upheld", ct_respond),
        ("Wed-Thu    letter about billing, withdrawn", withdrawn),
        ("Thu 08:30  voicemail about canteen food, referred", referred),
        ("Thu-Fri    rectification tracked and verified", ct_track),
        ("Fri        follow-up call and close", ct_close),
        ("Fri 08:47  e-mail report (举报) routed to discipline office", whistleblower),
    ]
    for text, step in steps:
        on_step(text, len(steps))
        step()
    result.notifications = counter.by_type
    return result


# -- imaging records of the week (RIS exams, CMMS work orders, duty roster) ---------------

DEMO_DEVICES = {"CT1": "CT", "CT2": "CT", "MR1": "MR", "MR2": "MR", "DR1": "DX",
                "US1": "US", "US2": "US"}
_SLOT = {"CT": 15, "MR": 45, "DX": 10, "US": 20}
_SCAN = {"CT": 8, "MR": 35, "DX": 3, "US": 15}


def demo_imaging(seed: int = 16) -> tuple[list[ExamRecord], list[EquipmentFault],
                                          list[RosterShift]]:
    """A few hundred exams on seven devices, Mon-Fri mornings; CT2 is down Monday
    08:10-09:40 (fault F-17), so its patients wait, among them the CT complaint's exam."""
    rng = random.Random(seed)
    exams: list[ExamRecord] = []
    down_from, down_to = at(0, 8, 10), at(0, 9, 40)
    for day in range(5):
        seq: Counter[str] = Counter()
        for device, modality in DEMO_DEVICES.items():
            backlog = down_to
            slot = at(day, 8, 0)
            while slot < at(day, 12, 0):
                seq[modality] += 1
                arrived = slot - timedelta(minutes=rng.randint(0, 15))
                started = slot + timedelta(minutes=rng.choice((0, 2, 5, 8, 12, 20, 30)))
                if device == "CT2" and down_from - timedelta(minutes=20) <= slot < down_to:
                    backlog += timedelta(minutes=_SCAN[modality] + 2)
                    started = backlog
                completed = started + timedelta(minutes=_SCAN[modality] + rng.randint(0, 5))
                final = completed + timedelta(minutes=rng.choice((8, 12, 15, 20, 30, 45, 90)))
                when = (WEEK_START + timedelta(days=day)).strftime("%Y%m%d")
                exams.append(ExamRecord(
                    f"{modality}{when}-{seq[modality]:04d}", modality=modality, station=device,
                    patient_id=f"P{rng.randint(10_000_000, 99_999_999)}", scheduled_at=slot,
                    arrived_at=arrived, started_at=started, completed_at=completed,
                    final_at=final, source="demo RIS"))
                slot += timedelta(minutes=_SLOT[modality])
    exams.append(ExamRecord(
        "CT20261116-0042", modality="CT", station="CT2", patient_id="P0012345",
        scheduled_at=at(0, 8, 30), arrived_at=at(0, 8, 21), started_at=at(0, 10, 33),
        completed_at=at(0, 10, 41), final_at=at(0, 11, 20), source="demo RIS"))
    exams.append(ExamRecord(
        "MR20261113-0107", modality="MR", station="MR1", scheduled_at=at(-3, 15, 0),
        arrived_at=at(-3, 14, 50), started_at=at(-3, 15, 20), completed_at=at(-3, 16, 2),
        preliminary_at=at(-2, 9, 10), final_at=at(1, 15, 40), source="demo RIS"))
    faults = [
        EquipmentFault(fault_id="F-17", device="CT2", modality="CT", reported_at=down_from,
                       responder_on_site_at=at(0, 8, 35), restored_at=down_to, urgent=True,
                       cause="X-ray tube arcing 球管打火", action="tube conditioning; new tube "
                       "ordered 球管训练并订购新球管", acceptance="QC phantom test passed"),
        EquipmentFault(fault_id="F-18", device="US2", modality="US", reported_at=at(2, 13, 0),
                       responder_on_site_at=at(2, 15, 30), restored_at=at(2, 16, 10),
                       cause="probe cable damaged 探头线缆损坏", action="probe replaced"),
    ]
    shifts = [RosterShift(staff=staff, role=role, start=at(day, 8, 0), end=at(day, end, 0),
                          device=device)
              for day in range(5)
              for staff, role, device, end in (
                  ("技师 T07", "technologist", "CT1", 12), ("技师 T11", "technologist", "CT2", 12),
                  ("技师 T15", "technologist", "MR1", 17), ("医师 R03", "radiologist", None, 17))]
    return exams, faults, shifts

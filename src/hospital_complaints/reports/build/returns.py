"""Returns: the NHS KO41(a) written-complaints return and the hotline's monthly work-order
report (docs/reports.md, "Returns").

KO41(a) counts a complaint once in the totals (section 2) and once per distinct item it maps
to in the service-area, subject and profession sections; which item a category, department,
complainant role or staff role maps to is data (``ko41a_mapping.json``, or a site copy named
in ``HC_REPORT_KO41_MAPPING``). The hotline report counts work orders (channel
``hotline_platform``) per unit and names the overdue ones by reference, exactly as the
monthly report's overdue list does.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from ...domain.taxonomy import Milestone
from ...errors import ConfigError, HospitalComplaintsError, InvalidInput
from ...files import load_json, read_text
from .data import NO_UNIT, ReportData, ReportRequest, Unit, report_notes
from .dues import Dues
from .facts import CaseFact
from .model import Bi, Column, Report, Section, Table, Value
from .overdue import OverdueItem, milestone_label, overdue_items
from .period import Month
from .rates import PENDING

MAPPING_FILE = "ko41a_mapping.json"
MAPPING_ENV = "HC_REPORT_KO41_MAPPING"
#: the sections every mapping file has: each an object of text -> KO41(a) item
REQUIRED = ("subjects", "service_areas", "complainant_status", "professions")
#: sections a site file may leave out (built-in defaults below)
OPTIONAL = ("clinical_treatment", "outcomes")
OTHER = "Other"
NONE_KEY = "(none)"
DEFAULT_OUTCOMES = {"upheld": "Upheld", "partly_upheld": "Partially upheld",
                    "not_upheld": "Not upheld", "resolved_by_explanation": "Not upheld"}


# -- the mapping --------------------------------------------------------------------------------


def _why(exc: HospitalComplaintsError) -> tuple[str, str]:
    """The short reason of an error from :mod:`...files` (without its heading)."""
    en = exc.problems[0].allowed if isinstance(exc, InvalidInput) and exc.problems else exc.en
    zh = (exc.zh or en).strip().removeprefix("- ")
    return en, zh


def _config_error(where: str, en: str, zh: str) -> ConfigError:
    return ConfigError(f"{MAPPING_ENV} ({where}): {en}; fix the file, or unset {MAPPING_ENV} "
                       "to use the built-in mapping",
                       f"{MAPPING_ENV}（{where}）：{zh}；请修正该文件，或取消 {MAPPING_ENV} "
                       "以使用内置映射")


def load_mapping(path: str | None) -> dict[str, Any]:
    """The KO41(a) mapping: the built-in one (``path`` ``None``) or the site file ``path``.

    A file that cannot be read, is not JSON, or lacks one of :data:`REQUIRED` (each an object
    of text to text) is a :class:`ConfigError` naming ``HC_REPORT_KO41_MAPPING``, the file and
    the key. Keys starting with ``_`` are comments. A fresh dict on every call."""
    if path is None:
        where = f"built-in {MAPPING_FILE}"
        package = resources.files(__package__ or "hospital_complaints.reports.build")
        text = package.joinpath(MAPPING_FILE).read_text("utf-8")
    else:
        where = str(path)
        try:
            text = read_text(Path(path).expanduser())
        except HospitalComplaintsError as exc:
            en, zh = _why(exc)
            raise _config_error(where, f"cannot read the KO41(a) mapping file ({en})",
                                f"无法读取 KO41(a) 映射文件（{zh}）") from None
    try:
        data = load_json(text, where)
    except HospitalComplaintsError as exc:
        en, zh = _why(exc)
        raise _config_error(where, f"the KO41(a) mapping is not valid JSON ({en})",
                            f"KO41(a) 映射不是有效的 JSON（{zh}）") from None
    if not isinstance(data, dict):
        raise _config_error(where, "the KO41(a) mapping must be a JSON object with the keys "
                            + ", ".join(REQUIRED), "KO41(a) 映射应为 JSON 对象，包含键 "
                            + "、".join(REQUIRED))
    for key in (*REQUIRED, *OPTIONAL):
        section = data.get(key)
        if section is None and key in OPTIONAL:
            continue
        if not isinstance(section, dict):
            what = "lacks the key" if section is None else "has a key that is not an object:"
            raise _config_error(
                where, f"the KO41(a) mapping {what} {key!r} (an object of our value -> "
                f"KO41(a) item); required keys: {', '.join(REQUIRED)}",
                f"KO41(a) 映射缺少键 {key!r}（或其值不是对象）；必需的键：{'、'.join(REQUIRED)}")
        bad = [k for k, v in section.items()
               if not k.startswith("_") and (not isinstance(v, str) or not v.strip())]
        if bad:
            raise _config_error(
                where, f"in {key!r}, {bad[0]!r} must map to a non-empty text (a KO41(a) item)",
                f"{key!r} 中 {bad[0]!r} 的值应为非空文本（KO41(a) 条目）")
    return data


def _items(section: Mapping[str, Any]) -> dict[str, str]:
    return {k: v for k, v in section.items() if not k.startswith("_") and isinstance(v, str)}


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


@dataclass(frozen=True, slots=True)
class Ko41Mapping:
    """The loaded mapping, ready to look items up (unknown -> ``Other``)."""

    subjects: dict[str, str]
    service_areas: dict[str, str]
    complainant_status: dict[str, str]
    professions: tuple[tuple[str, str], ...]
    clinical_treatment: dict[str, str]
    outcomes: dict[str, str]

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> Ko41Mapping:
        return cls(_items(data["subjects"]), _items(data["service_areas"]),
                   _items(data["complainant_status"]),
                   tuple((_fold(k), v) for k, v in _items(data["professions"]).items()
                         if _fold(k).strip()),
                   _items(data.get("clinical_treatment") or {}),
                   _items(data["outcomes"]) if "outcomes" in data else dict(DEFAULT_OUTCOMES))

    def subject_items(self, fact: CaseFact) -> set[str]:
        return {self.subjects.get(c, OTHER) for c in fact.categories or (NONE_KEY,)}

    def clinical_items(self, fact: CaseFact) -> set[str]:
        return {self.clinical_treatment[c] for c in fact.categories
                if c in self.clinical_treatment}

    def status_item(self, fact: CaseFact) -> str:
        return self.complainant_status.get(fact.complainant_role or NONE_KEY, OTHER)

    def service_area(self, unit: Unit) -> str:
        return self.service_areas.get(unit.id or NONE_KEY, OTHER)

    def profession(self, role: str) -> str:
        folded = _fold(role)
        for keyword, item in self.professions:
            if keyword in folded:
                return item
        return OTHER

    def profession_items(self, fact: CaseFact) -> set[str]:
        roles = [r for r in fact.staff_roles if r.strip()]
        if not fact.staff_roles:
            return {"Not specified"}
        return {self.profession(r) for r in roles} or {OTHER}


# -- KO41(a) ------------------------------------------------------------------------------------


def _window(data: ReportData, months: Sequence[Month]) -> tuple[datetime, datetime, datetime]:
    start, end = months[0].start(data.tz), months[-1].end(data.tz)
    return start, end, min(end, data.now.astimezone(data.tz))


def _unit(data: ReportData, department: str | None) -> Unit:
    if department is None or not department.strip():
        return NO_UNIT
    return data.unit(department)


def _ranked(counts: Counter[str]) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


class Ko41a:
    id = "ko41a"
    title = Bi("KO41(a) 书面投诉报表", "KO41(a) written complaints return")
    description = Bi("英国 NHS KO41(a) 书面投诉报表：汇总、年龄、投诉人身份、服务领域、"
                     "投诉主题、涉及人员职业（映射可配置）",
                     "The NHS KO41(a) written-complaints return: summary, age, status of "
                     "complainant, service area, subject, profession (the mapping is data)")

    def build(self, data: ReportData, request: ReportRequest) -> Report:
        mapping_file = data.settings.ko41_mapping_file
        mapping = Ko41Mapping.of(load_mapping(mapping_file))
        covered = request.covered
        start, end, as_of = _window(data, covered)
        scope, within = data.scope(request.department)
        facts = [f for f in data.facts(start, end, as_of)
                 if f.kind == "complaint" and within(f.department)]
        brought = [f for f in facts if f.received_at < start
                   and (f.finished_at is None or f.finished_at >= start)]
        new = [f for f in facts if start <= f.received_at < end]
        finished = [f for f in facts if f.finished_at is not None
                    and start <= f.finished_at < end]
        carried = [f for f in facts if f.received_at < end
                   and (f.finished_at is None or f.finished_at >= end)]
        resolved: Counter[str] = Counter()
        otherwise = 0
        for f in finished:
            item = mapping.outcomes.get(f.outcome or NONE_KEY)
            if item is None:
                otherwise += 1
            else:
                resolved[item] += 1
        resolved_items = list(dict.fromkeys([*mapping.outcomes.values(), *resolved]))

        rows: list[tuple[Value, ...]] = [("1", "Brought forward", len(brought)),
                                         ("2", "New complaints", len(new))]
        rows += [("2", f"Resolved: {item}", resolved[item]) for item in resolved_items]
        rows += [("2", "Finished otherwise (withdrawn, referred, not accepted, merged)",
                  otherwise),
                 ("2", "Carried forward", len(carried)),
                 ("3", "Age: unknown", len(new))]
        units = {f.reference: _unit(data, f.department) for f in new}
        sections: list[tuple[str, str, Counter[str]]] = [
            ("4", "Status of complainant", Counter(mapping.status_item(f) for f in new)),
            ("5", "Service area", Counter(mapping.service_area(units[f.reference])
                                          for f in new)),
            ("6", "Clinical treatment", Counter(i for f in new
                                                for i in mapping.clinical_items(f))),
            ("7", "Subject area", Counter(i for f in new for i in mapping.subject_items(f))),
            ("8", "Profession", Counter(i for f in new for i in mapping.profession_items(f)))]
        for number, prefix, counts in sections:
            for item, n in _ranked(counts):
                text = item if number == "6" else f"{prefix}: {item}"
                rows.append((number, text, n))

        where = mapping_file or f"built-in {MAPPING_FILE}"
        notes = (
            Bi("每件投诉在汇总（第 2 节）中只计一次；在服务领域、临床诊疗细类、投诉主题、"
               "职业各节中按其对应的不同条目各计一次，故这些节的合计可大于新增投诉数。",
               "A complaint counts once in the totals (section 2) and once per distinct item "
               "in the service-area, clinical-treatment, subject and profession sections, so "
               "those sections may add up to more than the new complaints."),
            Bi("仅统计类型为“投诉”的案件；年龄未登记，全部计为 unknown；未登记涉及人员的投诉"
               "计为 Not specified。",
               "Only cases of kind complaint count; the patient's age is not recorded (all "
               "unknown); a complaint naming no staff counts as Not specified."),
            Bi(f"映射文件：{where}（{MAPPING_ENV}）。提交前请按 NHS Digital 现行 KO41(a) "
               "数据项对照表核对各条目名称。",
               f"Mapping file: {where} ({MAPPING_ENV}). Check the item labels against the "
               "current KO41(a) data-items lookup (NHS Digital) before submitting."),
        )
        table = Table("ko41a", Bi("KO41(a) 各节计数", "KO41(a) counts by section"),
                      (Column("section", Bi("节", "section"), "text"),
                       Column("item", Bi("条目", "item"), "text"),
                       Column("count", Bi("件数", "count"), "int")),
                      tuple(rows), notes)
        return Report(
            self.id, self.title, request.period, scope, as_of, data.now,
            (Section("ko41a", Bi("KO41(a) 书面投诉", "KO41(a) written complaints"), (table,)),),
            notes=report_notes(as_of),
            meta={"months": [str(m) for m in covered], "mapping": where,
                  "cases_read": len(facts), "new_complaints": len(new)})


# -- the hotline's monthly work-order report ----------------------------------------------------

HOTLINE = "hotline_platform"


@dataclass
class _UnitFigures:
    unit: Unit
    received: int = 0
    in_time: int = 0
    late: int = 0
    satisfied: int = 0
    scored: int = 0
    overdue: dict[str, None] | None = None

    def refs(self) -> list[str]:
        return list(self.overdue or {})

    def row(self, name: str | None = None) -> tuple[Value, ...]:
        refs = self.refs()
        return (name if name is not None else str(self.unit.name), self.received,
                self.in_time, self.late,
                self.satisfied / self.scored if self.scored else None,
                "、".join(refs) if refs else "—", self.scored)


HOTLINE_COLUMNS = (
    Column("unit", Bi("科室", "unit"), "text"),
    Column("received", Bi("受理工单", "work orders received"), "int"),
    Column("answered_in_time", Bi("按时答复", "answered in time"), "int"),
    Column("answered_late", Bi("超时答复", "answered late"), "int"),
    Column("satisfaction", Bi("满意率", "satisfaction"), "pct"),
    Column("overdue", Bi("超期工单（编号）", "overdue (references)"), "text"),
    Column("scored", Bi("有评分的回访", "scored follow-ups"), "int"),
)


class HotlineMonthly:
    id = "hotline-monthly"
    title = Bi("热线工单月报", "Hotline work orders, monthly")
    description = Bi("12345/12320 等热线平台转办工单按科室统计：受理、按时答复、超期（列出编号）、"
                     "满意率",
                     "The hotline platform's work orders per unit: received, answered in time, "
                     "overdue (named by reference), satisfaction")

    def build(self, data: ReportData, request: ReportRequest) -> Report:
        covered = request.covered
        start, end, as_of = _window(data, covered)
        read_from = min(request.month.trend(12)[0], covered[0]).start(data.tz)
        scope, within = data.scope(request.department)
        facts = [f for f in data.facts(read_from, end, as_of)
                 if f.channel == HOTLINE and within(f.department)]
        dues = Dues(data.policy(), data.calendars())
        satisfied_from = data.settings.rates.satisfied_from
        units: dict[str, _UnitFigures] = {}
        overdue: list[tuple[Unit, OverdueItem]] = []

        def figures(unit: Unit) -> _UnitFigures:
            return units.setdefault(unit.id, _UnitFigures(unit, overdue={}))

        for f in facts:
            unit = _unit(data, f.department)
            if start <= f.received_at < as_of:
                u = figures(unit)
                u.received += 1
                due = dues.due(f, Milestone.RESPOND)
                if f.first_responded_at is not None and f.first_responded_at <= as_of:
                    if due is None or f.first_responded_at <= due:
                        u.in_time += 1
                    else:
                        u.late += 1
            fu = f.follow_up
            if fu is not None and start <= fu.at < as_of and not fu.unreachable \
                    and fu.satisfaction is not None:
                u = figures(unit)
                u.scored += 1
                u.satisfied += int(fu.satisfaction >= satisfied_from)
            for item in overdue_items((f,), dues, as_of):
                u = figures(unit)
                assert u.overdue is not None
                u.overdue.setdefault(item.fact.reference)
                overdue.append((unit, item))

        ordered = sorted(units.values(), key=lambda u: (-u.received, str(u.unit.name)))
        total = _UnitFigures(Unit("*", Bi("合计", "total")), overdue={})
        for u in ordered:
            total.received += u.received
            total.in_time += u.in_time
            total.late += u.late
            total.satisfied += u.satisfied
            total.scored += u.scored
            assert total.overdue is not None
            total.overdue.update(dict.fromkeys(u.refs()))
        at = as_of.isoformat(timespec="minutes")
        unit_notes = (
            Bi("受理工单：渠道为热线平台转办（hotline_platform）、在统计期内受理的工单（各类"
               "诉求）；按时答复：首次答复不晚于 SLA 答复期限。",
               "Work orders: cases from the hotline platform (channel hotline_platform) of "
               "any kind received in the period; answered in time: the first answer by the SLA "
               "policy's respond deadline."),
            Bi(f"满意率：统计期内有评分的回访中评分不低于 {satisfied_from} 分的比例。",
               f"Satisfaction: follow-ups in the period scored {satisfied_from} or more, over "
               "the follow-ups with a score."),
            Bi(f"超期：截至 {at} 仍在办、且有期限（首次反馈、答复、办结、回访、整改措施）已过"
               "而未完成的工单，与月报超期清单一致。",
               f"Overdue: open work orders with a deadline (acknowledge, respond, close, "
               f"follow-up, a rectification action) past due and not met at {at}, as in the "
               "monthly report's overdue list."),
            PENDING,
        )
        units_table = Table("hotline_units", Bi("各科室热线工单", "Hotline work orders per unit"),
                            HOTLINE_COLUMNS, tuple(u.row() for u in ordered), unit_notes)
        total_table = Table("hotline_total", Bi("热线工单合计", "Hotline work orders, total"),
                            HOTLINE_COLUMNS, (total.row(str(total.unit.name)),))
        overdue.sort(key=lambda x: (str(x[0].name), x[1].due, x[1].fact.reference))
        overdue_table = Table(
            "hotline_overdue", Bi("超期工单清单（督办）", "Overdue work orders"),
            (Column("unit", Bi("科室", "unit"), "text"),
             Column("reference", Bi("编号", "reference"), "text"),
             Column("milestone", Bi("事项", "deadline"), "text"),
             Column("due", Bi("期限", "due"), "datetime"),
             Column("days_overdue", Bi("超期天数", "days overdue"), "int")),
            tuple((str(unit.name), o.fact.reference, milestone_label(o.milestone),
                   o.due.astimezone(data.tz), o.days) for unit, o in overdue),
            (Bi("不含投诉人身份信息。", "No complainant identity is shown."),))
        platform = _platform_rates(data, covered, within)
        return Report(
            self.id, self.title, request.period, scope, as_of, data.now,
            (Section("hotline", Bi("热线工单", "Hotline work orders"),
                     (units_table, total_table, overdue_table, platform)),),
            notes=report_notes(as_of),
            meta={"months": [str(m) for m in covered], "cases_read": len(facts),
                  "policy": data.policy_spec})


PLATFORM_COLUMNS = (
    Column("unit", Bi("科室", "unit"), "text"),
    Column("dispatched", Bi("派单数", "dispatched")),
    Column("signed_in_time", Bi("按时签收", "signed for in time")),
    Column("response", Bi("响应率", "response rate"), "pct"),
    Column("called_back", Bi("已回访", "called back")),
    Column("resolved", Bi("判定已解决", "judged resolved")),
    Column("resolution", Bi("解决率", "resolution rate"), "pct"),
    Column("satisfied", Bi("满意", "satisfied")),
    Column("basically_satisfied", Bi("基本满意", "basically satisfied")),
    Column("dissatisfied", Bi("不满意", "dissatisfied")),
    Column("satisfaction", Bi("满意率", "satisfaction rate"), "pct"),
    Column("score", Bi("综合得分", "score"), "float"),
)


def _platform_rates(data: ReportData, covered: Sequence[Month],
                    within: Callable[[str | None], bool]) -> Table:
    """The three rates as the platform counts them (sign-for within the profile's limit,
    the platform's verdict, call-back satisfaction), per unit, for work orders dispatched in
    the period."""
    last = covered[-1].end(data.tz) - timedelta(days=1)
    found = data.platform_rates(covered[0].start(data.tz).date(), last.date())
    rows = tuple((str(_unit(data, r.unit).name), r.dispatched, r.signed_in_time, r.response,
                  r.called_back, r.resolved, r.resolution, r.satisfied,
                  r.basically_satisfied, r.dissatisfied, r.satisfaction, r.score)
                 for r in found.rows if within(r.unit))
    return Table("hotline_platform_rates",
                 Bi("平台口径三率（按工单）", "The three rates as the platform counts them"),
                 PLATFORM_COLUMNS, rows, (*found.definitions, Bi(
                     "口径与 hc sla metrics 相同；时限配置见 docs/workorders.md。",
                     "The same definitions as hc sla metrics; the profiles are in "
                     "docs/workorders.md.")))


__all__ = ["MAPPING_ENV", "HotlineMonthly", "Ko41Mapping", "Ko41a", "load_mapping"]

"""The three rates (三率): response (响应率), resolution (解决率), satisfaction (满意率).

Regions define them differently, so the definitions are settings
(:class:`~.config.RateSettings`) and every report prints the ones it counted with.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from ...domain.taxonomy import Milestone, label
from .config import RateSettings
from .dues import Dues
from .facts import CaseFact
from .model import Bi

#: said under the rates: how work orders count, and where the platform's own figures are
PENDING = Bi(
    "热线工单的签收计为首次反馈，工单答复计为答复，"
    "平台回访（满意 5 分、基本满意 4 分、不满意 2 分）计为回访评分。"
    "平台自身的三率口径（签收时限、平台办结审核结论、回访满意度）见 hc sla metrics。",
    "A hotline work order's sign-for (签收) counts as its first feedback, its reply as the "
    "answer, and the platform's call-back (satisfied 5, basically satisfied 4, dissatisfied 2) "
    "as the follow-up score. The platform's own definitions of the three rates (sign-for "
    "within the profile's limit, the platform's resolution verdict, call-back satisfaction) "
    "are in `hc sla metrics`.")

NAMES = {"response": Bi("响应率", "response"), "resolution": Bi("解决率", "resolution"),
         "satisfaction": Bi("满意率", "satisfaction")}


@dataclass(frozen=True, slots=True)
class Ratio:
    n: int = 0
    d: int = 0

    @property
    def share(self) -> float | None:
        return self.n / self.d if self.d else None

    def __add__(self, other: Ratio) -> Ratio:
        return Ratio(self.n + other.n, self.d + other.d)


class RateCounter:
    """Counts the three rates of a month from case facts as they stood at ``as_of``."""

    def __init__(self, settings: RateSettings, dues: Dues, as_of: datetime) -> None:
        self.settings = settings
        self.dues = dues
        self.as_of = as_of
        self.resolved = frozenset(o.value for o in settings.resolved_outcomes)

    def response_due(self, fact: CaseFact) -> datetime | None:
        if self.settings.response == "acknowledge_24h":
            return fact.received_at + timedelta(hours=24)
        return self.dues.due(fact, Milestone.ACKNOWLEDGE)

    def response(self, fact: CaseFact) -> tuple[bool, bool]:
        """(counted, met) for a case received in the month."""
        due = self.response_due(fact)
        ack = fact.first_acknowledged_at
        if due is None:
            return False, False
        counted = ack is not None or due <= self.as_of
        return counted, ack is not None and ack <= due

    def by_month(self, facts: Iterable[CaseFact], slot: Callable[[datetime | None], int | None],
                 n: int) -> list[dict[str, Ratio]]:
        """The three rates of each of ``n`` months; ``slot`` says which month (index) an
        instant falls in, or ``None``."""
        counts = [{"response": [0, 0], "resolution": [0, 0], "satisfaction": [0, 0]}
                  for _ in range(n)]
        for f in facts:
            i = slot(f.received_at)
            if i is not None:
                counted, met = self.response(f)
                if counted:
                    counts[i]["response"][0] += met
                    counts[i]["response"][1] += 1
            if f.merged_into is None and (i := slot(f.finished_at)) is not None:
                counts[i]["resolution"][0] += (f.outcome or "") in self.resolved
                counts[i]["resolution"][1] += 1
            fu = f.follow_up
            if fu is not None and not fu.unreachable and fu.satisfaction is not None \
                    and (i := slot(fu.at)) is not None:
                counts[i]["satisfaction"][0] += fu.satisfaction >= self.settings.satisfied_from
                counts[i]["satisfaction"][1] += 1
        return [{k: Ratio(a, b) for k, (a, b) in c.items()} for c in counts]

    def weighted(self, rates: dict[str, Ratio]) -> float | None:
        weights = self.settings.weights
        if not weights:
            return None
        present = [(rates[k].share, w) for k, w in weights.items()
                   if rates[k].share is not None and w > 0]
        total = sum(w for _, w in present)
        if not present or not total:
            return None
        return sum(float(v) * w for v, w in present if v is not None) / total

    def notes(self, policy_spec: str) -> tuple[Bi, ...]:
        s = self.settings
        if s.response == "acknowledge_24h":
            response = Bi("响应率 = 受理后 24 小时内首次反馈的案件数 ÷ "
                          "本月受理且已满 24 小时或已反馈的案件数。",
                          "Response rate = cases given first feedback within 24 hours of "
                          "receipt ÷ cases received in the month whose 24 hours have passed "
                          "or that were acknowledged.")
        else:
            response = Bi(
                f"响应率 = 在时限政策「{policy_spec}」的首次反馈期限内反馈的案件数 ÷ "
                "本月受理且期限已到或已反馈的案件数。",
                "Response rate = cases given first feedback by the acknowledge deadline of "
                f"the SLA policy '{policy_spec}' ÷ cases received in the month whose deadline "
                "has passed or that were acknowledged.")
        zh_out = "、".join(label(o).zh for o in s.resolved_outcomes)
        en_out = ", ".join(label(o).en for o in s.resolved_outcomes)
        resolution = Bi(
            f"解决率 = 本月办结且结果为「{zh_out}」的案件数 ÷ "
            "本月办结（含撤回、转办、不予受理；并单的重复件随主案计）的案件数。",
            f"Resolution rate = cases finished in the month with the outcome {en_out} ÷ every "
            "case finished in the month (withdrawn, referred and not accepted included; a "
            "duplicate merged into another case is counted with that case).")
        satisfaction = Bi(
            f"满意率 = 本月回访评分 ≥ {s.satisfied_from}（1–5 分）的回访数 ÷ "
            "本月有评分的回访数（无法联系的不计入）。",
            f"Satisfaction rate = follow-ups in the month scored {s.satisfied_from} or higher "
            "(of 1-5) ÷ follow-ups in the month with a score (unreachable ones are not counted).")
        if s.weights:
            parts_zh = "、".join(f"{NAMES[k].zh} × {w:g}" for k, w in s.weights.items())
            parts_en = ", ".join(f"{NAMES[k].en} × {w:g}" for k, w in s.weights.items())
            weights = Bi(f"综合得分 = （{parts_zh}）÷ 有数据各项权重之和。",
                         f"Weighted score = ({parts_en}) ÷ the sum of the weights of the rates "
                         "that have data.")
        else:
            weights = Bi("未配置综合得分权重，故不计算综合得分。",
                         "No weights are configured, so no weighted score is computed.")
        return response, resolution, satisfaction, PENDING, weights


__all__ = ["NAMES", "PENDING", "RateCounter", "Ratio"]
